""".env name rules (plugins/filter/datamodel.py): the ones validate.yml applies, and the check env.yml runs."""

import json
import pathlib

import pytest
import yaml

from ansible_collections.infra.hosting.plugins.filter.datamodel import env_bad_names, env_secret_names

ROOT = pathlib.Path(__file__).resolve().parents[4]

SECRETS = [
    "DB_PASSWORD", "MAIL_PASSWORD", "REDIS_PASSWD", "AWS_SECRET_ACCESS_KEY", "CLIENT_SECRET", "GITHUB_TOKEN",
    "SSH_PASSPHRASE", "GOOGLE_CREDENTIALS", "JWT_PRIVATE", "APP_KEY", "KEY", "STRIPE_KEY", "MAILGUN_API_KEY",
    "SENTRY_DSN", "SENTRY_LARAVEL_DSN", "PUSHER_APP_SECRET",
]
PLAIN = [
    "APP_NAME", "APP_URL", "MAIL_FROM_NAME", "FEATURE_BANNER", "KEYBOARD_LAYOUT", "MONKEY_MODE",
    "DSN_HOST", "QUEUE_CONNECTION", "LOG_LEVEL", "CACHE_PREFIX",
]


@pytest.mark.parametrize("name", SECRETS)
def test_secret_names_are_found(name):
    assert env_secret_names([name]) == [name]


@pytest.mark.parametrize("name", PLAIN)
def test_plain_names_are_not_secrets(name):
    assert env_secret_names([name]) == []


def test_names_keep_their_order_and_any_iterable_is_taken():
    assert env_secret_names(["APP_NAME", "MAIL_PASSWORD", "STRIPE_KEY", "SENTRY_DSN"]) == [
        "MAIL_PASSWORD", "STRIPE_KEY", "SENTRY_DSN"]
    assert env_secret_names({"A": 1, "B_TOKEN": 2}.keys()) == ["B_TOKEN"]
    assert env_secret_names(None) == [] and env_bad_names(None) == []


def test_bad_names():
    assert env_bad_names(["OK_1", "lower", "1BAD", "A-B", "", "A B", "_X", "X"]) == ["lower", "1BAD", "A-B", "", "A B", "_X"]


def test_env_playbook_calls_the_filters_and_carries_no_rule_of_its_own():
    text = (ROOT / "playbooks" / "env.yml").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "| infra.hosting.env_secret_names" in code and "| infra.hosting.env_bad_names" in code
    for inline in ("PASSWORD", "PASSPHRASE", "[A-Z]", "'search'", "'match'"):
        assert inline not in code, f"env.yml carries a rule of its own: {inline}"
    plays = yaml.safe_load(text)
    check = next(task for play in plays for task in play.get("tasks", []) if "ansible.builtin.assert" in task)
    assert {"env_secrets | length == 0", "env_bad | length == 0"} <= set(check["ansible.builtin.assert"]["that"])


# Through ansible-playbook (tests/unit/conftest.py): refused before the override file is written.
@pytest.mark.parametrize("extra, reason", [
    ({"set": {"MAILGUN_API_KEY": "x"}}, "Secrets go to the vault, not here / les secrets vont dans la voûte"),
    ({"unset": ["DB_PASSWORD"]}, "Secrets go to the vault, not here / les secrets vont dans la voûte"),
    ({"set": {"mail_from": "x"}}, "Names are upper case letters, digits and _"),
    ({"set": {"A": "b"}, "unset": {"A": 1}}, "set must be a mapping and unset a list"),
])
def test_playbook_refuses_before_writing(operator_playbook, tmp_path, extra, reason):
    rc, out = operator_playbook("env.yml", "-e", json.dumps({"site": "demo", **extra}))
    assert rc != 0 and reason in out
    assert not (tmp_path / "site_env").exists()
