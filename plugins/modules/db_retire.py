#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Retire one database named by the operator: dump, verify, store, then drop it and its unused users."""

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
---
module: db_retire
short_description: Retire a database safely (verified dump first, then drop)
description:
  - Refuses, with every reason in one message, when the confirmation does not repeat the name, the
    database is protected, a site references it (the data model or a C(.env) file of the host), it has
    connections now, or it shows activity in the observation window (or the window is too short, or
    there is no activity evidence at all).
  - Otherwise dumps it (C(mysqldump --single-transaction) gzipped, or C(pg_dump -Fc)) to
    C(<backup_root>/<engine>/<name>/<timestamp>.{sql.gz,dump}), writes the C(.sha256) beside it,
    and verifies the dump in a throw-away server, never the live one (module_utils C(db_scratch)), that is a
    temporary C(mariadbd)/C(mysqld) as mysql on a private datadir and socket under C(/var/tmp)
    (C(--skip-networking), no binary log, event scheduler off), or a temporary PostgreSQL cluster of the
    live server's major version (C(initdb) + C(pg_ctl), socket in its private directory, no TCP). The dump
    is restored there under its own name, so that triggers, views and routines written with their
    schema's name land in the copy and not in the live database. The row count of every table and the
    sorted list of routines (procedures, functions), triggers, views and events (MySQL
    C(information_schema.ROUTINES/TRIGGERS/VIEWS/EVENTS); PostgreSQL C(pg_proc) of the user schemas,
    non-internal C(pg_trigger), C(pg_views), C(pg_matviews)), read from the live database when it was
    dumped, must be identical in the restored copy. The scratch server is stopped and its directory
    removed afterwards, also on failure.
  - Then writes the exact restore command (C(<timestamp>.restore.txt)), the row counts and object list
    (C(<timestamp>.rowcounts.json), C(<timestamp>.objects.json)) and the definition of the users it will
    drop (C(<timestamp>.users.sql)), then drops the database and the users left without any other grant.
  - Every action and every refusal is appended to the audit log (one JSON object per line).
  - An absent database is reported unchanged, so a second run is a no-op.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
  - infra.hosting.databases
  - infra.hosting.audit
options:
  name:
    description: The database to retire.
    type: str
    required: true
  engine:
    description: Its engine.
    type: str
    required: true
    choices: [mysql, postgresql]
  confirm:
    description: Must repeat I(name) exactly; nothing is dropped without it.
    type: str
    default: ""
  protected:
    description: The C(protected) flag of the data model; true always refuses.
    type: bool
    default: false
  references:
    description: Sites of the data model that use this database (each one refuses).
    type: list
    elements: str
    default: []
  min_window_seconds:
    description: The activity evidence must cover at least this many seconds.
    type: int
    default: 604800
  count_reads:
    description: Count reads as activity too (by default only writes and connections count, because dumps read).
    type: bool
    default: false
  drop_users:
    description: Drop the users that have grants on this database only (MariaDB/MySQL) or own only it (PostgreSQL).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Checks every refusal for real and reports the plan (row counts and objects that the verification
      would compare); dumps, starts and drops nothing.
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Retire placementspot_dev
  infra.hosting.db_retire:
    name: placementspot_dev
    engine: mysql
    confirm: "{{ confirm | default('') }}"
    references: []
    min_window_seconds: 2592000
"""

RETURN = r"""
refused:
  description: True when the module refused; C(reasons) says why.
  returned: always
  type: bool
reasons:
  description: Every reason of a refusal.
  returned: always
  type: list
  elements: str
dump:
  description: Path of the verified dump.
  returned: when the database was retired
  type: str
sha256:
  description: Checksum of the dump.
  returned: when the database was retired
  type: str
restore_command:
  description: The exact command that brings the database back.
  returned: when the database was retired
  type: str
row_counts:
  description: Row count of every table, identical in the database and in the restored copy.
  returned: when the database was retired or would be
  type: dict
objects:
  description: Routines, triggers, views and events of the database ("kind name"), identical in the restored copy.
  returned: when the database was retired or would be
  type: list
  elements: str
  sample: ["procedure count_items", "trigger items_bi", "view recent_events"]
verified_in:
  description: Where the dump was restored for its verification (a throw-away server, never the live one).
  returned: when the database was retired or would be
  type: str
dropped_users:
  description: Users dropped with the database.
  returned: when the database was retired or would be
  type: list
  elements: str
executed_commands:
  description: Commands that ran against the server; those of the throw-away server start with C([scratch]).
  returned: always
  type: list
  elements: str
"""

import json
import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.cleanup_common import audit_append
from ansible_collections.infra.hosting.plugins.module_utils.db_engine import (
    DbError, check_name, collect, driver_for, restore_command, scan_env_files, sha256_file,
    timestamp_name,
)
from ansible_collections.infra.hosting.plugins.module_utils.db_scratch import SCRATCH_BASE, verify_restore
from ansible_collections.infra.hosting.plugins.module_utils.common_args import DB_ARGS, AUDIT_ARGS


def scratch_description(engine, version=None):
    """Where the verification restores the dump (RETURN verified_in)."""
    if engine == "mysql":
        return "a throw-away mariadbd/mysqld (private datadir and socket under %s, no networking), stopped and removed after" % SCRATCH_BASE
    return ("a throw-away PostgreSQL %s cluster (initdb + pg_ctl, socket in a private directory under %s, no TCP), "
            "stopped and removed after" % (version, SCRATCH_BASE))


def refusal_reasons(params, fact):
    """Every reason to refuse, from the module's parameters and the database's facts."""
    name = params["name"]
    reasons = []
    if params["confirm"] != name:
        reasons.append("confirmation missing: pass confirm=%s to retire this database" % name)
    if params["protected"]:
        reasons.append("protected in the data model (databases.%s.protected: true)" % name)
    for site in params["references"]:
        reasons.append("referenced by site %s in the data model" % site)
    for path in fact.get("env_references", []):
        reasons.append("referenced by %s" % path)
    if fact.get("connections"):
        reasons.append("%d connection(s) open now" % fact["connections"])
    activity = fact.get("activity") or {}
    if activity.get("writes") is None:
        reasons.append("no activity evidence (%s)" % activity.get("window_source", "unknown"))
    else:
        if activity.get("writes"):
            reasons.append("%d write(s) between %s and %s" % (activity["writes"], activity["window_start"], activity["window_end"]))
        if params["count_reads"] and activity.get("reads"):
            reasons.append("%d read(s) between %s and %s" % (activity["reads"], activity["window_start"], activity["window_end"]))
        if (activity.get("window_seconds") or 0) < params["min_window_seconds"]:
            reasons.append("observation window of %ss is shorter than the %ss required"
                           % (activity.get("window_seconds"), params["min_window_seconds"]))
    return reasons


def plan_retire(p, drv, fact):
    """What retiring the database means: its row counts and objects (the source the restored dump is
    compared with), the users left without a database, and where the dump and its sidecars go."""
    name, engine = p["name"], p["engine"]
    counts = drv.row_counts(name)
    objects = drv.objects(name)
    version = drv.major_version() if engine == "postgresql" else None
    users = drv.users_of(name) if p["drop_users"] else []
    unused = [u for u in users if u["unused_after"]]
    folder = os.path.join(p["backup_root"], engine, name)
    stamp = timestamp_name()
    path = os.path.join(folder, "%s.%s" % (stamp, "sql.gz" if engine == "mysql" else "dump"))
    return dict(name=name, target="%s/%s" % (engine, name), counts=counts, objects=objects, version=version, unused=unused,
                user_names=["%s@%s" % (u["user"], u["host"]) if u["host"] else u["user"] for u in unused],
                folder=folder, stamp=stamp, path=path, size=fact["size_bytes"])


def plan_diff(plan):
    """The database before and after, as --diff shows it."""
    counts, users = plan["counts"], ", ".join(plan["user_names"]) or "-"
    return {
        "before": "%s: present, %d table(s), %d row(s), %d bytes\nobjects: %s\nusers: %s\n"
                  % (plan["target"], len(counts), sum(counts.values()), plan["size"],
                     ", ".join(plan["objects"]) or "-", users),
        "after": "%s: absent\ndump: %s (verified)\nusers dropped: %s\n" % (plan["target"], plan["path"], users),
    }


def dump_and_verify(module, drv, plan, result, audit):
    """Dump the database with its checksum, then restore it in a throw-away server and compare; a dump that
    does not restore identically fails the module, nothing dropped."""
    p, path, counts, objects = module.params, plan["path"], plan["counts"], plan["objects"]
    os.makedirs(plan["folder"], 0o700, exist_ok=True)
    os.chmod(os.path.dirname(plan["folder"]), 0o700)
    drv.dump(p["name"], path)
    os.chmod(path, 0o600)
    digest = sha256_file(path)
    with open(path + ".sha256", "w", encoding="utf-8") as handle:
        handle.write("%s  %s\n" % (digest, os.path.basename(path)))
    result["sha256"] = digest
    audit("db_dump", "ok", {"path": path, "sha256": digest, "bytes": os.path.getsize(path)})
    scratch_commands = []
    try:
        verified = verify_restore(p["engine"], p["name"], path, counts, objects, version=plan["version"],
                                  commands=scratch_commands)
    finally:
        drv.commands.extend(scratch_commands)
    if verified["problems"]:
        audit("db_verify", "failed", {"path": path, "server": "scratch", "problems": verified["problems"]})
        result["executed_commands"] = drv.commands
        module.fail_json(msg="the dump of %s does not restore identically (in a throw-away server), nothing dropped: %s"
                         % (plan["target"], "; ".join(verified["problems"])), **result)
    audit("db_verify", "ok", {"path": path, "server": "scratch", "tables": len(counts), "rows": sum(counts.values()),
                              "objects": objects})


def write_sidecars(drv, plan, restore_cmd):
    """Beside the dump: how to restore it, the row counts and objects it was verified against, and the
    definitions of the users about to be dropped."""
    base = os.path.join(plan["folder"], plan["stamp"])
    counts = plan["counts"]
    with open(base + ".restore.txt", "w", encoding="utf-8") as handle:
        handle.write("# Restore %s (dump verified: %d tables, %d rows)\n%s\n"
                     % (plan["target"], len(counts), sum(counts.values()), restore_cmd))
    with open(base + ".rowcounts.json", "w", encoding="utf-8") as handle:
        json.dump(counts, handle, sort_keys=True, indent=1)
    with open(base + ".objects.json", "w", encoding="utf-8") as handle:
        json.dump(plan["objects"], handle, indent=1)
    with open(base + ".users.sql", "w", encoding="utf-8") as handle:
        for user in plan["unused"]:
            handle.write("\n".join(drv.user_definition(user)) + "\n")


def drop(drv, plan, result, audit):
    """Drop the database, then the users it leaves unused (a user that cannot be dropped is a warning)."""
    drv.drop(plan["name"])
    audit("db_drop", "ok", {"dump": plan["path"], "sha256": result["sha256"],
                            "restore_command": result["restore_command"], "row_counts": plan["counts"]})
    for user in plan["unused"]:
        try:
            drv.drop_user(user)
            audit("db_drop_user", "ok", {"user": user["user"], "host": user["host"]})
        except DbError as exc:
            audit("db_drop_user", "failed", {"user": user["user"], "error": str(exc)})
            result.setdefault("warnings_users", []).append(str(exc))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            engine=dict(type="str", required=True, choices=["mysql", "postgresql"]),
            confirm=dict(type="str", default=""),
            protected=dict(type="bool", default=False),
            references=dict(type="list", elements="str", default=[]),
            min_window_seconds=dict(type="int", default=604800),
            count_reads=dict(type="bool", default=False),
            drop_users=dict(type="bool", default=True),
            **DB_ARGS, **AUDIT_ARGS,
        ),
        supports_check_mode=True,
    )
    p = module.params
    name, engine = p["name"], p["engine"]
    target = "%s/%s" % (engine, name)
    host = socket.gethostname()
    result = dict(changed=False, refused=False, reasons=[], executed_commands=[])

    def audit(action, outcome, details):
        if not module.check_mode:
            audit_append(p["audit_log"], {"action": action, "target": target, "host": host,
                                          "details": details, "result": outcome})

    try:
        check_name(name)
        drv = driver_for(engine)
        if not drv.exists(name):
            result["msg"] = "%s is already absent" % target
            module.exit_json(**result)
        # Refuse: the evidence that the database is still used, or not backed up, or not confirmed.
        fact = collect(engine, scan_env_files(p["env_globs"]), p["backup_root"], driver=drv)[name]
        reasons = refusal_reasons(p, fact)
        result["evidence"] = fact
        if reasons:
            audit("db_retire", "refused", {"reasons": reasons})
            result.update(refused=True, reasons=reasons, executed_commands=drv.commands)
            module.fail_json(msg="refusing to retire %s: %s" % (target, "; ".join(reasons)), **result)
        # Plan: the live database as it is dumped (no write since, or the refusals above would have fired).
        plan = plan_retire(p, drv, fact)
        result.update(row_counts=plan["counts"], objects=plan["objects"], dropped_users=plan["user_names"],
                      dump=plan["path"], restore_command=restore_command(engine, name, plan["path"]),
                      verified_in=scratch_description(engine, plan["version"]))
        if module._diff:
            result["diff"] = plan_diff(plan)
        if module.check_mode:
            would = ("would dump %s to %s, verify it in %s (row counts of %d table(s), %d routine(s)/trigger(s)/"
                     "view(s)/event(s)), then drop it"
                     % (target, plan["path"], result["verified_in"], len(plan["counts"]), len(plan["objects"])))
            result.update(changed=True, executed_commands=drv.commands, msg=would)
            module.exit_json(**result)
        # Act: dump, verify in a throw-away server, keep the sidecars, drop.
        dump_and_verify(module, drv, plan, result, audit)
        write_sidecars(drv, plan, result["restore_command"])
        drop(drv, plan, result, audit)
        result.update(changed=True, executed_commands=drv.commands,
                      msg="%s retired; dump %s verified in a throw-away server (%d tables, %d objects)"
                          % (target, plan["path"], len(plan["counts"]), len(plan["objects"])))
        module.exit_json(**result)
    except DbError as exc:
        audit("db_retire", "failed", {"error": str(exc)})
        module.fail_json(msg=str(exc), **result)


if __name__ == "__main__":
    main()
