"""db_move_postgresql: the write freeze in two module runs (freeze with a watch on the old server, set_sequences
with a comparison on the leader), with the servers replaced by recorded answers."""

import types

import pytest

from ansible_collections.infra.hosting.plugins.modules import db_move_postgresql as mod

SUMS = {"public.orders": {"rows": 3, "checksum": "42"}}
SEQUENCES = [{"schema": "public", "name": "orders_id_seq", "last_value": "3"}]


class Server:
    """Records the statements run and answers the queries the steps make."""

    def __init__(self):
        self.statements, self.writes, self.sessions = [], [10], []
        self.marks, self.resummed = [], []

    def q(self, drv, sql, database="postgres", columns=None):
        if "pg_terminate_backend" in sql:
            return [{"pid": "4242", "ok": "t"}]
        if "pid IN (4242)" in sql:  # the terminated session has exited
            return []
        if "pg_stat_user_tables" in sql:
            return [{"table": t, "mark": m} for t, m in self.marks.pop(0).items()]
        if "pg_current_wal_lsn" in sql:
            return [{"lsn": "0/3000148"}]
        if "confirmed_flush_lsn" in sql:
            return [{"lsn": "0/3000150"}]
        if "pg_sequences" in sql:
            return list(SEQUENCES)
        self.statements.append(sql)
        return []


@pytest.fixture
def server(monkeypatch):
    srv = Server()
    monkeypatch.setattr(mod, "q", srv.q)
    monkeypatch.setattr(mod, "driver", lambda params: None)
    monkeypatch.setattr(mod, "write_counter", lambda drv, name: srv.writes.pop(0) if len(srv.writes) > 1 else srv.writes[0])
    monkeypatch.setattr(mod, "sessions_on", lambda drv, name: list(srv.sessions))
    monkeypatch.setattr(mod, "sums_of", lambda engine, name, port=None: dict(SUMS))

    def sums_since(engine, name, presums, resum, port=None):
        srv.resummed.append(resum)
        return dict(presums or {}, **{t: SUMS[t] for t in (resum or SUMS) if t in SUMS})

    monkeypatch.setattr(mod, "sums_since", sums_since)
    monkeypatch.setattr(mod.time, "sleep", lambda seconds: None)
    return srv


def params(**extra):
    base = {"name": "shoppg", "roles": ["shop"], "watch": 1.0, "timeout": 5, "port": 5432, "sequences": SEQUENCES,
            "compare": None, "presums": None, "resum": None, "path": None, "acl": ""}
    base.update(extra)
    return base


def module(check_mode=False):
    return types.SimpleNamespace(check_mode=check_mode)


def test_freeze_with_a_watch_waits_for_the_slot_reads_the_sequences_and_sums(server):
    _changed, result = mod.step_freeze(module(), params())
    assert not result["unfrozen"] and result["late_writes"] == 0
    assert result["sequences"] == SEQUENCES and result["tables"] == SUMS and result["rows"] == 3
    assert any("NOLOGIN" in s for s in server.statements)
    assert not any(" LOGIN" in s.replace("NOLOGIN", "") for s in server.statements)


def test_a_write_during_the_watch_lets_the_roles_log_in_again_in_the_same_run(server):
    server.writes = [10, 11]
    _changed, result = mod.step_freeze(module(), params())
    assert result["unfrozen"] and result["late_writes"] == 1 and result["tables"] == {}
    assert any(" LOGIN" in s.replace("NOLOGIN", "") for s in server.statements)


def test_set_sequences_compares_with_the_frozen_source(server):
    _changed, result = mod.step_set_sequences(module(), params(compare=SUMS))
    assert result["differ"] == [] and result["statements"]
    _changed, result = mod.step_set_sequences(module(), params(compare={"public.orders": {"rows": 2, "checksum": "1"}}))
    assert result["differ"] == ["public.orders"]


PRESUMS = {"public.orders": {"rows": 2, "checksum": "41"}, "public.items": {"rows": 1000, "checksum": "7"}}
MARKS = {"public.orders": "2/0/0/16384", "public.items": "1000/0/0/16390"}


def test_sums_before_the_freeze_marks_first_then_the_slot_confirmed(server):
    server.marks = [dict(MARKS)]
    changed, result = mod.step_source_sums(module(), params())
    assert not changed and result["marks"] == MARKS and result["position"] == "0/3000148" and result["tables"] == SUMS
    assert mod.step_destination_sums(module(), params())[1]["tables"] == SUMS


def test_with_presums_the_freeze_sums_again_only_the_tables_whose_marks_moved(server):
    server.marks = [dict(MARKS, **{"public.orders": "3/0/0/16384"})]
    _changed, result = mod.step_freeze(module(), params(presums={"marks": MARKS, "tables": PRESUMS}))
    assert not result["unfrozen"] and result["resum"] == ["public.orders"] and server.resummed == [["public.orders"]]
    assert result["tables"] == {"public.orders": SUMS["public.orders"], "public.items": PRESUMS["public.items"]}
    assert result["rows"] == 1003


def test_set_sequences_with_presums_sums_again_only_what_the_freeze_named(server):
    compare = {"public.orders": SUMS["public.orders"], "public.items": PRESUMS["public.items"]}
    _changed, result = mod.step_set_sequences(module(), params(compare=compare, presums={"tables": PRESUMS},
                                                               resum=["public.orders"]))
    assert result["differ"] == [] and server.resummed == [["public.orders"]]


# The way back (the tier's copy back onto its old server): the freeze on the leader dumps instead of waiting for a
# subscription; set_aside reads its dump back before it drops; restore refuses to restore over a copy.
class Shell:
    """drv of the way back's steps: records the shell pipelines and the client runs, answers pg_restore --list."""

    prefix = ["runuser", "-u", "postgres", "--"]

    def __init__(self, listing="215; 1259 16390 TABLE public orders shop\n"):
        self.commands, self.runs, self.listing = [], [], listing

    def client(self, binary):
        return self.prefix + [binary]

    def shell(self, command):
        self.commands.append(command)
        return self.listing if "--list" in command else ""

    def _run(self, argv):
        self.runs.append(argv)
        return ""


@pytest.fixture
def shell(server, monkeypatch, tmp_path):
    drv = Shell()
    monkeypatch.setattr(mod, "driver", lambda params: drv)
    monkeypatch.setattr(mod.os.path, "getsize", lambda path: 2048)
    monkeypatch.setattr(mod.os, "makedirs", lambda *a, **k: None)  # /var/backups/infra is not made here
    drv.path = str(tmp_path / "db_back-shoppg.dump")
    return drv


def test_the_way_back_freeze_dumps_reads_the_dump_back_and_sums_without_a_subscription(server, shell):
    _changed, result = mod.step_freeze(module(), params(path=shell.path))
    assert not result["unfrozen"] and result["tables"] == SUMS and result["sequences"] == []
    assert result["path"] == shell.path and result["dump_entries"] == 1 and result["dump_bytes"] == 2048
    assert "pg_dump -Fc --no-publications --no-subscriptions shoppg >" in shell.commands[0]
    assert "pg_restore --list <" in shell.commands[1]
    assert not any("confirmed_flush_lsn" in s for s in server.statements)


def test_a_dump_that_lists_nothing_drops_nothing(server, shell, monkeypatch):
    shell.listing = ";\n; Archive created\n"
    monkeypatch.setattr(mod, "exists", lambda drv, name: True)
    monkeypatch.setattr(mod, "table_count", lambda drv, name: 2)
    with pytest.raises(mod.MoveError, match="lists no entry"):
        mod.step_set_aside(module(), params(path=None))
    assert shell.runs == []  # no dropdb


def test_set_aside_dumps_reads_back_then_drops_and_shows_the_diff(server, shell, monkeypatch):
    monkeypatch.setattr(mod, "exists", lambda drv, name: True)
    monkeypatch.setattr(mod, "table_count", lambda drv, name: 3)
    changed, result = mod.step_set_aside(module(), params(path=None))
    assert changed and result["dump_entries"] == 1 and shell.runs[-1][-2:] == ["dropdb", "shoppg"]
    assert result["diff"]["before"] == {"database": "shoppg", "tables": 3} and result["diff"]["after"]["database"] is None


def test_set_aside_in_check_mode_changes_nothing(server, shell, monkeypatch):
    monkeypatch.setattr(mod, "exists", lambda drv, name: True)
    monkeypatch.setattr(mod, "table_count", lambda drv, name: 3)
    changed, result = mod.step_set_aside(module(check_mode=True), params(path=None))
    assert changed and result["path"].startswith("/var/backups/infra/db_move-shoppg-") and shell.commands == shell.runs == []


def restore_params(**extra):
    return params(path="/var/backups/infra/db_back-shoppg.dump", owner="shop", acl="{=T/shop,shop=CTc/shop}", **extra)


def test_restore_creates_the_database_gives_its_old_acl_and_restores_in_one_transaction(server, shell, monkeypatch):
    monkeypatch.setattr(mod, "exists", lambda drv, name: False)
    monkeypatch.setattr(mod, "table_count", lambda drv, name: 0)
    changed, result = mod.step_restore(module(), restore_params())
    assert changed and shell.runs == [Shell.prefix + ["createdb", "-O", "shop", "shoppg"]]
    assert 'REVOKE ALL ON DATABASE "shoppg" FROM PUBLIC' in server.statements
    assert "pg_restore --exit-on-error --single-transaction -d shoppg < /var/backups/infra/db_back-shoppg.dump" in shell.commands[0]


def test_restore_refuses_to_load_over_a_copy_and_in_check_mode_only_says_what(server, shell, monkeypatch):
    monkeypatch.setattr(mod, "exists", lambda drv, name: True)
    monkeypatch.setattr(mod, "table_count", lambda drv, name: 3)
    with pytest.raises(mod.MoveError, match="set aside first"):
        mod.step_restore(module(), restore_params())
    changed, result = mod.step_restore(module(check_mode=True), restore_params())
    assert changed and result["diff"]["after"]["restored_from"].endswith("db_back-shoppg.dump")
    assert shell.commands == shell.runs == [] and server.statements == []
