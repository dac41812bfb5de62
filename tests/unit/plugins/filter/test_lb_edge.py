"""The edge without a single point of failure: addresses the load balancers bind, the replicated
Redis behind them and the address the sites' .env names (plugins/filter/lb.py)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.infra.hosting.plugins.filter import lb

HOSTVARS = {"lb_01": {"private_ip": "10.0.0.21"}, "lb_02": {"private_ip": "10.0.0.22"},
            "redis_01": {"private_ip": "10.0.0.51"}, "redis_02": {"private_ip": "10.0.0.52"}}


@pytest.mark.parametrize("mode, floating, expected", [
    ("vrrp", "10.0.0.20/24", ["10.0.0.21", "10.0.0.20"]),
    ("vrrp", "10.0.0.20", ["10.0.0.21", "10.0.0.20"]),
    ("vrrp", "TO-FILL", ["10.0.0.21"]),
    ("vrrp", "", ["10.0.0.21"]),
    ("provider", "10.0.0.20/24", ["10.0.0.21"]),
    ("none", None, ["10.0.0.21"]),
    ("vrrp", "10.0.0.21/24", ["10.0.0.21"]),
])
def test_bind_addresses_add_the_floating_address_only_under_vrrp(mode, floating, expected):
    assert lb.lb_bind_addresses("10.0.0.21", mode, floating) == expected


def test_a_single_redis_gets_no_load_balancer_service():
    assert lb.lb_redis_services(["redis_01"], HOSTVARS, ["10.0.0.21"]) == []
    assert lb.lb_redis_services([], HOSTVARS, ["10.0.0.21"]) == []


def test_a_replicated_redis_is_one_service_checked_by_role_on_both_addresses():
    [service] = lb.lb_redis_services(["redis_01", "redis_02"], HOSTVARS, ["10.0.0.21", "10.0.0.20"], 6379, "healthcheck")
    assert service["bind"] == "10.0.0.21:6379,10.0.0.20:6379 transparent"
    assert service["check"] == "redis" and service["check_user"] == "healthcheck"
    assert not service["single_writer"]
    assert service["servers"] == [{"name": "redis_01", "address": "10.0.0.51", "port": 6379},
                                  {"name": "redis_02", "address": "10.0.0.52", "port": 6379}]
    [alone] = lb.lb_redis_services(["redis_01", "redis_02"], HOSTVARS, "10.0.0.21")
    assert alone["bind"] == "10.0.0.21:6379"


@pytest.mark.parametrize("hosts, hostvars, binds, user, words", [
    (["redis_01", "redis_03"], HOSTVARS, ["10.0.0.21"], "healthcheck", "redis_03 has no private_ip"),
    (["redis_01", "redis_02"], HOSTVARS, [], "healthcheck", "no address to bind"),
    (["redis_01", "redis_02"], HOSTVARS, ["10.0.0.21"], "", "health check user"),
])
def test_a_replicated_redis_without_what_it_needs_is_refused(hosts, hostvars, binds, user, words):
    with pytest.raises(AnsibleFilterError, match=words):
        lb.lb_redis_services(hosts, hostvars, binds, 6379, user)


@pytest.mark.parametrize("redis, lbs, mode, floating, expected", [
    ([], ["lb_01"], "vrrp", "10.0.0.20/24", ""),
    (["redis_01"], ["lb_01", "lb_02"], "vrrp", "10.0.0.20/24", "10.0.0.51"),
    (["redis_01", "redis_02"], ["lb_01", "lb_02"], "vrrp", "10.0.0.20/24", "10.0.0.20"),
    (["redis_01", "redis_02"], ["lb_01", "lb_02"], "provider", "203.0.113.9", "10.0.0.21"),
    (["redis_01", "redis_02"], ["lb_01"], "vrrp", "TO-FILL", "10.0.0.21"),
    (["redis_01", "redis_02"], [], "vrrp", "10.0.0.20/24", "10.0.0.51"),
])
def test_the_sites_redis_address_is_the_master_or_the_load_balancers(redis, lbs, mode, floating, expected):
    assert lb.lb_redis_address(redis, lbs, HOSTVARS, mode, floating) == expected
