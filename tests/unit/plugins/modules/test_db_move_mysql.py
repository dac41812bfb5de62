"""db_move_mysql: the write freeze in two module runs (freeze with a watch on the source, catch_up with a
comparison on the destination), with the servers replaced by recorded answers."""

import types

import pytest

from ansible_collections.infra.hosting.plugins.modules import db_move_mysql as mod

ACCOUNTS = [{"user": "shop", "host": "%"}]
POSITION = {"file": "mariadb-bin.000003", "pos": 4521}
SUMS = {"orders": {"rows": 3, "checksum": "42"}}


class Server:
    """Records the statements run and answers the queries the steps make."""

    def __init__(self, late=(), sums=None, replica=None):
        self.statements, self.late, self.sums, self.replica = [], list(late), sums or SUMS, replica

    def run_sql(self, sql, database=None):
        if sql.startswith("SELECT CONNECTION_ID()"):
            return [{"id": "7"}]
        if "PROCESSLIST" in sql:
            return [{"ID": "9", "USER": "shop", "DB": "shopdb", "COMMAND": "Sleep"}]
        self.statements.append(sql)
        return []


@pytest.fixture
def server(monkeypatch):
    srv = Server()
    monkeypatch.setattr(mod, "run_sql", srv.run_sql)
    monkeypatch.setattr(mod, "run_statements", srv.statements.extend)
    monkeypatch.setattr(mod, "master_position", lambda: dict(POSITION))
    monkeypatch.setattr(mod, "late_writes", lambda name, start: list(srv.late))
    monkeypatch.setattr(mod, "sums_of", lambda engine, name: dict(srv.sums))
    srv.resummed = []

    def sums_since(engine, name, presums, resum):
        srv.resummed.append(resum)
        return dict(presums or {}, **{t: srv.sums[t] for t in (resum or srv.sums)})

    monkeypatch.setattr(mod, "sums_since", sums_since)
    monkeypatch.setattr(mod.time, "sleep", lambda seconds: None)
    return srv


def module(check_mode=False):
    return types.SimpleNamespace(check_mode=check_mode)


def params(**extra):
    base = {"name": "shopdb", "accounts": ACCOUNTS, "watch": 1.0, "position": POSITION, "timeout": 5, "compare": None,
            "presums": None, "resum": None}
    base.update(extra)
    return base


def test_freeze_with_a_watch_locks_cuts_and_sums_the_frozen_source(server):
    changed, result = mod.step_freeze(module(), params())
    assert changed and result["count"] == 0 and not result["unfrozen"]
    assert result["tables"] == SUMS and result["rows"] == 3 and result["position"] == POSITION
    assert result["sessions_cut"] == [9]
    assert any("ACCOUNT LOCK" in s for s in server.statements)
    assert not any("ACCOUNT UNLOCK" in s for s in server.statements)


def test_a_writer_outside_the_accounts_undoes_the_lock_in_the_same_run(server):
    server.late = [{"file": "mariadb-bin.000003", "pos": 5000, "event_type": "Query", "info": "INSERT INTO shopdb.t"}]
    _changed, result = mod.step_freeze(module(), params())
    assert result["count"] == 1 and result["unfrozen"] and result["tables"] == {}
    assert any("ACCOUNT UNLOCK" in s for s in server.statements)


def test_catch_up_compares_and_unlocks_the_destination_only_when_equal(server, monkeypatch):
    monkeypatch.setattr(mod, "replica_rows", lambda: [{}])
    monkeypatch.setattr(mod, "replica_state", lambda rows: {"file": POSITION["file"], "pos": POSITION["pos"], "error": ""})
    _changed, result = mod.step_catch_up(module(), params(compare=SUMS))
    assert result["differ"] == [] and any("ACCOUNT UNLOCK" in s for s in server.statements)
    server.statements.clear()
    _changed, result = mod.step_catch_up(module(), params(compare={"orders": {"rows": 2, "checksum": "41"}}))
    assert result["differ"] == ["orders"] and not any("ACCOUNT UNLOCK" in s for s in server.statements)


def test_check_mode_changes_nothing(server):
    assert mod.step_freeze(module(check_mode=True), params())[1]["count"] == 0
    assert mod.step_catch_up(module(check_mode=True), params(compare=SUMS))[1]["differ"] == []
    assert server.statements == []


ROW_EVENTS = [{"file": "mariadb-bin.000003", "pos": 900, "event_type": "Table_map", "info": "table_id: 5 (shopdb.orders)"}]
PRESUMS = {"orders": {"rows": 2, "checksum": "41"}, "items": {"rows": 1000, "checksum": "7"}}


def test_with_presums_the_freeze_sums_again_only_the_tables_written_since(server, monkeypatch):
    seen = []

    def late(name, start):
        seen.append(start)
        return list(ROW_EVENTS) if start["pos"] == 100 else []

    monkeypatch.setattr(mod, "late_writes", late)
    _changed, result = mod.step_freeze(module(), params(presums={"position": {"file": POSITION["file"], "pos": 100},
                                                                 "tables": PRESUMS}))
    assert result["count"] == 0 and result["resum"] == ["orders"] and server.resummed == [["orders"]]
    assert result["tables"] == {"orders": SUMS["orders"], "items": PRESUMS["items"]} and result["rows"] == 1003
    assert seen == [POSITION, {"file": POSITION["file"], "pos": 100}]


def test_a_statement_in_the_binary_log_makes_the_freeze_sum_every_table(server, monkeypatch):
    statement = [{"file": "b", "pos": 900, "event_type": "Query", "info": "use `shopdb`; UPDATE orders SET x = 1"}]
    monkeypatch.setattr(mod, "late_writes", lambda name, start: statement if start["pos"] == 100 else [])
    _changed, result = mod.step_freeze(module(), params(presums={"position": {"file": "b", "pos": 100}, "tables": PRESUMS}))
    assert result["resum"] is None and server.resummed == [None]


def test_sums_before_the_freeze_position_first_then_destination_caught_up(server, monkeypatch):
    _changed, result = mod.step_source_sums(module(), params())
    assert result["position"] == POSITION and result["tables"] == SUMS and result["rows"] == 3
    states = [{"file": POSITION["file"], "pos": 10, "error": ""}, {"file": POSITION["file"], "pos": POSITION["pos"], "error": ""}]
    monkeypatch.setattr(mod, "replica_rows", lambda: [{}])
    monkeypatch.setattr(mod, "replica_state", lambda rows: states.pop(0) if len(states) > 1 else states[0])
    changed, result = mod.step_destination_sums(module(), params())
    assert not changed and result["tables"] == SUMS and states == [states[0]] and server.statements == []
    assert mod.step_source_sums(module(check_mode=True), params())[1]["tables"] == {}


def test_catch_up_with_presums_sums_again_only_what_the_freeze_named(server, monkeypatch):
    monkeypatch.setattr(mod, "replica_rows", lambda: [{}])
    monkeypatch.setattr(mod, "replica_state", lambda rows: {"file": POSITION["file"], "pos": POSITION["pos"], "error": ""})
    compare = {"orders": SUMS["orders"], "items": PRESUMS["items"]}
    _changed, result = mod.step_catch_up(module(), params(compare=compare, presums={"tables": PRESUMS}, resum=["orders"]))
    assert result["differ"] == [] and server.resummed == [["orders"]]
    assert any("ACCOUNT UNLOCK" in s for s in server.statements)


def test_a_purged_binary_log_since_the_sums_makes_the_freeze_sum_every_table(server, monkeypatch):
    def late(name, start):
        if start["pos"] == 100:
            raise mod.MoveError("binary log b.000001 is gone from the source")
        return []

    monkeypatch.setattr(mod, "late_writes", late)
    _changed, result = mod.step_freeze(module(), params(presums={"position": {"file": "b.000001", "pos": 100}, "tables": PRESUMS}))
    assert result["resum"] is None and server.resummed == [None] and not result["unfrozen"]
