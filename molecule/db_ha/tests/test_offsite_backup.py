"""Backups off the database host (issue #18, point 6): the tier's dumps (taken on its last member)
copied by restic, encrypted, to the store (the load balancer container stands for the off-site host),
a restore from the off-site copy loaded into MariaDB and compared, and the alert when the copy fails.
"""

import time

import pytest
import testinfra

MEMBER = "mol-db_ha-3"
STORE = "mol-db_ha-lb"


def node(name):
    return testinfra.get_host("podman://" + name)


@pytest.fixture(scope="module")
def copied():
    member = node(MEMBER)
    assert member.run("systemctl start infra-db-backup.service").rc == 0, member.run(
        "journalctl -u infra-db-backup.service -n 30 --no-pager").stdout
    run = member.run("systemctl start infra-offsite-backup.service")
    assert run.rc == 0, member.run("journalctl -u infra-offsite-backup.service -n 30 --no-pager").stdout
    return member


def only_on_member(host):
    if host.backend.get_hostname() != MEMBER:
        pytest.skip("driven from the tier's backup member")


def test_dumps_copied_off_the_host_encrypted_and_restore_verified(host, copied):
    only_on_member(host)
    last = copied.file("/var/lib/infra/offsite-backup.last").content_string
    print(last)
    verified = int(last.split("verified=")[1].split()[0])
    assert verified >= 2, last  # appdb on both engines at least
    store = node(STORE)
    assert store.file("/srv/restic/%s/config" % MEMBER).exists
    # Encrypted at rest on the store: a table name of the dumps appears nowhere in the repository.
    assert store.run("grep -rl failover_probe /srv/restic/%s" % MEMBER).rc == 1
    assert copied.file("/etc/systemd/system/infra-offsite-backup.timer").exists
    assert copied.service("infra-offsite-backup.timer").is_enabled


def test_a_restore_from_the_off_site_copy_loads_and_matches(host, copied):
    only_on_member(host)
    target = "/var/tmp/offsite-restore-test"
    copied.run("rm -rf %s" % target)
    paths = copied.check_output("infra-offsite-backup restore %s" % target).split()
    dump = [p for p in paths if "/mysql/appdb/" in p]
    assert dump, paths
    live = copied.check_output("mariadb -N -B -e 'SELECT COUNT(*) FROM appdb.failover_probe'")
    try:
        copied.check_output("mariadb -e 'DROP DATABASE IF EXISTS zz_offsite_restore; CREATE DATABASE zz_offsite_restore'")
        copied.check_output("zcat %s | mariadb zz_offsite_restore" % dump[0])
        restored = copied.check_output("mariadb -N -B -e 'SELECT COUNT(*) FROM zz_offsite_restore.failover_probe'")
    finally:
        copied.run("mariadb -e 'DROP DATABASE IF EXISTS zz_offsite_restore'")
        copied.run("rm -rf %s" % target)
    assert int(restored) == int(live) > 0


def test_a_failed_copy_raises_the_alert(host, copied):
    only_on_member(host)
    store = node(STORE)
    since = copied.check_output("date '+%Y-%m-%d %H:%M:%S'")
    store.check_output("systemctl stop ssh.service")
    try:
        assert copied.run("systemctl start infra-offsite-backup.service").rc != 0
        alert = ""
        for _ in range(20):
            alert = copied.run("journalctl -t offsite-backup-alert --since '%s' --no-pager -o cat" % since).stdout
            if "failed" in alert:
                break
            time.sleep(1)
        assert "Off-site copy of the dumps" in alert, alert
    finally:
        store.run("systemctl start ssh.service")
