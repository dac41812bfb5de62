# -*- coding: utf-8 -*-
"""Ship each module's Python already compiled, next to its source, in the payload ansible-core sends to a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: payload_bytecode
type: aggregate
short_description: Compiled bytecode next to the sources in every module payload (AnsiballZ)
description:
  - ansible-core sends a Python module to a host as a zip of its source and the C(module_utils) it imports
    (AnsiballZ); the host's Python imports them from that zip, and Python never keeps a compiled copy of a module
    imported from a zip, so every module run compiled ansible-core's C(module_utils) again on the host. In
    ansible-core 2.19 that is most of a module run's cost on a host (a C(stat) run's C(module_utils)
    import took 135-220 ms from sources and 56-80 ms from bytecode, docs/benchmarks.md).
  - This callback, once ansible-playbook starts, makes the payload builder add a compiled C(.pyc) beside each C(.py)
    of the zip. The host's Python uses it when its own version matches the controller's (the bytecode's magic
    number; Debian 12 and the controller's Python 3.11 here), and compiles the source otherwise, as before; a host
    with another Python runs the same modules, only without the gain, and with a larger payload.
  - The bytecode is hash-based and unchecked (PEP 552), written from the same bytes as the source beside it, and
    compiled without optimisation (asserts kept). A traceback from a module shows its file names relative to the
    payload (C(ansible/module_utils/basic.py)) without the source line.
  - The compiled code is kept in O(cache_dir), named by a hash of the Python version, the file's name in the payload
    and its source, so a run compiles only what changed since an earlier run (ansible-core itself builds each
    module's payload once per run). The folder is created private to the controller's user (mode 0700), as what it
    holds runs on the hosts; an entry that does not load is compiled again. Deleting the folder is always safe.
  - Nothing a task does or returns changes; the callback prints nothing. It patches one function of
    ansible-core (C(ansible.executor.module_common._add_module_to_zip)); if that function is not there (another
    ansible-core), it warns once and leaves the payloads as they are.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
requirements:
  - enabled in C(callbacks_enabled) (ansible.cfg). Molecule's scenarios run their modules through Mitogen, which
    sends no such payload, so their settings leave it out.
options:
  cache_dir:
    description: Where compiled code is kept between runs; empty to compile in every run.
    type: path
    default: ~/.ansible/payload_bytecode
    ini:
      - section: callback_payload_bytecode
        key: cache_dir
    env:
      - name: INFRA_HOSTING_BYTECODE_CACHE
"""

import hashlib
import importlib.util
import marshal
import zipfile

from ansible.executor import module_common
from ansible.plugins.callback import CallbackBase
from ansible_collections.infra.hosting.plugins.plugin_utils import code_cache

# Flags of a hash-based .pyc whose source is not checked (PEP 552): bit 0 set, bit 1 clear.
PYC_UNCHECKED_HASH = (1).to_bytes(4, "little")
PATCHED = "_infra_hosting_payload_bytecode"


def pyc_bytes(source, name, cache_dir=None):
    """The .pyc of `source` (bytes) as zipimport reads it, or None if it does not compile.

    Compiled under `name` (its path in the payload); kept in `cache_dir` when given."""
    source = bytes(source)
    header = importlib.util.MAGIC_NUMBER + PYC_UNCHECKED_HASH + importlib.util.source_hash(source)
    key = None
    if cache_dir:
        key = hashlib.sha256(importlib.util.MAGIC_NUMBER + name.encode("utf-8") + b"\0" + source).hexdigest() + ".code"
        body, code = code_cache.load(cache_dir, key)
        if code is not None:  # a damaged entry is compiled again, never shipped
            return header + body
    try:
        code = compile(source, name, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError):
        return None
    # Private to the controller's user (code_cache): what is kept here runs on every host, as root.
    body = code_cache.store(cache_dir, key, code) if key else marshal.dumps(code)
    return header + body


def add_bytecode(zf, cache_dir=None):
    """Write a .pyc beside every .py of the open zip `zf` that has none; return the names added."""
    present = set(zf.namelist())
    added = []
    for info in list(zf.infolist()):
        name = info.filename
        if not name.endswith(".py") or name + "c" in present:
            continue
        data = pyc_bytes(zf.read(info), name, cache_dir)
        if data is None:
            continue
        pyc = zipfile.ZipInfo(filename=name + "c", date_time=info.date_time)
        pyc.compress_type = zf.compression
        zf.writestr(pyc, data)
        added.append(name + "c")
    return added


def install(cache_dir=None, target=module_common):
    """Wrap `target._add_module_to_zip` (the payload's last write) so that bytecode follows it.

    Returns True if the payloads now carry bytecode, False if ansible-core has no such function."""
    original = getattr(target, "_add_module_to_zip", None)
    if original is None:
        return False
    if getattr(original, PATCHED, False):
        return True

    def _add_module_to_zip(zf, *args, **kwargs):
        result = original(zf, *args, **kwargs)
        add_bytecode(zf, cache_dir)
        return result

    setattr(_add_module_to_zip, PATCHED, True)
    _add_module_to_zip.__wrapped__ = original
    target._add_module_to_zip = _add_module_to_zip
    return True


class CallbackModule(CallbackBase):
    """Adds bytecode to the module payloads from the playbook's start; shows nothing."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "infra.hosting.payload_bytecode"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.installed = False

    def v2_playbook_on_start(self, playbook):
        self.installed = install(self.get_option("cache_dir") or None)
        if not self.installed:
            self._display.warning("infra.hosting.payload_bytecode: this ansible-core has no _add_module_to_zip; "
                                  "module payloads carry their sources only")
