"""The artisan deny list (plugins/filter/artisan.py) holds however a command is spelled, and is the check artisan.yml runs.

Laravel's artisan (a Symfony console) runs a command from any unambiguous abbreviation of each
colon-separated part, ignores case when nothing matches exactly, and finds the name after the
options; `php artisan` typed out of habit reaches artisan as words of the command too.
"""

import json
import pathlib

import pytest
import yaml

from ansible_collections.infra.hosting.plugins.filter.artisan import ARTISAN_DENY_ALWAYS, ARTISAN_DENY_PROD, artisan_args, artisan_may_run, artisan_refusal

ROOT = pathlib.Path(__file__).resolve().parents[4]

# Destructive everywhere: refused in staging (and so in production).
ALWAYS_REFUSED = [
    "migrate:fresh", "migrate:fr", "migrate:f", "mi:fre", "m:f", "M:F", "MIGRATE:FRESH", "Migrate:Fresh",
    "migrate:fresh --seed", "migrate:fresh --seed --force", "m:f --seed",
    "migrate:reset", "migrate:res", "migrate:refresh", "migrate:ref", "migrate:re", "m:r", "migrate:refresh --step=1",
    "db:wipe", "db:w", "d:w", "DB:WIPE", "db:wipe --force", "key:generate", "k:g", "key:gen --force",
    "--env=production migrate:fresh", "--env production migrate:fresh", "--env production m:f",
    "-n db:wipe", "--force migrate:fresh", "-q -n --no-ansi db:w", "-- migrate:fresh",
    "php artisan migrate:fresh", "artisan m:f", "./artisan db:wipe", "php ./artisan --env=x db:wipe",
    "--env\tproduction\tm:f", "  migrate:fresh  ", "migrate:fresh\n--seed",
]
# Refused in production only.
PROD_REFUSED = [
    "db:seed", "db:s", "d:se", "db:seed --class=UserSeeder", "migrate:rollback", "migrate:ro", "m:rol",
    "tinker", "tin", "t", "TINKER", "down", "dow", "Down", "--env=production down", "php artisan down --retry=60",
    "cache:clear", "cache:cl", "c:c", "CACHE:CLEAR", "queue:flush", "queue:fl", "q:fl",
]
# Allowed everywhere, production included.
ALLOWED = [
    "migrate", "migrate --force", "--env=production migrate --force", "migrate:status", "migrate:install",
    "config:cache", "config:clear", "route:list", "route:cache", "view:cache", "queue:restart",
    "queue:work --once", "queue:failed", "queue:retry all", "storage:link", "optimize", "about", "env",
    "up", "db", "db:show", "schedule:list", "cache:forget users", "--version", "list",
]


@pytest.mark.parametrize("cmd", ALWAYS_REFUSED)
@pytest.mark.parametrize("environment", ["staging", "dev", "prod"])
def test_destructive_commands_are_refused_however_spelled(cmd, environment):
    reason = artisan_refusal(cmd, "demo", environment)
    assert "refused" in reason and "refusé" in reason and "site demo" in reason


@pytest.mark.parametrize("cmd", PROD_REFUSED)
def test_production_only_commands_are_refused_in_production(cmd):
    reason = artisan_refusal(cmd, "demo", "prod")
    assert "refused in production" in reason and "refusé en production" in reason


@pytest.mark.parametrize("cmd", PROD_REFUSED)
@pytest.mark.parametrize("environment", ["staging", "dev"])
def test_production_only_commands_run_elsewhere(cmd, environment):
    assert artisan_refusal(cmd, "demo", environment) == ""


@pytest.mark.parametrize("cmd", ALLOWED)
@pytest.mark.parametrize("environment", ["prod", "staging", "dev"])
def test_allowed_commands_pass(cmd, environment):
    assert artisan_refusal(cmd, "demo", environment) == ""


@pytest.mark.parametrize("environment", ["preprod", "", None])
def test_an_unknown_environment_gets_the_production_list(environment):
    assert artisan_refusal("dow", "demo", environment)


def test_force_lets_a_denied_command_through_only_when_it_is_true():
    assert artisan_refusal("m:f", "demo", "prod", force=True) == ""
    assert artisan_refusal("dow", "demo", "prod", force=True) == ""
    for not_true in (False, "true", "yes", 1, None):
        assert artisan_refusal("m:f", "demo", "prod", force=not_true)


@pytest.mark.parametrize("cmd", ["", "   ", None, ["migrate:fresh"], 3])
def test_no_command_or_not_text_is_refused_even_with_force(cmd):
    reason = artisan_refusal(cmd, "demo", "staging", force=True)
    assert "refused" in reason and "refusé" in reason and "site demo" in reason


def test_the_reason_names_the_site_and_the_denied_commands():
    reason = artisan_refusal("--env production m:f --seed", "shop", "staging")
    assert reason.startswith("site shop: '--env production m:f --seed' may run migrate:fresh, ")
    assert "site shop : '--env production m:f --seed' peut lancer migrate:fresh, " in reason
    assert "migrate:reset, migrate:refresh" in artisan_refusal("migrate:re", "shop", "dev")
    reason = artisan_refusal("dow", "shop", "prod")
    assert "may run down: refused in production" in reason and "peut lancer down : refusé en production" in reason


@pytest.mark.parametrize("word, names", [
    ("migrate", []),                                   # a word never runs a name with more parts
    ("migrate:f", ["migrate:fresh"]),
    ("m:re", ["migrate:reset", "migrate:refresh"]),
    ("MIGRATE:FRESH", ["migrate:fresh"]),
    (":", ["migrate:fresh", "migrate:reset", "migrate:refresh", "db:wipe", "key:generate"]),
    ("m:f:x", []),                                     # nor a name with fewer parts
    ("fresh", []),
    ("migrate:fresh=1", []),
])
def test_abbreviation_rule(word, names):
    assert artisan_may_run(word, ARTISAN_DENY_ALWAYS) == names


def test_single_part_names_are_matched_by_prefix():
    assert artisan_may_run("t", ARTISAN_DENY_PROD) == ["tinker"]
    assert artisan_may_run("d", ARTISAN_DENY_PROD) == ["down"]
    assert artisan_may_run("db", ARTISAN_DENY_PROD) == []


def _check_task(playbook):
    plays = yaml.safe_load((ROOT / "playbooks" / playbook).read_text())
    tasks = [task for play in plays for task in play.get("tasks", [])]
    return next(task for task in tasks if "ansible.builtin.assert" in task)


def test_artisan_playbook_calls_the_filter_and_carries_no_list_of_its_own():
    text = (ROOT / "playbooks" / "artisan.yml").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "artisan_refusal(site, artisan_site.environment, force" in code
    assert "artisan_refused | length == 0" in _check_task("artisan.yml")["ansible.builtin.assert"]["that"]
    inline = [name for name in ARTISAN_DENY_ALWAYS + ARTISAN_DENY_PROD if name in code]
    assert not inline, f"artisan.yml names denied commands itself: {inline}"


# Through ansible-playbook: the check that runs is the filter above (tests/unit/conftest.py).
@pytest.mark.parametrize("cmd", ["m:f", "--env production migrate:fresh --seed", "php artisan db:w"])
def test_playbook_refuses_before_any_host(operator_playbook, cmd):
    rc, out = operator_playbook("artisan.yml", "-e", json.dumps({"site": "stage", "cmd": cmd}))
    assert rc != 0
    assert f"site stage: '{cmd}' may run " in out and "refused without -e force=true" in out


def test_playbook_refuses_a_production_only_command_in_production(operator_playbook):
    rc, out = operator_playbook("artisan.yml", "-e", "site=demo", "-e", "cmd=c:c")
    assert rc != 0 and "may run cache:clear: refused in production" in out


def test_playbook_lets_an_allowed_command_through(operator_playbook):
    rc, out = operator_playbook("artisan.yml", "-e", "site=stage", "-e", "cmd=cache:clear")
    assert rc == 0, out[-3000:]
    assert "Run the command in current" not in out       # n2 does not serve the site: skipped


@pytest.mark.parametrize("cmd, words", [
    ("cache:clear", ["cache:clear"]),
    ("php artisan cache:clear", ["cache:clear"]),
    ("php8.2 ./artisan route:list --json", ["route:list", "--json"]),
    ("/usr/bin/php8.3 /srv/www/x/current/artisan about", ["about"]),
    ("artisan queue:restart", ["queue:restart"]),
    ("  config:cache  ", ["config:cache"]),
    ("phpunit", ["phpunit"]),
    ("", []),
])
def test_artisan_args_drops_the_php_and_artisan_an_operator_types(cmd, words):
    assert artisan_args(cmd) == words


def test_the_playbook_hands_artisan_args_to_artisan():
    text = (pathlib.Path(__file__).resolve().parents[4] / "playbooks" / "artisan.yml").read_text()
    assert "cmd | infra.hosting.artisan_args" in text
