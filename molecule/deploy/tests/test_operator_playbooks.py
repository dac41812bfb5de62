"""The operator playbooks an operator runs on a deployed site, through ansible-playbook, as a user sees them.

Runs after test_deploy.py (file order): site demo is deployed and serving. Each test checks the
exit code and the reason printed at default verbosity, then what the site shows.
"""

import json
import re

import pytest
from lab_playbook import page, playbook, status

testinfra_hosts = ["mol-deploy-web"]
ENV = "/srv/www/demo/shared/.env"


def env_file(host):
    return host.run_test(f"cat {ENV}").stdout


def test_env_set_reaches_the_site_and_unset_removes_it(host):
    rc, out = playbook("env.yml", "-e", "site=demo", "-e", '{"set": {"FEATURE_BANNER": "on"}}')
    assert rc == 0, out[-3000:]
    assert 'FEATURE_BANNER="on"' in env_file(host)
    assert status(host, "/up") == "200"

    rc, out = playbook("env.yml", "-e", "site=demo", "-e", '{"unset": ["FEATURE_BANNER"]}')
    assert rc == 0, out[-3000:]
    assert "FEATURE_BANNER" not in env_file(host)
    assert status(host, "/up") == "200"


# Every spelling is unit-tested (tests/unit); here two go through the playbook end to end.
@pytest.mark.parametrize("name", ["DB_PASSWORD", "MAILGUN_API_KEY"])
def test_env_refuses_a_secret_and_writes_nothing(host, name):
    before = host.check_output(f"sha256sum {ENV}")
    rc, out = playbook("env.yml", "-e", "site=demo", "-e", '{"set": {"%s": "x"}}' % name)
    assert rc != 0
    assert "vault" in out and name in out
    assert host.check_output(f"sha256sum {ENV}") == before


def test_env_unknown_site_is_refused(host):
    rc, out = playbook("env.yml", "-e", "site=nope", "-e", '{"set": {"A": "b"}}')
    assert rc != 0 and "Unknown site" in out


def test_artisan_allowed_command_runs_as_the_site_user(host):
    # Typed as in a shell: the playbook drops the leading php and artisan (artisan_args).
    rc, out = playbook("artisan.yml", "-e", "site=demo", "-e", json.dumps({"cmd": "php artisan env"}))
    assert rc == 0, out[-3000:]
    assert "production" in out


# Every spelling is unit-tested (tests/unit); here three go through the playbook end to end.
@pytest.mark.parametrize("cmd", ["m:f", "--env=production migrate:fresh", "php artisan db:wipe"])
def test_artisan_destructive_command_is_refused_however_spelled(host, cmd):
    before = host.check_output(f"sha256sum {ENV}")
    # JSON: a key=value extra var ends at the first space.
    rc, out = playbook("artisan.yml", "-e", "site=demo", "-e", json.dumps({"cmd": cmd}))
    assert rc != 0, out[-3000:]
    assert "refused" in out
    assert host.check_output(f"sha256sum {ENV}") == before
    assert "Version:" in page(host).stdout and status(host, "/up") == "200"


def test_logs_show_present_files_and_name_missing_ones(host):
    host.run_test("rm -f /srv/www/demo/shared/storage/logs/laravel.log")
    rc, out = playbook("logs.yml", "-e", "site=demo", "-e", "lines=5")
    assert rc == 0, out[-3000:]
    assert "nginx access (/var/log/nginx/demo.access.log):" in out
    assert "MISSING / ABSENT: laravel" in out


def test_logs_without_any_file_still_show_the_journal(host):
    host.run_test("mkdir -p /root/logs-aside && mv /var/log/nginx/demo.access.log /var/log/nginx/demo.error.log /root/logs-aside/")
    try:
        rc, out = playbook("logs.yml", "-e", "site=demo", "-e", "lines=5")
    finally:
        host.run_test("mv /root/logs-aside/demo.access.log /root/logs-aside/demo.error.log /var/log/nginx/ && systemctl reload nginx")
    # The worker runs, so its journal is a log of the site: the run reports the three files missing and succeeds.
    assert rc == 0, out[-3000:]
    assert "MISSING / ABSENT: laravel, nginx access, nginx error" in out
    assert "workers and scheduler (journal):" in out


RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(out):
    """{host: {'changed': n, 'failed': n}} from the PLAY RECAP of an ansible-playbook output."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)  # a coloured run (ANSIBLE_FORCE_COLOR) reads the same
    return {m.group(1): {"changed": int(m.group(3)), "failed": int(m.group(5))} for m in RECAP.finditer(plain)}


@pytest.mark.parametrize("book", ["web.yml", "apps.yml"])
def test_check_diff_on_the_converged_host_changes_nothing(host, book):
    before = host.check_output(f"sha256sum {ENV} /etc/nginx/sites-available/demo.conf")
    rc, out = playbook(book, "--check", "--diff", "-e", "apps_deploy=false")
    assert rc == 0, out[-3000:]
    counts = recap(out)
    assert counts and all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts
    assert host.check_output(f"sha256sum {ENV} /etc/nginx/sites-available/demo.conf") == before
