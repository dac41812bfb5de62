"""Classification and user filters of the database cleanup (plugins/filter/db_cleanup.py)."""

import pytest

from ansible_collections.infra.hosting.plugins.filter import db_cleanup

DAY = 86400


def fact(name, engine="mysql", connections=0, writes=0, reads=0, window=40 * DAY, env=None):
    return {
        "name": name, "engine": engine, "size_bytes": 1024, "tables": 2, "connections": connections,
        "activity": {"reads": reads, "writes": writes, "window_seconds": window,
                     "window_start": "2026-10-01T00:00:00+00:00", "window_end": "2026-11-10T00:00:00+00:00"},
        "env_references": env or [], "last_dump": None,
    }


DATABASES = {
    "prod_db": {"engine": "mysql", "site": "shop", "protected": True},
    "shop_extra": {"engine": "mysql", "site": "shop", "protected": False},
    "old_dev": {"engine": "mysql", "site": None, "protected": False},
    "gone_site_db": {"engine": "postgresql", "site": "gone", "protected": False},
}
SITES = {
    "shop": {"databases": ["prod_db", "shop_extra"], "hosts": ["web_01", "web_02"]},
    "gone": {"status": "retired", "databases": ["gone_site_db"], "hosts": ["web_01"]},
}


def classify(*facts, policy=None):
    items = db_cleanup.db_classify({"%s/%s" % (f["engine"], f["name"]): f for f in facts}, DATABASES, SITES, policy)
    return {i["name"]: (i["classification"], i["reason"]) for i in items}


@pytest.mark.parametrize("the_fact, expected, reason_part", [
    (fact("prod_db", writes=0), "keep", "protected"),
    (fact("shop_extra"), "keep", "shop"),
    (fact("old_dev", env=["/srv/www/x/shared/.env"]), "keep", ".env"),
    (fact("old_dev", connections=2), "review", "connection"),
    (fact("old_dev", writes=5), "review", "activity"),
    (fact("old_dev", window=3600), "review", "shorter"),
    (fact("old_dev"), "retire", "idle"),
    (fact("gone_site_db", engine="postgresql"), "retire", "idle"),
    (fact("undeclared"), "retire", "not declared"),
])
def test_classification(the_fact, expected, reason_part):
    cls, reason = classify(the_fact)[the_fact["name"]]
    assert cls == expected
    assert reason_part in reason


def test_protected_wins_over_everything():
    assert classify(fact("prod_db", connections=3, writes=9))["prod_db"][0] == "keep"


def test_reads_count_only_when_the_policy_says_so():
    assert classify(fact("old_dev", reads=50))["old_dev"][0] == "retire"
    assert classify(fact("old_dev", reads=50), policy={"count_reads": True})["old_dev"][0] == "review"


def test_no_evidence_is_review():
    f = fact("old_dev")
    f["activity"] = {"reads": None, "writes": None, "window_source": "performance_schema is off"}
    cls, reason = classify(f)["old_dev"]
    assert cls == "review" and "performance_schema" in reason


def test_same_name_other_engine_is_not_declared():
    items = classify(fact("old_dev", engine="postgresql"))
    assert items["old_dev"] == ("retire", items["old_dev"][1]) and "not declared" in items["old_dev"][1]


def test_report_and_markdown():
    items = db_cleanup.db_classify({"mysql/old_dev": fact("old_dev"), "mysql/prod_db": fact("prod_db")}, DATABASES, SITES)
    report = db_cleanup.db_cleanup_report(items, "whc", generated_at="2026-11-24T00:00:00+00:00")
    assert report["summary"] == {"keep": ["mysql/prod_db"], "review": [], "retire": ["mysql/old_dev"]}
    text = db_cleanup.db_cleanup_markdown(report)
    assert "| old_dev | mysql | **retire** |" in text
    assert "nothing was changed" in text


def test_select_and_unmatched():
    items = db_cleanup.db_classify({"mysql/old_dev": fact("old_dev"), "postgresql/old_dev": fact("old_dev", engine="postgresql")},
                                   DATABASES, SITES)
    assert len(db_cleanup.db_select(items, ["old_dev"])) == 2
    assert [i["engine"] for i in db_cleanup.db_select(items, ["postgresql/old_dev"])] == ["postgresql"]
    assert db_cleanup.db_unmatched(["old_dev", "nope"], items) == ["nope"]


def test_db_users_one_per_site_with_its_hosts():
    hostvars = {"web_01": {"private_ip": "10.0.0.31"}, "web_02": {"private_ip": "10.0.0.32"}}
    users = db_cleanup.db_users(DATABASES, SITES, {"shop": {"db_password": "s3cret"}}, hostvars)
    shop = [u for u in users if u["name"] == "shop"][0]
    assert shop == {"name": "shop", "password": "s3cret", "databases": ["prod_db", "shop_extra"],
                    "hosts": ["localhost", "10.0.0.31", "10.0.0.32"]}
    gone = [u for u in users if u["name"] == "gone"][0]
    assert gone["password"] is None
    assert "old_dev" not in [d for u in users for d in u["databases"]]


def test_db_users_unknown_host_is_skipped():
    class Undefined(dict):
        def __getitem__(self, key):
            raise KeyError(key)
    users = db_cleanup.db_users({"a": {"site": "shop"}}, {"shop": {"hosts": ["nowhere"]}}, {}, Undefined())
    assert users[0]["hosts"] == ["localhost"]


def test_db_users_local_hosts_are_those_given():
    users = db_cleanup.db_users({"a": {"site": "shop"}}, {"shop": {"hosts": []}}, {}, {}, ["localhost", "127.0.0.1"])
    assert users[0]["hosts"] == ["localhost", "127.0.0.1"]


def test_db_remote_clients_leave_out_local_names_and_the_servers_own_address():
    users = [{"hosts": ["localhost", "127.0.0.1", "10.0.0.11"]}, {"hosts": ["localhost", "10.0.0.31", "10.0.0.11"]}]
    assert db_cleanup.db_remote_clients(users, ["localhost", "127.0.0.1"], "10.0.0.11") == ["10.0.0.31"]
    assert db_cleanup.db_remote_clients(users[:1], ["localhost", "127.0.0.1"], "10.0.0.11") == []   # aws_01's case
    assert db_cleanup.db_remote_clients(users, ["localhost"]) == ["10.0.0.11", "10.0.0.31", "127.0.0.1"]
    assert db_cleanup.db_remote_clients([], ["localhost"], None) == []
