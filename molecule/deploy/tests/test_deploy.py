"""Zero-downtime deploys of site demo, as a user sees them: the page, /up, the worker, the timer.

The story runs in file order: converge deployed `main`; the console's tests (test_console.py) deploy v2
through the console and roll back to `main`; these tests deploy v2, then the two bad refs (the old release
must keep serving), then roll back. Each step runs the real playbooks with ansible-playbook against
Molecule's inventory.
"""

import json
import re
import time

import pytest
from lab_playbook import HOST, page, playbook, release_before_live, status

testinfra_hosts = ["mol-deploy-web"]


def release_of(host):
    match = re.search(r"Release: ([0-9]{14}-[0-9a-f]{7,40})", page(host).stdout)
    return match.group(1) if match else None


def job_run_by(host, marker, timeout=60):
    """Queue a job, wait for a worker to run it; return the row it wrote."""
    artisan = "sudo -u demo php /srv/www/demo/current/artisan"
    host.run_test(f"{artisan} app:dispatch-run {marker}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in host.run(f"{artisan} app:runs").stdout.splitlines():
            row = json.loads(line)
            if row["marker"] == marker:
                return row
        time.sleep(2)
    pytest.fail(f"no worker ran job {marker} within {timeout}s")


def test_main_serves_v1_with_release_and_database_value(host):
    out = page(host).stdout
    assert "Version: v1" in out
    assert re.search(r"Release: \d{14}-[0-9a-f]{7}", out)
    assert "Bonjour from the database" in out
    assert status(host, "/up") == "200"


def test_layout_and_permissions(host):
    current = host.file("/srv/www/demo/current")
    assert current.is_symlink and current.linked_to.startswith("/srv/www/demo/releases/")
    env = host.file("/srv/www/demo/shared/.env")
    assert env.mode == 0o600 and env.user == "demo" and env.group == "demo"
    assert "APP_KEY=" in env.content_string
    assert host.file("/srv/www/demo").mode == 0o750
    # only the site's user reads the secrets: not other users, not the web server (in the site's group)
    assert host.run("sudo -u nobody cat /srv/www/demo/shared/.env").rc != 0
    assert host.run("sudo -u www-data cat /srv/www/demo/shared/.env").rc != 0


def test_worker_runs_as_site_user(host):
    assert host.service("demo-worker@default-1").is_running
    assert "demo" in host.check_output("ps -o user= -C php8.2 | sort -u")


def test_scheduler_timer_only_on_scheduler_host(host):
    assert host.service("demo-scheduler.timer").is_enabled
    assert host.service("demo-scheduler.timer").is_running


def test_deploy_v2_switches_and_workers_run_new_code(host):
    before = release_of(host)
    rc, out = playbook("deploy.yml", "-e", "site=demo", "-e", "ref=v2")
    assert rc == 0, out[-3000:]
    assert "Version: v2" in page(host).stdout
    after = release_of(host)
    assert after != before
    # A marker of this release: a re-run of verify on the same containers finds its own job.
    row = job_run_by(host, "after-v2-" + after)
    assert row["version"] == "v2" and row["release"] == after


def test_deploy_hooks_ran_at_their_points(host):
    # sites.demo.deploy_hooks (molecule.yml): build_after ran in the new release before the switch (the
    # release before it was live), finalize_after after the switch (the new release live).
    release = release_of(host)
    built = host.file("/srv/www/demo/current/hook_build_after.txt").content_string.split()
    assert built[0] == f"release={release}"
    assert built[1].startswith("live=") and built[1] not in ("live=" + release, "live=none"), built
    assert host.file(f"/srv/www/demo/releases/{built[1][len('live='):]}").is_directory
    final = host.file("/srv/www/demo/current/hook_finalize_after.txt").content_string.split()
    assert final == [f"release={release}", f"live={release}"]


def test_bad_migration_keeps_old_release(host):
    before = release_of(host)
    rc, out = playbook("deploy.yml", "-e", "site=demo", "-e", "ref=bad-migration")
    assert rc != 0
    assert "Run the migrations" in out
    assert release_of(host) == before
    assert "Version: v2" in page(host).stdout and status(host, "/up") == "200"


def test_bad_health_is_put_back(host):
    before = release_of(host)
    rc, out = playbook("deploy.yml", "-e", "site=demo", "-e", "ref=bad-health")
    assert rc != 0
    assert "put back " + before in out
    assert release_of(host) == before
    assert status(host, "/up") == "200"


def test_rollback_returns_to_previous_release(host):
    # The release before the live one (release ids sort by time) and the code version it holds: the console's
    # tests deployed v2 before this story's own v2, so it need not be `main`.
    previous = release_before_live(host)
    version = re.search(r"'version' => '([^']+)'",
                        host.file(f"/srv/www/demo/releases/{previous}/config/testapp.php").content_string).group(1)
    rc, out = playbook("rollback.yml", "-e", "site=demo")
    assert rc == 0, out[-3000:]
    assert release_of(host) == previous
    assert f"Version: {version}" in page(host).stdout
    assert status(host, "/up") == "200"


def test_unknown_site_is_refused(host):
    rc, out = playbook("deploy.yml", "-e", "site=nope")
    assert rc != 0 and "Unknown site" in out


# Forge coexistence: the same host, put in group forge_managed by a second inventory source.
FORGE_GROUP = "all:\n  children:\n    forge_managed:\n      hosts:\n        mol-deploy-web: {}\n"
VHOST = "/etc/nginx/sites-available/demo.conf"
FORGE_ENV = "/home/forge/demo.lab.test/.env"


@pytest.fixture()
def forge_inventory(tmp_path):
    path = tmp_path / "forge.yml"
    path.write_text(FORGE_GROUP)
    return path


def test_forge_managed_host_gets_a_report_and_a_native_site_is_refused(host, forge_inventory):
    # What Forge would have changed by hand: a line in the vhost, and its own .env of the site.
    host.run_test(f"echo '# edited by Forge' >> {VHOST}")
    host.run_test("id forge || useradd --create-home forge")
    host.run_test(f"install -d -o forge -g forge /home/forge/demo.lab.test && printf 'APP_NAME=Forge\\n' > {FORGE_ENV}")
    before = host.check_output(f"sha256sum {VHOST} {FORGE_ENV}")

    rc, out = playbook("web.yml", inventories=[forge_inventory])
    assert rc == 0, out[-3000:]
    # demo is a native site (layout: native): on a Forge-managed host its systemd workers and timer would run
    # beside Forge's, so apps.yml refuses it loudly, naming the site, the host and the field, before any write.
    rc, out_apps = playbook("apps.yml", "-e", "apps_deploy=false", inventories=[forge_inventory])
    assert rc != 0, out_apps[-3000:]
    assert "site demo, host mol-deploy-web, field layout (native)" in out_apps
    assert "nothing was changed" in out_apps
    assert host.check_output(f"sha256sum {VHOST} {FORGE_ENV}") == before
    assert status(host, "/up") == "200"


def test_forge_override_writes_and_undoes_the_hand_edit(host, forge_inventory):
    rc, out = playbook("web.yml", "-e", "forge_override=true", inventories=[forge_inventory])
    assert rc == 0, out[-3000:]
    assert "# edited by Forge" not in host.file(VHOST).content_string
    # The take-over builds the native site (its own .env under /srv/www); Forge's directory is left as it is.
    rc, out = playbook("apps.yml", "-e", "apps_deploy=false", "-e", "forge_override=true", inventories=[forge_inventory])
    assert rc == 0, out[-3000:]
    native_env = host.file("/srv/www/demo/shared/.env").content_string.splitlines()
    assert any(line.startswith("APP_KEY") for line in native_env)
    assert host.file(FORGE_ENV).content_string == "APP_NAME=Forge\n"
    assert status(host, "/up") == "200"
