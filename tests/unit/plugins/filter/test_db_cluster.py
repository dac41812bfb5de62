import pytest

from ansible_collections.infra.hosting.plugins.filter.db_cluster import db_lb_services, db_members

HOSTVARS = {"db_01": {"private_ip": "10.0.0.61"}, "db_02": {"private_ip": "10.0.0.62"}, "db_03": {"private_ip": "10.0.0.63"}}


def test_members_in_group_order():
    assert db_members(["db_02", "db_01"], HOSTVARS) == [
        {"name": "db_02", "address": "10.0.0.62"}, {"name": "db_01", "address": "10.0.0.61"}]


def test_member_without_address_is_named():
    with pytest.raises(ValueError, match="db_04 has no private_ip"):
        db_members(["db_04"], {"db_04": {}})


def test_services_one_galera_writer_and_patroni_primary_check():
    members = db_members(["db_01", "db_02", "db_03"], HOSTVARS)
    mariadb, postgresql = db_lb_services(members, members, "10.0.0.21")
    assert mariadb["bind"] == "10.0.0.21:3306" and mariadb["single_writer"] and mariadb["check_port"] == 9200
    assert [s["name"] for s in mariadb["servers"]] == ["db_01", "db_02", "db_03"]
    assert postgresql["check_path"] == "/primary" and postgresql["check_port"] == 8008
    # Patroni writes only the status line to OPTIONS: nothing left to write when HAProxy closes after reading it.
    assert postgresql["check_method"] == "OPTIONS" and "check_method" not in mariadb
    assert not postgresql["single_writer"]


def test_engine_without_members_gets_no_service():
    assert [s["name"] for s in db_lb_services([], [{"name": "a", "address": "1"}], "x")] == ["postgresql"]


def test_floating_address_bound_beside_the_own_one_transparent():
    members = db_members(["db_01", "db_02", "db_03"], HOSTVARS)
    mariadb, postgresql = db_lb_services(members, members, ["10.0.0.21", "10.0.0.20", "10.0.0.21"])
    assert mariadb["bind"] == "10.0.0.21:3306,10.0.0.20:3306 transparent"
    assert postgresql["bind"] == "10.0.0.21:5432,10.0.0.20:5432 transparent"


def test_no_address_to_bind_is_refused():
    with pytest.raises(ValueError, match="no address to bind"):
        db_lb_services([{"name": "a", "address": "1"}], [], ["", None])
