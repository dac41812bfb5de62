"""The console reads the sites of an inventory with Ansible's loader (vault included) and reloads on change."""

import os
import shutil
import time

from console.web import datamodel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_lab_sites_then_reload_after_a_change(settings, tmp_path):
    inventory = tmp_path / "lab"
    shutil.copytree(os.path.join(ROOT, "inventories", "lab"), inventory)
    settings.CONSOLE_INVENTORY = str(inventory)
    sites = datamodel.sites()
    assert "aeroweb" in sites and sites["aeroweb"]["domains"] == ["aeroweb.lab.test"]
    # site_defaults applied by plugins/filter/datamodel.py (a default every site gets).
    assert sites["aeroweb"]["health_path"]
    # A second read after a change in the inventory (the vault secrets are set up once per process).
    time.sleep(0.01)
    (inventory / "site_env").mkdir(exist_ok=True)
    (inventory / "site_env" / "aeroweb.yml").write_text("---\nFEATURE: 'on'\n")
    os.utime(inventory / "site_env" / "aeroweb.yml", (time.time() + 5, time.time() + 5))
    assert "aeroweb" in datamodel.sites()
