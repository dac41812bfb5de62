"""Set-based Jinja filters must not decide what lands on a host.

ansible-core's `intersect`, `difference`, `union` and `symmetric_difference` go through Python
sets: the order of their result changes from one ansible-playbook run to the next (string hashing
is salted per process). Rendered into a template, that order makes a role non-idempotent (CI once
failed on `['mysql', 'postgresql'] | intersect(group_names)` written into a script); with
`| first`, it picks a different host per run. Use `select('in', ...)` / `reject('in', ...)`,
which keep the order of the left-hand list. A set filter stays allowed where only the size is
used (`... | difference(...) | length`).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SET_FILTER = re.compile(r"\|\s*(intersect|difference|union|symmetric_difference)\(")
SIZE_ONLY = re.compile(r"\|\s*(intersect|difference|union|symmetric_difference)\((?:[^()]|\([^()]*\))*\)\s*\|\s*length\b")


def _files():
    for top in ("playbooks", "roles", "lab", "molecule", "inventories"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in (".yml", ".yaml", ".j2") and path.is_file():
                yield path


def _offences():
    found = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            if len(SET_FILTER.findall(line)) > len(SIZE_ONLY.findall(line)):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_order_dependent_set_filters():
    offences = _offences()
    assert not offences, "set filters whose order reaches a host (use select/reject('in', ...)):\n" + "\n".join(offences)


@pytest.mark.parametrize(
    "line,bad",
    [
        ("x: \"{{ ['a', 'b'] | intersect(group_names) }}\"", True),
        ("x: \"{{ a | difference(b) | join(', ') }}\"", True),
        ("that: a | difference(b) | length == 0", False),
        ("that: a | difference(b.keys() | list) | length == 0", False),
        ("x: \"{{ ['a', 'b'] | select('in', group_names) | list }}\"", False),
    ],
)
def test_detector(line, bad):
    assert (len(SET_FILTER.findall(line)) > len(SIZE_ONLY.findall(line))) is bad
