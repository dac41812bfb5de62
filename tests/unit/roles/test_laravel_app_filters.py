"""Pure logic of roles/laravel_app (filter_plugins/laravel_app.py).

The artisan deny list and the .env name rules moved to plugins/filter (test_artisan.py, test_env_names.py).
"""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_spec = importlib.util.spec_from_file_location(
    "laravel_app_filters", os.path.join(ROOT, "roles", "laravel_app", "filter_plugins", "laravel_app.py")
)
la = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(la)

SHA = "0123456789abcdef0123456789abcdef01234567"


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


def test_pick_sha():
    out = f"{SHA}\trefs/heads/main\n{'1' * 40}\trefs/tags/v2\n{'2' * 40}\trefs/tags/v2^{{}}\n"
    assert la.laravel_app_pick_sha(out, "main") == SHA
    assert la.laravel_app_pick_sha(out, "v2") == "2" * 40
    assert la.laravel_app_pick_sha(out, "nope") == ""
    assert la.laravel_app_pick_sha("", "abcdef1") == "abcdef1"


def test_release_id():
    assert la.laravel_app_release_id("20261124221500", SHA) == "20261124221500-0123456"
    with pytest.raises(ValueError):
        la.laravel_app_release_id("2026", SHA)


def test_releases_to_delete_keeps_current_and_previous():
    rel = [f"2026010100000{i}-abcdef{i}" for i in range(7)]
    assert la.laravel_app_releases_to_delete(rel, 3) == rel[:4]
    # after a rollback, current and previous may be old: never deleted
    assert la.laravel_app_releases_to_delete(rel, 3, current=rel[0], previous=rel[1]) == rel[2:4]
    assert la.laravel_app_releases_to_delete(rel[:2], 5) == []
    assert la.laravel_app_releases_to_delete(rel + ["current.new-x", "junk"], 1) == rel[:5]


def test_previous_release():
    rel = ["20260101000003-aaaaaaa", "20260101000001-bbbbbbb", "20260101000002-ccccccc"]
    assert la.laravel_app_previous_release(rel, "20260101000003-aaaaaaa") == "20260101000002-ccccccc"
    assert la.laravel_app_previous_release(rel, "20260101000001-bbbbbbb") == ""


def test_worker_instances_one_per_process_with_defaults():
    workers = [{"queue": "default", "processes": 2, "timeout": 90}, {"queue": "mail", "tries": 3}]
    got = la.laravel_app_worker_instances(workers, tries=1, sleep=3, memory=128)
    assert [w["instance"] for w in got] == ["default-1", "default-2", "mail-1"]
    assert got[0] == {"instance": "default-1", "queue": "default", "timeout": 90, "tries": 1, "sleep": 3, "memory": 128}
    assert got[2]["timeout"] == 60 and got[2]["tries"] == 3
    assert la.laravel_app_worker_instances(None) == []
