"""The preload callback (plugins/callback/preload.py) loads the plugins a worker would parse again, in the process
that forks the workers; what it loads is then found there without parsing its documentation again."""

import os
import subprocess
import sys
from unittest import mock

import yaml

from ansible.plugins.loader import connection_loader

from ansible_collections.infra.hosting.plugins.callback import preload as preload_plugin
from ansible_collections.infra.hosting.plugins.callback.preload import preload


class FakeLoader:
    def __init__(self, known):
        self.known = known
        self.calls = []

    def get(self, name, class_only=False):
        self.calls.append((name, class_only))
        return object() if name in self.known else None


def test_each_spec_is_loaded_class_only_by_its_own_loader():
    conn, become = FakeLoader({"ansible.builtin.ssh"}), FakeLoader({"ansible.builtin.sudo"})
    loaded = preload(["connection:ansible.builtin.ssh", "become:ansible.builtin.sudo"],
                     loaders={"connection": conn, "become": become})
    assert loaded == ["connection:ansible.builtin.ssh", "become:ansible.builtin.sudo"]
    assert conn.calls == [("ansible.builtin.ssh", True)]
    assert become.calls == [("ansible.builtin.sudo", True)]


def test_unknown_types_empty_names_and_unresolved_plugins_are_skipped():
    conn = FakeLoader({"ansible.builtin.ssh"})
    loaded = preload(["lookup:ansible.builtin.file", "connection:", "connection:nope.nope.nope", "garbage",
                      "connection: ansible.builtin.ssh "], loaders={"connection": conn})
    assert loaded == ["connection: ansible.builtin.ssh "]
    assert conn.calls == [("nope.nope.nope", True), ("ansible.builtin.ssh", True)]


def test_the_documented_default_list_resolves_with_ansible_cores_own_loaders():
    defaults = yaml.safe_load(preload_plugin.DOCUMENTATION)["options"]["plugins"]["default"]
    assert defaults and preload(defaults) == defaults


def test_a_preloaded_plugin_is_not_parsed_again_by_a_later_load():
    preload(["connection:ansible.builtin.local"])
    with mock.patch("ansible.plugins.loader.yaml.load") as parse:
        assert connection_loader.get("ansible.builtin.local", class_only=True) is not None
    parse.assert_not_called()


def test_the_callback_loads_its_option_when_the_playbook_starts():
    callback = preload_plugin.CallbackModule()
    options = {"plugins": ["connection:ansible.builtin.local"], "freeze_in_workers": False}
    with mock.patch.object(callback, "get_option", side_effect=options.get), \
            mock.patch.object(preload_plugin, "freeze_in_workers") as freeze:
        callback.v2_playbook_on_start(None)
    assert callback.loaded == ["connection:ansible.builtin.local"]
    freeze.assert_not_called()
    options["freeze_in_workers"] = True
    with mock.patch.object(callback, "get_option", side_effect=options.get), \
            mock.patch.object(preload_plugin, "freeze_in_workers") as freeze:
        callback.v2_playbook_on_start(None)
    freeze.assert_called_once_with()


# In a process of its own: the registration lasts as long as the process that makes it.
FORK_PROBE = """
import gc, os, sys
from ansible_collections.infra.hosting.plugins.callback.preload import freeze_in_workers
assert freeze_in_workers() is True and freeze_in_workers() is False
before = gc.get_freeze_count()
pid = os.fork()
if pid == 0:
    os._exit(0 if gc.get_freeze_count() > 0 else 1)
dummy, status = os.waitpid(pid, 0)
sys.exit(10 + os.waitstatus_to_exitcode(status) if before == 0 and gc.get_freeze_count() == 0 else 20)
"""


def test_a_forked_worker_freezes_what_it_inherits_and_the_main_process_does_not():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    run = subprocess.run([sys.executable, "-c", FORK_PROBE], env=env, capture_output=True, text=True, timeout=60, check=False)
    # 10: the child froze (exit 0) and the parent did not; 11: the child did not; 20: the parent froze.
    assert run.returncode == 10, run.stderr
