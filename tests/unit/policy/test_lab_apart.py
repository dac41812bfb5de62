"""The lab stays apart from production (issue 14, docs/conventions.md "Where lab code lives").

Lab-only roles live in lab/roles, lab-only plays in lab/ (lab/site.yml runs the lab's services, then
production's playbooks/site.yml). Production's playbooks and roles never name a lab role nor import a
lab file, so `ansible-playbook -i inventories/production playbooks/site.yml` carries no lab play (the
syntax stage of scripts/test.sh also checks playbooks/ with roles_path = roles alone).
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
LAB_ROLES = sorted(p.name for p in (ROOT / "lab" / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


def _production_files():
    for top in ("playbooks", "roles"):
        for path in sorted((ROOT / top).rglob("*")):
            # playbooks/collections/... is the symlink back to the root (docs/conventions.md): not followed.
            if "collections" in path.relative_to(ROOT).parts[:2]:
                continue
            if path.is_file() and path.suffix in (".yml", ".yaml", ".j2"):
                yield path


def _code_lines(path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.lstrip().startswith("#"):
            yield number, line


def test_lab_roles_are_found():
    # Guards the reader above: with no lab role found, every check below would pass.
    assert {"lab_acme", "lab_git", "lab_typesense"} <= set(LAB_ROLES)


def test_no_lab_role_among_production_roles():
    assert sorted(p.name for p in (ROOT / "roles").iterdir() if p.name.startswith("lab_")) == []
    assert sorted(set(LAB_ROLES) & {p.name for p in (ROOT / "roles").iterdir()}) == []


def test_production_never_names_a_lab_role_nor_imports_a_lab_file():
    role_use = re.compile(r"(?:role|name):\s*['\"]?(" + "|".join(map(re.escape, LAB_ROLES)) + r")['\"]?\s*$"
                          r"|^\s*-\s*['\"]?(" + "|".join(map(re.escape, LAB_ROLES)) + r")['\"]?\s*$")
    lab_path = re.compile(r"(?:import_playbook|import_tasks|include_tasks|include_vars|vars_files|src):.*\blab/"
                          r"|import_playbook:\s*['\"]?lab_services\.yml")
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in _production_files() for number, line in _code_lines(path)
             if role_use.search(line) or lab_path.search(line)]
    assert found == [], "production code reaches into the lab (lab/, lab/roles)"


def test_lab_site_runs_the_lab_services_then_production_site():
    plays = yaml.safe_load((ROOT / "lab" / "site.yml").read_text(encoding="utf-8"))
    imported = [play.get("ansible.builtin.import_playbook") for play in plays]
    assert imported.index("lab_services.yml") < imported.index("../playbooks/site.yml")
    site = (ROOT / "playbooks" / "site.yml").read_text(encoding="utf-8")
    assert "lab_services" not in site
