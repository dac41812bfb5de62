"""Every role documents the same variables in defaults/main.yml and meta/argument_specs.yml.

Production's roles (roles/) and the lab's (lab/roles/) alike: a role that moved to the lab keeps the rules.
"""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE_DIRS = ("roles", "lab/roles")
ROLES = sorted((p for top in ROLE_DIRS for p in (ROOT / top).iterdir() if (p / "tasks" / "main.yml").exists()),
               key=lambda p: p.name)


def test_lab_roles_are_covered():
    # Guards the list above: the lab's roles are checked too, and no role name is in both places.
    names = [role.name for role in ROLES]
    assert {"lab_acme", "lab_git", "lab_typesense"} <= set(names)
    assert len(names) == len(set(names))


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


# Roles another change is editing right now are brought up to date with it (scripts/role_docs.py).
PENDING_ROLE_DOCS = set()


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_spec_defaults_are_the_role_defaults(role):
    """Each option's `default:` in the spec is the value of defaults/main.yml (one source; ansible-doc shows it)."""
    if role.name in PENDING_ROLE_DOCS:
        pytest.skip("brought up to date with its pending change")
    defaults = _load(role / "defaults" / "main.yml") if (role / "defaults" / "main.yml").exists() else {}
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"].get("options") or {}
    # A required option carries no default (ansible-core refuses both): the play must pass it.
    wrong = sorted(name for name, value in defaults.items()
                   if not specs.get(name, {}).get("required") and specs.get(name, {}).get("default", object()) != value)
    both = sorted(name for name, spec in specs.items() if spec.get("required") and "default" in spec)
    assert both == [], f"{role.name}: required and default together (ansible-core refuses it): {both}"
    assert wrong == [], f"{role.name}: spec default missing or not the role default (python3 scripts/role_docs.py {role.name})"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_readme_variable_table_is_generated_from_the_spec(role):
    if role.name in PENDING_ROLE_DOCS:
        pytest.skip("brought up to date with its pending change")
    stale = sorted(str(path.relative_to(ROOT)) for path in _role_docs().stale(role))
    assert stale == [], f"stale, run python3 scripts/role_docs.py {role.name}: {stale}"


def _role_docs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("role_docs", ROOT / "scripts" / "role_docs.py")
    role_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(role_docs)
    return role_docs


def test_a_description_given_as_paragraphs_is_one_table_cell():
    # argument_specs allow a list of paragraphs; the table once showed the Python list itself.
    text = _role_docs().table({"x_file": {"type": "path", "description": ["First | part.", "Second part."]}})
    assert "| First \\| part. Second part. |" in text, text
