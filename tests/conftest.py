"""Make the repository's plugins importable by the unit tests.

Filters are imported by file name (`import datamodel`). Modules import their shared code as
Ansible does, `from ansible.module_utils.<name> import ...`: each file of plugins/module_utils is
found under that name here (a finder), so modules import unchanged (`import <module_name>`).
"""

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("plugins/filter", "plugins/modules"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

import ansible.module_utils  # noqa: E402,F401  (the parent package, after sys.path is set)

_utils = os.path.join(ROOT, "plugins", "module_utils")


class _ModuleUtilsFinder(object):
    """Finds ansible.module_utils.<name> in plugins/module_utils, on first import (in any order)."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        prefix = "ansible.module_utils."
        if not fullname.startswith(prefix) or "." in fullname[len(prefix):]:
            return None
        candidate = os.path.join(_utils, fullname[len(prefix):] + ".py")
        if not os.path.isfile(candidate):
            return None
        return importlib.util.spec_from_file_location(fullname, candidate)


if not any(isinstance(f, _ModuleUtilsFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _ModuleUtilsFinder())
