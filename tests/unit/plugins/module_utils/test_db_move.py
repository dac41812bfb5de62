"""db_move helpers (issue #18, point 5): positions, the database's accounts, the freeze's sessions,
late writes found in the binary log, the replication statements; for PostgreSQL, LSNs, the source's
settings, the roles a freeze stops, tables without a key, the subscription and sequence statements."""

import pytest

from ansible_collections.infra.hosting.plugins.module_utils.db_move import (
    pg_database_acl_sql, pg_dump_entries,
    MoveError, accounts_of, acl_connect_roles, change_master_sql, drop_replica_sql, events_touching, find_position,
    lock_statements, lsn_reached, parse_lsn, pg_ident, pg_literal, pg_move_name, pg_roles_to_freeze, pg_shared_roles,
    pg_source_problems, position_before, position_from_status, replica_state, role_login_sql, run_step, sequence_sql,
    sessions_to_cut, sql_string, subscription_sql, sync_pending, tables_without_key, tables_written, pg_changed_tables)


def test_position_read_from_mariadb_and_mysql8_dumps():
    assert find_position("-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000002', MASTER_LOG_POS=4521;") == {
        "file": "mariadb-bin.000002", "pos": 4521}
    assert find_position("-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000007', SOURCE_LOG_POS=157;") == {
        "file": "binlog.000007", "pos": 157}
    assert find_position("-- no position here") is None


def test_binary_log_off_is_refused_with_the_reason():
    with pytest.raises(MoveError, match="log_bin"):
        position_from_status([])
    assert position_from_status([{"file": "b.000001", "pos": "99"}]) == {"file": "b.000001", "pos": 99}


def test_positions_compare_across_files():
    assert position_before({"file": "b.000009", "pos": 900}, {"file": "b.000010", "pos": 4})
    assert not position_before({"file": "b.000010", "pos": 4}, {"file": "b.000010", "pos": 4})
    assert position_before({"file": "b.000010", "pos": 4}, {"file": "b.000010", "pos": 5})


def test_only_writes_to_the_database_count():
    events = [
        {"event_type": "Query", "info": "BEGIN"},
        {"event_type": "Table_map", "info": "table_id: 71 (shop.orders)"},
        {"event_type": "Write_rows_v1", "info": "table_id: 71 flags: STMT_END_F"},
        {"event_type": "Table_map", "info": "table_id: 72 (shopping.carts)"},
        {"event_type": "Query", "info": "use `other`; INSERT INTO `shop`.`log` VALUES (1)"},
        {"event_type": "Query", "info": "use `other`; INSERT INTO t VALUES (1)"},
        {"event_type": "Query", "info": "COMMIT"},
    ]
    assert [e["info"][:10] for e in events_touching(events, "shop")] == ["table_id: ", "use `other"]


def test_tables_written_named_by_row_events_or_unknown_for_a_statement():
    rows = [
        {"event_type": "Table_map", "info": "table_id: 71 (shop.orders)"},
        {"event_type": "Write_rows_v1", "info": "table_id: 71 flags: STMT_END_F"},
        {"event_type": "Table_map", "info": "table_id: 73 (shop.or.ders)"},
        {"event_type": "Table_map", "info": "table_id: 71 (shop.orders)"},
        {"event_type": "Table_map", "info": "table_id: 72 (shopping.carts)"},
        {"event_type": "Query", "info": "use `other`; INSERT INTO t VALUES (1)"},
    ]
    assert tables_written(rows, "shop") == ["or.ders", "orders"]
    assert tables_written([], "shop") == []
    statement = rows + [{"event_type": "Query", "info": "use `shop`; INSERT INTO orders VALUES (1)"}]
    assert tables_written(statement, "shop") is None  # MIXED/STATEMENT logging: every table read again
    assert tables_written([{"event_type": "Query", "info": "use `shop`; ALTER TABLE orders ADD c INT"}], "shop") is None


def test_pg_tables_whose_marks_moved_or_appeared_or_went():
    before = {"public.a": "1/0/0/16384", "public.b": "5/2/1/16390", "public.gone": "0/0/0/16400"}
    after = {"public.a": "1/0/0/16384", "public.b": "6/2/1/16390", "public.new": "0/0/0/16410"}
    assert pg_changed_tables(before, after) == ["public.b", "public.gone", "public.new"]
    assert pg_changed_tables({"public.t": "0/0/0/1"}, {"public.t": "0/0/0/2"}) == ["public.t"]  # a TRUNCATE
    assert pg_changed_tables(before, before) == []


def test_accounts_of_the_database_only_system_and_mover_kept_out():
    rows = [
        {"user": "shop", "host": "10.0.0.%", "db": "shop"},
        {"user": "shop", "host": "localhost", "db": "shop"},
        {"user": "root", "host": "localhost", "db": "shop"},
        {"user": "db_move", "host": "10.0.0.61", "db": "shop"},
        {"user": "blog", "host": "%", "db": "blog"},
    ]
    assert accounts_of(rows, "shop", keep=("db_move",)) == [
        {"user": "shop", "host": "10.0.0.%"}, {"user": "shop", "host": "localhost"}]


def test_an_account_that_cannot_be_quoted_safely_is_refused():
    with pytest.raises(MoveError, match="cannot be named"):
        accounts_of([{"user": "x'; DROP", "host": "%", "db": "shop"}], "shop")


def test_lock_and_unlock_statements():
    assert lock_statements([{"user": "shop", "host": "%"}]) == ["ALTER USER 'shop'@'%' ACCOUNT LOCK"]
    assert lock_statements([{"user": "shop", "host": "%"}], lock=False) == ["ALTER USER 'shop'@'%' ACCOUNT UNLOCK"]


def test_sessions_cut_are_the_accounts_and_those_on_the_database():
    processlist = [
        {"id": "5", "user": "shop", "db": None, "command": "Sleep"},
        {"id": "6", "user": "admin", "db": "shop", "command": "Query"},
        {"id": "7", "user": "blog", "db": "blog", "command": "Query"},
        {"id": "8", "user": "root", "db": None, "command": "Query"},
        {"id": "9", "user": "db_move", "db": None, "command": "Binlog Dump"},
        {"id": "10", "user": "system user", "db": None, "command": "Daemon"},
    ]
    assert sessions_to_cut(processlist, "shop", {"shop"}, own_ids=["8"]) == [5, 6]


def test_replication_of_one_database_from_the_snapshot_position():
    statements = change_master_sql({"host": "10.0.0.31", "port": 3306, "user": "db_move", "password": "p'w"},
                                   {"file": "b.000002", "pos": 4521}, "shop")
    assert statements[0].startswith("CHANGE MASTER 'db_move' TO MASTER_HOST='10.0.0.31', MASTER_PORT=3306")
    assert "MASTER_PASSWORD='p\\'w'" in statements[0] and "MASTER_LOG_POS=4521" in statements[0]
    assert statements[1] == "SET SESSION default_master_connection = 'db_move'; SET GLOBAL replicate_do_db = 'shop'"
    assert statements[-1] == "START SLAVE 'db_move'"
    assert drop_replica_sql() == ["STOP SLAVE 'db_move'", "RESET SLAVE 'db_move' ALL"]


def test_replica_state_read():
    assert replica_state([]) is None
    state = replica_state([{"Slave_IO_Running": "Yes", "Slave_SQL_Running": "No", "Last_SQL_Error": "dup key",
                            "Relay_Master_Log_File": "b.000002", "Exec_Master_Log_Pos": "4600"}])
    assert state == {"io": "Yes", "sql": "No", "error": "dup key", "file": "b.000002", "pos": 4600}


def test_strings_escaped():
    assert sql_string("a'b\\c") == "'a\\'b\\\\c'"


# PostgreSQL (db_move_postgresql): logical replication, the freeze by NOLOGIN.

def test_lsn_parsed_and_compared_across_segments():
    assert parse_lsn("0/3000148") == 0x3000148
    assert parse_lsn("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert lsn_reached("1/0", "0/FFFFFFFF")
    assert lsn_reached("0/3000148", "0/3000148")
    assert not lsn_reached("0/3000147", "0/3000148")
    assert not lsn_reached("", "0/1") and not lsn_reached(None, "0/1")
    with pytest.raises(MoveError, match="not an LSN"):
        parse_lsn("3000148")


def test_a_source_without_logical_wal_is_refused_with_the_reason():
    problems = pg_source_problems({"wal_level": "replica", "max_replication_slots": "10", "max_wal_senders": "10"})
    assert len(problems) == 1 and "wal_level is replica" in problems[0] and "restart" in problems[0]
    assert pg_source_problems({"wal_level": "logical", "max_replication_slots": "0", "max_wal_senders": "10"}) == [
        "max_replication_slots is 0 (the move needs one slot and one sender)"]
    assert pg_source_problems({"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10"}) == []


def test_roles_frozen_are_the_owner_and_connect_grantees_never_a_superuser():
    acl = "{=Tc/app,app=CTc/app,reporting=c/app,postgres=CTc/postgres}"
    assert acl_connect_roles(acl) == ["app", "reporting", "postgres"]
    assert acl_connect_roles("{=T/app}") == [] and acl_connect_roles("") == []
    assert pg_roles_to_freeze("app", acl, superusers={"postgres"}) == ["app", "reporting"]
    assert pg_roles_to_freeze("postgres", "", superusers={"postgres"}) == []
    assert pg_roles_to_freeze("app", "{db_move=c/app}", superusers=set()) == ["app"]  # the move's own role kept
    with pytest.raises(MoveError, match="cannot be named safely"):
        pg_roles_to_freeze("bad name", "", superusers=set())


def test_roles_reaching_other_databases_are_named():
    grants = [{"role": "app", "database": "shop_two"}, {"role": "other", "database": "x"}, {"role": "app", "database": "shop_two"}]
    assert pg_shared_roles(["app"], grants) == {"app": ["shop_two"]}
    assert pg_shared_roles(["app"], []) == {}


def test_tables_logical_replication_cannot_carry():
    rows = [{"table": "public.a", "has_pk": "t", "identity": "d"}, {"table": "public.b", "has_pk": "f", "identity": "d"},
            {"table": "public.c", "has_pk": "f", "identity": "f"}, {"table": "public.d", "has_pk": "t", "identity": "n"}]
    assert tables_without_key(rows) == ["public.b", "public.d"]


def test_freeze_and_sequence_statements_are_quoted():
    assert role_login_sql(["app"], login=False) == ['ALTER ROLE "app" NOLOGIN']
    assert role_login_sql(["app"], login=True) == ['ALTER ROLE "app" LOGIN']
    assert pg_ident('we"ird') == '"we""ird"' and pg_literal("it's") == "'it''s'"
    rows = [{"schema": "public", "name": "orders_id_seq", "last_value": "6000"}, {"schema": "public", "name": "unused", "last_value": ""}]
    assert sequence_sql(rows) == ["SELECT setval('\"public\".\"orders_id_seq\"', 6000, true)"]


def test_subscription_names_and_connection_string():
    assert pg_move_name("shop") == "db_move_shop" and len(pg_move_name("x" * 63)) == 63
    sql = subscription_sql("shop", {"host": "10.0.0.5", "port": 5433, "user": "db_move", "password": "p'w\\d"})
    assert sql.startswith('CREATE SUBSCRIPTION "db_move_shop" CONNECTION \'host=10.0.0.5 port=5433 user=db_move ')
    assert "password=''p\\''w\\\\d'' dbname=shop'" in sql  # libpq-quoted, then an SQL literal
    assert sql.endswith('PUBLICATION "db_move_shop" WITH (copy_data = true)')


def test_initial_copy_pending_until_every_table_is_ready():
    assert sync_pending([{"table": "a", "state": "r"}, {"table": "b", "state": "d"}, {"table": "c", "state": "s"}]) == ["b"]
    assert sync_pending([]) == []


class FakeModule(object):
    def __init__(self, **params):
        self.params, self.exited, self.failed = params, None, None

    def fail_json(self, **kwargs):
        self.failed = kwargs

    def exit_json(self, **kwargs):
        self.exited = kwargs


def test_a_step_runs_or_fails_naming_the_step_and_the_database():
    steps = {"copy": lambda module, params: (True, {"seconds": 1.5}),
             "broken": lambda module, params: (step for step in ()).throw(MoveError("the source is gone"))}
    module = FakeModule(state="copy", name="shop", source_host="10.0.0.5")
    run_step(module, steps, {"copy": ["source_host"]}, "db_move_x")
    assert module.exited == {"changed": True, "seconds": 1.5} and module.failed is None
    module = FakeModule(state="copy", name="shop", source_host=None)
    run_step(module, steps, {"copy": ["source_host"]}, "db_move_x")
    assert module.failed == {"msg": "db_move_x copy needs source_host"} and module.exited is None
    module = FakeModule(state="broken", name="shop")
    run_step(module, steps, {}, "db_move_x")
    assert module.failed == {"msg": "broken of shop: the source is gone"}
    module = FakeModule(state="copy", name="shop; DROP", source_host="x")
    run_step(module, steps, {}, "db_move_x")
    assert "not plain" in module.failed["msg"]


def test_a_database_created_again_gets_the_acl_its_stale_copy_had():
    # roles/postgresql revokes CONNECT from PUBLIC: the way back keeps it so.
    assert pg_database_acl_sql("shoppg", "{=T/shop,shop=CTc/shop}") == [
        'REVOKE ALL ON DATABASE "shoppg" FROM PUBLIC',
        'GRANT TEMPORARY ON DATABASE "shoppg" TO PUBLIC',
        'GRANT CREATE, TEMPORARY, CONNECT ON DATABASE "shoppg" TO "shop"']
    assert pg_database_acl_sql("shoppg", "") == [] and pg_database_acl_sql("shoppg", None) == []


def test_an_acl_item_that_cannot_be_read_or_named_is_refused():
    with pytest.raises(MoveError):
        pg_database_acl_sql("shoppg", "{garbage}")
    with pytest.raises(MoveError):
        pg_database_acl_sql("shoppg", '{"a;b"=c/postgres}')


def test_a_dump_listing_counts_its_entries_not_its_comments():
    listing = (";\n; Archive created at 2026-12-07 00:00:00 UTC\n;     dbname: shoppg\n;\n"
               "215; 1259 16390 TABLE public customers shop\n3340; 0 16390 TABLE DATA public customers shop\n\n")
    assert len(pg_dump_entries(listing)) == 2
    assert pg_dump_entries(";\n; Archive created\n") == [] and pg_dump_entries("") == []
