"""The dashboard: every site of the model with its cached reading and its last deploy; viewers see it."""

from django.utils import timezone

from console.web.models import Run, StatusReading


def test_dashboard_shows_model_reading_and_last_deploy(client, people, sites):
    StatusReading.objects.create(site="demo", read_at=timezone.now(), data={"hosts": [
        {"host": "web_01", "release": "20261204-64f42cb", "commit": "64f42cb19", "releases": [], "cert_days": 12,
         "health": 200}]})
    now = timezone.now()
    Run.objects.create(kind="deploy", site="demo", actor="dan", state="failed", started=now, finished=now)
    Run.objects.create(kind="deploy", site="demo", actor="ada", state="successful", started=now, finished=now)
    Run.objects.create(kind="deploy", site="demo", actor="zed", state="running", started=now)
    client.force_login(people["viewer"])
    page = client.get("/").content.decode()
    demo = page.split('data-site="demo"')[1].split("</tr>")[0]
    assert "demo.lab.test" in demo and "web_01: 20261204-64f42cb" in demo and "64f42cb" in demo
    assert "12 days" in demo and 'class="bad">12 days' in demo and "200" in demo
    assert "deploy successful" in demo and "ada" in demo and "zed" not in demo
    other = page.split('data-site="other"')[1].split("</tr>")[0]
    assert "not read" in other and "none through the console" in other
    # A viewer gets no refresh button (and the POST is refused: test_permissions).
    assert 'id="refresh"' not in page


def test_site_page_offers_the_releases_read(client, people, sites):
    StatusReading.objects.create(site="demo", read_at=timezone.now(), data={"hosts": [
        {"host": "web_01", "release": "r2", "commit": "", "releases": ["r1", "r2"], "cert_days": None, "health": 200}]})
    client.force_login(people["deployer"])
    page = client.get("/sites/demo/").content.decode()
    assert '<option value="r1">' in page and "APP_NAME" in page and "can look but not act" not in page


def test_plan_report_shown_as_a_table(client, people, tmp_path):
    from console.web.models import Run

    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "whc.json").write_text('{"host": "whc", "summary": {"kept": 3, "orphan": 1}, "items": [{"name": "old",'
                                      ' "kind": "site", "classification": "retire", "reason": "no traffic",'
                                      ' "frees_bytes": 2048}]}')
    run = Run.objects.create(kind="site_cleanup", actor="ada", state="successful", params={"mode": "plan"},
                             data_dir=str(tmp_path))
    client.force_login(people["admin"])
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Plan on whc" in page and "kept: <b>3</b>" in page and "no traffic" in page and "2.0" in page


def test_dashboard_polls_its_live_part(client, people, sites):
    client.force_login(people["viewer"])
    page = client.get("/").content.decode()
    assert 'id="live" hx-get="/" hx-trigger="every 15s"' in page and 'data-site="demo"' in page
    # The htmx request gets the live part alone (which polls again), without the page around it.
    part = client.get("/", HTTP_HX_REQUEST="true").content.decode()
    assert part.lstrip().startswith('<div id="live"') and 'data-site="demo"' in part and "<html" not in part
