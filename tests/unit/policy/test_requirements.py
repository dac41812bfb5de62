"""The installed `ansible` bundle satisfies requirements.yml (Galaxy users install from that file)."""

import json
import pathlib

import ansible_collections
import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parents[3]
REQUIRED = yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
# The bundle's directory (ansible_collections is a namespace package: our own collection is on its path too).
BUNDLE = next(pathlib.Path(p) for p in ansible_collections.__path__ if (pathlib.Path(p) / "ansible" / "posix").is_dir())


@pytest.mark.parametrize("entry", REQUIRED, ids=lambda e: e["name"])
def test_bundle_satisfies_requirement(entry):
    namespace, name = entry["name"].split(".")
    manifest = BUNDLE / namespace / name / "MANIFEST.json"
    assert manifest.exists(), f"{entry['name']} is not installed"
    version = json.loads(manifest.read_text())["collection_info"]["version"]
    assert Version(version) in SpecifierSet(entry["version"]), f"{entry['name']} {version} not in {entry['version']}"


def test_every_collection_used_is_required():
    """Every FQCN namespace.collection used in roles, playbooks and the lab is listed in requirements.yml."""
    listed = {e["name"] for e in REQUIRED} | {"ansible.builtin"}
    used = set()
    for path in [p for top in ("roles", "playbooks", "lab") for p in (ROOT / top).rglob("*.yml")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip().lstrip("- ")
            if stripped.endswith(":") and stripped.count(".") == 2 and " " not in stripped:
                fqcn = stripped[:-1]
                used.add(".".join(fqcn.split(".")[:2]))
    known = {u for u in used if (BUNDLE / u.split(".")[0] / u.split(".")[1]).exists() or u == "ansible.builtin"}
    assert sorted(known - listed) == []
