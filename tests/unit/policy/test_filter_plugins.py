"""Filter plugins receive ansible-core 2.19's lazy template containers: no copy.deepcopy on them.

A deep copy of a lazy container also copies its templating context: datamodel_sites once took
six seconds per evaluation (and it is evaluated in most tasks). Copy with plain dict/list
comprehensions instead (datamodel._plain).
"""

import ast
from pathlib import Path

import pytest

FILTERS = sorted((Path(__file__).resolve().parents[3] / "plugins" / "filter").glob("*.py"))


@pytest.mark.parametrize("path", FILTERS, ids=lambda p: p.name)
def test_no_deepcopy_in_filters(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr == "deepcopy"]
    calls += [node.lineno for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and any(a.name == "deepcopy" for a in node.names)]
    assert not calls, f"{path.name}: copy.deepcopy at lines {calls}"
