"""The ansible-runner wrapper with a fake runner: arguments, events stored, progress, summary, one run per site."""

import types

import pytest

from console.web import runner, status
from console.web.models import Run

SHA = "64f42cb1918551501e5313bb8c0926f579350166"


def _events(ok=True):
    yield {"event": "playbook_on_task_start", "counter": 1, "stdout": "TASK [Keep the commit to deploy]",
           "event_data": {"task": "Keep the commit to deploy"}}
    yield {"event": "runner_on_ok", "counter": 2, "stdout": "ok: [web_01]",
           "event_data": {"host": "web_01", "task": "Keep the commit to deploy",
                          "res": {"ansible_facts": {"laravel_release_sha": SHA}}}}
    yield {"event": "runner_on_ok", "counter": 3, "stdout": "",
           "event_data": {"host": "web_01", "task": "Decide whether a new release is needed",
                          "res": {"ansible_facts": {"laravel_release_current_sha": "0" * 40}}}}
    yield {"event": "playbook_on_task_start", "counter": 4, "stdout": "TASK [Check the health path through nginx]",
           "event_data": {"task": "Check the health path through nginx"}}
    if ok:
        yield {"event": "runner_on_ok", "counter": 5, "stdout": "ok: [web_01]",
               "event_data": {"host": "web_01", "task": "Check the health path through nginx", "res": {"changed": False}}}
    else:
        yield {"event": "runner_on_failed", "counter": 5, "stdout": "fatal: [web_01]",
               "event_data": {"host": "web_01", "task": "Check the health path through nginx",
                              "res": {"msg": "500 http://demo.lab.test/up"}}}


class FakeRunner:
    def __init__(self, ok=True):
        self.ok, self.calls = ok, []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        for event in _events(self.ok):
            kwargs["event_handler"](event)
        return types.SimpleNamespace(status="successful" if self.ok else "failed", rc=0 if self.ok else 2)


@pytest.fixture
def notified(monkeypatch):
    sent = []
    monkeypatch.setattr(runner.notify, "send", sent.append)
    return sent


def test_deploy_run(people, notified, settings, tmp_path):
    settings.CONSOLE_RUNS_DIR = tmp_path
    run = runner.queue_run("deploy", "demo", {"ref": "main"}, people["deployer"])
    fake = FakeRunner()
    run = runner.execute(run.pk, runner=fake)
    call = fake.calls[0]
    assert call["playbook"] == "playbooks/deploy.yml" and call["project_dir"] == str(settings.REPO_ROOT)
    assert call["private_data_dir"] == str(tmp_path / str(run.pk))
    assert call["extravars"] == {"ref": "main", "site": "demo", "actor": "dan"}
    assert call["inventory"].endswith("inventories/lab")
    # The repository's ansible.cfg keeps its fact cache: ansible-runner's own ('jsonfile') would replace it.
    assert call["fact_cache_type"] != "jsonfile"
    assert run.state == "successful" and run.rc == 0 and run.tasks_done == 2
    assert run.hosts["web_01"]["ok"] == 3 and run.hosts["web_01"]["failed"] == 0
    assert run.summary.startswith("deployed 64f42cb (main) to web_01 in ") and "health check OK" in run.summary
    assert run.events.count() == 5 and "TASK [Check the health path through nginx]" in run.output()
    assert notified == [run]


def test_failed_deploy_summary(people, notified, settings, tmp_path):
    settings.CONSOLE_RUNS_DIR = tmp_path
    run = runner.execute(runner.queue_run("deploy", "demo", {}, people["deployer"]).pk, runner=FakeRunner(ok=False))
    assert run.state == "failed"
    assert "FAILED on web_01 at 'Check the health path through nginx'" in run.summary and "500" in run.summary
    assert notified == [run]


def test_vault_password_file_is_passed_as_a_path(people, notified, settings, tmp_path):
    settings.CONSOLE_RUNS_DIR = tmp_path
    settings.CONSOLE_VAULT_PASSWORD_FILE = "/run/secrets/vault-pass"
    fake = FakeRunner()
    runner.execute(runner.queue_run("rollback", "demo", {}, people["deployer"]).pk, runner=fake)
    assert fake.calls[0]["envvars"]["ANSIBLE_VAULT_PASSWORD_FILE"] == "/run/secrets/vault-pass"


def test_the_consoles_secrets_stay_out_of_the_runs_environment(people, notified, settings, tmp_path, monkeypatch):
    """ansible-runner passes the worker's environment to ansible-playbook and keeps it in the run's artifacts."""
    settings.CONSOLE_RUNS_DIR = tmp_path
    for name in ("CONSOLE_ADMIN_PASSWORD", "CONSOLE_SMTP_PASSWORD", "CONSOLE_SECRET_KEY", "DATABASE_URL"):
        monkeypatch.setenv(name, "s3cret")
    monkeypatch.setenv("CONSOLE_INVENTORY", "inventories/lab")
    seen = []

    def spy(**kwargs):
        import os

        seen.append(dict(os.environ))
        return FakeRunner()(**kwargs)

    runner.execute(runner.queue_run("deploy", "demo", {}, people["deployer"]).pk, runner=spy)
    assert "s3cret" not in seen[0].values() and seen[0]["CONSOLE_INVENTORY"] == "inventories/lab"


def test_a_runner_crash_is_an_error_not_a_stuck_run(people, notified, settings, tmp_path):
    settings.CONSOLE_RUNS_DIR = tmp_path

    def broken(**_kwargs):
        raise RuntimeError("no ansible-playbook")

    run = runner.execute(runner.queue_run("deploy", "demo", {}, people["deployer"]).pk, runner=broken)
    assert run.state == "error" and "no ansible-playbook" in run.output()


def test_one_run_per_site(people):
    first = runner.queue_run("deploy", "demo", {}, people["deployer"])
    with pytest.raises(runner.Busy, match=f"run #{first.pk} \\(deploy by dan\\) is queued"):
        runner.queue_run("rollback", "demo", {}, people["admin"])
    # Another site, and reading runs of the same site, go ahead.
    runner.queue_run("deploy", "other", {}, people["admin"])
    runner.queue_run("logs", "demo", {"lines": 10}, people["deployer"])
    Run.objects.filter(pk=first.pk).update(state="successful")
    runner.queue_run("deploy", "demo", {}, people["deployer"])


def test_second_click_is_refused_with_a_message(client, people, sites, queued):
    client.force_login(people["deployer"])
    client.post("/sites/demo/deploy", {"ref": "main"})
    page = client.post("/sites/demo/deploy", {"ref": "main"}, follow=True).content.decode()
    assert "is queued" in page and "nothing was started" in page
    assert Run.objects.count() == 1 and len(queued) == 1


def test_events_endpoint_streams_then_stops(client, people, notified, settings, tmp_path):
    settings.CONSOLE_RUNS_DIR = tmp_path
    run = runner.execute(runner.queue_run("deploy", "demo", {}, people["deployer"]).pk, runner=FakeRunner())
    client.force_login(people["viewer"])
    first = client.get(f"/runs/{run.pk}/events?after=-1")
    assert first.status_code == 286 and "TASK [Keep the commit to deploy]" in first.content.decode()
    assert "deployed 64f42cb" in first.content.decode()
    later = client.get(f"/runs/{run.pk}/events?after=5").content.decode()
    assert "TASK [" not in later


def test_history_search_by_site_and_person(client, people):
    runner.queue_run("deploy", "demo", {}, people["deployer"])
    runner.queue_run("deploy", "other", {}, people["admin"])
    client.force_login(people["viewer"])
    page = client.get("/runs/?actor=dan").content.decode()
    assert "<td>demo</td>" in page and "<td>other</td>" not in page
    page = client.get("/runs/?site=other").content.decode()
    assert "ada" in page and "<td>demo</td>" not in page


def test_status_rows():
    report = {"sites": ["demo"], "current": ["20261204-64f42cb"], "revisions": {"demo": SHA + "\n"},
              "releases": [["20261204-64f42cb"]], "cert_end": ["notAfter=Dec  4 14:51:54 2031 GMT"], "health": [200]}
    import datetime
    row = status.rows("web_01", report, now=datetime.datetime(2031, 11, 4))["demo"]
    assert row == {"host": "web_01", "release": "20261204-64f42cb", "commit": SHA, "releases": ["20261204-64f42cb"],
                   "cert_days": 30, "health": 200}
    assert status.cert_days("") is None


def test_notifications_go_to_mail_and_webhook(people, settings, monkeypatch):
    from django.core import mail

    from console.web import notify
    from console.web.models import NotifyTarget

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CONSOLE_NOTIFY_EMAILS = ["ops@example.test"]
    settings.CONSOLE_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    NotifyTarget.objects.create(site="demo", kind="email", address="demo-team@example.test")
    NotifyTarget.objects.create(site="other", kind="email", address="other@example.test")
    posted = []

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def read(self):
            return b"ok"

    monkeypatch.setattr(notify.urllib.request, "urlopen", lambda request, timeout: posted.append(request) or Response())
    run = Run.objects.create(kind="deploy", site="demo", actor="dan", state="successful", summary="deployed x")
    notify.send(run)
    assert sorted(mail.outbox[0].to) == ["demo-team@example.test", "ops@example.test"]
    assert "[OK] deploy demo by dan" in mail.outbox[0].subject
    assert posted[0].full_url == "http://127.0.0.1:9/hook" and b"deployed x" in posted[0].data


def test_recover_frees_the_site_of_a_stopped_worker(people):
    run = runner.queue_run("deploy", "demo", {}, people["deployer"])
    Run.objects.filter(pk=run.pk).update(state="running")
    assert runner.recover() == 1
    run.refresh_from_db()
    assert run.state == "error" and "worker stopped" in run.summary
    runner.queue_run("deploy", "demo", {}, people["deployer"])


def test_summary_names_the_hosts_the_action_ran_on():
    from console.web import summary

    def ok(host, play):
        return {"event": "runner_on_ok", "event_data": {"host": host, "play": play, "task": "t"}}

    events = [ok("git", summary.VALIDATE_PLAY), ok("web_01", summary.VALIDATE_PLAY), ok("web_01", "Run an artisan command")]
    text = summary.summarize("artisan", "demo", {}, "successful", events, 3)
    assert text.startswith("artisan of demo done on web_01 in 3 s"), text
