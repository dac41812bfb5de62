"""Behaviour of the database servers and of the cleanup (after converge and side_effect)."""

import json
import os
import re
import subprocess

import pytest
import yaml

# Only the database container: the other hosts of the inventory stand for the data model's hosts.
testinfra_hosts = ["ansible://mol-databases"]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RETIRED = {"aerotechnology": "mysql", "placementspot_dev": "mysql", "aeroweb_dev": "postgresql"}
EXPECTED_PLAN = {
    "aerotechnology": "retire", "placementspot_dev": "retire", "aeroweb_dev": "retire",
    "aeroweb_staging": "review", "scraping": "keep", "aeroemploi_prod": "keep", "mail_aeroemploi_prod": "keep",
    "sms_aeroemploi_prod": "keep", "aerotalent": "keep", "aerotechnologie": "keep", "blcpa": "keep",
    "mail_blcpa_prod": "keep", "inscriptionuqac_prod": "keep", "placementspot_prod": "keep",
    "mail_placementspot_prod": "keep", "campaigns": "keep",
}
# Rows written during side_effect on top of the seed.
EXTRA_EVENTS = {"aeroemploi_prod": 1, "aeroweb_staging": 1}


@pytest.fixture(scope="module")
def passwords():
    out = subprocess.run(
        [os.path.join(ROOT, ".venv", "bin", "ansible-vault"), "view", "--vault-id",
         "lab@" + os.path.join(ROOT, "tests", "fixtures", "lab-vault-password"),
         os.path.join(ROOT, "inventories", "lab", "group_vars", "all", "vault.yml")],
        check=True, capture_output=True, text=True).stdout
    return {site: v["db_password"] for site, v in yaml.safe_load(out)["vault_sites"].items() if "db_password" in v}


def counts(host, engine, db):
    if engine == "mysql":
        out = host.check_output("mysql -N -B -e 'SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM events)' %s", db)
    else:
        out = host.check_output("runuser -u postgres -- psql -X -A -t -F ' ' -d %s "
                                "-c 'SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM events)'", db)
    return tuple(int(x) for x in out.split())


def expected(db):
    return (100, len(db) + EXTRA_EVENTS.get(db, 0))


def test_servers_listen_on_loopback_only(host):
    assert host.socket("tcp://127.0.0.1:3306").is_listening
    assert host.socket("tcp://127.0.0.1:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:3306").is_listening


def test_root_uses_the_unix_socket(host):
    assert host.run("mysql -e 'SELECT 1'").rc == 0
    assert host.run("mysql -h 127.0.0.1 --protocol=tcp -u root -e 'SELECT 1'").rc != 0


def test_databases_are_utf8mb4(host):
    out = host.check_output("mysql -N -B -e \"SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                            "WHERE SCHEMA_NAME='aeroemploi_prod'\"")
    assert out.strip() == "utf8mb4"


def test_site_user_reads_its_database_not_another_mysql(host, passwords):
    base = "MYSQL_PWD=%s mysql -N -B -u aeroemploi -e 'SELECT COUNT(*) FROM %s.items'"
    assert host.check_output(base % (passwords["aeroemploi"], "aeroemploi_prod")).strip() == "100"
    denied = host.run(base % (passwords["aeroemploi"], "blcpa"))
    assert denied.rc != 0 and "denied" in denied.stderr


def test_site_user_reads_its_database_not_another_postgresql(host, passwords):
    base = "PGPASSWORD=%s psql -X -A -t -h 127.0.0.1 -U aerotalent -d %s -c 'SELECT COUNT(*) FROM items'"
    assert host.check_output(base % (passwords["aerotalent"], "aerotalent")).strip() == "100"
    denied = host.run(base % (passwords["aerotalent"], "aeroweb_staging"))
    assert denied.rc != 0 and ("pg_hba" in denied.stderr or "denied" in denied.stderr)


def test_plan_classifies_every_database(host):
    report = json.loads(host.file("/root/db_cleanup_plan.json").content_string)
    got = {item["name"]: item["classification"] for item in report["items"]}
    assert got == EXPECTED_PLAN
    scraping = [i for i in report["items"] if i["name"] == "scraping"][0]
    assert scraping["evidence"]["env_references"] == ["/srv/www/scraping/shared/.env"]
    staging = [i for i in report["items"] if i["name"] == "aeroweb_staging"][0]
    assert staging["evidence"]["connections"] >= 1 and staging["evidence"]["activity"]["writes"] >= 1
    assert staging["evidence"]["activity"]["window_start"]


def test_every_refusal_gave_its_reason(host):
    reasons = json.loads(host.file("/root/db_refusals.json").content_string)
    expected_parts = ["confirmation missing", "protected", "site aeroemploi", "/srv/www/scraping/shared/.env",
                      "connection(s) open now", "connection(s) open now", "write(s) between"]
    assert len(reasons) == len(expected_parts)
    for part, got in zip(expected_parts, reasons):
        assert any(part in r for r in got), (part, got)


@pytest.mark.parametrize("db", sorted(set(EXPECTED_PLAN) - set(RETIRED)))
def test_refused_and_kept_databases_lost_nothing(host, db):
    engine = "postgresql" if db in ("aerotalent", "aeroweb_staging") else "mysql"
    assert counts(host, engine, db) == expected(db)


@pytest.mark.parametrize("db, engine", sorted(RETIRED.items()))
def test_retired_database_is_gone_with_a_verified_dump(host, db, engine):
    if engine == "mysql":
        assert host.check_output("mysql -N -B -e \"SHOW DATABASES LIKE '%s'\"", db).strip() == ""
    else:
        assert host.check_output("runuser -u postgres -- psql -X -A -t -c \"SELECT COUNT(*) FROM pg_database "
                                 "WHERE datname='%s'\"" % db).strip() == "0"
    folder = "/var/backups/infra/databases/%s/%s" % (engine, db)
    assert host.file(folder).mode == 0o700
    assert host.run("cd %s && sha256sum -c *.sha256" % folder).rc == 0
    assert host.file("/var/backups/infra/databases").mode == 0o700


@pytest.mark.parametrize("db, engine", sorted(RETIRED.items()))
def test_restore_command_brings_the_same_rows_back(host, db, engine):
    folder = "/var/backups/infra/databases/%s/%s" % (engine, db)
    restore = host.check_output("ls %s/*.restore.txt | tail -n 1", folder)
    command = [line for line in host.file(restore).content_string.splitlines() if not line.startswith("#")][0]
    result = host.run(command)
    assert result.rc == 0, result.stderr
    try:
        assert counts(host, engine, db) == expected(db)
    finally:
        if engine == "mysql":
            host.run("mysql -e 'DROP DATABASE `%s`'" % db)
        else:
            host.run("runuser -u postgres -- dropdb %s" % db)


def test_restore_playbook_restored_aeroweb_dev(host):
    assert counts(host, "postgresql", "aeroweb_dev_restored") == expected("aeroweb_dev")


def test_unused_user_dropped_with_its_database(host):
    roles = host.check_output("runuser -u postgres -- psql -X -A -t -c \"SELECT rolname FROM pg_roles\"").split()
    assert "aeroweb_dev" not in roles and "aeroweb_staging" in roles
    # aerotechnology's owner also has aerotechnologie: kept
    assert host.check_output("mysql -N -B -e \"SELECT COUNT(*) FROM mysql.user WHERE User='aerotechnologie'\"").strip() != "0"


def test_audit_log_records_every_action(host):
    lines = [json.loads(line) for line in host.file("/var/log/infra-audit.log").content_string.splitlines()]
    assert all(set(line) == {"ts", "actor", "action", "target", "host", "details", "result"} for line in lines)
    for db, engine in RETIRED.items():
        actions = [line["action"] for line in lines if line["target"] == "%s/%s" % (engine, db) and line["result"] == "ok"]
        assert actions[:3] == ["db_dump", "db_verify", "db_drop"]
    refused = {line["target"] for line in lines if line["result"] == "refused"}
    assert {"mysql/mail_blcpa_prod", "mysql/scraping", "postgresql/aeroweb_staging", "mysql/placementspot_dev"} <= refused


# Verification in isolation: a dump is restored under its own name into a throw-away server
# (plugins/module_utils/db_scratch.py), never into the live one.
OBJECTS = {
    "placementspot_dev": ["procedure count_items", "trigger items_bi", "view recent_events"],
    "aeroweb_dev": ["function public.events_fill()", "procedure public.count_items()",
                    "trigger public.events.events_bi", "view public.recent_events"],
}
BACKUP = "/usr/local/sbin/infra-db-backup"
HELPER = "python3 /usr/local/lib/infra-db-backup/db_scratch.py"


def live_objects(host, engine, db):
    return json.loads(host.check_output("%s objects %s %s" % (HELPER, engine, db)))


def no_scratch_left(host):
    assert host.run("ls -d /var/tmp/infra-db-scratch-* 2>/dev/null").stdout.strip() == ""
    assert host.run("pgrep -f 'infra-db-scratc[h]-'").rc == 1
    assert host.check_output("pgrep -c -x mariadbd").strip() == "1"


def test_retirement_verified_its_objects_in_a_throw_away_server(host):
    lines = [json.loads(line) for line in host.file("/var/log/infra-audit.log").content_string.splitlines()]
    for db, engine in (("placementspot_dev", "mysql"), ("aeroweb_dev", "postgresql")):
        verify = [line for line in lines if line["target"] == "%s/%s" % (engine, db) and line["action"] == "db_verify"]
        assert verify and verify[-1]["result"] == "ok" and verify[-1]["details"]["server"] == "scratch"
        assert verify[-1]["details"]["objects"] == OBJECTS[db]
    # mysqldump wrote the trigger with its schema's name: the old zz_verify_<db> restore replayed it into the live database
    dump = host.check_output("ls /var/backups/infra/databases/mysql/placementspot_dev/*.sql.gz | tail -n 1")
    assert host.run("gunzip -c %s | grep -q 'TRIGGER placementspot_dev.items_bi'" % dump).rc == 0
    no_scratch_left(host)


def test_retirement_ran_no_restore_on_the_live_servers(host):
    """Every statement the live servers received during the retirements (side_effect.yml logged them)."""
    mysql_log = host.file("/root/mol-retire-mysql.log").content_string
    assert "DROP DATABASE IF EXISTS `placementspot_dev`" in mysql_log, "the log did not cover the retirement"
    assert "zz_verify" not in mysql_log.lower()
    assert not re.search(r"Query\s+(CREATE|INSERT)\b", mysql_log, re.I), "a restore ran on the live MariaDB"
    pg_log = host.file("/root/mol-retire-postgresql.log").content_string
    assert re.search(r"statement: DROP DATABASE( IF EXISTS)? aeroweb_dev", pg_log), "the log did not cover the retirement"
    assert "zz_verify" not in pg_log.lower()
    assert not re.search(r"statement:\s*(CREATE|COPY \S+ FROM|INSERT)\b", pg_log, re.I), "a restore ran on the live PostgreSQL"


def test_scheduled_dump_verifies_after_a_write_since_the_dump(host):
    assert host.service("infra-db-backup.timer").is_enabled
    assert host.run("%s dump mysql/blcpa postgresql/aerotalent" % BACKUP).rc == 0
    writes = ["mysql blcpa -e \"INSERT INTO events (kind) VALUES ('after-dump')\"",
              "runuser -u postgres -- psql -X -q -d aerotalent -c \"INSERT INTO events (kind) VALUES ('after-dump')\""]
    try:
        for write in writes:
            host.check_output(write)
        result = host.run("%s verify mysql/blcpa postgresql/aerotalent" % BACKUP)
        assert result.rc == 0, result.stderr
        assert result.stderr.count("OK ") == 2 and "identical to what was recorded" in result.stderr
    finally:
        host.run("mysql blcpa -e \"DELETE FROM events WHERE kind = 'after-dump'\"")
        host.run("runuser -u postgres -- psql -X -q -d aerotalent -c \"DELETE FROM events WHERE kind = 'after-dump'\"")
    no_scratch_left(host)


def test_schema_qualified_dump_verifies_in_isolation_and_a_missing_trigger_fails(host):
    folder = "/var/backups/infra/databases/mysql/mol_objects"
    host.check_output("mysql -e 'CREATE DATABASE mol_objects' && /usr/local/sbin/molecule-seed mysql mol_objects")
    try:
        before = live_objects(host, "mysql", "mol_objects")
        assert before == OBJECTS["placementspot_dev"]
        assert host.run("%s dump mysql/mol_objects" % BACKUP).rc == 0
        dump = host.check_output("ls %s/*.sql.gz | tail -n 1" % folder)
        # mysqldump names the trigger's schema; name the view's and the procedure's too
        rewrite = ("cd {f} && gunzip -c {d} | sed -e 's/VIEW `recent_events`/VIEW `mol_objects`.`recent_events`/' "
                   "-e 's/PROCEDURE `count_items`/PROCEDURE `mol_objects`.`count_items`/' {extra}| gzip > {d}.new && mv {d}.new {d} "
                   "&& sha256sum $(basename {d}) > {d}.sha256")
        host.check_output("bash -c %s", rewrite.format(f=folder, d=dump, extra=""))
        for needle in ("TRIGGER mol_objects.items_bi", "VIEW `mol_objects`.`recent_events`", "PROCEDURE `mol_objects`.`count_items`"):
            assert host.run("gunzip -c %s | grep -qF %s" % (dump, "'%s'" % needle)).rc == 0, needle

        host.check_output("mysql -e \"SET GLOBAL general_log_file='/var/lib/mysql/mol-verify-general.log'; SET GLOBAL general_log=ON\"")
        try:
            result = host.run("%s verify mysql/mol_objects" % BACKUP)
        finally:
            host.check_output("mysql -e 'SET GLOBAL general_log=OFF'")
        assert result.rc == 0, result.stderr
        assert "OK mysql/mol_objects" in result.stderr and "3 routines/triggers/views/events" in result.stderr
        log = host.file("/var/lib/mysql/mol-verify-general.log").content_string
        assert "zz_verify" not in log.lower() and not re.search(r"Query\s+(CREATE|DROP|INSERT)\b", log, re.I)
        assert live_objects(host, "mysql", "mol_objects") == before
        assert counts(host, "mysql", "mol_objects") == expected("mol_objects")

        # The same dump without its trigger (its statement, up to the `*/;;` that ends it): the verification names it.
        host.check_output("bash -c %s", rewrite.format(f=folder, d=dump, extra="-e '/TRIGGER mol_objects.items_bi/,\\%[*]/;;%d' "))
        result = host.run("%s verify mysql/mol_objects" % BACKUP)
        assert result.rc == 1
        assert "FAIL mysql/mol_objects" in result.stderr and "trigger items_bi missing from the restored copy" in result.stderr
    finally:
        host.run("mysql -e 'DROP DATABASE IF EXISTS mol_objects'; rm -rf %s /var/lib/mysql/mol-verify-general.log" % folder)
    no_scratch_left(host)


def test_postgresql_dump_missing_a_routine_fails_the_verification(host):
    folder = "/var/backups/infra/databases/postgresql/mol_objects"
    psql = "runuser -u postgres -- psql -X -q -A -t -d mol_objects -c "
    host.check_output("runuser -u postgres -- createdb mol_objects && /usr/local/sbin/molecule-seed postgresql mol_objects")
    try:
        before = live_objects(host, "postgresql", "mol_objects")
        assert before == OBJECTS["aeroweb_dev"]
        assert host.run("%s dump postgresql/mol_objects" % BACKUP).rc == 0
        result = host.run("%s verify postgresql/mol_objects" % BACKUP)
        assert result.rc == 0 and "OK postgresql/mol_objects" in result.stderr, result.stderr
        assert live_objects(host, "postgresql", "mol_objects") == before
        assert host.check_output("runuser -u postgres -- psql -X -A -t -c \"SELECT COUNT(*) FROM pg_database "
                                 "WHERE datname LIKE 'zz%verify%'\"").strip() == "0"

        # A dump made without the procedure, beside the records of the dump that had it.
        dump = host.check_output("ls %s/*.dump | tail -n 1" % folder)
        host.check_output(psql + "'DROP PROCEDURE public.count_items()'")
        host.check_output("bash -c %s", "cd {f} && runuser -u postgres -- pg_dump -Fc mol_objects > {d} "
                                        "&& sha256sum $(basename {d}) > {d}.sha256".format(f=folder, d=dump))
        result = host.run("%s verify postgresql/mol_objects" % BACKUP)
        assert result.rc == 1
        assert "procedure public.count_items() missing from the restored copy" in result.stderr, result.stderr
    finally:
        host.run("runuser -u postgres -- dropdb --if-exists mol_objects; rm -rf %s" % folder)
    no_scratch_left(host)
