#!/usr/bin/python
# -*- coding: utf-8 -*-
"""One step of a PostgreSQL database move onto the Patroni tier, by logical replication, or of its way back by a dump
(playbooks/db_move.yml)."""

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
---
module: db_move_postgresql
short_description: One step of a PostgreSQL database move by logical replication, or of its way back by a dump
description:
  - The PostgreSQL steps of playbooks/db_move.yml (tasks/db_move_postgresql_*.yml), each run on the host it
    concerns, as the C(postgres) superuser over the local socket (C(psql), C(pg_dump)). On the source (the
    old server, e.g. Debian's PostgreSQL 15 on whc) - C(source_facts), C(grant), C(source_sums), C(freeze),
    C(writes_since), C(unfreeze), C(catch_up), C(sequences), C(revoke). On the destination (the Patroni leader) -
    C(destination_facts), C(copy), C(subscribe), C(destination_sums), C(set_sequences), C(drop_subscription),
    C(set_aside).
  - The way back (the tier's database back onto its old server, C(db_move.yml -e from=<tier member> -e set_aside=true);
    the tier runs C(wal_level=replica), so it cannot publish) - C(set_aside) on the old server (its stale copy dumped,
    the dump read back by C(pg_restore --list), then dropped), C(freeze) with O(path) on the leader (roles NOLOGIN,
    sessions terminated, the watch, then the frozen database dumped there and summed), C(restore) on the old server
    (the database created again with its old owner and ACL, the dump restored in one transaction), then
    C(infra.hosting.db_table_checksums) compares and C(unfreeze) lets the old server's roles log in.
  - C(freeze) with O(watch) on the source and C(set_sequences) with O(compare) on the leader are the whole write
    freeze in two module runs, one per server, because each round trip to a host costs time during which the
    site cannot write.
  - C(source_sums) (each table's write marks - rows inserted, updated, deleted and its file, which a TRUNCATE
    changes - then the WAL position, the sums, and the subscription confirmed up to that position) and
    C(destination_sums) (the leader's sums) run before the freeze, while the site writes. Given their answers
    (O(presums)), the freeze reads the marks again once the sessions are gone and sums only the tables whose
    marks moved, on both sides; the other tables were not written since, so their earlier sums stand.
  - C(grant) creates the move's role (LOGIN REPLICATION, member of pg_read_all_data) and a publication of every
    table of the database; C(copy) creates the database owned by the source's owner and loads the source's
    schema (C(pg_dump --schema-only --no-publications --no-subscriptions --no-acl)); C(subscribe) creates the
    subscription (initial copy of every table, then the catch-up) and waits until every table is copied;
    C(freeze) sets the database's roles NOLOGIN and terminates the sessions on the database (not the move's
    walsender) and returns the WAL position and the tuple-write counter; C(writes_since) reports sessions and
    writes seen since; C(catch_up) waits until the subscription confirmed that position (the slot's
    C(confirmed_flush_lsn)); C(sequences) reads the sequences, C(set_sequences) sets them (logical replication
    does not carry them).
  - Passwords travel on the clients' standard input or in their environment, never on a command line.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  state:
    description: The step.
    type: str
    required: true
    choices: [source_facts, destination_facts, grant, revoke, copy, subscribe, source_sums, destination_sums, freeze,
              writes_since, unfreeze, catch_up, sequences, set_sequences, drop_subscription, set_aside, restore]
  name:
    description: The database moved.
    type: str
    required: true
  port:
    description: Port of the local server (its socket in /var/run/postgresql).
    type: int
    default: 5432
  source_host:
    description: Address of the source server (copy, subscribe).
    type: str
  source_port:
    description: Port of the source server (copy, subscribe).
    type: int
    default: 5432
  mover_password:
    description: Password of the move's role C(db_move) (grant, copy, subscribe).
    type: str
  owner:
    description: Owner of the database on the destination (copy, restore).
    type: str
  path:
    description:
      - C(freeze) with O(watch) (the way back) - where the frozen database is dumped (C(pg_dump -Fc), mode 0600) once the
        watch saw nothing; the dump is read back (C(pg_restore --list)) and the database summed, instead of waiting for a
        subscription and reading the sequences (the dump carries them).
      - C(restore) - the dump restored.
    type: path
  acl:
    description:
      - C(restore) - the database's ACL as the old server had it (C(source_facts)' C(acl), e.g. C({=T/app,app=CTc/app})),
        given again to the database created for the restore; empty - the default privileges.
    type: str
    default: ""
  roles:
    description: Roles to set NOLOGIN (freeze) or LOGIN (unfreeze); roles that must exist (destination_facts).
    type: list
    elements: str
    default: []
  position:
    description: WAL position (LSN, e.g. 0/3000148) catch_up waits for.
    type: str
  writes:
    description: Tuple-write counter of the database at the freeze (writes_since compares with it).
    type: int
    default: 0
  sequences:
    description: Sequences ({schema, name, last_value}) set_sequences sets.
    type: list
    elements: dict
    default: []
  timeout:
    description: Seconds subscribe and catch_up wait (and freeze with O(watch), for the slot's confirmation).
    type: int
    default: 120
  watch:
    description:
      - C(freeze) only. Seconds to watch, after the freeze, for a session on the database or a write to it by a
        role outside O(roles); then, in the same run, when nothing showed, the subscription's slot confirmed up to
        the freeze's position, the sequences read (C(sequences)) and the frozen database summed (C(tables),
        C(rows)). When something showed, the roles may log in again before the module returns (C(unfrozen)).
        0 freezes only (the watch left to C(writes_since), the rest to C(catch_up) and C(sequences)).
    type: float
    default: 0
  compare:
    description:
      - C(set_sequences) only. The frozen source's sums (C(freeze)'s C(tables)); the database here is summed the
        same way after the sequences are set, and compared in the same run (C(differ)).
    type: dict
  presums:
    description:
      - C(freeze) - the source's answer of C(source_sums) ({marks, tables}); C(set_sequences) - the leader's answer of
        C(destination_sums) ({tables}). Only the tables written since are summed again (O(resum) on the leader).
        Omitted - every table is summed inside the freeze.
    type: dict
  resum:
    description:
      - C(set_sequences) with O(compare) and O(presums) - the tables to sum again (C(freeze)'s C(resum)); null - all.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: The reading steps run; the others say what they would change and change nothing.
  diff_mode:
    support: partial
    description: C(set_aside), C(restore), C(freeze) and C(unfreeze) return the database's or the roles' state before and
      after.
"""

EXAMPLES = r"""
- name: Read the old server
  infra.hosting.db_move_postgresql:
    state: source_facts
    name: aeroweb_staging
  register: db_move_pg_source

- name: Subscribe on the Patroni leader
  infra.hosting.db_move_postgresql:
    state: subscribe
    name: aeroweb_staging
    source_host: 10.77.0.31
    mover_password: "{{ db_move_password }}"

- name: The way back - freeze the tier's copy and dump it on the leader
  infra.hosting.db_move_postgresql:
    state: freeze
    name: aeroweb_staging
    roles: [aeroweb_staging]
    watch: 1
    path: /var/backups/infra/db_back-aeroweb_staging-20261207T000000Z.dump
  register: db_move_freeze

- name: The way back - restore it on the old server (its stale copy set aside before)
  infra.hosting.db_move_postgresql:
    state: restore
    name: aeroweb_staging
    owner: aeroweb_staging
    acl: "{=T/aeroweb_staging,aeroweb_staging=CTc/aeroweb_staging}"
    path: /var/backups/infra/db_back-aeroweb_staging-20261207T000000Z.dump
"""

RETURN = r"""
facts:
  description: What a facts step read (source - problems (wal_level, slots, senders), wal_level, listen_addresses, exists, owner, acl, roles, shared_roles,
    tables, tables_without_key, hba_file, publication; destination - exists, tables, leader, subscription, missing_roles).
  returned: source_facts, destination_facts
  type: dict
position:
  description: WAL position of the source (freeze).
  returned: freeze
  type: str
  sample: 0/3000148
writes:
  description: Tuple writes of the database (freeze - the counter; writes_since - the writes since the freeze).
  returned: freeze, writes_since
  type: int
sessions:
  description: Sessions on the database after the freeze ({pid, user, application}).
  returned: writes_since, freeze with watch
  type: list
  elements: dict
late_writes:
  description: Tuple writes to the database during the watch.
  returned: freeze with watch
  type: int
unfrozen:
  description: Something showed during the watch, and the roles were allowed to log in again.
  returned: freeze with watch
  type: bool
sequences:
  description: Sequences of the source ({schema, name, last_value}).
  returned: sequences, freeze with watch
  type: list
  elements: dict
tables:
  description: Per table, its rows and checksum (module_utils/db_checksums), of the frozen source or of the leader.
  returned: freeze with watch, set_sequences with compare, source_sums, destination_sums
  type: dict
rows:
  description: Rows of all the tables summed.
  returned: freeze with watch, set_sequences with compare
  type: int
marks:
  description: Per table, its write counters and file (source_sums), for the freeze to tell which tables were written since.
  returned: source_sums
  type: dict
resum:
  description: Tables written since C(source_sums), summed again inside the freeze (null - all of them).
  returned: freeze with watch and presums
  type: list
  elements: str
differ:
  description: Tables whose rows or checksum differ between the two sides (empty - equal).
  returned: set_sequences with compare
  type: list
  elements: str
path:
  description: Dump of the copy set aside (set_aside), null when there was none; the frozen database's dump (freeze with
    path); the dump restored (restore).
  returned: set_aside, freeze with path, restore
  type: str
dump_entries:
  description: Entries of the dump's table of contents (C(pg_restore --list)), read back before anything is dropped.
  returned: set_aside (when a copy was dumped), freeze with path
  type: int
dump_bytes:
  description: Size of the dump.
  returned: set_aside (when a copy was dumped), freeze with path
  type: int
statements:
  description: The SQL a step runs (set_sequences - the setval calls; restore - the database's ACL given again).
  returned: set_sequences, restore
  type: list
  elements: str
seconds:
  description: Seconds the step took (copy, subscribe, catch_up, source_sums, destination_sums, restore).
  returned: copy, subscribe, catch_up, source_sums, destination_sums, restore
  type: float
"""

import os
import shlex
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.db_checksums import differing_tables, sums_of, sums_since
from ansible_collections.infra.hosting.plugins.module_utils.db_engine import PostgresqlDriver, to_int
from ansible_collections.infra.hosting.plugins.module_utils.db_move import (
    PG_MOVER, MoveError, lsn_reached, pg_changed_tables, pg_database_acl_sql, pg_dump_entries, pg_ident, pg_literal, pg_move_name,
    pg_roles_to_freeze, pg_shared_roles, pg_source_problems, role_login_sql, run_step, sequence_sql, subscription_sql, sync_pending,
    tables_without_key)

SOCKET_DIR = "/var/run/postgresql"
TIMEOUT = 6 * 3600


def driver(params):
    return PostgresqlDriver(TIMEOUT, socket=SOCKET_DIR, port=params["port"])


def q(drv, sql, database="postgres", columns=None):
    return drv.query(sql, database=database, columns=columns)


def run_stdin(drv, sql, database="postgres"):
    """Run ``sql`` fed on psql's standard input (a password in it never shows on a command line)."""
    argv = drv.client("psql") + ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", "-"]
    drv.commands.append(" ".join(argv) + " < (SQL with a password)")
    proc = subprocess.run(argv, input=sql.encode("utf-8"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        raise MoveError("psql failed (%d): %s" % (proc.returncode, proc.stderr.decode("utf-8", "replace").strip()))


def exists(drv, name):
    return bool(q(drv, "SELECT 1 FROM pg_database WHERE datname = %s" % pg_literal(name), columns=["one"]))


def table_count(drv, name):
    if not exists(drv, name):
        return 0
    return len(drv.tables(name))


def step_source_facts(module, params):
    drv, name = driver(params), params["name"]
    settings = {r["name"]: r["setting"] for r in q(drv, (
        "SELECT name, setting FROM pg_settings WHERE name IN "
        "('wal_level', 'max_replication_slots', 'max_wal_senders', 'hba_file', 'server_version_num', 'listen_addresses')"),
        columns=["name", "setting"])}
    facts = dict(settings, exists=exists(drv, name), owner=None, acl="", roles=[], shared_roles={}, tables=0,
                 tables_without_key=[], publication=False)
    if facts["exists"]:
        row = q(drv, "SELECT pg_get_userbyid(datdba), COALESCE(datacl::text, '') FROM pg_database WHERE datname = %s"
                % pg_literal(name), columns=["owner", "acl"])[0]
        superusers = {r["name"] for r in q(drv, "SELECT rolname FROM pg_roles WHERE rolsuper", columns=["name"])}
        facts["owner"] = row["owner"]
        facts["acl"] = row["acl"]
        facts["roles"] = pg_roles_to_freeze(row["owner"], row["acl"], superusers)
        others = q(drv, (
            "SELECT pg_get_userbyid(datdba), datname FROM pg_database WHERE datname <> %s AND datallowconn "
            "AND datname NOT IN ('postgres', 'template1') UNION SELECT a.grantee::regrole::text, d.datname FROM pg_database d, "
            "aclexplode(d.datacl) a WHERE d.datname <> %s AND d.datname NOT IN ('postgres', 'template1') "
            "AND a.privilege_type = 'CONNECT' AND a.grantee <> 0") % (pg_literal(name), pg_literal(name)),
            columns=["role", "database"])
        facts["shared_roles"] = pg_shared_roles(facts["roles"], others)
        keys = q(drv, (
            "SELECT n.nspname || '.' || c.relname, EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid "
            "AND k.contype = 'p'), c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_toast%%'"), database=name, columns=["table", "has_pk", "identity"])
        facts["tables"] = len(keys)
        facts["tables_without_key"] = tables_without_key(keys)
        facts["publication"] = bool(q(drv, "SELECT 1 FROM pg_publication WHERE pubname = %s"
                                      % pg_literal(pg_move_name(name)), database=name, columns=["one"]))
    facts["problems"] = pg_source_problems(settings)
    return False, {"facts": facts}


def step_destination_facts(module, params):
    drv, name = driver(params), params["name"]
    roles = {r["name"] for r in q(drv, "SELECT rolname FROM pg_roles", columns=["name"])}
    recovery = q(drv, "SELECT pg_is_in_recovery()", columns=["r"])[0]["r"]
    subscription = q(drv, "SELECT subname FROM pg_subscription WHERE subname = %s" % pg_literal(pg_move_name(name)),
                     columns=["name"])
    return False, {"facts": {
        "exists": exists(drv, name), "tables": table_count(drv, name), "leader": recovery == "f",
        "subscription": bool(subscription), "missing_roles": sorted(set(params["roles"]) - roles)}}


def step_grant(module, params):
    drv, name = driver(params), params["name"]
    if module.check_mode:
        return True, {}
    role = pg_ident(PG_MOVER)
    exists_role = q(drv, "SELECT 1 FROM pg_roles WHERE rolname = %s" % pg_literal(PG_MOVER), columns=["one"])
    run_stdin(drv, "%s ROLE %s WITH LOGIN REPLICATION PASSWORD %s;\nGRANT pg_read_all_data TO %s;\nGRANT CONNECT ON DATABASE %s TO %s;\n" % (
        "ALTER" if exists_role else "CREATE", role, pg_literal(params["mover_password"]), role, pg_ident(name), role))
    publication = pg_move_name(name)
    if not q(drv, "SELECT 1 FROM pg_publication WHERE pubname = %s" % pg_literal(publication), database=name, columns=["one"]):
        q(drv, "CREATE PUBLICATION %s FOR ALL TABLES" % pg_ident(publication), database=name)
    q(drv, "SELECT pg_reload_conf()")  # the pg_hba line the play added for the destination
    return True, {}


def step_revoke(module, params):
    drv, name = driver(params), params["name"]
    publication = pg_move_name(name)
    has_pub = exists(drv, name) and q(drv, "SELECT 1 FROM pg_publication WHERE pubname = %s" % pg_literal(publication),
                                      database=name, columns=["one"])
    has_slot = q(drv, "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s" % pg_literal(publication), columns=["one"])
    has_role = q(drv, "SELECT 1 FROM pg_roles WHERE rolname = %s" % pg_literal(PG_MOVER), columns=["one"])
    if not (has_pub or has_role or has_slot):
        return False, {}
    if not module.check_mode:
        if has_pub:
            q(drv, "DROP PUBLICATION %s" % pg_ident(publication), database=name)
        if has_slot:
            q(drv, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = %s AND active_pid IS NOT NULL"
              % pg_literal(publication))
            time.sleep(1)
            q(drv, "SELECT pg_drop_replication_slot(%s)" % pg_literal(publication))
        if has_role:
            for database in q(drv, "SELECT datname FROM pg_database WHERE datacl::text LIKE %s" % pg_literal("%" + PG_MOVER + "=%"),
                              columns=["name"]):
                q(drv, "REVOKE ALL ON DATABASE %s FROM %s" % (pg_ident(database["name"]), pg_ident(PG_MOVER)))
            q(drv, "DROP ROLE %s" % pg_ident(PG_MOVER))
        q(drv, "SELECT pg_reload_conf()")  # the pg_hba lines the play removed
    return True, {}


def step_copy(module, params):
    drv, name = driver(params), params["name"]
    if module.check_mode:
        return True, {"seconds": 0.0}
    if table_count(drv, name):
        raise MoveError("the destination already holds tables in %s: nothing is copied over them" % name)
    started = time.time()
    if not exists(drv, name):
        drv._run(drv.client("createdb") + ["-O", params["owner"], name])
    else:
        q(drv, "ALTER DATABASE %s OWNER TO %s" % (pg_ident(name), pg_ident(params["owner"])))
    env = dict(os.environ, PGPASSWORD=params["mover_password"])
    dump = subprocess.Popen(
        drv.prefix + ["pg_dump", "--schema-only", "--no-publications", "--no-subscriptions", "--no-acl",
                      "-h", params["source_host"], "-p", str(params["source_port"]), "-U", PG_MOVER, "-d", name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd="/")
    load = subprocess.run(drv.client("psql") + ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", name, "-f", "-"],
                          stdin=dump.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False, cwd="/")
    dump.stdout.close()
    dump_err = dump.stderr.read().decode("utf-8", "replace").strip()
    if dump.wait() != 0:
        raise MoveError("pg_dump --schema-only from %s failed: %s" % (params["source_host"], dump_err))
    if load.returncode != 0:
        raise MoveError("loading the schema failed: %s" % load.stderr.decode("utf-8", "replace").strip())
    return True, {"seconds": round(time.time() - started, 2)}


def subscription_tables(drv, name):
    return q(drv, "SELECT srrelid::regclass::text, srsubstate FROM pg_subscription_rel r JOIN pg_subscription s "
                  "ON s.oid = r.srsubid WHERE s.subname = %s" % pg_literal(pg_move_name(name)),
             database=name, columns=["table", "state"])


def step_subscribe(module, params):
    drv, name = driver(params), params["name"]
    if module.check_mode:
        return True, {"seconds": 0.0}
    started = time.time()
    if not q(drv, "SELECT 1 FROM pg_subscription WHERE subname = %s" % pg_literal(pg_move_name(name)), columns=["one"]):
        source = {"host": params["source_host"], "port": params["source_port"], "user": PG_MOVER,
                  "password": params["mover_password"]}
        run_stdin(drv, subscription_sql(name, source) + ";\n", database=name)
    while True:
        tables = subscription_tables(drv, name)
        pending = sync_pending(tables)
        if tables and not pending:
            break
        if time.time() - started > params["timeout"]:
            raise MoveError("the initial copy is not done after %d s: %s" % (params["timeout"], ", ".join(pending) or "no table"))
        time.sleep(0.5)
    return True, {"seconds": round(time.time() - started, 2), "tables": len(tables)}


def write_counter(drv, name):
    rows = q(drv, "SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables",
             database=name, columns=["n"])
    return to_int(rows[0]["n"])


def sessions_on(drv, name):
    return q(drv, (
        "SELECT pid, usename, application_name FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'") % pg_literal(name), columns=["pid", "user", "application"])


def step_freeze(module, params):
    """Roles NOLOGIN and their sessions terminated; with ``watch``, the whole freeze on the source in this one run:
    the watch for a session or a write outside those roles (the roles allowed to log in again at once when one
    showed: ``unfrozen``), the subscription's slot confirmed up to the freeze's position, the sequences read and
    the frozen database summed, for the leader's run to set and compare. With ``path`` (the way back, on the
    leader): the frozen database dumped there and read back instead of the slot and the sequences, then summed."""
    drv, name = driver(params), params["name"]
    diff = {"before": {"roles_login": params["roles"]}, "after": {"roles_login": []}}
    if module.check_mode:
        return True, {"position": None, "writes": 0, "sessions_cut": 0, "late_writes": 0, "sessions": [], "unfrozen": False,
                      "sequences": [], "tables": {}, "rows": 0, "path": params["path"], "diff": diff}
    for statement in role_login_sql(params["roles"], login=False):
        q(drv, statement)
    roles = ", ".join(pg_literal(r) for r in params["roles"]) or "''"
    cut = q(drv, (
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' AND (datname = %s OR usename IN (%s))") % (pg_literal(name), roles),
        columns=["pid", "ok"])
    wait_sessions_gone(drv, cut)
    position = q(drv, "SELECT pg_current_wal_lsn()", columns=["lsn"])[0]["lsn"]
    result = {"position": position, "writes": write_counter(drv, name), "sessions_cut": len(cut), "diff": diff}
    if not params["watch"]:
        return True, result
    time.sleep(params["watch"])
    sessions, late = sessions_on(drv, name), write_counter(drv, name) - result["writes"]
    result.update(late_writes=late, sessions=sessions, unfrozen=bool(late > 0 or sessions))
    if result["unfrozen"]:
        for statement in role_login_sql(params["roles"], login=True):
            q(drv, statement)
        result.update(sequences=[], tables={}, rows=0, diff={"before": diff["before"], "after": diff["before"]})
        return True, result
    if params["path"]:
        # The way back: no subscription; the dump carries the schema, the data and the sequences.
        result.update(dump_to(drv, name, params["path"], ["--no-publications", "--no-subscriptions"]), sequences=[])
    else:
        result["confirmed_seconds"] = wait_confirmed(drv, name, position, params["timeout"])[0]
        result["sequences"] = read_sequences(drv, name)
    presums = params["presums"]
    if presums:
        result["resum"] = pg_changed_tables(presums["marks"], table_marks(drv, name))
        sums = sums_since("postgresql", name, presums["tables"], result["resum"], port=params["port"])
    else:
        sums = sums_of("postgresql", name, port=params["port"])
    result.update(tables=sums, rows=sum(t["rows"] for t in sums.values()))
    return True, result


def wait_sessions_gone(drv, cut, timeout=10):
    """Wait (``timeout`` s at most) until the terminated sessions have exited: a backend writes its statistics
    (the write counters that the watch and the presums read) before it leaves pg_stat_activity."""
    pids = ", ".join(str(int(r["pid"])) for r in cut if str(r.get("pid", "")).isdigit())
    deadline = time.time() + timeout
    while pids and time.time() < deadline:
        if not q(drv, "SELECT pid FROM pg_stat_activity WHERE pid IN (%s)" % pids, columns=["pid"]):
            return
        time.sleep(0.05)


def table_marks(drv, name):
    """{schema.table: "inserted/updated/deleted/file"}: what moves when a table is written (a TRUNCATE changes
    the file, not the counters). The counters of a session still open may show late; never early."""
    rows = q(drv, ("SELECT schemaname || '.' || relname, n_tup_ins || '/' || n_tup_upd || '/' || n_tup_del || '/' "
                   "|| COALESCE(pg_relation_filenode(relid)::text, '') FROM pg_stat_user_tables"),
             database=name, columns=["table", "mark"])
    return {r["table"]: r["mark"] for r in rows}


def step_source_sums(module, params):
    """Before the freeze, while the site writes: the tables' marks, the WAL position, the sums, then the
    subscription confirmed up to that position (so the leader's sums, taken next, hold every write before it)."""
    if module.check_mode:
        return False, {"marks": {}, "tables": {}, "rows": 0, "seconds": 0.0, "position": None}
    drv, name, started = driver(params), params["name"], time.time()
    marks = table_marks(drv, name)
    position = q(drv, "SELECT pg_current_wal_lsn()", columns=["lsn"])[0]["lsn"]
    sums = sums_of("postgresql", name, port=params["port"])
    wait_confirmed(drv, name, position, params["timeout"])
    return False, {"marks": marks, "position": position, "tables": sums, "rows": sum(t["rows"] for t in sums.values()),
                   "seconds": round(time.time() - started, 2)}


def step_destination_sums(module, params):
    """Before the freeze, on the leader, after source_sums: the sums of the copy."""
    if module.check_mode:
        return False, {"tables": {}, "rows": 0, "seconds": 0.0}
    started = time.time()
    sums = sums_of("postgresql", params["name"], port=params["port"])
    return False, {"tables": sums, "rows": sum(t["rows"] for t in sums.values()), "seconds": round(time.time() - started, 2)}


def step_writes_since(module, params):
    drv, name = driver(params), params["name"]
    sessions = sessions_on(drv, name)
    return False, {"writes": write_counter(drv, name) - params["writes"], "sessions": sessions}


def step_unfreeze(module, params):
    if not module.check_mode:
        drv = driver(params)
        for statement in role_login_sql(params["roles"], login=True):
            q(drv, statement)
    return bool(params["roles"]), {"roles": params["roles"],
                                   "diff": {"before": {"roles_login": []}, "after": {"roles_login": params["roles"]}}}


def wait_confirmed(drv, name, position, timeout):
    """(seconds, lsn): wait until the subscription's slot on this source confirmed ``position``."""
    started = time.time()
    while True:
        rows = q(drv, "SELECT COALESCE(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE slot_name = %s"
                 % pg_literal(pg_move_name(name)), columns=["lsn"])
        if not rows:
            raise MoveError("no replication slot %s on the source: the subscription is gone" % pg_move_name(name))
        if lsn_reached(rows[0]["lsn"], position):
            return round(time.time() - started, 2), rows[0]["lsn"]
        if time.time() - started > timeout:
            raise MoveError("not caught up after %d s: confirmed %s, the source at %s" % (timeout, rows[0]["lsn"], position))
        time.sleep(0.05)


def step_catch_up(module, params):
    """On the source: wait until the subscription confirmed ``position`` (its slot's confirmed_flush_lsn)."""
    if module.check_mode:
        return True, {"seconds": 0.0}
    seconds, lsn = wait_confirmed(driver(params), params["name"], params["position"], params["timeout"])
    return False, {"seconds": seconds, "confirmed": lsn}


def read_sequences(drv, name):
    return q(drv, "SELECT schemaname, sequencename, COALESCE(last_value::text, '') FROM pg_sequences",
             database=name, columns=["schema", "name", "last_value"])


def step_sequences(module, params):
    return False, {"sequences": read_sequences(driver(params), params["name"])}


def step_set_sequences(module, params):
    """Set the source's sequences here (the leader); with ``compare`` (the frozen source's sums), sum the database
    here too and compare, in the same run (``differ``)."""
    statements = sequence_sql(params["sequences"])
    if statements and not module.check_mode:
        q(driver(params), "; ".join(statements), database=params["name"])
    result = {"statements": statements}
    if params["compare"] is not None:
        started = time.time()
        presums = params["presums"]["tables"] if params["presums"] else None
        sums = {} if module.check_mode else sums_since("postgresql", params["name"], presums, params["resum"], port=params["port"])
        result.update(tables=sums, rows=sum(t["rows"] for t in sums.values()),
                      differ=[] if module.check_mode else differing_tables(sums, params["compare"]),
                      verify_seconds=round(time.time() - started, 2))
    return bool(statements), result


def step_drop_subscription(module, params):
    drv, name = driver(params), params["name"]
    sub = pg_move_name(name)
    if not q(drv, "SELECT 1 FROM pg_subscription WHERE subname = %s" % pg_literal(sub), columns=["one"]):
        return False, {}
    if not module.check_mode:
        # The slot on the source goes with it (DROP SUBSCRIPTION reaches the source); revoke drops a leftover.
        q(drv, "DROP SUBSCRIPTION %s" % pg_ident(sub), database=name)
    return True, {}


def dump_to(drv, name, path, options=()):
    """``name`` dumped (C(pg_dump -Fc), a file of root's, mode 0600) to ``path``, then read back: C(pg_restore --list)
    must read it and list entries, or MoveError (nothing is dropped, nothing restored from an unverified dump)."""
    started = time.time()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    drv.shell("umask 077; %s -Fc %s %s > %s" % (" ".join(drv.client("pg_dump")), " ".join(options), name, shlex.quote(path)))
    # Read as root and fed on pg_restore's standard input: the file stays root's.
    entries = pg_dump_entries(drv.shell("%s --list < %s" % (" ".join(drv.prefix + ["pg_restore"]), shlex.quote(path))))
    size = os.path.getsize(path)
    if not entries or not size:
        raise MoveError("the dump %s of %s lists no entry (pg_restore --list, %d bytes): nothing was dropped" % (path, name, size))
    return {"path": path, "dump_entries": len(entries), "dump_bytes": size, "dump_seconds": round(time.time() - started, 2)}


def step_set_aside(module, params):
    """A copy that must give way dumped under /var/backups/infra, the dump read back, then dropped: the leader's partial
    copy of a refused move, or the old server's stale copy on the way back."""
    drv, name = driver(params), params["name"]
    if not exists(drv, name):
        return False, {"path": None}
    path = "/var/backups/infra/db_move-%s-%s.dump" % (name, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    tables = table_count(drv, name)
    diff = {"before": {"database": name, "tables": tables}, "after": {"database": None, "dump": path}}
    if module.check_mode:
        return True, {"path": path, "diff": diff}
    result = dump_to(drv, name, path)
    q(drv, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
      % pg_literal(name))
    drv._run(drv.client("dropdb") + [name])
    return True, dict(result, diff=diff)


def step_restore(module, params):
    """The way back, on the old server: the database created again (owned by ``owner``, its old ACL given again) and
    the tier's dump (``path``) restored in one transaction. Refused while a copy with tables is there (set_aside first)."""
    drv, name, path = driver(params), params["name"], params["path"]
    statements = pg_database_acl_sql(name, params["acl"])
    tables = table_count(drv, name)
    if tables and not module.check_mode:  # in check mode set_aside has dropped nothing
        raise MoveError("the old server still holds %d tables of %s: its stale copy is set aside first (set_aside)" % (tables, name))
    diff = {"before": {"database": name if exists(drv, name) else None, "tables": tables},
            "after": {"database": name, "owner": params["owner"], "restored_from": path}}
    if module.check_mode:
        return True, {"path": path, "statements": statements, "seconds": 0.0, "diff": diff}
    started = time.time()
    if not exists(drv, name):
        drv._run(drv.client("createdb") + ["-O", params["owner"], name])
    for statement in statements:
        q(drv, statement)
    drv.shell("%s --exit-on-error --single-transaction -d %s < %s" % (" ".join(drv.client("pg_restore")), name, shlex.quote(path)))
    return True, {"path": path, "statements": statements, "seconds": round(time.time() - started, 2), "diff": diff}


STEPS = {
    "source_facts": step_source_facts, "destination_facts": step_destination_facts, "grant": step_grant,
    "revoke": step_revoke, "copy": step_copy, "subscribe": step_subscribe, "freeze": step_freeze,
    "source_sums": step_source_sums, "destination_sums": step_destination_sums,
    "writes_since": step_writes_since, "unfreeze": step_unfreeze, "catch_up": step_catch_up,
    "sequences": step_sequences, "set_sequences": step_set_sequences, "drop_subscription": step_drop_subscription,
    "set_aside": step_set_aside, "restore": step_restore,
}
NEEDS = {
    "grant": ["mover_password"], "copy": ["source_host", "mover_password", "owner"],
    "subscribe": ["source_host", "mover_password"], "catch_up": ["position"], "restore": ["path", "owner"],
}


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "required": True, "choices": sorted(STEPS)},
            "name": {"type": "str", "required": True},
            "port": {"type": "int", "default": 5432},
            "source_host": {"type": "str"},
            "source_port": {"type": "int", "default": 5432},
            "mover_password": {"type": "str", "no_log": True},
            "owner": {"type": "str"},
            "path": {"type": "path"},
            "acl": {"type": "str", "default": ""},
            "roles": {"type": "list", "elements": "str", "default": []},
            "position": {"type": "str"},
            "writes": {"type": "int", "default": 0},
            "sequences": {"type": "list", "elements": "dict", "default": []},
            "timeout": {"type": "int", "default": 120},
            "watch": {"type": "float", "default": 0},
            "compare": {"type": "dict"},
            "presums": {"type": "dict"},
            "resum": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    run_step(module, STEPS, NEEDS, "db_move_postgresql")


if __name__ == "__main__":
    main()
