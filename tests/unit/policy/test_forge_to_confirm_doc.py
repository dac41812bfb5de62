"""docs/forge-to-confirm.md is what discover.yml's model-only mode makes from the production inventory
today (regenerate it with the command the file names, docs/forge.md)."""

from pathlib import Path

import forge_report
import yaml

ROOT = Path(__file__).resolve().parents[3]
PROD = ROOT / "inventories" / "production"


def _load(name):
    return yaml.safe_load((PROD / "group_vars" / "all" / name).read_text(encoding="utf-8"))


def test_committed_to_confirm_list_is_current():
    inventory = yaml.safe_load((PROD / "hosts.yml").read_text(encoding="utf-8"))["all"]
    hosts = {name: dict(inventory.get("vars") or {}, **(values or {})) for name, values in inventory["hosts"].items()}
    forge_hosts = list(inventory["children"]["forge_managed"]["hosts"])
    items = forge_report.forge_model_to_confirm(_load("sites.yml")["sites"], _load("databases.yml")["databases"],
                                                hosts, _load("dns.yml")["dns_domains"], forge_hosts)
    text = (ROOT / "docs" / "forge-to-confirm.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("- [ ]")]
    assert lines == forge_report.forge_to_confirm_markdown(items).splitlines()[2:], \
        "docs/forge-to-confirm.md is stale: regenerate it (docs/forge.md, 'The to-confirm list of production')"
    assert len(lines) == len(items) > 0 and all(" — FR : " in line and " — EN: " in line for line in lines)
