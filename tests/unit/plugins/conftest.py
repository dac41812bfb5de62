"""Shared by the plugin tests that run a real ansible-playbook (callbacks, the config_files action)."""

import collections
import os
import sys

import pytest

# This file is tests/unit/plugins/conftest.py of the collection (ansible-test's copy, or the repository through
# playbooks/collections/ansible_collections/infra/hosting): the collection is three folders up.
COLLECTION = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
COLLECTIONS_ROOT = os.path.abspath(os.path.join(COLLECTION, "..", "..", ".."))

Playbook = collections.namedtuple("Playbook", "tool collections_root")


@pytest.fixture()
def ansible_playbook():
    """ansible-playbook (the repository's virtualenv, linked into ansible-test's copy of the collection, else this
    Python's) and the folder to give as ANSIBLE_COLLECTIONS_PATH; the test is skipped when either is missing."""
    tool = next((path for path in (os.path.join(COLLECTION, ".venv", "bin", "ansible-playbook"),
                                   os.path.join(os.path.dirname(sys.executable), "ansible-playbook"))
                 if os.path.exists(path)), None)
    if os.path.basename(os.path.dirname(os.path.dirname(COLLECTION))) != "ansible_collections" or tool is None:
        pytest.skip("the collection is not under an ansible_collections folder here, or no ansible-playbook")
    return Playbook(tool, COLLECTIONS_ROOT)
