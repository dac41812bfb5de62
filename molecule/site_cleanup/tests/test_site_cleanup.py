"""What an operator sees after the site cleanup: the plan, the retired site gone, the busy
retired site refused and still serving, the live sites answering, then charlie restored."""

import glob
import json
import os
import time

import pytest


def get(host, name, path="/"):
    return host.run("curl -s -m 5 -o - -w '\\n%%{http_code}' -H 'Host: %s' http://127.0.0.1%s" % (name, path))


def body_and_code(host, name, path="/"):
    out = get(host, name, path).stdout.rsplit("\n", 1)
    return out[0], out[-1]


def test_plan_report_lists_each_thing():
    reports = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports")
    report = json.load(open(os.path.join(reports, "mol-site_cleanup.json")))
    by = {(i["name"], i["kind"]): i for i in report["items"]}
    assert by[("oldshop.conf", "vhost")]["classification"] == "orphan"
    assert by[("oldshop", "pool")]["classification"] == "orphan"
    assert by[("/srv/www/oldshop", "directory")]["frees_bytes"] > 0
    kinds = {i["kind"] for i in report["items"] if i["name"] == "charlie"}
    assert kinds >= {"vhost", "fpm_site", "worker_unit", "cron", "directory", "certificate", "certificate_renewal"}
    assert any("retiring is refused" in i["reason"] for i in report["items"] if i["name"] == "delta")
    prune = [i["evidence"] for i in report["items"] if i["classification"] == "prune"]
    assert prune == ["/srv/www/alpha/releases/r20261101", "/srv/www/alpha/releases/r20261102"]
    assert not [i for i in report["items"] if i["name"] in ("alpha", "bravo") and i["classification"] != "prune"]
    markdown = open(os.path.join(reports, "mol-site_cleanup.md")).read()
    assert "| oldshop.conf | vhost | orphan |" in markdown


@pytest.mark.parametrize("name", ["alpha.test", "bravo.test", "delta.test", "oldshop.test"])
def test_other_sites_still_answer(host, name):
    body, code = body_and_code(host, name)
    assert code == "200" and body.startswith(name.split(".")[0] + " ok")


def test_charlie_is_gone(host):
    body, _code = body_and_code(host, "charlie.test")
    assert "charlie ok" not in body
    for path in ("/srv/www/charlie", "/etc/nginx/sites-enabled/charlie.conf", "/etc/nginx/sites-available/charlie.conf",
                 "/etc/php/8.2/fpm/sites/charlie.conf", "/etc/systemd/system/charlie-worker@.service",
                 "/etc/cron.d/charlie", "/etc/ssl/sites/charlie", "/etc/letsencrypt/renewal/charlie.test.conf",
                 "/etc/letsencrypt/live/charlie.test", "/var/log/nginx/charlie.access.log"):
        assert not host.file(path).exists, path
    assert not host.user("charlie").exists
    assert not host.service("charlie-worker@default-1").is_running
    assert not host.service("php-fpm-site@charlie").is_running
    assert host.run("pgrep -u 1 -f 'artisan queue:work' || true").stdout == ""


def test_archive_is_verified_and_audited(host):
    archives = host.check_output("ls /var/backups/infra/charlie-*.tar.gz").split()
    assert len(archives) == 1
    assert host.run("cd /var/backups/infra && sha256sum -c %s.sha256" % os.path.basename(archives[0])).rc == 0
    listing = host.check_output("tar -tzf %s" % archives[0])
    for member in ("srv/www/charlie/shared/.env", "srv/www/charlie/shared/storage", "etc/cron.d/charlie",
                   "etc/nginx/sites-available/charlie.conf", "etc/letsencrypt/renewal/charlie.test.conf",
                   "_retire/manifest.json", "_retire/restore.sh"):
        assert member in listing
    assert host.file(archives[0]).mode == 0o600
    audit = [json.loads(line) for line in host.file("/var/log/infra-audit.log").content_string.splitlines()]
    actions = [a["action"] for a in audit if a["target"] == "charlie"]
    assert actions[0] == "site_retire.archive"
    assert "site_retire.remove_vhost" in actions and "site_retire.remove_user" in actions
    assert set(audit[0]) == {"ts", "actor", "action", "target", "host", "details", "result"}
    assert any(a["action"] == "site_retire.refused" and a["target"] == "delta" for a in audit)


def test_busy_retired_site_was_refused_and_kept(host):
    assert host.file("/srv/www/delta/current/public/index.php").exists
    assert host.service("php-fpm-site@delta").is_running


def test_releases_pruned_but_current_and_previous_kept(host):
    releases = host.check_output("ls /srv/www/alpha/releases").split()
    assert releases == ["r20261103", "r20261104", "r20261105"]
    body, code = body_and_code(host, "alpha.test")
    assert code == "200" and "r20261105" in body


def test_zz_restore_brings_charlie_back(host):
    archive = host.check_output("ls /var/backups/infra/charlie-*.tar.gz").split()[0]
    result = host.run("sh %s.restore.sh %s" % (archive, archive))
    assert result.rc == 0, result.stderr
    # `systemctl reload nginx` returns once the signal is sent: the old workers answer a moment longer.
    for _ in range(20):
        body, code = body_and_code(host, "charlie.test")
        if code == "200" and body.startswith("charlie ok"):
            break
        time.sleep(0.5)
    assert code == "200" and body.startswith("charlie ok"), body
    assert host.service("charlie-worker@default-1").is_running
    assert host.user("charlie").exists
    assert host.file("/etc/cron.d/charlie").exists
    assert host.file("/srv/www/charlie/shared/.env").user == "charlie"
    cert = host.run("echo | openssl s_client -connect 127.0.0.1:443 -servername charlie.test 2>/dev/null | grep subject=")
    assert "charlie.test" in cert.stdout
