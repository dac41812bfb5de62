"""One definition per rule: each shared rule is written in one file, and the others call it.

docs/conventions.md ("One definition per rule") lists the same rules. A marker is a piece of text
only the rule's definition carries; comment lines do not count.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

RULES = [
    # (rule, marker, the one file that defines it)
    ("secret .env names (SECRET_ENV_RE)", "PASSPHRASE", "plugins/filter/datamodel.py"),
    ("valid .env names (ENV_NAME_RE)", "[A-Z][A-Z0-9_]*", "plugins/filter/datamodel.py"),
    ("artisan deny list (ARTISAN_DENY_ALWAYS)", "migrate:fresh", "plugins/filter/artisan.py"),
    ("artisan deny list (ARTISAN_DENY_PROD)", "migrate:rollback", "plugins/filter/artisan.py"),
]


def _holders(marker):
    found = []
    for top in ("plugins", "roles", "playbooks", "lab", "inventories"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix not in (".py", ".yml", ".yaml", ".j2", ".sh"):
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            if any(marker in line and not line.lstrip().startswith("#") for line in lines):
                found.append(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("rule, marker, home", RULES, ids=[rule for rule, _, _ in RULES])
def test_rule_is_defined_once(rule, marker, home):
    assert _holders(marker) == [home], f"{rule}: written outside {home}; call the filter instead"


def test_rules_are_listed_in_the_conventions():
    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    section = text.split("## One definition per rule", 1)[-1].split("\n## ", 1)[0]
    missing = sorted({home for _, _, home in RULES if home not in section})
    assert "## One definition per rule" in text and not missing, f"docs/conventions.md does not list {missing}"
