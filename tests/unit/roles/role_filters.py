"""Load a role's own filter plugin (roles/<role>/filter_plugins/<role>.py) as a module, for its unit tests.

Role filter plugins are not part of the collection's Python packages: they are loaded from their file.
"""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def load(role):
    """The module of roles/<role>/filter_plugins/<role>.py."""
    spec = importlib.util.spec_from_file_location(
        "%s_filters" % role, os.path.join(ROOT, "roles", role, "filter_plugins", "%s.py" % role))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
