"""Controller-only runs of the playbooks, on local hosts (no container).

- `local_inventory(sites, web_hosts)` writes the smallest inventory validate.yml accepts.
- `operator_playbook(name, *args)` runs playbooks/<name> (artisan.yml, env.yml) from the repository
  root, so with its ansible.cfg and the filters the playbooks really load, on two local hosts: n1
  serves the sites `demo` (prod) and `stage` (staging), n2 is a web host that serves none. The run
  is limited to n2 and in check mode: a command the check lets through is skipped by the
  playbook's own "first host of the site" step and nothing runs on this machine; only the check,
  delegated to localhost, does its work.
"""

import os
import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"


@pytest.fixture()
def local_inventory(tmp_path):
    """Return a function writing tmp_path/inventory.yml: `sites` on the local hosts `web_hosts` (group web).

    Every host connects locally; the data model around the sites is the smallest validate.yml accepts.
    """
    def write(sites, web_hosts):
        inventory = {
            "all": {
                "vars": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": str(BIN / "python"),
                    "site_defaults": {"status": "active", "health_path": "/up", "databases": [],
                                      "php_version": "8.2", "repo": "git://lab.invalid/app.git", "uploads": "none"},
                    "sites": sites,
                    "databases": {},
                    "supported_php_versions": ["8.2"],
                },
                "children": {"web": {"hosts": {host: {} for host in web_hosts}}},
            }
        }
        path = tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory))
        return path

    return write


@pytest.fixture()
def operator_playbook(local_inventory):
    """Return a function running one operator playbook; it returns (exit code, stdout and stderr)."""
    inventory = local_inventory({"demo": {"domains": ["demo.test"], "hosts": ["n1"], "environment": "prod"},
                                 "stage": {"domains": ["stage.test"], "hosts": ["n1"], "environment": "staging"}},
                                ["n1", "n2"])

    def run(playbook, *extra):
        tool = BIN / "ansible-playbook"
        result = subprocess.run(
            [str(tool if tool.exists() else "ansible-playbook"), "-i", str(inventory),
             f"playbooks/{playbook}", "--check", "--limit", "n2", *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.timer"},
        )
        return result.returncode, result.stdout + result.stderr

    return run
