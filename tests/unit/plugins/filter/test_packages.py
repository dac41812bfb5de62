"""packages_missing: what the roles' install tasks still ask apt for (plugins/filter/packages.py)."""

import re
from pathlib import Path

from ansible_collections.infra.hosting.plugins.filter.packages import packages_missing

ROOT = Path(__file__).resolve().parents[4]
FACTS = {"packages": {"nginx": [{"version": "1.22"}], "openssl": [{"version": "3.0"}]}}


def test_only_what_is_not_installed():
    assert packages_missing(["nginx", "git", "openssl"], FACTS, True) == ["git"]


def test_all_installed_means_nothing_to_do():
    assert packages_missing(["nginx", "openssl"], FACTS, True) == []


def test_a_single_name_and_suffixes():
    assert packages_missing("nginx", FACTS, True) == []
    assert packages_missing(["nginx=1.22", "openssl:amd64", "git=1:2.39"], FACTS, True) == ["git=1:2.39"]


def test_facts_not_read_by_this_run_are_not_trusted():
    # Cached facts of an earlier run: apt decides, as without the filter.
    assert packages_missing(["nginx", "git"], FACTS) == ["nginx", "git"]
    assert packages_missing(["nginx", "git"], FACTS, False) == ["nginx", "git"]


def test_no_package_facts_means_everything_is_asked_for():
    assert packages_missing(["nginx"], {}, True) == ["nginx"]
    assert packages_missing(["nginx"], None, True) == ["nginx"]
    assert packages_missing([], FACTS, True) == []


def test_every_play_that_uses_the_filter_reads_the_packages_first():
    """A role's filtered install runs in plays that import tasks/installed_packages.yml (else it never skips)."""
    text = (ROOT / "playbooks" / "tasks" / "installed_packages.yml").read_text(encoding="utf-8")
    assert "ansible.builtin.package_facts" in text and "installed_packages_fresh: true" in text
    users = [p for top in ("roles", "lab/roles") for p in (ROOT / top).glob("*/tasks/*.yml")
             if "packages_missing" in p.read_text(encoding="utf-8")]
    assert users, "no role calls packages_missing"
    for path in users:
        for call in re.findall(r"packages_missing\(([^)]*)\)", path.read_text(encoding="utf-8")):
            assert "installed_packages_fresh" in call, f"{path.relative_to(ROOT)}: packages_missing({call}) ignores freshness"
