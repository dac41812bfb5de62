"""A tested filter that no playbook calls is a defect: every filter is called from the running code.

A rule tested in Python and re-written inline in a playbook drifts: the tested one holds, the one
that runs does not (the artisan deny list once looked at the first word only). Every filter of
plugins/filter and roles/*/filter_plugins (lab/roles/*/filter_plugins) must be used, as `| name` or by name in
map/select('name'), in a YAML or Jinja file of playbooks/, roles/, lab/ or inventories/ (Molecule
scenarios and tests do not count: they are not what runs on a host). A filter kept for another
reason is listed in UNCALLED with that reason.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Filters no playbook calls, each with why it stays.
UNCALLED = {
    "typesense_scoped_key": "an operator's tool documented in roles/typesense/README.md (scoped search keys made offline)",
}


def _filter_files():
    return (sorted((ROOT / "plugins" / "filter").glob("*.py")) + sorted(ROOT.glob("roles/*/filter_plugins/*.py"))
            + sorted(ROOT.glob("lab/roles/*/filter_plugins/*.py")))


def _filter_names(path):
    """The names a FilterModule.filters() returns, read from its dict literal."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name == "filters":
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                    names += [key.value for key in ret.value.keys if isinstance(key, ast.Constant)]
    return names


def _code():
    """The non-comment lines of every YAML and Jinja file that runs."""
    lines = []
    for top in ("playbooks", "roles", "lab", "inventories"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml", ".j2"):
                text = path.read_text(encoding="utf-8", errors="replace")
                lines += [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return "\n".join(lines)


def _called(name, code):
    name = r"(?:infra\.hosting\.)?" + re.escape(name)  # the collection's name, or the short one (docs/conventions.md)
    return re.search(r"\|\s*" + name + r"\b|['\"]" + name + r"['\"]", code) is not None


FILTERS = {name: path for path in _filter_files() for name in _filter_names(path)}


def test_filters_are_found():
    # Guards the reader above: a FilterModule it cannot read would make every check pass.
    files_without = [str(path.relative_to(ROOT)) for path in _filter_files() if not _filter_names(path)]
    assert not files_without, f"no filters() dict literal read in {files_without}"
    assert "artisan_refusal" in FILTERS and "laravel_app_env" in FILTERS


def test_every_filter_is_called():
    code = _code()
    uncalled = [f"{name} ({FILTERS[name].relative_to(ROOT)})" for name in sorted(FILTERS)
                if name not in UNCALLED and not _called(name, code)]
    assert not uncalled, "filters no playbook, role or template calls (call them, delete them, or list them " \
                         "in UNCALLED with a reason): " + ", ".join(uncalled)


@pytest.mark.parametrize("name", sorted(UNCALLED))
def test_allow_list_is_current(name):
    assert name in FILTERS, f"{name} is no longer a filter: remove it from UNCALLED"
    assert not _called(name, _code()), f"{name} is called now: remove it from UNCALLED"


@pytest.mark.parametrize("line, called", [
    ("x: \"{{ cmd | artisan_refusal(site) }}\"", True),
    ("x: \"{{ cmd | infra.hosting.artisan_refusal(site) }}\"", True),
    ("x: \"{{ cmd|artisan_refusal }}\"", True),
    ("x: \"{{ names | map('artisan_refusal') | list }}\"", True),
    ("artisan_refusal: 1", False),
    ("x: \"{{ cmd | artisan_refusals }}\"", False),
])
def test_detector(line, called):
    assert _called("artisan_refusal", line) is called
