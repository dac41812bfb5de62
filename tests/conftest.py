"""Make the repository's plugins importable by the unit tests."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("plugins/filter", "plugins/modules", "plugins/module_utils", "plugins/inventory"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)
