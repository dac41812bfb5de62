#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Row count and content checksum of every table of one database, MariaDB/MySQL or PostgreSQL (db_move's proof)."""

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
---
module: db_table_checksums
short_description: Row count and checksum of every table of one MariaDB/MySQL or PostgreSQL database
description:
  - For each base table of the database, counts the rows and computes an order-independent checksum
    of their content (the bitwise XOR of a 64-bit MD5 of each row, NULLs told apart from empty
    strings), the way percona-toolkit's pt-table-checksum sums a chunk. Run on both sides of a move,
    equal answers mean the same rows in every table.
  - The same query runs on MariaDB and MySQL 8 (Forge's server), so a copy from one to the other is
    compared on equal terms.
  - Talks to the local server through the C(mysql) client as root (its unix socket; on a Forge
    host root's option file), like db_facts. Read-only; it changes nothing.
  - With C(engine=postgresql), the same sums through C(psql) as postgres - per table of the user schemas,
    C(count(*)) and the XOR of the first 64 bits of the MD5 of each row's text (C(row::text), where NULL and
    an empty string differ), in a session with UTC, ISO dates and full float digits so that two servers
    write the same text.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  name:
    description: Database whose tables are summed.
    type: str
    required: true
  login_unix_socket:
    description: Socket of another server than the default one (MariaDB/MySQL - client run with --no-defaults
      as root; PostgreSQL - the socket's directory).
    type: path
  engine:
    description: Engine of the server.
    type: str
    choices: [mysql, postgresql]
    default: mysql
  compare:
    description: The other side's C(tables) (a move's source); C(differ) then names every table whose rows or checksum
      differ, or which only one side has.
    type: dict
  port:
    description: Port of the PostgreSQL server (its socket in /var/run/postgresql unless login_unix_socket says otherwise).
    type: int
    default: 5432
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode runs it unchanged.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Sum the tables of the database on the old server
  infra.hosting.db_table_checksums:
    name: placementspot_prod
  register: db_move_source_sums
"""

RETURN = r"""
tables:
  description: Per table, its row count and checksum (a decimal string).
  returned: always
  type: dict
  sample: {orders: {rows: 1204, checksum: "9311820417316625617"}}
differ:
  description: Tables that differ from C(compare) (missing on one side, other rows or checksum), sorted; empty when equal.
  returned: when compare is given
  type: list
  elements: str
rows:
  description: Rows of all the tables.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.db_engine import DbError, check_name
# The sums themselves: one definition, shared with db_move_mysql.
from ansible_collections.infra.hosting.plugins.module_utils.db_checksums import differing_tables, sums_of


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "login_unix_socket": {"type": "path"},
            "engine": {"type": "str", "choices": ["mysql", "postgresql"], "default": "mysql"},
            "port": {"type": "int", "default": 5432},
            "compare": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    name = module.params["name"]
    try:
        check_name(name)
        sums = sums_of(module.params["engine"], name, module.params["login_unix_socket"], module.params["port"])
    except (DbError, ValueError) as error:
        module.fail_json(msg="%s: %s" % (name, error))
    result = {"tables": sums, "rows": sum(t["rows"] for t in sums.values())}
    if module.params["compare"] is not None:
        result["differ"] = differing_tables(sums, module.params["compare"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
