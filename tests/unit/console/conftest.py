"""Django settings for the console's unit tests: a throw-away data directory, the test database of pytest-django."""

import os
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ["CONSOLE_DATA_DIR"] = tempfile.mkdtemp(prefix="console-unit-")
os.environ["DJANGO_SETTINGS_MODULE"] = "console.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings as _settings  # noqa: E402

# A fast hasher: the tests create users, they do not test PBKDF2.
_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
os.makedirs(_settings.STATIC_ROOT, exist_ok=True)

SITES = {
    "demo": {"name": "demo", "domains": ["demo.lab.test"], "hosts": ["web_01"], "branch": "main",
             "environment": "prod", "status": "active", "env": {"APP_NAME": "Demo"}},
    "other": {"name": "other", "domains": ["other.lab.test"], "hosts": ["web_02"], "branch": "main",
              "environment": "staging", "status": "active", "env": {}},
    "old": {"name": "old", "domains": ["old.lab.test"], "hosts": ["web_02"], "status": "retired"},
}


@pytest.fixture
def sites(monkeypatch):
    """A small data model instead of the inventory's."""
    from console.web import datamodel, views

    monkeypatch.setattr(views, "model_sites", lambda: SITES)
    monkeypatch.setattr(datamodel, "sites", lambda: SITES)
    return SITES


@pytest.fixture
def queued(monkeypatch):
    """The runs handed to the worker (instead of the worker)."""
    from console.web import views

    handed = []
    monkeypatch.setattr(views, "execute_run", handed.append)
    return handed


@pytest.fixture
def people(db):
    from django.contrib.auth.models import User

    from console.web.models import Profile

    made = {}
    for name, role, granted in (("vera", "viewer", "*"), ("dan", "deployer", "demo"), ("ada", "admin", "")):
        user = User.objects.create_user(name, password="correct-horse-1")
        Profile.objects.create(user=user, role=role, sites=granted)
        made[role] = user
    return made
