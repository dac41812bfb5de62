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
            "compare": None, "presums": None, "resum": None}
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
