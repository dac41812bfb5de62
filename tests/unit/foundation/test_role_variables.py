"""Every role documents the same variables in defaults/main.yml and meta/argument_specs.yml."""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_defaults_and_argument_specs_agree(role):
    defaults = set(_load(role / "defaults" / "main.yml")) if (role / "defaults" / "main.yml").exists() else set()
    specs_file = role / "meta" / "argument_specs.yml"
    assert specs_file.exists(), f"{role.name}: meta/argument_specs.yml is missing"
    options = set((_load(specs_file)["argument_specs"]["main"].get("options") or {}))
    assert sorted(defaults - options) == [], f"{role.name}: in defaults but not in argument_specs"
    # An option without a default must be required (the play has to pass it).
    specs = _load(specs_file)["argument_specs"]["main"].get("options") or {}
    undocumented = sorted(o for o in options - defaults if not specs[o].get("required"))
    assert undocumented == [], f"{role.name}: in argument_specs, neither in defaults nor required"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_variables_carry_the_role_prefix(role):
    names = set()
    if (role / "defaults" / "main.yml").exists():
        names |= set(_load(role / "defaults" / "main.yml"))
    names |= set((_load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"].get("options") or {}))
    bad = sorted(n for n in names if not n.startswith(role.name + "_"))
    assert bad == [], f"{role.name}: variables without the '{role.name}_' prefix"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_option_is_described(role):
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"].get("options") or {}
    missing = sorted(name for name, spec in specs.items() if not spec.get("description"))
    assert missing == [], f"{role.name}: options without a description"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_meta_dependencies_stay_empty(role):
    meta = _load(role / "meta" / "main.yml") if (role / "meta" / "main.yml").exists() else {}
    assert not meta.get("dependencies"), f"{role.name}: roles take data through plays, not meta dependencies"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_a_readme(role):
    assert (role / "README.md").exists(), f"{role.name}: README.md is missing"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_templates_carry_ansible_managed(role):
    missing = [
        str(t.relative_to(role))
        for t in (role / "templates").rglob("*.j2")
        if "ansible_managed" not in t.read_text(encoding="utf-8")
    ] if (role / "templates").exists() else []
    assert missing == [], f"{role.name}: templates without ansible_managed"
