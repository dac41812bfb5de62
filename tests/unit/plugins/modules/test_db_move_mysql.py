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
    monkeypatch.setattr(mod.time, "sleep", lambda seconds: None)
    return srv


def module(check_mode=False):
    return types.SimpleNamespace(check_mode=check_mode)


def params(**extra):
    base = {"name": "shopdb", "accounts": ACCOUNTS, "watch": 1.0, "position": POSITION, "timeout": 5, "compare": None}
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
