# -*- coding: utf-8 -*-
"""Pure helpers of db_move_mysql (a database moved between two MariaDB/MySQL servers).

The move (playbooks/db_move.yml, docs/databases.md): an initial copy (mysqldump of a consistent
snapshot, whose binary-log position it notes), a catch-up by replication from that position
(the destination replicates the one database from the source), a short freeze of the source (the
accounts of the database locked, their sessions cut), the destination caught up to the source's
last position, then verification. The helpers here build the SQL and read the servers' answers;
tests/unit/plugins/module_utils/test_db_move.py exercises them without a server.
"""

from __future__ import absolute_import, division, print_function

import re

# mysqldump --master-data=2 (MariaDB) / --source-data=2 (MySQL 8.0.26+) writes the position as a comment.
POSITION_RE = re.compile(
    r"CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([^']+)', (?:MASTER|SOURCE)_LOG_POS=(\d+)")
# Accounts never locked by a freeze: the servers' own and the move's.
SYSTEM_ACCOUNTS = {"root", "mysql", "mariadb.sys", "mysql.sys", "mysql.session", "mysql.infoschema", "debian-sys-maint"}
CONNECTION_NAME = "db_move"
ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")
HOST_RE = re.compile(r"^[A-Za-z0-9_.%:\-]{1,255}$")


class MoveError(Exception):
    """The move cannot go on; the message names what and why."""


def sql_string(value):
    """A MySQL string literal (quotes and backslashes escaped)."""
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def find_position(text):
    """(file, pos) of the binary log written by mysqldump --master-data=2 in ``text``, or None."""
    match = POSITION_RE.search(text or "")
    return {"file": match.group(1), "pos": int(match.group(2))} if match else None


def position_from_status(rows):
    """(file, pos) from SHOW MASTER STATUS / SHOW BINARY LOG STATUS rows ({file, pos, ...})."""
    if not rows or not rows[0].get("file"):
        raise MoveError("the binary log is off on the source (log_bin): the catch-up replicates from it")
    return {"file": rows[0]["file"], "pos": int(rows[0]["pos"])}


def position_before(a, b):
    """True when position ``a`` comes strictly before ``b`` (files compare by their numbered suffix)."""
    def key(p):
        stem, _unused, number = p["file"].rpartition(".")
        return (stem, int(number) if number.isdigit() else 0, int(p["pos"]))
    return key(a) < key(b)


def events_touching(events, database):
    """The binary-log events (SHOW BINLOG EVENTS rows) that write to ``database``.

    Row-based writes announce their table in a Table_map event ("table_id: 71 (shop.orders)");
    statement-based ones run under "use `shop`" or name `shop`.`table`.
    """
    found = []
    table_map = "(%s." % database
    use = "use `%s`" % database
    qualified = "`%s`." % database
    for event in events or []:
        kind = event.get("event_type", "")
        info = event.get("info", "")
        if kind == "Table_map" and table_map in info:
            found.append(event)
        elif kind == "Query" and info not in ("BEGIN", "COMMIT") and (use in info or qualified in info):
            found.append(event)
    return found


def accounts_of(rows, database, keep=()):
    """Accounts ({user, host}) granted on ``database`` (mysql.db rows), minus system ones and ``keep``."""
    accounts = []
    for row in rows or []:
        user, host = row.get("user", ""), row.get("host", "")
        if row.get("db") not in (database, database.replace("_", "\\_")):
            continue
        if user in SYSTEM_ACCOUNTS or user in keep or not user:
            continue
        if not ACCOUNT_RE.match(user) or not HOST_RE.match(host):
            raise MoveError("account %r@%r cannot be named safely in SQL" % (user, host))
        if {"user": user, "host": host} not in accounts:
            accounts.append({"user": user, "host": host})
    return sorted(accounts, key=lambda a: (a["user"], a["host"]))


def lock_statements(accounts, lock=True):
    """ALTER USER ... ACCOUNT LOCK (or UNLOCK) for each account."""
    word = "LOCK" if lock else "UNLOCK"
    return ["ALTER USER %s@%s ACCOUNT %s" % (sql_string(a["user"]), sql_string(a["host"]), word) for a in accounts]


def sessions_to_cut(processlist, database, users, own_ids=()):
    """Ids of the sessions (processlist rows {id, user, db, command}) of ``users`` or on ``database``."""
    ids = []
    for row in processlist or []:
        if str(row.get("id")) in {str(i) for i in own_ids}:
            continue
        if row.get("command") in ("Binlog Dump", "Binlog Dump GTID", "Daemon"):
            continue
        if row.get("user") in SYSTEM_ACCOUNTS and row.get("db") != database:
            continue
        if row.get("user") in users or row.get("db") == database:
            ids.append(int(row["id"]))
    return sorted(ids)


def change_master_sql(source, position, database):
    """Statements that make this server replicate ``database`` only, from ``position`` of ``source``.

    ``source``: {host, port, user, password}. MariaDB's named connection (multi-source) keeps the
    move's replication apart from any other.
    """
    name = sql_string(CONNECTION_NAME)
    return [
        "CHANGE MASTER %s TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, "
        "MASTER_LOG_FILE=%s, MASTER_LOG_POS=%d, MASTER_USE_GTID=no"
        % (name, sql_string(source["host"]), int(source["port"]), sql_string(source["user"]),
           sql_string(source["password"]), sql_string(position["file"]), int(position["pos"])),
        # One session: the filter applies to the connection named by default_master_connection.
        "SET SESSION default_master_connection = %s; SET GLOBAL replicate_do_db = %s" % (name, sql_string(database)),
        "START SLAVE %s" % name,
    ]


def drop_replica_sql():
    """Statements that stop and forget the move's replication (run only when it exists)."""
    name = sql_string(CONNECTION_NAME)
    return ["STOP SLAVE %s" % name, "RESET SLAVE %s ALL" % name]


def replica_state(rows):
    """The move's replication status ({io, sql, error, file, pos}) from SHOW SLAVE 'db_move' STATUS."""
    if not rows:
        return None
    row = rows[0]
    return {
        "io": row.get("Slave_IO_Running", ""),
        "sql": row.get("Slave_SQL_Running", ""),
        "error": row.get("Last_SQL_Error") or row.get("Last_IO_Error") or "",
        "file": row.get("Relay_Master_Log_File", ""),
        "pos": int(row.get("Exec_Master_Log_Pos") or 0),
    }
