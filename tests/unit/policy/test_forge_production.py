"""The production inventory's Forge side, read as Ansible reads it (inventories/production, groups and all):
- how Ansible connects to the Forge servers (issue #17, point 5): as `forge`, the user Forge creates, with sudo
  (its password is given at run time, -K, never in the repository); the native nodes keep `deploy`;
- docs/forge-to-confirm.md is what discover.yml's model-only mode makes from that inventory today (regenerate
  it with the command the file names, docs/forge.md)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ansible_collections.infra.hosting.plugins.filter import forge_report
import pytest

ROOT = Path(__file__).resolve().parents[3]
PROD = ROOT / "inventories" / "production"


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """(forge_managed's hosts, {host: its variables, groups merged}) by `ansible-inventory --list`, with no vault
    identity (an empty config), as CI and discover.yml's model-only mode run."""
    empty = tmp_path_factory.mktemp("cfg") / "ansible.cfg"
    empty.write_text("[defaults]\n")
    # Beside the Python running the tests (the virtualenv's), else on PATH.
    tool = Path(sys.executable).parent / "ansible-inventory"
    out = subprocess.run([str(tool) if tool.exists() else shutil.which("ansible-inventory"), "-i", str(PROD), "--list"],
                         cwd=ROOT, check=True, capture_output=True, text=True,
                         env=dict(os.environ, ANSIBLE_CONFIG=str(empty))).stdout
    data = json.loads(out)
    return data["forge_managed"]["hosts"], data["_meta"]["hostvars"]


def test_forge_hosts_connect_as_forge_with_sudo_and_native_nodes_as_deploy(production):
    forge_hosts, hostvars = production
    assert set(forge_hosts) == {"whc", "whc_2", "aws_01"}
    for name, values in hostvars.items():
        assert values["ansible_user"] == ("forge" if name in forge_hosts else "deploy"), name
        assert values["ansible_become"] is True and values.get("ansible_become_method", "sudo") == "sudo", name
    # The sudo password Forge shows once per server stays out of the repository (-K at run time).
    text = "\n".join(p.read_text(encoding="utf-8") for p in PROD.rglob("*.yml"))
    assert "ansible_become_pass" not in text and "ansible_password" not in text


def test_committed_to_confirm_list_is_current(production):
    forge_hosts, hostvars = production
    some = hostvars[forge_hosts[0]]
    items = forge_report.forge_model_to_confirm(some["sites"], some["databases"], hostvars, some["dns_domains"], forge_hosts)
    text = (ROOT / "docs" / "forge-to-confirm.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("- [ ]")]
    assert lines == forge_report.forge_to_confirm_markdown(items).splitlines()[2:], \
        "docs/forge-to-confirm.md is stale: regenerate it (docs/forge.md, 'The to-confirm list of production')"
    assert len(lines) == len(items) > 0 and all(" — FR : " in line and " — EN: " in line for line in lines)
    assert any("connecting to whc as forge" in line for line in lines)
