#!/usr/bin/python
# -*- coding: utf-8 -*-
"""One step of a database move between two MariaDB/MySQL servers (playbooks/db_move.yml)."""

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
---
module: db_move_mysql
short_description: One step of a database move between two MariaDB/MySQL servers
description:
  - The steps of playbooks/db_move.yml, each run on the host it concerns. On the source (the old
    server) as root over its socket - C(source_facts), C(grant), C(revoke), C(freeze), C(writes_since),
    C(unfreeze). On the destination (a MariaDB server, a member of the Galera tier or the old server
    on the way back) as root over its socket, reaching the source over the network with the move's
    account - C(destination_facts), C(copy), C(replicate), C(destination_sums), C(catch_up), C(drop_replica),
    C(set_aside).
  - C(copy) streams C(mysqldump --single-transaction --master-data=2) of a consistent snapshot of the
    source into the destination and returns the binary-log position of that snapshot; C(replicate)
    makes the destination replicate that one database from that position (MariaDB named connection
    C(db_move), C(replicate_do_db)); C(freeze) locks the database's accounts on the source and cuts
    their sessions; C(writes_since) lists the binary-log events that still wrote to the database
    after a position (a site still writing); C(catch_up) waits until the destination executed the
    source's last position, then forgets the replication; C(set_aside) dumps the destination's stale
    copy of the database under /var/backups/infra, then drops it (a move back onto the old server).
  - C(freeze) with O(watch) and C(catch_up) with O(compare) are the whole write freeze in two module runs, one
    per server (lock, watch, late writes and sums of the source; catch-up, sums, comparison and unlock on the
    destination), because each round trip to a host costs time during which the site cannot write.
  - C(source_sums) (the source's binary-log position, then its sums) and C(destination_sums) (the destination
    caught up to that position, then its sums) run before the freeze, while the site writes. Given their
    answers (O(presums)), the freeze reads from the binary log which tables were written since that position
    and sums only those again, on both sides; the other tables were not written since, so their earlier sums
    stand. A statement logged as such (MIXED or STATEMENT format) or DDL does not say which table it wrote;
    every table is then summed again inside the freeze.
  - The move's password travels in a temporary option file readable by root only, never on a
    command line.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  state:
    description: The step.
    type: str
    required: true
    choices: [source_facts, destination_facts, grant, revoke, copy, replicate, source_sums, destination_sums, freeze,
              writes_since, catch_up, unfreeze, drop_replica, set_aside]
  name:
    description: The database moved.
    type: str
    required: true
  source_host:
    description: Address of the source server (copy, replicate).
    type: str
  source_port:
    description: Port of the source server.
    type: int
    default: 3306
  mover_user:
    description: The move's account on the source (never locked by a freeze).
    type: str
    default: db_move
  mover_host:
    description: Host part of the move's account (the destination's address), for grant and revoke.
    type: str
  mover_password:
    description: Password of the move's account.
    type: str
  position:
    description: Binary-log position ({file, pos}) for replicate, writes_since, destination_sums and catch_up.
    type: dict
  accounts:
    description: Accounts ({user, host}) to lock (freeze) or unlock (unfreeze).
    type: list
    elements: dict
    default: []
  timeout:
    description: Seconds catch_up and destination_sums wait for the destination.
    type: int
    default: 60
  watch:
    description:
      - C(freeze) only. Seconds to watch, after the lock, for a write to the database by a session outside its
        accounts; then, in the same run, the binary log since the freeze is read (C(count), C(events)) and, when
        nothing wrote, the frozen database is summed (C(tables), C(rows)). When something wrote, the accounts are
        unlocked again before the module returns (C(unfrozen)). 0 locks only (the watch left to C(writes_since)).
    type: float
    default: 0
  compare:
    description:
      - C(catch_up) only. The sums of the frozen source (C(freeze)'s C(tables)); once caught up, the destination
        is summed the same way and compared in the same run (C(differ)), and when equal the database's
        O(accounts) are unlocked on the destination.
    type: dict
  presums:
    description:
      - C(freeze) - the source's answer of C(source_sums) ({position, tables}); C(catch_up) - the destination's answer
        of C(destination_sums) ({tables}). Only the tables written since are summed again (O(resum) on the
        destination). Omitted - every table is summed inside the freeze.
    type: dict
  resum:
    description:
      - C(catch_up) with O(compare) and O(presums) - the tables to sum again (C(freeze)'s C(resum)); null - all.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: The reading steps run; the others say what they would change and change nothing.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Freeze the source, watch one second, sum it (one run)
  infra.hosting.db_move_mysql:
    state: freeze
    name: placementspot_prod
    accounts: "{{ db_move_source.accounts }}"
    watch: 1
  register: db_move_freeze

- name: Copy the database from the old server
  infra.hosting.db_move_mysql:
    state: copy
    name: placementspot_prod
    source_host: 10.77.0.31
    mover_password: "{{ db_move_password }}"
  register: db_move_copy
"""

RETURN = r"""
position:
  description: Binary-log position of the source (copy - the snapshot's; source_facts, source_sums, freeze - the current one).
  returned: copy, source_facts, source_sums, freeze
  type: dict
  sample: {file: mariadb-bin.000003, pos: 4521}
accounts:
  description: Accounts granted on the database (source_facts, destination_facts) or locked (freeze).
  returned: source_facts, destination_facts, freeze
  type: list
  elements: dict
events:
  description: Binary-log events that wrote to the database after the position (first 20).
  returned: writes_since, freeze with watch
  type: list
  elements: dict
count:
  description: How many binary-log events wrote to the database after the position.
  returned: writes_since, freeze with watch
  type: int
tables:
  description: Per table, its rows and checksum (module_utils/db_checksums), of the frozen source or of the destination.
  returned: freeze with watch (nothing wrote), catch_up with compare, source_sums, destination_sums
  type: dict
rows:
  description: Rows of all the tables summed.
  returned: freeze with watch, catch_up with compare
  type: int
resum:
  description: Tables written since C(source_sums)'s position, summed again inside the freeze (null - all of them).
  returned: freeze with watch and presums
  type: list
  elements: str
differ:
  description: Tables whose rows or checksum differ between the two sides (empty - equal).
  returned: catch_up with compare
  type: list
  elements: str
unfrozen:
  description: The accounts were unlocked again because something wrote during the watch.
  returned: freeze with watch
  type: bool
sessions_cut:
  description: Sessions of the database's accounts that the freeze cut (their ids).
  returned: freeze
  type: list
  elements: int
facts:
  description: log_bin, binlog_format, server_id, version, tables (source_facts, destination_facts), replica (destination_facts).
  returned: source_facts, destination_facts
  type: dict
path:
  description: Dump of the stale copy set aside (set_aside), null when there was none.
  returned: set_aside
  type: str
seconds:
  description: Seconds the step took (copy, catch_up - until caught up, source_sums, destination_sums).
  returned: copy, catch_up, source_sums, destination_sums
  type: float
verify_seconds:
  description: Seconds the destination's sums and the comparison took after the catch-up.
  returned: catch_up with compare
  type: float
"""

import os
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.db_checksums import differing_tables, sums_of, sums_since
from ansible_collections.infra.hosting.plugins.module_utils.db_move import (
    CONNECTION_NAME, MoveError, accounts_of, change_master_sql, drop_replica_sql, events_touching, find_position,
    lock_statements, position_before, position_from_status, replica_state, run_step, sessions_to_cut, sql_string,
    tables_written)

TIMEOUT = 6 * 3600


def unescape(value):
    """A cell of mysql's batch output (\\n, \\t, \\\\ escaped; NULL as the word)."""
    if value == "NULL":
        return None
    return value.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def run_sql(sql, database=None):
    """Rows (dicts keyed by the column headers) of ``sql`` run as root on the local server."""
    argv = ["mysql", "--batch", "-e", sql] + ([database] if database else [])
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        raise MoveError("mysql failed (%d) on %s: %s" % (proc.returncode, sql.split(" ")[0] + "...",
                                                         proc.stderr.decode("utf-8", "replace").strip()))
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    if not lines:
        return []
    headers = lines[0].split("\t")
    return [dict(zip(headers, [unescape(c) for c in line.split("\t")])) for line in lines[1:]]


def run_statements(statements):
    for statement in statements:
        run_sql(statement)


def option_file(params):
    """A temporary [client] option file with the move's account (root only), its path."""
    handle, path = tempfile.mkstemp(prefix="db_move-", suffix=".cnf")
    with os.fdopen(handle, "w") as out:
        out.write("[client]\nhost=%s\nport=%d\nuser=%s\npassword=%s\n" % (
            params["source_host"], params["source_port"], params["mover_user"],
            params["mover_password"].replace("\\", "\\\\")))
    os.chmod(path, 0o600)
    return path


def server_facts(name):
    variables = {r["Variable_name"]: r["Value"] for r in run_sql(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'server_id', 'version')")}
    tables = run_sql("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s" % sql_string(name))
    exists = run_sql("SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s" % sql_string(name))
    return {
        "log_bin": variables.get("log_bin", "OFF") in ("ON", "1"),
        "binlog_format": variables.get("binlog_format", ""),
        "server_id": int(variables.get("server_id") or 0),
        "version": variables.get("version", ""),
        "exists": int(exists[0]["n"]) > 0,
        "tables": int(tables[0]["n"]),
    }


def master_position():
    try:
        rows = run_sql("SHOW MASTER STATUS")
    except MoveError:
        rows = run_sql("SHOW BINARY LOG STATUS")  # MySQL 8.4 renamed it
    return position_from_status([{"file": r.get("File"), "pos": r.get("Position")} for r in rows])


def replica_rows():
    try:
        return run_sql("SHOW SLAVE %s STATUS" % sql_string(CONNECTION_NAME))
    except MoveError as error:
        if "no master connection" in str(error).lower() or "1617" in str(error):
            return []
        raise


def step_source_facts(module, params):
    name = params["name"]
    facts = server_facts(name)
    result = {"facts": facts, "accounts": granted_accounts(params)}
    result["position"] = master_position() if facts["log_bin"] else None
    return False, result


def granted_accounts(params):
    grants = run_sql("SELECT User AS user, Host AS host, Db AS db FROM mysql.db")
    return accounts_of(grants, params["name"], keep=(params["mover_user"],))


def step_destination_facts(module, params):
    facts = server_facts(params["name"])
    facts["replica"] = replica_state(replica_rows())
    return False, {"facts": facts, "accounts": granted_accounts(params)}


def step_set_aside(module, params):
    """The destination's stale copy (a move back) dumped under /var/backups/infra, then dropped."""
    name = params["name"]
    facts = server_facts(name)
    if not facts["exists"]:
        return False, {"path": None}
    path = "/var/backups/infra/db_move-%s-%s.sql.gz" % (name, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    if module.check_mode:
        return True, {"path": path}
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    proc = subprocess.run(["/bin/bash", "-o", "pipefail", "-c",
                           "umask 077; mysqldump --single-transaction --routines --triggers --events --hex-blob %s | gzip -1 > %s"
                           % (name, path)], stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        raise MoveError("the stale copy could not be dumped to %s: %s" % (path, proc.stderr.decode("utf-8", "replace").strip()))
    run_sql("DROP DATABASE `%s`" % name)
    return True, {"path": path}


def step_grant(module, params):
    user = "%s@%s" % (sql_string(params["mover_user"]), sql_string(params["mover_host"]))
    name = params["name"]
    statements = [
        "CREATE USER IF NOT EXISTS %s IDENTIFIED BY %s" % (user, sql_string(params["mover_password"])),
        "ALTER USER %s IDENTIFIED BY %s" % (user, sql_string(params["mover_password"])),
        "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `%s`.* TO %s" % (name, user),
        "GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO %s" % user,
    ]
    if not module.check_mode:
        run_statements(statements)
    return True, {}


def step_revoke(module, params):
    user = "%s@%s" % (sql_string(params["mover_user"]), sql_string(params["mover_host"]))
    exists = run_sql("SELECT COUNT(*) AS n FROM mysql.user WHERE User = %s AND Host = %s"
                     % (sql_string(params["mover_user"]), sql_string(params["mover_host"])))
    if int(exists[0]["n"]) == 0:
        return False, {}
    if not module.check_mode:
        run_sql("DROP USER %s" % user)
    return True, {}


def step_copy(module, params):
    name = params["name"]
    if module.check_mode:
        return True, {"position": None, "seconds": 0.0}
    facts = server_facts(name)
    if facts["tables"]:
        raise MoveError("the destination already holds %d tables in %s: nothing is copied over them" % (facts["tables"], name))
    run_sql("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" % name)
    options = option_file(params)
    started = time.time()
    try:
        dump = subprocess.Popen(
            ["mysqldump", "--defaults-extra-file=" + options, "--single-transaction", "--master-data=2", "--quick",
             "--routines", "--triggers", "--events", "--hex-blob", "--skip-add-locks", name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        load = subprocess.Popen(["mysql", "--binary-mode", name], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        head, position = b"", None
        for chunk in iter(lambda: dump.stdout.read(1 << 16), b""):
            if position is None and len(head) < (1 << 20):
                head += chunk
                position = find_position(head.decode("utf-8", "replace"))
            load.stdin.write(chunk)
        load.stdin.close()
        dump_err = dump.stderr.read().decode("utf-8", "replace").strip()
        load_err = load.stderr.read().decode("utf-8", "replace").strip()
        if dump.wait() != 0:
            raise MoveError("mysqldump from %s failed: %s" % (params["source_host"], dump_err))
        if load.wait() != 0:
            raise MoveError("loading the dump failed: %s" % load_err)
    finally:
        os.unlink(options)
    if position is None:
        raise MoveError("the dump of %s carries no binary-log position (is log_bin on at the source?)" % name)
    return True, {"position": position, "seconds": round(time.time() - started, 2)}


def step_replicate(module, params):
    if module.check_mode:
        return True, {}
    if replica_rows():
        run_statements(drop_replica_sql())
    source = {"host": params["source_host"], "port": params["source_port"], "user": params["mover_user"],
              "password": params["mover_password"]}
    run_statements(change_master_sql(source, params["position"], params["name"]))
    deadline = time.time() + 30
    while time.time() < deadline:
        state = replica_state(replica_rows())
        if state and state["io"] == "Yes" and state["sql"] == "Yes":
            return True, {"replica": state}
        if state and state["error"]:
            raise MoveError("the replication from %s stopped: %s" % (params["source_host"], state["error"]))
        time.sleep(1)
    raise MoveError("the replication from %s did not start within 30 s: %s" % (params["source_host"], replica_state(replica_rows())))


def late_writes(name, start):
    """Binary-log events that wrote to database ``name`` after position ``start`` (all of them, in order)."""
    files = [r["Log_name"] for r in run_sql("SHOW BINARY LOGS")]
    if start["file"] not in files:
        raise MoveError("binary log %s is gone from the source" % start["file"])
    found = []
    for log in files[files.index(start["file"]):]:
        sql = "SHOW BINLOG EVENTS IN %s" % sql_string(log)
        if log == start["file"]:
            sql += " FROM %d" % start["pos"]
        events = [{"file": log, "pos": int(e["Pos"]), "event_type": e["Event_type"], "info": e["Info"] or ""}
                  for e in run_sql(sql)]
        found.extend(events_touching(events, name))
    return found


def writes_result(found):
    return {"events": [dict(e, info=e["info"][:200]) for e in found[:20]], "count": len(found)}


def step_freeze(module, params):
    """Lock the accounts and cut their sessions; with ``watch``, the whole freeze on the source in this one run:
    the watch for a writer outside those accounts (the lock undone when one wrote: ``count`` > 0), then the
    sums of the frozen database (``tables``, ``rows``) for the destination's catch-up to compare."""
    accounts = params["accounts"]
    if module.check_mode:
        return True, {"accounts": accounts, "position": None, "sessions_cut": [], "count": 0, "events": [],
                      "tables": {}, "rows": 0}
    run_statements(lock_statements(accounts, lock=True))
    own = run_sql("SELECT CONNECTION_ID() AS id")[0]["id"]
    processlist = [{"id": r["ID"], "user": r["USER"], "db": r["DB"], "command": r["COMMAND"]}
                   for r in run_sql("SELECT ID, USER, DB, COMMAND FROM information_schema.PROCESSLIST")]
    cut = sessions_to_cut(processlist, params["name"], {a["user"] for a in accounts}, own_ids=[own])
    for session in cut:
        try:
            run_sql("KILL %d" % session)
        except MoveError as error:  # a session that ended meanwhile
            if "Unknown thread" not in str(error):
                raise
    result = {"accounts": accounts, "position": master_position(), "sessions_cut": cut}
    if not params["watch"]:
        return True, result
    time.sleep(params["watch"])
    found = late_writes(params["name"], result["position"])
    result.update(writes_result(found))
    if found:
        run_statements(lock_statements(accounts, lock=False))
        result.update(unfrozen=True, tables={}, rows=0)
        return True, result
    presums = params["presums"]
    if presums:
        try:
            result["resum"] = tables_written(late_writes(params["name"], presums["position"]), params["name"])
        except MoveError:  # the binary log since the sums is gone (purged): every table is summed again
            result["resum"] = None
        sums = sums_since("mysql", params["name"], presums["tables"], result["resum"])
    else:
        sums = sums_of("mysql", params["name"])
    result.update(tables=sums, rows=sum(t["rows"] for t in sums.values()), unfrozen=False)
    return True, result


def step_source_sums(module, params):
    """Before the freeze, while the site writes: the binary-log position, then the sums (docs: presums)."""
    if module.check_mode:
        return False, {"position": None, "tables": {}, "rows": 0, "seconds": 0.0}
    started, position = time.time(), master_position()
    sums = sums_of("mysql", params["name"])
    return False, {"position": position, "tables": sums, "rows": sum(t["rows"] for t in sums.values()),
                   "seconds": round(time.time() - started, 2)}


def step_destination_sums(module, params):
    """Before the freeze: the destination caught up to ``position`` (source_sums'), replication kept, then summed."""
    if module.check_mode:
        return False, {"tables": {}, "rows": 0, "seconds": 0.0}
    started = time.time()
    wait_executed(params["position"], params["timeout"])
    sums = sums_of("mysql", params["name"])
    return False, {"tables": sums, "rows": sum(t["rows"] for t in sums.values()), "seconds": round(time.time() - started, 2)}


def wait_executed(target, timeout):
    """The replica's executed position once it reached ``target`` (MoveError after ``timeout`` s or on an error)."""
    started = time.time()
    while True:
        state = replica_state(replica_rows())
        if not state:
            raise MoveError("no replication from the source runs here")
        if state["error"]:
            raise MoveError("the replication from the source stopped: %s" % state["error"])
        done = {"file": state["file"], "pos": state["pos"]}
        if state["file"] and not position_before(done, target):
            return done
        if time.time() - started > timeout:
            raise MoveError("not caught up after %d s: at %s, the source at %s" % (timeout, done, target))
        time.sleep(0.05)


def step_writes_since(module, params):
    return False, writes_result(late_writes(params["name"], params["position"]))


def step_catch_up(module, params):
    """Wait until the destination executed the source's last position and forget the replication; with
    ``compare`` (the frozen source's sums), sum the destination and compare in the same run (``differ``), and
    when equal unlock the database's ``accounts`` here (a move back finds them locked)."""
    if module.check_mode:
        return True, {"seconds": 0.0, "differ": [], "tables": {}, "rows": 0}
    started = time.time()
    done = wait_executed(params["position"], params["timeout"])
    run_statements(drop_replica_sql())
    result = {"seconds": round(time.time() - started, 2), "position": done}
    if params["compare"] is None:
        return True, result
    presums = params["presums"]
    sums = sums_since("mysql", params["name"], presums["tables"] if presums else None, params["resum"])
    differ = differing_tables(sums, params["compare"])
    result.update(tables=sums, rows=sum(t["rows"] for t in sums.values()), differ=differ,
                  verify_seconds=round(time.time() - started - result["seconds"], 2))
    if not differ and params["accounts"]:
        run_statements(lock_statements(params["accounts"], lock=False))
    return True, result


def step_unfreeze(module, params):
    if not module.check_mode:
        run_statements(lock_statements(params["accounts"], lock=False))
    return bool(params["accounts"]), {"accounts": params["accounts"]}


def step_drop_replica(module, params):
    if not replica_rows():
        return False, {}
    if not module.check_mode:
        run_statements(drop_replica_sql())
    return True, {}


STEPS = {
    "source_facts": step_source_facts, "destination_facts": step_destination_facts, "grant": step_grant,
    "revoke": step_revoke, "copy": step_copy, "replicate": step_replicate, "freeze": step_freeze,
    "source_sums": step_source_sums, "destination_sums": step_destination_sums,
    "writes_since": step_writes_since, "catch_up": step_catch_up, "unfreeze": step_unfreeze,
    "drop_replica": step_drop_replica, "set_aside": step_set_aside,
}
NEEDS = {
    "grant": ["mover_host", "mover_password"], "revoke": ["mover_host"],
    "copy": ["source_host", "mover_password"], "replicate": ["source_host", "mover_password", "position"],
    "writes_since": ["position"], "catch_up": ["position"], "destination_sums": ["position"],
}


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "required": True, "choices": sorted(STEPS)},
            "name": {"type": "str", "required": True},
            "source_host": {"type": "str"},
            "source_port": {"type": "int", "default": 3306},
            "mover_user": {"type": "str", "default": "db_move"},
            "mover_host": {"type": "str"},
            "mover_password": {"type": "str", "no_log": True},
            "position": {"type": "dict"},
            "accounts": {"type": "list", "elements": "dict", "default": []},
            "timeout": {"type": "int", "default": 60},
            "watch": {"type": "float", "default": 0},
            "compare": {"type": "dict"},
            "presums": {"type": "dict"},
            "resum": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    run_step(module, STEPS, NEEDS, "db_move_mysql")


if __name__ == "__main__":
    main()
