"""sysctl_drift: only the keys whose live value differs are set (roles/os_hardening/tasks/configure.yml)."""

import pytest
from ansible.errors import AnsibleFilterError

from sysctl import sysctl_drift


def test_only_differing_keys_are_returned():
    wanted = {"net.ipv4.ip_forward": 0, "kernel.sysrq": 0, "net.ipv4.ip_local_port_range": "1024 65000"}
    keys = ["kernel.sysrq", "net.ipv4.ip_forward", "net.ipv4.ip_local_port_range"]
    assert sysctl_drift(wanted, keys, ["176", "0", "1024\t65000"]) == ["kernel.sysrq=0"]


def test_nothing_to_do_when_all_match():
    assert sysctl_drift({"a.b": 1}, ["a.b"], ["1"]) == []


def test_a_missing_live_value_is_an_error_not_a_silent_skip():
    with pytest.raises(AnsibleFilterError):
        sysctl_drift({"a.b": 1, "c.d": 2}, ["a.b", "c.d"], ["1"])
