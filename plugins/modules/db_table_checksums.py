#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Row count and content checksum of every table of one MariaDB/MySQL database (db_move's proof)."""

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
---
module: db_table_checksums
short_description: Row count and checksum of every table of one MariaDB/MySQL database
description:
  - For each base table of the database, counts the rows and computes an order-independent checksum
    of their content (the bitwise XOR of a 64-bit MD5 of each row, NULLs told apart from empty
    strings), the way percona-toolkit's pt-table-checksum sums a chunk. Run on both sides of a move,
    equal answers mean the same rows in every table.
  - The same query runs on MariaDB and MySQL 8 (Forge's server), so a copy from one to the other is
    compared on equal terms.
  - Talks to the local server through the C(mysql) client as root (its unix socket; on a Forge
    host root's option file), like db_facts. Read-only; it changes nothing.
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
    description: Socket of another server than the default one (client run with --no-defaults as root).
    type: path
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
rows:
  description: Rows of all the tables.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.db_engine import DbError, MysqlDriver, check_name, parse_tsv, to_int


def quote_identifier(name):
    """A MySQL identifier between backticks (a backtick inside doubled)."""
    return "`%s`" % str(name).replace("`", "``")


def quote_string(value):
    """A MySQL string literal (quotes and backslashes escaped)."""
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def columns_by_table(rows):
    """{table: [column, ...]} from (table, column) rows already in ordinal order."""
    tables = {}
    for row in rows:
        tables.setdefault(row["table"], []).append(row["column"])
    return tables


def row_expression(columns):
    """SQL of one row's text: the columns joined, then which of them are NULL (CONCAT_WS skips NULLs)."""
    quoted = [quote_identifier(c) for c in columns]
    nulls = "CONCAT(%s)" % ", ".join("ISNULL(%s)" % q for q in quoted)
    return "CONCAT_WS('#', %s, %s)" % (", ".join(quoted), nulls)


def checksum_sql(database, tables):
    """One query answering (table, rows, checksum) for every table of ``tables`` ({table: columns})."""
    parts = []
    for table in sorted(tables):
        parts.append(
            "SELECT %s, COUNT(*), COALESCE(BIT_XOR(CAST(CONV(LEFT(MD5(%s), 16), 16, 10) AS UNSIGNED)), 0) FROM %s.%s"
            % (quote_string(table), row_expression(tables[table]), quote_identifier(database), quote_identifier(table)))
    return " UNION ALL ".join(parts)


def columns_sql(database):
    return (
        "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c "
        "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
        "WHERE c.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION"
        % quote_string(database))


def parse_sums(rows):
    return {r["table"]: {"rows": to_int(r["rows"]), "checksum": r["checksum"]} for r in rows}


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "login_unix_socket": {"type": "path"},
        },
        supports_check_mode=True,
    )
    name = module.params["name"]
    try:
        check_name(name)
        driver = MysqlDriver(socket=module.params["login_unix_socket"])
        tables = columns_by_table(driver.query(columns_sql(name), columns=["table", "column"]))
        sums = parse_sums(parse_tsv(driver.query(checksum_sql(name, tables)), ["table", "rows", "checksum"])) if tables else {}
    except (DbError, ValueError) as error:
        module.fail_json(msg="%s: %s" % (name, error))
    module.exit_json(changed=False, tables=sums, rows=sum(t["rows"] for t in sums.values()))


if __name__ == "__main__":
    main()
