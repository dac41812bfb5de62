"""Pure helpers of the database modules (plugins/module_utils/db_engine.py, db_retire's refusals)."""

import datetime

import pytest

from ansible_collections.infra.hosting.plugins.module_utils import db_engine
from ansible_collections.infra.hosting.plugins.modules import db_retire

UTC = datetime.timezone.utc


@pytest.mark.parametrize("text, expected", [
    ("DB_DATABASE=shop\n", ["shop"]),
    ("DB_DATABASE=\"shop\"\nDB_DATABASE_MAIL='mail_shop'\n", ["shop", "mail_shop"]),
    ("# DB_DATABASE=old\nDB_HOST=127.0.0.1\nDB_USERNAME=shop\n", []),
    ("export DB_DATABASE=shop # main\n", ["shop"]),
    ("MAIL_DB_DATABASE=mails\nDB_DATABASE=\n", ["mails"]),
])
def test_parse_env_databases(text, expected):
    assert db_engine.parse_env_databases(text) == expected


def test_scan_env_files(tmp_path):
    site = tmp_path / "srv" / "shop" / "shared"
    site.mkdir(parents=True)
    (site / ".env").write_text("DB_DATABASE=shop\n")
    refs = db_engine.scan_env_files([str(tmp_path / "srv" / "*" / "shared" / ".env")])
    assert refs == {"shop": [str(site / ".env")]}


def test_parse_tsv_and_errors():
    assert db_engine.parse_tsv("a\t1\nb\t2\n", ["n", "v"]) == [{"n": "a", "v": "1"}, {"n": "b", "v": "2"}]
    with pytest.raises(db_engine.DbError):
        db_engine.parse_tsv("a\n", ["n", "v"])


@pytest.mark.parametrize("name", ["shop", "mail_shop_prod", "A1"])
def test_check_name_accepts(name):
    assert db_engine.check_name(name) == name


@pytest.mark.parametrize("name", ["", "shop;drop", "a b", "x" * 64, "a`b", None])
def test_check_name_refuses(name):
    with pytest.raises(db_engine.DbError):
        db_engine.check_name(name)


def test_compare_counts():
    assert db_engine.compare_counts({"a": 1}, {"a": 1}) == []
    assert db_engine.compare_counts({"a": 1, "b": 2}, {"a": 2, "c": 0}) == [
        "table a: 1 rows, 2 restored", "table b missing from the restored copy", "table c only in the restored copy"]


def test_restore_command():
    assert db_engine.restore_command("mysql", "old", "/b/x.sql.gz") == (
        "mysql -e 'CREATE DATABASE `old` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci' && gunzip -c /b/x.sql.gz | mysql old")
    assert "pg_restore --no-owner --no-acl -d old < /b/x.dump" in db_engine.restore_command("postgresql", "old", "/b/x.dump")


def test_activity_window_since_server_start():
    start = datetime.datetime(2026, 11, 1, tzinfo=UTC)
    now = datetime.datetime(2026, 11, 2, tzinfo=UTC)
    ev = db_engine.activity_evidence({"reads": 5, "writes": 0}, None, start, now)
    assert ev["window_seconds"] == 86400 and ev["writes"] == 0 and ev["window_start"] == start.isoformat()


def test_activity_window_since_baseline_and_reset():
    start = datetime.datetime(2026, 11, 1, tzinfo=UTC)
    now = datetime.datetime(2026, 11, 3, tzinfo=UTC)
    base = {"ts": "2026-11-02T00:00:00+00:00", "reads": 5, "writes": 3, "server_since": start.isoformat()}
    ev = db_engine.activity_evidence({"reads": 7, "writes": 3}, base, start, now)
    assert (ev["reads"], ev["writes"], ev["window_seconds"]) == (2, 0, 86400)
    # counters went backwards: a reset happened, the baseline no longer applies
    ev = db_engine.activity_evidence({"reads": 1, "writes": 0}, base, start, now)
    assert ev["window_seconds"] == 2 * 86400


def test_last_dump(tmp_path):
    folder = tmp_path / "mysql" / "old"
    folder.mkdir(parents=True)
    (folder / "20261101T000000Z.sql.gz").write_bytes(b"x")
    (folder / "20261102T000000Z.sql.gz").write_bytes(b"xy")
    (folder / "20261102T000000Z.sql.gz.sha256").write_text("h  f\n")
    dump = db_engine.last_dump(str(tmp_path), "mysql", "old")
    assert dump["path"].endswith("20261102T000000Z.sql.gz") and dump["size_bytes"] == 2 and dump["checksum_file"]
    assert db_engine.last_dump(str(tmp_path), "postgresql", "old") is None


PARAMS = {"name": "old", "confirm": "old", "protected": False, "references": [], "count_reads": False,
          "min_window_seconds": 3600}
IDLE = {"connections": 0, "env_references": [],
        "activity": {"reads": 9, "writes": 0, "window_seconds": 7200, "window_start": "s", "window_end": "e"}}


def test_retire_accepts_an_idle_confirmed_database():
    assert db_retire.refusal_reasons(PARAMS, IDLE) == []


@pytest.mark.parametrize("params, fact, part", [
    ({"confirm": ""}, {}, "confirmation missing"),
    ({"confirm": "other"}, {}, "confirmation missing"),
    ({"protected": True}, {}, "protected"),
    ({"references": ["shop"]}, {}, "site shop"),
    ({}, {"env_references": ["/srv/www/shop/shared/.env"]}, "/srv/www/shop/shared/.env"),
    ({}, {"connections": 2}, "2 connection(s)"),
    ({}, {"activity": {"reads": 0, "writes": 4, "window_seconds": 7200, "window_start": "s", "window_end": "e"}}, "4 write(s)"),
    ({"count_reads": True}, {}, "9 read(s)"),
    ({"min_window_seconds": 86400}, {}, "shorter"),
    ({}, {"activity": {"reads": None, "writes": None, "window_source": "performance_schema is off"}}, "no activity evidence"),
])
def test_retire_refusals(params, fact, part):
    reasons = db_retire.refusal_reasons(dict(PARAMS, **params), dict(IDLE, **fact))
    assert any(part in r for r in reasons), reasons
