"""packages_missing: what the roles' install tasks still ask apt for (plugins/filter/packages.py)."""

import re
from pathlib import Path

from ansible_collections.infra.hosting.plugins.filter.packages import packages_missing

ROOT = Path(__file__).resolve().parents[4]
# The run's installed_packages: names only (playbooks/tasks/installed_packages.yml).
INSTALLED = ["nginx", "openssl"]
# Every role passes installed_packages now (roles/galera was the last, #18).
OLD_CALL_PENDING = set()


def test_only_what_is_not_installed():
    assert packages_missing(["nginx", "git", "openssl"], INSTALLED, True) == ["git"]


def test_all_installed_means_nothing_to_do():
    assert packages_missing(["nginx", "openssl"], INSTALLED, True) == []


def test_a_single_name_and_suffixes():
    assert packages_missing("nginx", INSTALLED, True) == []
    assert packages_missing(["nginx=1.22", "openssl:amd64", "git=1:2.39"], INSTALLED, True) == ["git=1:2.39"]


def test_a_read_of_an_earlier_run_is_not_trusted():
    # Not read by this run: apt decides, as without the filter.
    assert packages_missing(["nginx", "git"], INSTALLED) == ["nginx", "git"]
    assert packages_missing(["nginx", "git"], INSTALLED, False) == ["nginx", "git"]


def test_no_read_means_everything_is_asked_for():
    assert packages_missing(["nginx"], [], True) == ["nginx"]
    assert packages_missing(["nginx"], None, True) == ["nginx"]
    assert packages_missing([], INSTALLED, True) == []


def test_the_hosts_facts_are_not_trusted():
    # The old call passed ansible_facts; cached package facts may be hours old, whatever the run's freshness.
    facts = {"packages": {"nginx": [{"version": "1.22"}]}, "distribution": "Debian"}
    assert packages_missing(["nginx", "git"], facts, True) == ["nginx", "git"]
    assert packages_missing(["nginx"], "nginx openssl", True) == ["nginx"]


def _calls(text):
    """The argument text of each packages_missing(...) call, nested parentheses included."""
    calls = []
    for match in re.finditer(r"packages_missing\(", text):
        depth, start = 1, match.end()
        for index in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[index], 0)
            if depth == 0:
                calls.append(text[start:index])
                break
    return calls


def test_calls_are_parsed_whole():
    assert _calls("x | packages_missing(a | default([]), b | default(false)) | length") == [
        "a | default([]), b | default(false)"]


def test_every_play_that_uses_the_filter_reads_the_packages_first():
    """A role's filtered install runs in plays that import tasks/installed_packages.yml (else it never skips)."""
    text = (ROOT / "playbooks" / "tasks" / "installed_packages.yml").read_text(encoding="utf-8")
    assert "infra.hosting.installed_packages:" in text and "installed_packages_fresh: true" in text
    assert "installed_packages: " in text and "package_facts:" not in text
    users = [p for top in ("roles", "lab/roles") for p in (ROOT / top).glob("*/tasks/*.yml")
             if "packages_missing" in p.read_text(encoding="utf-8")]
    assert users, "no role calls packages_missing"
    for path in users:
        name = str(path.relative_to(ROOT))
        for call in _calls(path.read_text(encoding="utf-8")):
            assert "installed_packages_fresh" in call, f"{name}: packages_missing({call}) ignores freshness"
            if name not in OLD_CALL_PENDING:
                first = call.split(",", 1)[0].strip()
                assert first.startswith("installed_packages"), f"{name}: packages_missing({call}): pass installed_packages"


def test_nothing_reads_the_package_facts():
    """ansible.builtin.package_facts is not run any more: nothing may read ansible_facts.packages."""
    pattern = re.compile(r"ansible_facts(\.packages\b|\[['\"]packages['\"]\])|\bpackage_facts:")
    readers = []
    for top in ("roles", "lab", "playbooks", "molecule", "plugins", "tests"):
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and path.suffix in (".yml", ".yaml", ".py", ".j2") and path.resolve() != Path(__file__).resolve():
                if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
                    readers.append(str(path.relative_to(ROOT)))
    assert readers == []
