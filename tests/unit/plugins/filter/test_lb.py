"""The load balancer's backends and certificate requests, derived from the data model."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.infra.hosting.plugins.filter import lb

SITES = {
    "aerotalent": {"domains": ["aerotalent.test", "www.aerotalent.test"], "hosts": ["web_01", "web_02"],
                   "health_path": "/up", "status": "active"},
    "aeroweb": {"domains": ["aeroweb.test"], "hosts": ["web_01"], "health_path": "/health", "status": "active"},
    "old": {"domains": ["old.test"], "hosts": ["web_01"], "status": "retired"},
}
HOSTVARS = {"web_01": {"private_ip": "10.0.0.31"}, "web_02": {"private_ip": "10.0.0.32"}, "web_03": {"private_ip": "10.0.0.33"}}


def test_backends_follow_the_data_model_in_order():
    backends = lb.lb_backends(SITES, ["aeroweb", "aerotalent", "old", "missing"], HOSTVARS)
    assert [b["name"] for b in backends] == ["aeroweb", "aerotalent"]
    talent = backends[1]
    assert talent["domains"] == ["aerotalent.test", "www.aerotalent.test"] and talent["health_path"] == "/up"
    assert talent["servers"] == [{"name": "web_01", "address": "10.0.0.31", "port": 80},
                                 {"name": "web_02", "address": "10.0.0.32", "port": 80}]


def test_extra_hosts_join_after_the_listed_ones_once():
    backends = lb.lb_backends(SITES, ["aerotalent"], HOSTVARS, {"web_03": ["aerotalent"], "web_01": ["aerotalent"]}, 8080)
    assert [s["name"] for s in backends[0]["servers"]] == ["web_01", "web_02", "web_03"]
    assert {s["port"] for s in backends[0]["servers"]} == {8080}


def test_a_server_without_address_names_the_site_and_host():
    with pytest.raises(AnsibleFilterError, match="site aerotalent: server web_02 has no private_ip"):
        lb.lb_backends(SITES, ["aerotalent"], {"web_01": {"private_ip": "10.0.0.31"}})


def test_acme_sites_publish_answers_on_the_servers():
    acme = lb.lb_acme_sites(lb.lb_backends(SITES, ["aerotalent"], HOSTVARS))
    assert acme == {"aerotalent": {"domains": ["aerotalent.test", "www.aerotalent.test"], "challenge_hosts": ["web_01", "web_02"]}}
