"""The OS baseline is read in one call and only what differs is set (roles/os_hardening/tasks)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.infra.hosting.plugins.filter.os_baseline import permissions_drift, sysctl_boot_order, sysctl_drift


def test_only_differing_keys_are_returned():
    wanted = {"net.ipv4.ip_forward": 0, "kernel.sysrq": 0, "net.ipv4.ip_local_port_range": "1024 65000"}
    keys = ["kernel.sysrq", "net.ipv4.ip_forward", "net.ipv4.ip_local_port_range"]
    assert sysctl_drift(wanted, keys, ["176", "0", "1024\t65000"]) == ["kernel.sysrq=0"]


def test_nothing_to_do_when_all_match():
    assert sysctl_drift({"a.b": 1}, ["a.b"], ["1"]) == []


def test_writing_forwarding_rewrites_accept_redirects_after_it():
    # Seen in Molecule: ip_forward 1 -> 0 turned net.ipv4.conf.all.accept_redirects from 0 to 1
    # (the kernel resets it), and the next run found it to fix again.
    wanted = {
        "net.ipv4.conf.all.accept_redirects": 0,
        "net.ipv4.ip_forward": 0,
        "net.ipv4.conf.default.accept_redirects": 0,
        "kernel.sysrq": 0,
    }
    keys = list(wanted)
    assert sysctl_drift(wanted, keys, ["0", "1", "1", "1"]) == [
        "net.ipv4.ip_forward=0",
        "net.ipv4.conf.default.accept_redirects=0",
        "kernel.sysrq=0",
        "net.ipv4.conf.all.accept_redirects=0",
    ]
    # Without a forwarding change, a matching accept_redirects key is left alone.
    assert sysctl_drift(wanted, keys, ["0", "0", "0", "1"]) == ["kernel.sysrq=0"]


def test_the_boot_file_sets_forwarding_before_accept_redirects():
    # Sorted by name, accept_redirects came first and the ip_forward line after it set it back to 1 at every boot.
    wanted = {
        "net.ipv4.conf.all.accept_redirects": 0,
        "net.ipv6.conf.all.forwarding": 0,
        "kernel.sysrq": 0,
        "net.ipv4.ip_forward": 0,
        "fs.protected_fifos": 2,
    }
    order = sysctl_boot_order(wanted)
    assert order == [
        "net.ipv4.ip_forward",
        "net.ipv6.conf.all.forwarding",
        "fs.protected_fifos",
        "kernel.sysrq",
        "net.ipv4.conf.all.accept_redirects",
    ]
    assert sysctl_boot_order({}) == []


def test_the_boot_order_refuses_what_is_not_a_mapping():
    with pytest.raises(AnsibleFilterError, match="mapping"):
        sysctl_boot_order(["net.ipv4.ip_forward"])


def test_a_missing_live_value_is_an_error_not_a_silent_skip():
    with pytest.raises(AnsibleFilterError):
        sysctl_drift({"a.b": 1, "c.d": 2}, ["a.b", "c.d"], ["1"])


WANTED = [
    {"path": "/etc/shadow", "owner": "root", "group": "shadow", "mode": "0640"},
    {"path": "/etc/crontab", "owner": "root", "group": "root", "mode": "0600"},
    {"path": "/etc/cron.weekly", "owner": "root", "group": "root", "mode": "0700"},
]


def test_permissions_only_paths_that_exist_and_differ():
    lines = ["/etc/shadow|root|shadow|640", "/etc/crontab|root|root|644"]  # cron.weekly absent
    assert permissions_drift(WANTED, lines) == [WANTED[1]]


def test_permissions_owner_change_is_drift():
    assert permissions_drift(WANTED[:1], ["/etc/shadow|root|root|640"]) == [WANTED[0]]


def test_permissions_bad_stat_line_is_an_error():
    with pytest.raises(AnsibleFilterError):
        permissions_drift(WANTED, ["garbage"])


def test_permissions_missing_path_is_drift_only_when_asked():
    wanted = [{"path": "/srv/www/a", "owner": "a", "group": "a", "mode": "0750"},
              {"path": "/srv/www/a/shared", "owner": "a", "group": "a", "mode": "0750"}]
    lines = ["/srv/www/a|a|a|750"]
    assert permissions_drift(wanted, lines) == []
    assert permissions_drift(wanted, lines, missing=True) == [wanted[1]]
    assert permissions_drift(wanted, [], missing=True) == wanted
