"""Shared by every scenario's testinfra tests.

Molecule's podman driver gives hosts `ansible_connection: podman`, which testinfra does not map to
its own podman backend: it would then run every command of every test through a whole Ansible
invocation (seconds each). Map it to testinfra's podman backend (`podman exec`, milliseconds).

molecule/shared/ goes on sys.path: every scenario's tests import its helpers (`from lab_playbook import playbook`).
"""

import os
import sys

import pytest
import testinfra
import testinfra.utils.ansible_runner as ansible_runner
import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret

_original = ansible_runner.get_ansible_host


def _get_ansible_host(config, inventory, host, ssh_config=None, ssh_identity_file=None):
    hostvars = (inventory or {}).get("_meta", {}).get("hostvars", {}).get(host, {})
    if hostvars.get("ansible_connection") in ("podman", "containers.podman.podman"):
        return testinfra.get_host("podman://" + hostvars.get("ansible_host", host))
    return _original(config, inventory, host, ssh_config, ssh_identity_file)


ansible_runner.get_ansible_host = _get_ansible_host

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shared"))


@pytest.fixture(scope="session")
def molecule_secrets():
    """The scenarios' throw-away secrets, from tests/fixtures/molecule-secrets.yml (vault-encrypted with
    the lab's password, a test fixture): tests never carry secrets in plain text."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "tests", "fixtures", "lab-vault-password"), "rb") as handle:
        secret = VaultSecret(handle.read().strip())
    with open(os.path.join(root, "tests", "fixtures", "molecule-secrets.yml"), "rb") as handle:
        plain = VaultLib([(DEFAULT_VAULT_ID_MATCH, secret)]).decrypt(handle.read())
    return yaml.safe_load(plain)["molecule_secrets"]
