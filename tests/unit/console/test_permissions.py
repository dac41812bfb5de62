"""Roles checked on the server: viewers run nothing, deployers act on their sites, admins on everything."""

import pytest
from django.contrib.auth.models import AnonymousUser

from console.web import roles
from console.web.models import Run


@pytest.mark.parametrize("action", sorted(roles.ADMIN_ACTIONS))
def test_viewer_may_run_nothing(people, action):
    assert not roles.allowed(people["viewer"], action, "demo")


def test_deployer_acts_on_granted_sites_only(people):
    dan = people["deployer"]
    for action in ("deploy", "rollback", "artisan", "env", "logs"):
        assert roles.allowed(dan, action, "demo")
        assert not roles.allowed(dan, action, "other")
    for action in ("db_cleanup", "site_cleanup", "retire", "users"):
        assert not roles.allowed(dan, action, "demo")


def test_admin_does_everything(people):
    assert all(roles.allowed(people["admin"], action, "other") for action in roles.ADMIN_ACTIONS)


def test_anonymous_and_inactive_do_nothing(people):
    assert roles.role_of(AnonymousUser()) is None
    dan = people["deployer"]
    dan.is_active = False
    assert not roles.allowed(dan, "deploy", "demo")


@pytest.mark.parametrize("path", ["/sites/demo/deploy", "/sites/demo/rollback", "/sites/demo/env/apply",
                                  "/sites/demo/artisan", "/sites/demo/logs", "/status/refresh",
                                  "/cleanup/site_cleanup/plan", "/cleanup/retire"])
def test_viewer_post_is_403_and_nothing_runs(client, people, sites, queued, path):
    client.force_login(people["viewer"])
    response = client.post(path, {"ref": "main", "cmd": "about", "name": "old", "confirm": "old"})
    assert response.status_code == 403
    assert Run.objects.count() == 0 and queued == []


def test_deployer_refused_on_a_site_not_granted(client, people, sites, queued):
    client.force_login(people["deployer"])
    assert client.post("/sites/other/deploy", {"ref": "main"}).status_code == 403
    assert Run.objects.count() == 0


def test_deployer_cannot_open_cleanup(client, people, sites):
    client.force_login(people["deployer"])
    assert client.get("/cleanup/").status_code == 403


def test_pages_need_sign_in(client, sites):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_get_is_not_an_action(client, people, sites, queued):
    client.force_login(people["admin"])
    assert client.get("/sites/demo/deploy").status_code == 405
    assert queued == []
