"""Make the repository's collection importable by the unit tests, as ansible-test does.

The repository root is the collection infra.hosting; playbooks/collections/ansible_collections/infra/hosting
is a symlink to it. With Ansible's collection loader given playbooks/collections, tests import plugins by their collection name
(`from ansible_collections.infra.hosting.plugins.filter import datamodel`), and the modules find their
shared code as they do on a host (`from ansible_collections.infra.hosting.plugins.module_utils.<name> import`).
Nothing of ours on the import path: scripts/ansible_test.sh runs the same tests under ansible-test on a copy of the collection.

plugins/filter and plugins/modules are also on sys.path, for tests still written `import datamodel`; new tests
use the collection name (docs/conventions.md).
"""

import os
import sys

from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "playbooks", "collections")
for sub in ("plugins/filter", "plugins/modules"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

# Ansible's collection loader, as ansible-test installs it, before anything imports ansible_collections: a test
# that starts Ansible's plugin loader later keeps this one (and our collection's metadata) instead of making its own.
if AnsibleCollectionConfig.collection_finder is None:
    _AnsibleCollectionFinder(paths=[COLLECTIONS], scan_sys_paths=True)._install()


def pytest_configure(config):
    # A test that starts Ansible's plugin loader (the console's inventory reader) finds the loader above in place:
    # expected, not a warning.
    config.addinivalue_line("filterwarnings", "ignore:AnsibleCollectionFinder has already been configured:UserWarning")
