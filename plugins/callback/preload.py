# -*- coding: utf-8 -*-
"""Load, once in ansible-playbook's main process, the plugins that every forked worker would load again; keep the
workers' garbage collector off the objects they inherit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: preload
type: aggregate
short_description: Load the connection, become and shell plugins once, before the workers fork
description:
  - ansible-playbook forks one worker process per task and host. A worker that opens a connection loads the
    connection, become and shell plugins and parses each one's C(DOCUMENTATION) (YAML) for its settings, unless
    the main process it was forked from had already done so; the main process never opens a connection itself,
    so every worker parsed them again (about 10 % of the controller's CPU in a no-op converge of the lab,
    C(py-spy), docs/benchmarks.md).
  - This callback loads them when it starts, in the main process, so that every worker inherits them. It changes
    nothing a run does or shows; it prints nothing.
  - With O(freeze_in_workers), each worker, right after its fork, moves every object it inherited from the main
    process out of its garbage collector's reach (C(gc.freeze)). A full collection in the worker would otherwise walk the
    whole inherited heap and write to each object's header, so the kernel copied those memory pages into the worker
    (copy-on-write). The main process collects as before; a worker, which ends with its task, keeps collecting what
    it allocates itself.
  - The plugins loaded are those of O(plugins), by their full names, as the workers load them (ansible-core keeps a
    plugin's settings under the name it was loaded by, and a short name such as C(ssh) would not be found there);
    a name that does not resolve is skipped (the run reports it, as it would have, when a task uses it).
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
requirements:
  - enabled in C(callbacks_enabled) (ansible.cfg, and the Molecule scenarios' settings)
options:
  plugins:
    description: The plugins to load, as C(<type>:<name>); type is connection, become or shell.
    type: list
    elements: str
    default:
      - connection:ansible.builtin.ssh
      - connection:ansible.builtin.local
      - become:ansible.builtin.sudo
      - shell:ansible.builtin.sh
    ini:
      - section: callback_preload
        key: plugins
    env:
      - name: INFRA_HOSTING_PRELOAD_PLUGINS
  freeze_in_workers:
    description: Freeze the inherited objects in each forked worker (C(gc.freeze) after the fork).
    type: bool
    default: true
    ini:
      - section: callback_preload
        key: freeze_in_workers
    env:
      - name: INFRA_HOSTING_PRELOAD_FREEZE
"""

import gc
import os

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import become_loader, connection_loader, shell_loader

LOADERS = {"connection": connection_loader, "become": become_loader, "shell": shell_loader}


def preload(specs, loaders=None):
    """Load each `<type>:<name>` of `specs` (class only, with its settings); return the specs loaded."""
    loaders = LOADERS if loaders is None else loaders
    loaded = []
    for spec in specs:
        kind, dummy, name = spec.partition(":")
        loader = loaders.get(kind.strip())
        if loader is None or not name.strip():
            continue
        if loader.get(name.strip(), class_only=True) is not None:
            loaded.append(spec)
    return loaded


_FREEZE_REGISTERED = []


def freeze_in_workers():
    """Register, once per process, gc.freeze to run in every child forked from now on; True if registered now."""
    if _FREEZE_REGISTERED:
        return False
    os.register_at_fork(after_in_child=gc.freeze)
    _FREEZE_REGISTERED.append(True)
    return True


class CallbackModule(CallbackBase):
    """Loads its O(plugins) in the main process when the playbook starts; shows nothing."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "infra.hosting.preload"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.loaded = []

    def v2_playbook_on_start(self, playbook):
        self.loaded = preload(self.get_option("plugins"))
        if self.get_option("freeze_in_workers"):
            freeze_in_workers()
