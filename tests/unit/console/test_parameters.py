"""Parameters are checked before any run, with the repository's own rules."""

import pytest

from console.web import checks
from console.web.models import Run


@pytest.mark.parametrize("ref", ["", "main", "release/1.2", "v1.2.3", "abc1234", "0" * 40])
def test_good_refs(ref):
    assert checks.ref(ref) == ref


@pytest.mark.parametrize("ref", ["main..x", "bad ref", "-rf", "a~1", "x^", "a:b", "refs/heads/../x", "end.lock", "@{u}", "@{-1}", "@"])
def test_bad_refs(ref):
    with pytest.raises(checks.Refused, match="git check-ref-format"):
        checks.ref(ref)


def test_sites_from_the_model(sites):
    assert checks.active_site("demo", sites) == "demo"
    with pytest.raises(checks.Refused, match="Unknown site"):
        checks.site("nope", sites)
    with pytest.raises(checks.Refused, match="retired"):
        checks.active_site("old", sites)


def test_env_secret_refused_with_the_vault_procedure():
    with pytest.raises(checks.Refused) as refused:
        checks.env_change("demo", {"MAIL_PASSWORD": "x"}, [], "inventories/lab")
    assert "MAIL_PASSWORD" in str(refused.value) and "ansible-vault edit inventories/lab" in str(refused.value)
    with pytest.raises(checks.Refused, match="APP_KEY"):
        checks.env_change("demo", {}, ["APP_KEY"], "inventories/lab")


def test_env_bad_names_refused():
    with pytest.raises(checks.Refused, match="lower"):
        checks.env_change("demo", {"lower": "1"}, [], "inventories/lab")
    with pytest.raises(checks.Refused, match="one line"):
        checks.env_change("demo", {"APP_NAME": "a\nB=1"}, [], "inventories/lab")


def test_env_good_change():
    assert checks.env_change("demo", {"APP_NAME": "New"}, ["OLD_FLAG"], "x") == ({"APP_NAME": "New"}, ["OLD_FLAG"])


def test_artisan_allow_list_and_deny_list(sites):
    assert checks.artisan_command("about", "demo", sites) == "about"
    with pytest.raises(checks.Refused, match="allow-list"):
        checks.artisan_command("migrate:fresh", "demo", sites)
    # On the allow-list but refused in production by plugins/filter/artisan.py's deny list.
    with pytest.raises(checks.Refused):
        checks.artisan_command("cache:clear", "demo", sites)
    assert checks.artisan_command("cache:clear", "other", sites) == "cache:clear"


def test_release_and_lines():
    assert checks.release("20261204150528-64f42cb") == "20261204150528-64f42cb"
    with pytest.raises(checks.Refused):
        checks.release("../../etc")
    assert checks.lines("50") == 50
    with pytest.raises(checks.Refused):
        checks.lines("99999")


def test_bad_ref_in_the_form_starts_nothing(client, people, sites, queued):
    client.force_login(people["deployer"])
    response = client.post("/sites/demo/deploy", {"ref": "main..bad"}, follow=True)
    assert "check-ref-format" in response.content.decode()
    assert Run.objects.count() == 0 and queued == []


def test_secret_in_the_form_starts_nothing(client, people, sites, queued):
    client.force_login(people["deployer"])
    response = client.post("/sites/demo/env/preview", {"set": "DB_PASSWORD=x"}, follow=True)
    assert "vault" in response.content.decode()
    response = client.post("/sites/demo/env/apply", {"set_json": '{"DB_PASSWORD": "x"}', "unset_json": "[]"}, follow=True)
    assert "vault" in response.content.decode()
    assert Run.objects.count() == 0 and queued == []


def test_env_preview_shows_the_diff_then_apply_queues(client, people, sites, queued):
    client.force_login(people["deployer"])
    page = client.post("/sites/demo/env/preview", {"set": "APP_NAME=Demo 2\nFEATURE_X=on"}).content.decode()
    assert "-APP_NAME=Demo" in page and "+APP_NAME=Demo 2" in page and "+FEATURE_X=on" in page
    response = client.post("/sites/demo/env/apply", {"set_json": '{"APP_NAME": "Demo 2", "FEATURE_X": "on"}',
                                                     "unset_json": "[]"})
    run = Run.objects.get()
    assert response.status_code == 302 and queued == [run.pk]
    assert (run.kind, run.site, run.actor, run.params) == ("env", "demo", "dan",
                                                            {"set": {"APP_NAME": "Demo 2", "FEATURE_X": "on"}, "unset": []})


def test_retire_needs_the_name_typed_twice(client, people, sites, queued):
    client.force_login(people["admin"])
    client.post("/cleanup/retire", {"kind": "site_cleanup", "name": "old", "confirm": "olx"})
    client.post("/cleanup/retire", {"kind": "site_cleanup", "name": "../x", "confirm": "../x"})
    assert Run.objects.count() == 0
    client.post("/cleanup/retire", {"kind": "site_cleanup", "name": "old", "confirm": "old"})
    assert Run.objects.get().params == {"mode": "retire", "site": "old", "confirm": "old"}


def test_follow_rounds():
    assert checks.follow_rounds("", 60) == 0 and checks.follow_rounds("0", 60) == 0
    assert checks.follow_rounds("on", 60) == 60 and checks.follow_rounds("500", 60) == 60
    assert checks.follow_rounds("3", 60) == 3
    for bad in ("-1", "x"):
        with pytest.raises(checks.Refused):
            checks.follow_rounds(bad, 60)


def test_logs_follow_queues_a_reading_and_the_next_one(client, people, sites, queued):
    client.force_login(people["deployer"])
    response = client.post("/sites/demo/logs", {"lines": "20", "follow": "on"})
    run = Run.objects.get()
    assert response.status_code == 302 and response.url == f"/runs/{run.pk}/?follow=60"
    assert run.kind == "logs" and run.params == {"lines": 20} and queued == [run.pk]
    # The run over, its events ask for the next reading (htmx, after the delay), one round fewer.
    Run.objects.filter(pk=run.pk).update(state="successful")
    page = client.get(f"/runs/{run.pk}/events?after=-1&follow=60").content.decode()
    assert 'id="follow-next"' in page and '"follow": "59"' in page and 'hx-post="/sites/demo/logs"' in page
    # The next reading through htmx: the whole page goes to the new run.
    response = client.post("/sites/demo/logs", {"lines": "20", "follow": "59"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"].endswith("/?follow=59")
    # Without follow: nothing more is asked for; a viewer never gets the next reading.
    assert "follow-next" not in client.get(f"/runs/{run.pk}/events?after=-1").content.decode()
    client.force_login(people["viewer"])
    assert "follow-next" not in client.get(f"/runs/{run.pk}/events?after=-1&follow=60").content.decode()
