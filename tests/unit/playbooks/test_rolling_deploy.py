"""playbooks/rolling_deploy.yml and deploy.yml as plays, on local hosts (no container).

The per-node step is a stand-in that records what it was given; what is checked is the play
around it: one node at a time in the site's order, migrations once per run (on the first node
the run targets, also under --limit), hosts that do not serve the site skipped, a bad site
refused before any node, no load balancer needed for a site on its own host.
"""

import json
import os
import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"


@pytest.fixture()
def lab(tmp_path, local_inventory):
    record = tmp_path / "record.jsonl"
    local_inventory({"shared": {"domains": ["shared.test"], "hosts": ["n2", "n1"]},
                     "single": {"domains": ["single.test"], "hosts": ["n3"]}}, ["n1", "n2", "n3"])
    (tmp_path / "node.yml").write_text(yaml.safe_dump([{
        "name": "Record the node step",
        "ansible.builtin.shell": {
            "cmd": "echo '{\"host\": \"{{ inventory_hostname }}\", \"migrations\": {{ rolling_deploy_run_migrations "
                   "| bool | to_json }}}' >> " + str(record),
        },
        "changed_when": True,
    }]))
    return tmp_path


def run(lab, playbook, *extra):
    tool = BIN / "ansible-playbook"
    result = subprocess.run(
        [str(tool if tool.exists() else "ansible-playbook"), "-i", str(lab / "inventory.yml"),
         f"playbooks/{playbook}", "-e", f"rolling_deploy_node_tasks={lab / 'node.yml'}", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.timer"},
    )
    record = lab / "record.jsonl"
    steps = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return result, steps


def test_nodes_one_at_a_time_with_migrations_once(lab):
    result, steps = run(lab, "rolling_deploy.yml", "-e", "site=shared")
    assert result.returncode == 0, result.stdout[-3000:]
    # The site lists n2 first, the inventory n1: nodes go in play order, and the first one deployed
    # runs the migrations (before any node serves the new code).
    assert steps == [{"host": "n1", "migrations": True}, {"host": "n2", "migrations": False}]


def test_limit_to_one_node_still_runs_the_migrations(lab):
    result, steps = run(lab, "rolling_deploy.yml", "-e", "site=shared", "--limit", "n1")
    assert result.returncode == 0, result.stdout[-3000:]
    assert steps == [{"host": "n1", "migrations": True}]


def test_a_site_on_one_host_needs_no_load_balancer(lab):
    result, steps = run(lab, "rolling_deploy.yml", "-e", "site=single")
    assert result.returncode == 0, result.stdout[-3000:]
    assert steps == [{"host": "n3", "migrations": True}]


@pytest.mark.parametrize("site,message", [("nope", "Unknown site"), ("shared.test", "Unknown site")])
def test_an_unknown_site_is_refused_before_any_node(lab, site, message):
    # rolling_deploy.yml, not deploy.yml: deploy.yml's node step (laravel_app, laravel_release) must never run on
    # this machine; the check is the same play.
    result, steps = run(lab, "rolling_deploy.yml", "-e", f"site={site}")
    assert result.returncode != 0
    assert message in result.stdout
    assert steps == []
