"""How the console runs (issue #16): the lab inventory unless production is asked for, SQLite unless
DATABASE_URL names PostgreSQL, secure cookies behind TLS, loopback by default, CSRF and the sign-in limit
from the framework and django-axes, the first admin's password printed once, no shell string built."""

import json
import os
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.test import Client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

SHOW = """
import json
from console import settings as s
db = s.DATABASES["default"]
print(json.dumps({"inventory": s.CONSOLE_INVENTORY, "engine": db["ENGINE"], "name": str(db["NAME"]),
                  "host": db.get("HOST", ""), "port": str(db.get("PORT", "")), "secure": s.SESSION_COOKIE_SECURE,
                  "csrf_secure": s.CSRF_COOKIE_SECURE, "httponly": s.SESSION_COOKIE_HTTPONLY, "hsts": s.SECURE_HSTS_SECONDS,
                  "proxy": list(getattr(s, "SECURE_PROXY_SSL_HEADER", None) or []), "hosts": s.ALLOWED_HOSTS,
                  "vault": s.CONSOLE_VAULT_PASSWORD_FILE}))
"""


def settings_with(tmp_path, **env):
    """console/settings.py read in a fresh interpreter with only `env` set (no CONSOLE_* from this shell)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONSOLE_") and k != "DATABASE_URL"}
    clean.update(CONSOLE_DATA_DIR=str(tmp_path), PYTHONPATH=ROOT, **env)
    out = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=clean, capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_defaults_lab_sqlite_plain_cookies_local_names(tmp_path):
    shown = settings_with(tmp_path)
    assert shown["inventory"] == "inventories/lab" and shown["vault"] == ""
    assert shown["engine"] == "django.db.backends.sqlite3" and shown["name"] == str(tmp_path / "console.sqlite3")
    assert shown["httponly"] and not shown["secure"] and shown["hsts"] == 0
    assert shown["hosts"] == ["127.0.0.1", "localhost"]


def test_production_is_explicit(tmp_path):
    shown = settings_with(tmp_path, CONSOLE_INVENTORY="inventories/production",
                          CONSOLE_VAULT_PASSWORD_FILE="/run/secrets/infra-vault")
    assert shown["inventory"] == "inventories/production" and shown["vault"] == "/run/secrets/infra-vault"


def test_postgresql_is_one_setting_away(tmp_path):
    shown = settings_with(tmp_path, DATABASE_URL="postgres://console:pw@db.internal:5432/console")
    assert shown["engine"] == "django.db.backends.postgresql"
    assert (shown["name"], shown["host"], shown["port"]) == ("console", "db.internal", "5432")


def test_secure_cookies_behind_tls(tmp_path):
    shown = settings_with(tmp_path, CONSOLE_SECURE_COOKIES="1", CONSOLE_ALLOWED_HOSTS="console.example.com")
    assert shown["secure"] and shown["csrf_secure"] and shown["hsts"] > 0
    assert shown["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"] and shown["hosts"] == ["console.example.com"]


def test_start_script_listens_on_loopback_by_default():
    script = open(os.path.join(ROOT, "scripts", "console.sh")).read()
    assert re.search(r'bind=\$\{CONSOLE_BIND:-127\.0\.0\.1:\$\{CONSOLE_PORT:-8000\}\}', script)
    assert 'gunicorn --bind "$bind"' in script


def test_a_post_without_the_csrf_token_is_refused(people, sites, queued):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["deployer"])
    assert browser.post("/sites/demo/deploy", {"ref": "main"}).status_code == 403
    assert queued == []


@pytest.mark.django_db
def test_sign_in_is_locked_after_the_failure_limit(people, settings):
    browser = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        browser.post("/login/", {"username": "dan", "password": "wrong-password-0"})
    # The right password no longer opens a session (django-axes: 15 minutes for this name and address).
    answer = browser.post("/login/", {"username": "dan", "password": "correct-horse-1"})
    assert answer.status_code in (403, 429) and "_auth_user_id" not in browser.session
    other = Client()
    other.post("/login/", {"username": "ada", "password": "correct-horse-1"})
    assert "_auth_user_id" in other.session


@pytest.mark.django_db
def test_first_admin_password_printed_once_then_left_alone(capsys, monkeypatch):
    from django.contrib.auth.models import User

    monkeypatch.delenv("CONSOLE_ADMIN_PASSWORD", raising=False)
    call_command("console_user", "admin", "admin", "--if-missing", "--password-env", "CONSOLE_ADMIN_PASSWORD")
    printed = capsys.readouterr().out
    password = re.search(r"password (\S+) \(shown once", printed).group(1)
    assert User.objects.get(username="admin").check_password(password)
    call_command("console_user", "admin", "admin", "--if-missing", "--password-env", "CONSOLE_ADMIN_PASSWORD")
    assert capsys.readouterr().out == "" and User.objects.get(username="admin").check_password(password)


def test_no_shell_string_is_built_from_input():
    """Runs get extravars (a dict) from ansible-runner; the one subprocess (git check-ref-format) gets a list."""
    for folder, _dirs, files in os.walk(os.path.join(ROOT, "console")):
        for name in files:
            if not name.endswith(".py"):
                continue
            text = open(os.path.join(folder, name)).read()
            assert not re.search(r"shell\s*=\s*True|os\.system|os\.popen|cmdline\s*=", text), name
            for call in re.findall(r"subprocess\.\w+\((.)", text):
                assert call == "[", name
