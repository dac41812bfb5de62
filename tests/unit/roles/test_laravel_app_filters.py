"""Pure logic of roles/laravel_app (filter_plugins/laravel_app.py); releases: test_laravel_release_filters.py.

The artisan deny list and the .env name rules moved to plugins/filter (test_artisan.py, test_env_names.py).
"""

import pytest

from role_filters import load

la = load("laravel_app")


@pytest.mark.parametrize("value, expected", [
    ("plain", '"plain"'),
    ("Aeroweb (staging)", '"Aeroweb (staging)"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("a$b", '"a\\$b"'),
    ("back\\slash", '"back\\\\slash"'),
    ("two\nlines", '"two\\nlines"'),
    (True, '"true"'),
    (None, '""'),
    (3306, '"3306"'),
])
def test_dotenv_quote(value, expected):
    assert la.dotenv_quote(value) == expected


def test_env_layers_and_order():
    site = {"name": "demo", "environment": "staging", "domains": ["demo.test"], "session_driver": "redis",
            "cache_driver": "redis", "queue_connection": "redis", "env": {"APP_NAME": "Demo", "FOO": "site"}}
    secrets = {"db_password": "pw", "env": {"APP_KEY": "base64:x"}}
    db = {"connection": "mysql", "host": "10.0.0.1", "database": "demo", "username": "demo"}
    env = dict(la.laravel_app_env(site, secrets, db, {"REDIS_HOST": "10.0.0.2"}, {"FOO": "override"}))
    assert env["APP_ENV"] == "staging" and env["APP_URL"] == "https://demo.test"
    assert env["DB_CONNECTION"] == "mysql" and env["DB_PORT"] == "3306" and env["DB_PASSWORD"] == "pw"
    assert env["FOO"] == "override" and env["APP_NAME"] == "Demo" and env["APP_KEY"] == "base64:x"
    assert env["SESSION_DRIVER"] == "redis" and env["REDIS_HOST"] == "10.0.0.2"
    keys = [k for k, _ in la.laravel_app_env(site, secrets, db)]
    assert keys == sorted(keys)


def test_env_sqlite_and_postgresql():
    env = dict(la.laravel_app_env({"name": "d"}, {}, {}))
    assert env["DB_CONNECTION"] == "sqlite" and "DB_HOST" not in env
    env = dict(la.laravel_app_env({"name": "d"}, {"db_password": "x"}, {"connection": "postgresql", "database": "d"}))
    assert env["DB_CONNECTION"] == "pgsql" and env["DB_PORT"] == "5432" and env["DB_USERNAME"] == "d"


def test_worker_instances_one_per_process_with_defaults():
    workers = [{"queue": "default", "processes": 2, "timeout": 90}, {"queue": "mail", "tries": 3}]
    got = la.laravel_app_worker_instances(workers, tries=1, sleep=3, memory=128)
    assert [w["instance"] for w in got] == ["default-1", "default-2", "mail-1"]
    assert got[0] == {"instance": "default-1", "queue": "default", "timeout": 90, "tries": 1, "sleep": 3, "memory": 128}
    assert got[2]["timeout"] == 60 and got[2]["tries"] == 3
    assert la.laravel_app_worker_instances(None) == []
