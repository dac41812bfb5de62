#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Facts about every database of a host, for both engines (the evidence of the cleanup)."""

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
---
module: db_facts
short_description: Report size, tables, connections, activity, references and last dump of every database
description:
  - For every database of the local MariaDB/MySQL and PostgreSQL servers, reports its size, its table
    count, the connections open now, the activity evidence (reads and writes) with the window it covers,
    the C(.env) files of the host that name it, and its last dump under the backup root.
  - MariaDB/MySQL activity comes from C(performance_schema.table_io_waits_summary_by_table), counted since
    the server started (its C(Uptime)). PostgreSQL activity comes from C(pg_stat_database), counted since
    C(stats_reset) or, without one, since the server started.
  - Read-only; it changes nothing.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
  - infra.hosting.databases
options:
  engines:
    description: Engines to look at; an engine whose client is not installed is skipped.
    type: list
    elements: str
    choices: [mysql, postgresql]
    default: [mysql, postgresql]
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode runs it unchanged.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Gather the database facts
  infra.hosting.db_facts:
    engines: [mysql, postgresql]
  register: db_facts_result
"""

RETURN = r"""
databases:
  description: Facts keyed by C(<engine>/<name>).
  returned: always
  type: dict
  sample:
    mysql/placementspot_dev:
      name: placementspot_dev
      engine: mysql
      size_bytes: 49152
      tables: 3
      connections: 0
      activity: {reads: 0, writes: 0, window_start: "2026-11-24T21:00:00+00:00", window_seconds: 3600,
                 window_end: "2026-11-24T22:00:00+00:00", window_source: since server start or stats reset}
      env_references: []
      last_dump: null
engines:
  description: Engines found on the host.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.db_engine import DbError, collect, engine_available, scan_env_files
from ansible_collections.infra.hosting.plugins.module_utils.common_args import DB_ARGS


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engines=dict(type="list", elements="str", choices=["mysql", "postgresql"], default=["mysql", "postgresql"]),
            **DB_ARGS,
        ),
        supports_check_mode=True,
    )
    env_refs = scan_env_files(module.params["env_globs"])
    result = {}
    found = []
    for engine in module.params["engines"]:
        if not engine_available(engine):
            continue
        found.append(engine)
        try:
            facts = collect(engine, env_refs, module.params["backup_root"])
        except DbError as exc:
            module.fail_json(msg="%s: %s" % (engine, exc))
        for name, fact in facts.items():
            result["%s/%s" % (engine, name)] = fact
    module.exit_json(changed=False, databases=result, engines=found)


if __name__ == "__main__":
    main()
