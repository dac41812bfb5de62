"""db_table_checksums: the query is the same on both sides of a move and tells NULL from empty."""

from ansible_collections.infra.hosting.plugins.modules.db_table_checksums import (
    checksum_sql, columns_by_table, columns_sql, parse_sums, quote_identifier, quote_string, row_expression)


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
