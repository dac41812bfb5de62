"""Verification in a throw-away server (plugins/module_utils/db_scratch.py): argv of the scratch servers,
comparisons, cleanup on failure, the command infra-db-backup calls. No server needed."""

import contextlib
import json
import os
import re
from pathlib import Path

import pytest

from ansible_collections.infra.hosting.plugins.module_utils import db_engine, db_scratch

ROOT = Path(__file__).resolve().parents[4]


def test_mariadb_install_uses_socket_authentication_and_no_option_file():
    argv = db_scratch.mysql_install_argv("/usr/bin/mariadb-install-db", "/var/tmp/x/data")
    assert argv[:2] == ["/usr/bin/mariadb-install-db", "--no-defaults"]
    assert "--auth-root-authentication-method=socket" in argv and "--user=mysql" in argv
    assert "--datadir=/var/tmp/x/data" in argv


def test_mysql8_install_is_initialize_insecure():
    argv = db_scratch.mysql_install_argv("/usr/sbin/mysqld", "/var/tmp/x/data")
    assert "--initialize-insecure" in argv and argv[1] == "--no-defaults"


def test_scratch_mariadbd_is_private_and_offline():
    argv = db_scratch.mysql_server_argv("/usr/sbin/mariadbd", "/var/tmp/s")
    assert argv[1] == "--no-defaults", "no option file may point it at the live datadir or socket"
    for option in ("--user=mysql", "--datadir=/var/tmp/s/data", "--socket=/var/tmp/s/mysqld.sock",
                   "--pid-file=/var/tmp/s/mysqld.pid", "--skip-networking", "--skip-log-bin"):
        assert option in argv
    assert not any(a.startswith("--port") or a.startswith("--bind") for a in argv)
    assert any(a.startswith("--innodb-buffer-pool-size=") for a in argv)
    # events restored with the dump must never run
    assert "--event-scheduler=OFF" in argv


def test_scratch_postgresql_cluster_of_the_live_major_version():
    initdb = db_scratch.pg_initdb_argv(15, "/var/tmp/p")
    assert initdb[:5] == ["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/initdb"]
    assert "/var/tmp/p/data" in initdb
    start = db_scratch.pg_ctl_argv(15, "/var/tmp/p", "start", port=55432)
    assert start[4] == "/usr/lib/postgresql/15/bin/pg_ctl" and start[-1] == "start"
    options = start[start.index("-o") + 1]
    assert "-k /var/tmp/p" in options and "listen_addresses=''" in options and "-p 55432" in options
    stop = db_scratch.pg_ctl_argv(15, "/var/tmp/p", "stop")
    assert stop[-3:] == ["-m", "fast", "stop"]


def test_drivers_point_at_the_scratch_server():
    mysql = db_engine.MysqlDriver(socket="/var/tmp/s/mysqld.sock")
    assert mysql.client() == ["mysql", "--no-defaults", "--socket=/var/tmp/s/mysqld.sock", "--user=root"]
    assert db_engine.MysqlDriver().client() == ["mysql"]
    pg = db_engine.PostgresqlDriver(socket="/var/tmp/p", port=55432)
    assert pg.client("psql")[-5:] == ["psql", "-h", "/var/tmp/p", "-p", "55432"]
    assert db_engine.PostgresqlDriver().client("pg_restore") == ["runuser", "-u", "postgres", "--", "pg_restore"]


def test_compare_objects_names_each_object():
    assert db_engine.compare_objects(["trigger t", "view v"], ["view v", "trigger t"]) == []
    assert db_engine.compare_objects(["procedure p", "trigger items_bi", "view v"], ["view v", "event e"]) == [
        "procedure p missing from the restored copy", "trigger items_bi missing from the restored copy",
        "event e only in the restored copy"]


def test_compare_restored_counts_and_objects():
    problems, notes = db_scratch.compare_restored({"a": 1, "b": 2}, ["trigger t"], {"a": 1, "b": 3}, [])
    assert problems == ["table b: 2 rows, 3 restored", "trigger t missing from the restored copy"] and notes == []


def test_compare_restored_leaves_out_tables_written_during_the_dump_and_says_so():
    problems, notes = db_scratch.compare_restored({"a": 1}, [], {"a": 1, "busy": 9}, [], unstable=["busy"])
    assert problems == []
    assert notes == ["row counts NOT VERIFIED for table(s) written during the dump: busy"]


def test_compare_restored_flags_a_table_neither_recorded_nor_unstable():
    problems, _unused = db_scratch.compare_restored({"a": 1}, [], {"a": 1, "new": 0}, [])
    assert problems == ["table new only in the restored copy"]


def test_compare_restored_without_records_says_not_verified():
    problems, notes = db_scratch.compare_restored(None, None, {"a": 1}, ["view v"])
    assert problems == [] and len(notes) == 2 and all("NOT VERIFIED" in n for n in notes)


def test_scratch_server_is_removed_when_its_start_fails(tmp_path, monkeypatch):
    def fail(self):
        raise db_engine.DbError("mariadbd exited")
    monkeypatch.setattr(db_scratch.ScratchServer, "start", fail)
    commands = []
    with pytest.raises(db_engine.DbError):
        with db_scratch.scratch_server("mysql", base=str(tmp_path), commands=commands):
            pass
    assert list(tmp_path.iterdir()) == []
    assert any(c.startswith("[scratch] rm -rf ") for c in commands)


def test_scratch_server_is_removed_when_the_verification_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(db_scratch.ScratchServer, "start", lambda self: "driver")
    with pytest.raises(RuntimeError):
        with db_scratch.scratch_server("postgresql", base=str(tmp_path), version=15) as drv:
            assert drv == "driver" and len(list(tmp_path.iterdir())) == 1
            raise RuntimeError("restore failed")
    assert list(tmp_path.iterdir()) == []


class FakeScratchDriver(object):
    def __init__(self, counts, objects):
        self.counts, self.obj, self.restored = counts, objects, []

    def restore(self, name, path):
        self.restored.append((name, path))

    def row_counts(self, name):
        return self.counts

    def objects(self, name):
        return self.obj


def test_verify_restore_restores_under_the_own_name_and_names_a_missing_trigger(monkeypatch):
    fake = FakeScratchDriver({"items": 100}, ["procedure count_items", "view recent"])

    @contextlib.contextmanager
    def server(engine, **kwargs):
        yield fake
    monkeypatch.setattr(db_scratch, "scratch_server", server)
    result = db_scratch.verify_restore("mysql", "shop", "/b/x.sql.gz", {"items": 100},
                                       ["procedure count_items", "trigger items_bi", "view recent"])
    assert fake.restored == [("shop", "/b/x.sql.gz")]
    assert result["problems"] == ["trigger items_bi missing from the restored copy"]


def test_command_reads_the_records_and_fails_naming_the_object(tmp_path, monkeypatch, capsys):
    (tmp_path / "s.rowcounts.json").write_text(json.dumps({"items": 100}))
    (tmp_path / "s.rowcounts.unstable").write_text("events\n")
    (tmp_path / "s.objects.json").write_text(json.dumps(["procedure count_items"]))
    seen = {}

    def fake_verify(engine, name, path, counts, objects, unstable=(), version=None, **kwargs):
        seen.update(counts=counts, objects=objects, unstable=unstable)
        return {"problems": ["procedure count_items missing from the restored copy"], "notes": [],
                "row_counts": counts, "objects": []}
    monkeypatch.setattr(db_scratch, "verify_restore", fake_verify)
    rc = db_scratch.main(["verify", "mysql", "shop", str(tmp_path / "s.sql.gz"), "--rowcounts", str(tmp_path / "s.rowcounts.json"),
                          "--unstable", str(tmp_path / "s.rowcounts.unstable"), "--objects", str(tmp_path / "s.objects.json")])
    assert rc == 1
    assert seen == {"counts": {"items": 100}, "objects": ["procedure count_items"], "unstable": ["events"]}
    out = capsys.readouterr().out
    assert "FAIL mysql/shop" in out and "procedure count_items missing from the restored copy" in out


def test_command_refuses_a_name_that_is_not_plain(capsys):
    assert db_scratch.main(["verify", "mysql", "a;b", "/x"]) == 1
    assert "not plain" in capsys.readouterr().out


def test_backup_script_verifies_through_the_scratch_server_only():
    text = (ROOT / "roles/db_backup/templates/usr/local/sbin/infra-db-backup.j2").read_text(encoding="utf-8")
    verify = re.search(r"^verify_one\(\) \{.*?^\}$", text, re.S | re.M).group(0)
    assert '"$LIB/db_scratch.py" verify' in verify
    assert "CREATE DATABASE" not in verify and "createdb" not in verify and "zz_verify" not in verify
    assert '"$LIB/db_scratch.py" objects' in text


@pytest.mark.parametrize("name", ["db_scratch.py", "db_engine.py"])
def test_role_installs_the_modules_own_helpers(name):
    installed = ROOT / "roles/db_backup/files" / name
    assert installed.is_symlink() and installed.resolve() == (ROOT / "plugins/module_utils" / name).resolve()


def test_db_retire_documents_where_it_verifies():
    from ansible_collections.infra.hosting.plugins.modules import db_retire
    assert "throw-away" in db_retire.DOCUMENTATION and "never the live one" in db_retire.DOCUMENTATION
    assert "verified_in" in db_retire.RETURN and "objects" in db_retire.RETURN
    assert "throw-away mariadbd" in db_retire.scratch_description("mysql")
    assert "PostgreSQL 15" in db_retire.scratch_description("postgresql", 15)
    assert os.path.basename(db_scratch.SCRATCH_BASE) == "tmp"
