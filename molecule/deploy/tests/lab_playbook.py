"""Helpers of the deploy scenario's tests: run a real playbook against Molecule's inventory, read the site."""

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
HOST = "demo.lab.test"


def playbook(name, *extra, inventories=()):
    """Run playbooks/<name> against the Molecule inventory (plus `inventories`); return (rc, output)."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE") or os.path.join(
        os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory"
    )
    env = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"),
        ANSIBLE_FILTER_PLUGINS=os.path.join(ROOT, "plugins", "filter"),
        ANSIBLE_LIBRARY=os.path.join(ROOT, "plugins", "modules"),
        ANSIBLE_MODULE_UTILS=os.path.join(ROOT, "plugins", "module_utils"),
        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_HANDLERS="true",
    )
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
           *[arg for extra_inventory in inventories for arg in ("-i", str(extra_inventory))],
           os.path.join(ROOT, "playbooks", name), *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def page(host, path="/"):
    return host.run(f"curl -s -m 10 -o - -w '\\n%{{http_code}}' -H 'Host: {HOST}' http://127.0.0.1{path}")


def status(host, path="/"):
    return page(host, path).stdout.strip().splitlines()[-1]
