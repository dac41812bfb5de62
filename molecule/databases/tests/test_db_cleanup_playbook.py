"""playbooks/db_cleanup.yml through ansible-playbook, as an operator runs it (issue 15, "Loud").

A refused retirement ends the run non-zero, the final task prints each refused name with its reason at
default verbosity, the other names are still tried, and nothing refused is dropped. The data that makes
the refusals real comes from converge (seed.yml): `scraping` is named by /srv/www/scraping/shared/.env.
Each test makes the state it needs (spare_mol, a database of no site with no write since the server
started, is created and removed by the tests that use it): the tests run in any order.
"""

import json

import pytest
from lab_playbook import playbook, task_output

testinfra_hosts = ["ansible://mol-databases"]
SUMMARY = "Fail with every refusal or failure, per database"
SCRAPING_ENV = "referenced by /srv/www/scraping/shared/.env"
SPARE = "spare_mol"
SPARE_DUMPS = "/var/backups/infra/databases/mysql/" + SPARE


def rows(host, db):
    """(items, events) of a seeded MariaDB database: it exists and answers."""
    out = host.check_output("mysql -N -B -e 'SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM events)' %s", db)
    return tuple(int(x) for x in out.split())


def exists(host, db):
    return host.check_output("mysql -N -B -e \"SHOW DATABASES LIKE '%s'\"" % db).strip() == db


def audit_refusals(host, target):
    lines = [json.loads(line) for line in host.file("/var/log/infra-audit.log").content_string.splitlines()]
    return [line for line in lines if line["target"] == target and line["result"] == "refused"]


@pytest.fixture()
def spare(host):
    """A database no site declares, with one empty table and no write: the retirement has nothing to refuse."""
    host.check_output("mysql -e 'DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; "
                      "CREATE TABLE %s.notes (id INT PRIMARY KEY)'" % (SPARE, SPARE, SPARE))
    try:
        yield SPARE
    finally:
        host.run("mysql -e 'DROP DATABASE IF EXISTS %s'; rm -rf %s" % (SPARE, SPARE_DUMPS))


def test_plan_exits_zero_and_drops_nothing(host, tmp_path):
    before = rows(host, "scraping")
    rc, out = playbook("db_cleanup.yml", "-e", "report_dir=%s" % tmp_path)
    assert rc == 0, out[-3000:]
    report = json.loads((tmp_path / "mol-databases.json").read_text())
    classes = {item["name"]: item["classification"] for item in report["items"]}
    assert classes["scraping"] == "keep" and classes["aeroemploi_prod"] == "keep"
    assert (tmp_path / "mol-databases.md").exists()
    assert "mysql/scraping" in task_output(out, "Show the plan")
    assert rows(host, "scraping") == before


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_database_named_by_a_env_is_refused_loudly_and_kept(host, check):
    before = rows(host, "scraping")
    refusals = len(audit_refusals(host, "mysql/scraping"))
    rc, out = playbook("db_cleanup.yml", "-e", "mode=retire", "-e", "retire=scraping", "-e", "confirm=scraping",
                       *(["--check", "--diff"] if check else []))
    assert rc != 0, out[-3000:]
    summary = task_output(out, SUMMARY)
    assert "mol-databases: 1 database(s) refused or failed, not retired" in summary, out[-3000:]
    assert "- mysql/scraping: refused / refusé: " + SCRAPING_ENV in summary, summary
    assert "retired or absent already" not in summary
    assert rows(host, "scraping") == before
    # The real run writes its refusal to the audit log; check mode writes nothing.
    assert len(audit_refusals(host, "mysql/scraping")) == refusals + (0 if check else 1)


@pytest.mark.parametrize("confirm", [["-e", "confirm=spare_mo"], ["-e", "confirm=scraping"], []],
                         ids=["wrong", "another-name", "missing"])
def test_retirement_without_its_confirmation_is_refused_loudly_and_kept(host, spare, confirm):
    rc, out = playbook("db_cleanup.yml", "-e", "mode=retire", "-e", "retire=%s" % spare, *confirm)
    assert rc != 0, out[-3000:]
    summary = task_output(out, SUMMARY)
    assert "mol-databases: 1 database(s) refused or failed, not retired" in summary, out[-3000:]
    assert "- mysql/%s: refused / refusé: confirmation missing: pass confirm=%s" % (spare, spare) in summary, summary
    assert exists(host, spare) and host.check_output("mysql -N -B -e 'SELECT COUNT(*) FROM notes' %s" % spare) == "0"
    assert not host.file(SPARE_DUMPS).exists


def test_every_name_is_tried_then_the_run_fails_naming_the_refused_one(host, spare):
    """scraping (refused) comes first in the loop; spare_mol is still dumped, verified and dropped after it."""
    before = rows(host, "scraping")
    rc, out = playbook("db_cleanup.yml", "-e", "mode=retire", "-e", "retire=scraping,%s" % spare,
                       "-e", "confirm=scraping,%s" % spare)
    assert rc != 0, out[-3000:]
    summary = task_output(out, SUMMARY)
    assert "mol-databases: 1 database(s) refused or failed, not retired" in summary, out[-3000:]
    assert "- mysql/scraping: refused / refusé: " + SCRAPING_ENV in summary, summary
    assert "retired or absent already / retirées ou déjà absentes: mysql/%s" % spare in summary, summary
    assert "mysql/%s" % spare not in summary.split("retired or absent already")[0]
    assert not exists(host, spare)
    assert host.run("cd %s && sha256sum -c *.sha256" % SPARE_DUMPS).rc == 0
    assert rows(host, "scraping") == before
    assert "failed=1" in " ".join(out.split("PLAY RECAP")[-1].split())
