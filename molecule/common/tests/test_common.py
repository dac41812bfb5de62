"""Behaviour of the common role: what an administrator sees on the host."""

import pytest


def test_timezone_is_toronto(host):
    assert host.check_output("date +%Z") in ("EST", "EDT")
    assert host.file("/etc/localtime").linked_to.endswith("America/Toronto")


@pytest.mark.parametrize("locale", ["fr_CA.utf8", "en_CA.utf8"])
def test_locales_are_generated(host, locale):
    assert locale in host.check_output("locale -a").split()


def test_french_dates_render(host):
    out = host.check_output("LC_ALL=fr_CA.UTF-8 date -d 2026-01-05 +%A")
    assert out == "lundi"


def test_time_sync_is_enabled_with_our_servers(host):
    # timesyncd skips containers by design (their clock is the host's): enabled, configured.
    assert host.service("systemd-timesyncd").is_enabled
    assert "NTP=0.debian.pool.ntp.org" in host.check_output("systemd-analyze cat-config systemd/timesyncd.conf")


def test_admin_can_sudo_without_password(host):
    user = host.user("alice")
    assert "admins" in user.groups
    assert host.run("sudo -u alice sudo -n true").rc == 0


def test_admin_key_is_authorised_and_private(host):
    keys = host.file("/home/alice/.ssh/authorized_keys")
    assert keys.user == "alice"
    assert keys.mode == 0o600
    assert "labadmin@lab" in keys.content_string


def test_absent_admin_has_no_account(host):
    assert not host.user("bob").exists


def test_unattended_upgrades_are_security_only(host):
    out = host.check_output("apt-config dump | grep -i 'Unattended-Upgrade::Origins-Pattern'")
    assert "Debian-Security" in out
    assert host.run("unattended-upgrade --dry-run").rc == 0
