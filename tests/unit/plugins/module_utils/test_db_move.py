"""db_move helpers (issue #18, point 5): positions, the database's accounts, the freeze's sessions,
late writes found in the binary log, the replication statements."""

import pytest

from ansible_collections.infra.hosting.plugins.module_utils.db_move import (
    MoveError, accounts_of, change_master_sql, drop_replica_sql, events_touching, find_position, lock_statements,
    position_before, position_from_status, replica_state, sessions_to_cut, sql_string)


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
