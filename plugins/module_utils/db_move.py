# -*- coding: utf-8 -*-
"""Pure helpers of db_move_mysql and db_move_postgresql (a database moved between two servers).

The move (playbooks/db_move.yml, docs/databases.md): an initial copy (mysqldump of a consistent
snapshot, whose binary-log position it notes), a catch-up by replication from that position
(the destination replicates the one database from the source), a short freeze of the source (the
accounts of the database locked, their sessions cut), the destination caught up to the source's
last position, then verification. The helpers here build the SQL and read the servers' answers;
tests/unit/plugins/module_utils/test_db_move.py exercises them without a server.
"""

from __future__ import absolute_import, division, print_function

import re

from ansible_collections.infra.hosting.plugins.module_utils.db_engine import check_name

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


def run_step(module, steps, needs, module_name):
    """Run the step ``module.params['state']`` of a db_move module and exit with its result.

    ``steps``: {state: function(module, params) -> (changed, result)}; ``needs``: {state: [option, ...]}
    that step cannot go without. Every failure is reported with the step and the database named.
    """
    params = module.params
    missing = [key for key in needs.get(params["state"], []) if not params.get(key)]
    if missing:
        module.fail_json(msg="%s %s needs %s" % (module_name, params["state"], ", ".join(missing)))
        return
    try:
        check_name(params["name"])
        changed, result = steps[params["state"]](module, params)
    except Exception as error:  # every failure is reported with the step and the database named
        module.fail_json(msg="%s of %s: %s" % (params["state"], params["name"], error))
        return
    module.exit_json(changed=changed, **result)


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


def tables_written(events, database):
    """The tables of ``database`` that the binary-log ``events`` (events_touching's) wrote, sorted; None when one
    event does not say which (a statement logged as such: MIXED or STATEMENT format, or DDL), so that every table
    must be read again. Row-based writes name their table in a Table_map event ("table_id: 71 (shop.orders)")."""
    prefix = "(%s." % database
    tables = set()
    for event in events_touching(events, database):
        info = event.get("info", "")
        if event.get("event_type") != "Table_map" or not info.endswith(")"):
            return None
        tables.add(info[info.index(prefix) + len(prefix):-1])
    return sorted(tables)


def pg_changed_tables(before, after):
    """Tables whose write counters or file differ between two pg_table_marks readings (or that one lacks), sorted."""
    return sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))


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


# PostgreSQL (db_move_postgresql): an initial copy and the catch-up by logical replication (a
# publication on the old server, a subscription on the Patroni leader), the freeze by NOLOGIN.
PG_MOVER = "db_move"
LSN_RE = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
PG_ACL_RE = re.compile(r'^(?:"((?:[^"]|"")*)"|([^=]*))=([A-Za-z*]*)/')


def pg_ident(name):
    """A PostgreSQL identifier between double quotes (a double quote inside doubled)."""
    return '"%s"' % str(name).replace('"', '""')


def pg_literal(value):
    """A PostgreSQL string literal (standard_conforming_strings: only quotes doubled)."""
    return "'%s'" % str(value).replace("'", "''")


def pg_move_name(database):
    """Name of the move's publication, subscription and replication slot (63 bytes at most)."""
    return ("db_move_%s" % database)[:63]


def parse_lsn(text):
    """The integer position of an LSN written as 16/B374D848."""
    match = LSN_RE.match(str(text or "").strip())
    if not match:
        raise MoveError("%r is not an LSN" % (text,))
    return (int(match.group(1), 16) << 32) + int(match.group(2), 16)


def lsn_reached(done, target):
    """True when LSN ``done`` is at or past ``target`` (None, an empty answer: not yet)."""
    if not done:
        return False
    return parse_lsn(done) >= parse_lsn(target)


def pg_source_problems(settings):
    """Why a server cannot publish for the move ({wal_level, max_replication_slots, max_wal_senders}), [] when it can."""
    problems = []
    if settings.get("wal_level") != "logical":
        problems.append(
            "wal_level is %s, logical replication needs wal_level = logical (a restart of the old server: "
            "postgresql_wal_level: logical in roles/postgresql, or wal_level in its postgresql.conf on a Forge server, "
            "restart it in a quiet hour, then run the move again)" % (settings.get("wal_level") or "unknown"))
    for key in ("max_replication_slots", "max_wal_senders"):
        if int(settings.get(key) or 0) < 1:
            problems.append("%s is 0 (the move needs one slot and one sender)" % key)
    return problems


def acl_connect_roles(acl):
    """Roles given CONNECT on a database by its ACL ('{=Tc/app,app=CTc/app}'), PUBLIC left out."""
    roles = []
    for item in (acl or "").strip("{}").split(","):
        match = PG_ACL_RE.match(item.strip())
        if not match:
            continue
        role = match.group(1).replace('""', '"') if match.group(1) is not None else match.group(2)
        if role and "c" in match.group(3) and role not in roles:
            roles.append(role)
    return roles


PG_DATABASE_PRIVILEGES = {"C": "CREATE", "T": "TEMPORARY", "c": "CONNECT"}


def pg_database_acl_sql(database, acl):
    """GRANT/REVOKE statements that give ``database`` the ACL ``acl`` (pg_database.datacl as text,
    '{=T/app,app=CTc/app}'): a database created again (the way back) gets the privileges its stale copy had,
    e.g. CONNECT revoked from PUBLIC (roles/postgresql). Empty ``acl``: the default, no statement."""
    items = [item.strip() for item in (acl or "").strip("{}").split(",") if item.strip()]
    if not items:
        return []
    statements = ["REVOKE ALL ON DATABASE %s FROM PUBLIC" % pg_ident(database)]
    for item in items:
        match = PG_ACL_RE.match(item)
        if not match:
            raise MoveError("cannot read the ACL item %r of %s" % (item, database))
        role = match.group(1).replace('""', '"') if match.group(1) is not None else match.group(2)
        privileges = [PG_DATABASE_PRIVILEGES[p] for p in match.group(3) if p in PG_DATABASE_PRIVILEGES]
        if not privileges:
            continue
        if role and not ACCOUNT_RE.match(role):
            raise MoveError("role %r cannot be named safely in SQL" % (role,))
        statements.append("GRANT %s ON DATABASE %s TO %s" % (
            ", ".join(privileges), pg_ident(database), pg_ident(role) if role else "PUBLIC"))
    return statements


def pg_dump_entries(listing):
    """The entries of a custom-format dump's table of contents (``pg_restore --list``; its ';' lines are comments)."""
    return [line for line in (listing or "").splitlines() if line.strip() and not line.lstrip().startswith(";")]


def pg_roles_to_freeze(owner, acl, superusers, keep=(PG_MOVER,)):
    """The roles a freeze sets NOLOGIN: the database's owner and the roles given CONNECT on it,
    never a superuser (postgres, the servers' own) nor the move's role."""
    roles = []
    for role in [owner] + acl_connect_roles(acl):
        if role and role not in superusers and role not in keep and role not in roles:
            if not ACCOUNT_RE.match(role):
                raise MoveError("role %r cannot be named safely in SQL" % (role,))
            roles.append(role)
    return sorted(roles)


def pg_shared_roles(roles, grants):
    """Roles of the freeze that also reach other databases ({role: [database, ...]} from ``grants``,
    rows {role, database}): a NOLOGIN would stop those sites too."""
    shared = {}
    for row in grants or []:
        if row["role"] in roles:
            shared.setdefault(row["role"], [])
            if row["database"] not in shared[row["role"]]:
                shared[row["role"]].append(row["database"])
    return {role: sorted(dbs) for role, dbs in shared.items()}


def tables_without_key(rows):
    """Tables (rows {table, has_pk, identity}) whose UPDATE and DELETE logical replication cannot
    carry: no primary key and replica identity default (or nothing)."""
    return sorted(r["table"] for r in rows or []
                  if r.get("identity") == "n" or (r.get("identity") == "d" and str(r.get("has_pk")).lower() not in ("t", "true", "1")))


def role_login_sql(roles, login):
    """ALTER ROLE ... NOLOGIN (the freeze) or LOGIN (undone) for each role."""
    return ["ALTER ROLE %s %s" % (pg_ident(r), "LOGIN" if login else "NOLOGIN") for r in roles]


def sequence_sql(rows):
    """setval() of each sequence ({schema, name, last_value}) the source used (logical replication
    does not carry sequences); a sequence never used keeps its start."""
    statements = []
    for row in rows or []:
        if row.get("last_value") in (None, "", "NULL"):
            continue
        statements.append("SELECT setval(%s, %d, true)" % (
            pg_literal("%s.%s" % (pg_ident(row["schema"]), pg_ident(row["name"]))), int(row["last_value"])))
    return statements


def subscription_sql(database, source, copy_data=True):
    """CREATE SUBSCRIPTION of the move (``source``: {host, port, user, password})."""
    conninfo = "host=%s port=%d user=%s password=%s dbname=%s" % (
        source["host"], int(source["port"]), source["user"], conninfo_value(source["password"]), database)
    name = pg_move_name(database)
    return "CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s WITH (copy_data = %s)" % (
        pg_ident(name), pg_literal(conninfo), pg_ident(name), "true" if copy_data else "false")


def conninfo_value(value):
    """A libpq connection-string value, quoted (backslash and quote escaped)."""
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def sync_pending(rows):
    """Tables of the subscription ({table, state} from pg_subscription_rel) whose initial copy is not done."""
    return sorted(r["table"] for r in rows or [] if r.get("state") not in ("r", "s"))
