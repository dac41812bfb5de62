"""cleanup_problems / cleanup_done (plugins/filter/cleanup_outcome.py): every refused or failed name, with
its reason, from the modules' own result fields (db_cleanup.yml and site_cleanup.yml fail with these lines)."""

from ansible_collections.infra.hosting.plugins.filter import cleanup_outcome


def item(name, engine="mysql"):
    return {"name": name, "engine": engine, "protected": False}


LOOP = {
    "failed": True,
    "results": [
        {"__db_item": item("old_dev"), "changed": True, "failed": False, "refused": False, "reasons": [],
         "msg": "mysql/old_dev retired; dump /x verified (2 tables)"},
        {"__db_item": item("shop"), "changed": False, "failed": True, "refused": True,
         "reasons": ["confirmation missing: pass confirm=shop to retire this database",
                     "referenced by /srv/www/shop/shared/.env"],
         "msg": "refusing to retire mysql/shop: ..."},
        {"__db_item": item("broken", "postgresql"), "changed": False, "failed": True, "refused": False,
         "reasons": [], "msg": "pg_dump: error: connection refused"},
        {"__db_item": item("gone"), "changed": False, "failed": False, "refused": False,
         "msg": "mysql/gone is already absent"},
    ],
}


def test_each_refusal_and_failure_with_its_reason_in_order():
    assert cleanup_outcome.cleanup_problems(LOOP, "__db_item") == [
        "mysql/shop: refused / refusé: confirmation missing: pass confirm=shop to retire this database; "
        "referenced by /srv/www/shop/shared/.env",
        "postgresql/broken: failed / échec: pg_dump: error: connection refused",
    ]


def test_done_lists_the_names_neither_refused_nor_failed():
    assert cleanup_outcome.cleanup_done(LOOP, "__db_item") == ["mysql/old_dev", "mysql/gone"]


def test_refused_keys_on_the_module_field_not_on_failed():
    # failed_when: false used to turn every result into failed: false; the module's refused still says it.
    result = {"results": [{"__db_item": item("shop"), "failed": False, "refused": True, "reasons": ["protected"]}]}
    assert cleanup_outcome.cleanup_problems(result, "__db_item") == ["mysql/shop: refused / refusé: protected"]
    assert cleanup_outcome.cleanup_done(result, "__db_item") == []


def test_refusal_without_reasons_uses_the_message():
    result = {"failed": True, "refused": True, "msg": "Refused: site 'blcpa' is still claimed by the data model"}
    assert cleanup_outcome.cleanup_problems(result, name="site blcpa") == [
        "site blcpa: refused / refusé: Refused: site 'blcpa' is still claimed by the data model"]


def test_module_crash_keeps_the_last_line_of_its_stderr():
    result = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
              "module_stderr": "Traceback (most recent call last):\n  ...\nKeyError: 'aerotalent'\n"}
    assert cleanup_outcome.cleanup_problems(result, name="site x") == [
        "site x: failed / échec: KeyError: 'aerotalent' (MODULE FAILURE)"]


def test_a_task_that_failed_outside_its_items_is_still_reported():
    result = {"failed": True, "msg": "'retire' is undefined", "results": []}
    assert cleanup_outcome.cleanup_problems(result, "__db_item", "db_retire") == [
        "db_retire: failed / échec: 'retire' is undefined"]


def test_success_skip_and_unreachable():
    assert cleanup_outcome.cleanup_problems({"changed": True, "msg": "Retired"}, name="site a") == []
    assert cleanup_outcome.cleanup_problems({"skipped": True}, name="site a") == []
    assert cleanup_outcome.cleanup_problems({"unreachable": True, "msg": "ssh: timeout"}, name="site a") == [
        "site a: unreachable / injoignable: ssh: timeout"]
    assert cleanup_outcome.cleanup_problems(None) == []


def test_plain_item_names():
    result = {"results": [{"item": "idx_a", "failed": True, "msg": "not verified"}]}
    assert cleanup_outcome.cleanup_problems(result) == ["idx_a: failed / échec: not verified"]
