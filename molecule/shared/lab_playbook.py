"""Helpers of the scenarios' testinfra tests: run a real playbook against Molecule's inventory, read a site.

Shared by every scenario (deploy, databases, site_cleanup): molecule/conftest.py puts this directory on
sys.path, so a test does `from lab_playbook import playbook`. `page` and `status` default to the deploy
scenario's site (HOST); pass `name=` for another one.
"""

import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOST = "demo.lab.test"


def ansible_settings():
    """The Ansible settings a scenario's tests give the playbooks they run (here, and the console's runs in
    molecule/deploy/tests/console_fixtures.py): this checkout's roles and plugins, Python 3, handlers forced."""
    return {
        "ANSIBLE_ROLES_PATH": os.path.join(ROOT, "roles"),
        "ANSIBLE_FILTER_PLUGINS": os.path.join(ROOT, "plugins", "filter"),
        "ANSIBLE_LIBRARY": os.path.join(ROOT, "plugins", "modules"),
        "ANSIBLE_MODULE_UTILS": os.path.join(ROOT, "plugins", "module_utils"),
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_FORCE_HANDLERS": "true",
    }


def playbook(name, *extra, inventories=()):
    """Run playbooks/<name> against the Molecule inventory (plus `inventories`); return (rc, stdout and stderr).

    The inventory is Molecule's whole inventory directory, as Molecule passes it to its own runs: the
    platforms (ansible_inventory.yml, MOLECULE_INVENTORY_FILE), the scenario's extra `hosts` (a file
    `hosts` beside it) and its group_vars/host_vars.
    """
    inventory = (os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]) if os.environ.get("MOLECULE_INVENTORY_FILE")
                 else os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory"))
    env = dict(os.environ, **ansible_settings(), ANSIBLE_NOCOLOR="1")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
           *[arg for extra_inventory in inventories for arg in ("-i", str(extra_inventory))],
           os.path.join(ROOT, "playbooks", name), *extra]
    # One stream, as a terminal shows it: Ansible prints a failed task's result on stderr, under its task on screen.
    proc = subprocess.run(cmd, env=dict(env, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=1200, check=False)
    return proc.returncode, proc.stdout


def task_output(out, task):
    """What a run printed under `TASK [<task>]`, up to the next task, play or recap, whitespace collapsed
    (the YAML result format folds a long message across lines); "" when the task did not run."""
    parts = out.split(f"TASK [{task}]")
    if len(parts) < 2:
        return ""
    text = re.split(r"^(?:TASK|PLAY|RUNNING HANDLER) \[|^PLAY RECAP", parts[-1], maxsplit=1, flags=re.M)[0]
    return " ".join(text.split())


def page(host, path="/", name=HOST):
    """GET http://127.0.0.1<path> with Host: <name> on the container; the body ends with a line holding the status."""
    return host.run(f"curl -s -m 10 -o - -w '\\n%{{http_code}}' -H 'Host: {name}' http://127.0.0.1{path}")


def status(host, path="/", name=HOST):
    return page(host, path, name).stdout.strip().splitlines()[-1]


def release_before_live(host, site="demo"):
    """The release before the live one of `site` on `host` (release ids sort by time): where a rollback goes."""
    current = host.check_output(f"basename $(readlink /srv/www/{site}/current)")
    kept = host.check_output(f"ls -1 /srv/www/{site}/releases").split()
    return [release for release in kept if release < current][-1]


def wait_for(check, tries=60, delay=2):
    """True as soon as check() is true, trying at most `tries` times `delay` seconds apart (bounded waits)."""
    for _ in range(tries):
        if check():
            return True
        time.sleep(delay)
    return False
