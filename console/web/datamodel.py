"""The sites of the data model, read from the inventory the console runs on.

The inventory's `sites` and `site_defaults` are read through Ansible's own inventory and variable
loading (vault included, templated as a play would see them) and merged by the repository's filter
`site_defaults` (plugins/filter/datamodel.py): the console never re-writes the model's rules.
Cached until one of the inventory's files changes.
"""

import os
import sys
import threading
from pathlib import Path

from django.conf import settings

sys.path.insert(0, str(settings.REPO_ROOT / "plugins" / "filter"))
import datamodel as _filters  # noqa: E402  (plugins/filter/datamodel.py)

_lock = threading.Lock()
_cache = {}
# Ansible initializes its plugin loader and its vault secrets once per process (a second time raises).
_once = {}


def inventory_path():
    path = Path(settings.CONSOLE_INVENTORY)
    return path if path.is_absolute() else settings.REPO_ROOT / path


def _stamp(path):
    latest = 0.0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                latest = max(latest, os.stat(os.path.join(root, name)).st_mtime)
            except OSError:
                pass
    return latest


def _vault_secrets(loader):
    if "secrets" in _once:
        return _once["secrets"]
    from ansible import constants as C
    from ansible.cli import CLI

    files = [settings.CONSOLE_VAULT_PASSWORD_FILE] if settings.CONSOLE_VAULT_PASSWORD_FILE else []
    ids = []
    # ansible.cfg's vault_identity_list (lab@tests/fixtures/...): its paths are relative to the repository.
    for entry in C.DEFAULT_VAULT_IDENTITY_LIST or []:
        label, _, where = entry.rpartition("@")
        if where and not os.path.isabs(where) and where != "prompt":
            where = str(settings.REPO_ROOT / where)
        ids.append(f"{label}@{where}" if label else where)
    _once["secrets"] = CLI.setup_vault_secrets(loader, vault_ids=ids, vault_password_files=files, ask_vault_pass=False)
    return _once["secrets"]


def _load(path):
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    if "plugins" not in _once:
        init_plugin_loader([])
        _once["plugins"] = True
    loader = DataLoader()
    loader.set_vault_secrets(_vault_secrets(loader))
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    variables = VariableManager(loader=loader, inventory=inventory)
    hosts = inventory.get_hosts()
    host = hosts[0] if hosts else None
    allvars = variables.get_vars(host=host)
    templar = Templar(loader=loader, variables=allvars)
    sites = templar.template(allvars.get("sites") or {})
    defaults = templar.template(allvars.get("site_defaults") or {})
    merged = _filters.site_defaults(sites, defaults)
    groups = {name: [h.name for h in group.get_hosts()] for name, group in inventory.groups.items()}
    return {"sites": merged, "groups": groups}


def model():
    """{'sites': {name: site with defaults}, 'groups': {group: [hosts]}} of the configured inventory."""
    path = inventory_path()
    stamp = _stamp(path)
    with _lock:
        cached = _cache.get(str(path))
        if cached and cached[0] == stamp:
            return cached[1]
        data = _load(path)
        _cache[str(path)] = (stamp, data)
        return data


def sites():
    return model()["sites"]
