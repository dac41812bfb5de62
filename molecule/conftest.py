"""Shared by every scenario's testinfra tests.

Molecule's podman driver gives hosts `ansible_connection: podman`, which testinfra does not map to
its own podman backend: it would then run every command of every test through a whole Ansible
invocation (seconds each). Map it to testinfra's podman backend (`podman exec`, milliseconds).
"""

import testinfra
import testinfra.utils.ansible_runner as ansible_runner

_original = ansible_runner.get_ansible_host


def _get_ansible_host(config, inventory, host, ssh_config=None, ssh_identity_file=None):
    hostvars = (inventory or {}).get("_meta", {}).get("hostvars", {}).get(host, {})
    if hostvars.get("ansible_connection") in ("podman", "containers.podman.podman"):
        return testinfra.get_host("podman://" + hostvars.get("ansible_host", host))
    return _original(config, inventory, host, ssh_config, ssh_identity_file)


ansible_runner.get_ansible_host = _get_ansible_host
