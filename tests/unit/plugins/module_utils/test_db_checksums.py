"""module_utils/db_checksums: the query is the same on both sides of a move and tells NULL from empty."""

from ansible_collections.infra.hosting.plugins.module_utils import db_checksums
from ansible_collections.infra.hosting.plugins.module_utils.db_checksums import (
    checksum_sql, columns_by_table, columns_sql, merge_sums, parse_sums, quote_identifier, quote_string, row_expression)


def test_identifiers_and_strings_are_quoted():
    assert quote_identifier("we`ird") == "`we``ird`"
    assert quote_string("it's \\") == "'it\\'s \\\\'"


def test_columns_grouped_per_table_in_order():
    rows = [{"table": "a", "column": "id"}, {"table": "a", "column": "name"}, {"table": "b", "column": "x"}]
    assert columns_by_table(rows) == {"a": ["id", "name"], "b": ["x"]}


def test_row_expression_marks_nulls():
    assert row_expression(["id", "note"]) == "CONCAT_WS('#', `id`, `note`, CONCAT(ISNULL(`id`), ISNULL(`note`)))"


def test_one_query_for_every_table_sorted():
    sql = checksum_sql("shop", {"orders": ["id"], "clients": ["id", "email"]})
    first, second = sql.split(" UNION ALL ")
    assert first.startswith("SELECT 'clients', COUNT(*)") and first.endswith("FROM `shop`.`clients`")
    assert "BIT_XOR(CAST(CONV(LEFT(MD5(" in second and second.endswith("FROM `shop`.`orders`")


def test_columns_of_base_tables_only():
    sql = columns_sql("shop")
    assert "TABLE_SCHEMA = 'shop'" in sql and "TABLE_TYPE = 'BASE TABLE'" in sql


def test_sums_parsed_with_counts_as_integers():
    assert parse_sums([{"table": "a", "rows": "3", "checksum": "123"}]) == {"a": {"rows": 3, "checksum": "123"}}


def test_postgresql_one_query_per_database_in_a_fixed_session():
    from ansible_collections.infra.hosting.plugins.module_utils.db_checksums import PG_SESSION, pg_checksum_sql
    sql = pg_checksum_sql(["public.orders", "public.customers"])
    assert sql.startswith(PG_SESSION) and "SET TimeZone = 'UTC'" in sql
    first, second = sql[len(PG_SESSION):].split(" UNION ALL ")
    assert first.startswith("SELECT 'public.customers', count(*)") and first.endswith('FROM "public"."customers" t')
    assert "bit_xor(('x' || left(md5(t::text), 16))::bit(64)::bigint)" in second


def test_tables_that_differ_are_named():
    from ansible_collections.infra.hosting.plugins.module_utils.db_checksums import differing_tables
    mine = {"a": {"rows": 1, "checksum": "5"}, "b": {"rows": 2, "checksum": "7"}, "c": {"rows": 0, "checksum": "0"}}
    other = {"a": {"rows": 1, "checksum": "5"}, "b": {"rows": 2, "checksum": "8"}, "d": {"rows": 0, "checksum": "0"}}
    assert differing_tables(mine, other) == ["b", "c", "d"]
    assert differing_tables(mine, dict(mine)) == []


def test_earlier_sums_stand_for_the_tables_not_written_since():
    presums = {"items": {"rows": 10, "checksum": "1"}, "probe": {"rows": 2, "checksum": "2"},
               "gone": {"rows": 1, "checksum": "3"}}
    fresh = {"probe": {"rows": 3, "checksum": "4"}}
    assert merge_sums(presums, fresh, ["probe", "gone"]) == {
        "items": {"rows": 10, "checksum": "1"}, "probe": {"rows": 3, "checksum": "4"}}
    assert merge_sums(presums, {}, []) == presums


def test_sums_since_reads_only_the_written_tables_or_all_when_unknown(monkeypatch):
    calls = []

    def fake(engine, name, socket=None, port=None, only=None):
        calls.append(only)
        return {"probe": {"rows": 3, "checksum": "4"}, "items": {"rows": 11, "checksum": "9"}} if only is None else {
            t: {"rows": 3, "checksum": "4"} for t in only}

    monkeypatch.setattr(db_checksums, "sums_of", fake)
    presums = {"items": {"rows": 10, "checksum": "1"}, "probe": {"rows": 2, "checksum": "2"}}
    assert db_checksums.sums_since("mysql", "shop", presums, ["probe"])["items"] == {"rows": 10, "checksum": "1"}
    assert calls == [{"probe"}]
    assert db_checksums.sums_since("mysql", "shop", presums, []) == presums and calls == [{"probe"}]  # nothing read
    assert db_checksums.sums_since("mysql", "shop", presums, None)["items"]["rows"] == 11 and calls[-1] is None
    assert db_checksums.sums_since("mysql", "shop", None, ["probe"])["items"]["rows"] == 11
