"""Make the repository's plugins importable by the unit tests.

Filters are imported by file name (`import datamodel`). Modules import their shared code as
Ansible does, `from ansible.module_utils.<name> import ...`: each file of plugins/module_utils is
registered under that name here, so modules import unchanged (`import <module_name>`).
"""

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("plugins/filter", "plugins/modules", "plugins/inventory"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

import ansible.module_utils  # noqa: E402  (after sys.path is set)

_utils = os.path.join(ROOT, "plugins", "module_utils")
if os.path.isdir(_utils):
    for _file in sorted(os.listdir(_utils)):
        if _file.endswith(".py") and not _file.startswith("_"):
            _name = "ansible.module_utils." + _file[:-3]
            if _name not in sys.modules:
                _spec = importlib.util.spec_from_file_location(_name, os.path.join(_utils, _file))
                _mod = importlib.util.module_from_spec(_spec)
                sys.modules[_name] = _mod
                _spec.loader.exec_module(_mod)
