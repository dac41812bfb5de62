"""playbooks/validate.yml end to end: passes on both inventories, fails with clear lines on bad input."""

import os
import pathlib
import shutil
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"


def run_validate(inventory):
    tool = BIN / "ansible-playbook"
    return subprocess.run(
        [str(tool if tool.exists() else "ansible-playbook"), "-i", str(inventory), "playbooks/validate.yml"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )


def test_lab_inventory_passes():
    result = run_validate(ROOT / "inventories" / "lab")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Data model OK" in result.stdout


def test_bad_inventory_fails_with_one_line_per_problem(tmp_path):
    inv = tmp_path / "lab"
    shutil.copytree(ROOT / "inventories" / "lab", inv)
    sites_file = inv / "group_vars" / "all" / "sites.yml"
    sites = yaml.safe_load(sites_file.read_text())
    sites["sites"]["blcpa"]["domains"].append("aeroemploi.lab.test")     # a domain of another site
    sites["sites"]["blcpa"]["php_version"] = "5.6"                        # unsupported PHP
    sites["sites"]["scraping"]["hosts"] = ["lb_01"]                       # not a web host
    sites["sites"]["scraping"]["env"]["DB_PASSWORD"] = "plain"            # secret in plain text
    sites_file.write_text(yaml.safe_dump(sites))
    result = run_validate(inv)
    assert result.returncode != 0
    out = result.stdout
    assert "The data model has 4 problem(s):" in out
    assert "site blcpa: domains: 'aeroemploi.lab.test' is already served by site aeroemploi" in out
    assert "site blcpa: php_version: '5.6' is not supported" in out
    assert "site scraping: hosts: 'lb_01' is not in group 'web'" in out
    assert "site scraping: env.DB_PASSWORD: looks like a secret in plain text" in out
