# -*- coding: utf-8 -*-
"""Row count and content checksum of every table of one database (the proof of a database move).

Used by the module db_table_checksums (both sides of a move, or any comparison) and by db_move_mysql,
whose freeze sums the frozen source in the same module run that locks it, and whose catch-up sums the
destination and compares in the same run that waits for it (docs/databases.md: fewer round trips
inside the write freeze). One definition of the sums, so both sides are always summed the same way.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.infra.hosting.plugins.module_utils.db_engine import (
    MysqlDriver, PostgresqlDriver, parse_tsv, to_int)

# Settings that decide a row's text in PostgreSQL: the same on both servers of a move.
PG_SESSION = ("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
              "SET extra_float_digits = 1; SET bytea_output = 'hex'; ")


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


def pg_quote_identifier(name):
    """A PostgreSQL identifier between double quotes (a double quote inside doubled)."""
    return '"%s"' % str(name).replace('"', '""')


def pg_checksum_sql(tables):
    """One PostgreSQL query answering (table, rows, checksum) for every "schema.table" of ``tables``."""
    parts = []
    for table in sorted(tables):
        schema, rel = table.split(".", 1)
        parts.append(
            "SELECT '%s', count(*), COALESCE(bit_xor(('x' || left(md5(t::text), 16))::bit(64)::bigint), 0) FROM %s.%s t"
            % (table.replace("'", "''"), pg_quote_identifier(schema), pg_quote_identifier(rel)))
    return PG_SESSION + " UNION ALL ".join(parts)


def sums_of(engine, name, socket=None, port=None, only=None):
    """{table: {rows, checksum}} of every base table of database ``name`` (of those named in ``only`` when given)."""
    if engine == "postgresql":
        driver = PostgresqlDriver(socket=socket or "/var/run/postgresql", port=port)
        tables = [t for t in driver.tables(name) if only is None or t in only]
        if not tables:
            return {}
        return parse_sums(driver.query(pg_checksum_sql(tables), database=name, columns=["table", "rows", "checksum"]))
    driver = MysqlDriver(socket=socket)
    tables = columns_by_table(driver.query(columns_sql(name), columns=["table", "column"]))
    if only is not None:
        tables = {t: c for t, c in tables.items() if t in only}
    return parse_sums(parse_tsv(driver.query(checksum_sql(name, tables)), ["table", "rows", "checksum"])) if tables else {}


def sums_since(engine, name, presums, resum, socket=None, port=None):
    """The sums of database ``name`` now, reading again only the tables written since ``presums`` were taken.

    ``presums`` are this server's sums from earlier (outside the write freeze), ``resum`` the tables written since
    then (None: unknown, every table is read again). A table of ``resum`` that is gone is gone from the answer.
    The tables outside ``resum`` were not written since, so their earlier sums are their sums now: the freeze
    reads only what changed (docs/databases.md, "Sums before the freeze")."""
    if presums is None or resum is None:
        return sums_of(engine, name, socket=socket, port=port)
    fresh = sums_of(engine, name, socket=socket, port=port, only=set(resum)) if resum else {}
    return merge_sums(presums, fresh, resum)


def merge_sums(presums, fresh, resum):
    """``presums`` with the tables of ``resum`` replaced by their ``fresh`` sums (dropped when not in ``fresh``)."""
    merged = {t: s for t, s in presums.items() if t not in resum}
    merged.update(fresh)
    return merged


def differing_tables(mine, other):
    """Tables whose rows or checksum differ between two answers of this module, or that one side lacks."""
    return sorted(t for t in set(mine) | set(other) if mine.get(t) != other.get(t))


def parse_sums(rows):
    return {r["table"]: {"rows": to_int(r["rows"]), "checksum": r["checksum"]} for r in rows}
