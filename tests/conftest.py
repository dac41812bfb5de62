"""Make the repository's collection importable by the unit tests, as ansible-test does.

The repository root is the collection infra.hosting; playbooks/collections/ansible_collections/infra/hosting
is a symlink to it. With playbooks/collections on sys.path, tests import plugins by their collection name
(`from ansible_collections.infra.hosting.plugins.filter import datamodel`), and the modules find their
shared code as they do on a host (`from ansible_collections.infra.hosting.plugins.module_utils.<name> import`).
No import hook: scripts/ansible_test.sh runs the same tests under ansible-test on a copy of the collection.

plugins/filter and plugins/modules are also on sys.path, for tests still written `import datamodel`; new tests
use the collection name (docs/conventions.md).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("plugins/filter", "plugins/modules", "playbooks/collections"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)
