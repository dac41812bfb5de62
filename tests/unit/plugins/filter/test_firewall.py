"""The firewall's allowed sources per port, derived from the lab's data model and from small cases."""

import os

import pytest
import yaml

from ansible_collections.infra.hosting.plugins.filter import datamodel
from ansible_collections.infra.hosting.plugins.filter import firewall

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
LAB = os.path.join(ROOT, "inventories", "lab")


def _load(name):
    with open(os.path.join(LAB, "group_vars", "all", name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _hosts(inventory):
    """The lab's hosts and their variables (group `lab_hosts`, inventories/lab/hosts.yml)."""
    return inventory["all"]["children"]["lab_hosts"]["hosts"]


def _groups(inventory):
    """Ansible's `groups`: each group's hosts, those of its child groups included (redis_sentinel)."""
    children = inventory["all"]["children"]

    def members(name):
        child = children.get(name) or {}
        found = list(child.get("hosts") or {})
        for sub in child.get("children") or {}:
            found += [h for h in members(sub) if h not in found]
        return found

    groups = {"all": list(_hosts(inventory))}
    for name in children:
        groups[name] = members(name)
    return groups


@pytest.fixture(scope="module")
def lab():
    with open(os.path.join(LAB, "hosts.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    platform = _load("platform.yml")
    return {
        "groups": _groups(inventory),
        "hostvars": {h: {"private_ip": v["private_ip"]} for h, v in _hosts(inventory).items()},
        "sites": datamodel.site_defaults(_load("sites.yml")["sites"], platform["site_defaults"]),
        "databases": _load("databases.yml")["databases"],
        "admin_networks": _load("admins.yml")["admin_networks"],
    }


def _rule_list(lab, host, **kwargs):
    return firewall.firewall_rules(
        host, lab["groups"], lab["hostvars"], lab["sites"], lab["databases"], lab["admin_networks"], **kwargs
    )


def _rules(lab, host, **kwargs):
    return {rule["port"]: rule["sources"] for rule in _rule_list(lab, host, **kwargs)}


def test_whc_opens_databases_only_to_the_hosts_of_their_sites(lab):
    assert _rules(lab, "whc") == {
        22: ["10.77.0.0/24"],
        80: ["0.0.0.0/0", "::/0"],
        443: ["0.0.0.0/0", "::/0"],
        # placementspot runs on whc_2 and keeps its MySQL databases on whc; the tier's members copy from
        # whc when a database moves (db_move.yml).
        3306: ["10.77.0.12/32"] + TIER,
        # aerotalent (web_01, web_02) keeps its PostgreSQL database on whc; the tier's members subscribe.
        5432: ["10.77.0.31/32", "10.77.0.32/32"] + TIER,
        # the legacy Typesense on whc serves aerotalent's web hosts; whc's own sites use loopback.
        8108: ["10.77.0.31/32", "10.77.0.32/32"],
    }


def test_aws_01_database_is_open_to_the_tier_only(lab):
    # campaigns belongs to aeromails, which runs on aws_01 itself: no web host reaches it; only the tier's
    # members, for a move (db_move.yml -e from=aws_01).
    assert _rules(lab, "aws_01") == {22: ["10.77.0.0/24"], 80: ANY, 443: ANY, 3306: TIER}


ANY = ["0.0.0.0/0", "::/0"]
# The database tier's members (groups galera and patroni: db_01..db_03).
TIER = ["10.77.0.61/32", "10.77.0.62/32", "10.77.0.63/32"]


@pytest.mark.parametrize("host", ["web_01", "web_02", "whc_2"])
def test_web_hosts_serve_http_and_https_to_everyone(lab, host):
    assert _rules(lab, host) == {22: ["10.77.0.0/24"], 80: ANY, 443: ANY}


@pytest.mark.parametrize("host, peer", [("lb_01", "10.77.0.22/32"), ("lb_02", "10.77.0.21/32")])
def test_lb_hosts_serve_the_sites_redis_sentinel_and_vrrp(lab, host, peer):
    """The lab's edge (#19): two load balancers holding the floating address (VRRP), a replicated Redis
    reached through them by the web hosts of aerotalent, a Sentinel on each load balancer."""
    rules = _rules(lab, host, lb_floating_mode="vrrp")
    assert rules == {
        0: [peer],
        22: ["10.77.0.0/24"], 80: ANY, 443: ANY,
        6379: ["10.77.0.31/32", "10.77.0.32/32"],
        26379: sorted({"10.77.0.21/32", "10.77.0.22/32", "10.77.0.51/32", "10.77.0.52/32"} - {f"{lab['hostvars'][host]['private_ip']}/32"}),
        # The tier's one address for whc's sites whose databases the lab places there (blcpa, aeroweb_staging).
        3306: ["10.77.0.11/32"], 5432: ["10.77.0.11/32"],
    }
    [vrrp] = [r for r in _rule_list(lab, host, lb_floating_mode="vrrp") if r["port"] == 0]
    assert vrrp["proto"] == "vrrp"
    # No VRRP rule when the provider moves the address (no keepalived).
    assert 0 not in _rules(lab, host, lb_floating_mode="provider")


def test_replicated_redis_for_the_load_balancers_replicas_and_sentinels(lab):
    # The web hosts reach Redis through HAProxy on the load balancers, not directly.
    assert _rules(lab, "redis_01") == {
        22: ["10.77.0.0/24"],
        6379: ["10.77.0.21/32", "10.77.0.22/32", "10.77.0.52/32"],
        26379: ["10.77.0.21/32", "10.77.0.22/32", "10.77.0.52/32"],
    }


def test_a_single_redis_opens_to_the_web_hosts_of_multi_host_sites(lab):
    groups = dict(lab["groups"], redis=["redis_01"], redis_sentinel=["redis_01", "lb_01", "lb_02"])
    rules = firewall.firewall_rules("redis_01", groups, lab["hostvars"], lab["sites"], lab["databases"], lab["admin_networks"])
    assert {r["port"]: r["sources"] for r in rules} == {22: ["10.77.0.0/24"], 6379: ["10.77.0.31/32", "10.77.0.32/32"]}
    lb_rules = firewall.firewall_rules("lb_01", groups, lab["hostvars"], lab["sites"], lab["databases"], lab["admin_networks"])
    assert {r["port"] for r in lb_rules} == {22, 80, 443, 3306, 5432}  # 3306/5432: the tier's one address


def test_typesense_node_opens_api_to_searching_sites_and_peering_to_other_nodes(lab):
    rules = _rules(lab, "typesense_01")
    assert rules[8107] == ["10.77.0.42/32", "10.77.0.43/32"]
    # whc's searching sites (aeroweb staging/dev) are remote to the cluster: whc is a source too.
    assert rules[8108] == ["10.77.0.11/32", "10.77.0.31/32", "10.77.0.32/32", "10.77.0.42/32", "10.77.0.43/32"]
    assert set(rules) == {22, 8107, 8108}


def test_host_in_no_group_gets_ssh_only(lab):
    assert _rules(lab, "labsvc") == {22: ["10.77.0.0/24"]}


def test_rules_carry_a_reason_and_a_protocol(lab):
    for rule in firewall.firewall_rules(
        "whc", lab["groups"], lab["hostvars"], lab["sites"], lab["databases"], lab["admin_networks"]
    ):
        assert rule["proto"] == "tcp"
        assert rule["reason"]
    reasons = {r["port"]: r["reason"] for r in firewall.firewall_rules(
        "whc", lab["groups"], lab["hostvars"], lab["sites"], lab["databases"], lab["admin_networks"])}
    assert "placementspot" in reasons[3306]


SMALL_GROUPS = {"all": ["db", "a", "b"], "mysql": ["db"], "web": ["a", "b"]}
SMALL_HOSTVARS = {"db": {"private_ip": "10.0.0.1"}, "a": {"private_ip": "10.0.0.2"}, "b": {"private_ip": "10.0.0.3"}}


def test_retired_site_loses_its_database_access():
    sites = {"one": {"hosts": ["a"]}, "two": {"hosts": ["b"], "status": "retired"}}
    dbs = {"one": {"engine": "mysql", "host": "db", "site": "one"}, "two": {"engine": "mysql", "host": "db", "site": "two"}}
    rules = firewall.firewall_rules("db", SMALL_GROUPS, SMALL_HOSTVARS, sites, dbs, ["192.0.2.0/24"])
    assert {r["port"]: r["sources"] for r in rules}[3306] == ["10.0.0.2/32"]


def test_database_without_site_opens_nothing():
    dbs = {"orphan": {"engine": "mysql", "host": "db", "site": None}}
    rules = firewall.firewall_rules("db", SMALL_GROUPS, SMALL_HOSTVARS, {}, dbs, ["192.0.2.0/24"])
    assert [r["port"] for r in rules] == [22]


def test_missing_admin_network_is_refused():
    with pytest.raises(firewall.FirewallError, match="admin_networks"):
        firewall.firewall_rules("db", SMALL_GROUPS, SMALL_HOSTVARS, {}, {}, [])


def test_unfilled_address_is_refused():
    hostvars = dict(SMALL_HOSTVARS, a={"private_ip": "TO-FILL"})
    dbs = {"one": {"engine": "mysql", "host": "db", "site": "one"}}
    with pytest.raises(firewall.FirewallError, match="host a: private_ip"):
        firewall.firewall_rules("db", SMALL_GROUPS, hostvars, {"one": {"hosts": ["a"]}}, dbs, ["192.0.2.0/24"])


def test_bad_admin_network_is_refused():
    with pytest.raises(firewall.FirewallError, match="not an address"):
        firewall.firewall_rules("db", SMALL_GROUPS, SMALL_HOSTVARS, {}, {}, ["office"])


def test_split_sources_for_nftables():
    split = firewall.firewall_split_sources(["0.0.0.0/0", "::/0", "10.0.0.2/32", "2001:db8::/64"])
    assert split == {"ipv4": ["10.0.0.2/32"], "ipv6": ["2001:db8::/64"], "any4": True, "any6": True}


def test_filter_plugin_exposes_both_filters():
    assert set(firewall.FilterModule().filters()) == {"firewall_rules", "firewall_split_sources"}


def test_hostvars_may_map_hosts_to_plain_addresses():
    dbs = {"one": {"engine": "mysql", "host": "db", "site": "one"}}
    rules = firewall.firewall_rules("db", SMALL_GROUPS, {"a": "10.0.0.2"}, {"one": {"hosts": ["a"]}}, dbs, ["192.0.2.0/24"])
    assert rules[-1] == {"port": 3306, "proto": "tcp", "sources": ["10.0.0.2/32"], "reason": "mysql for the web hosts of one"}


def test_tier_members_open_replication_to_each_other_and_health_checks_to_the_load_balancers(lab):
    rules = _rules(lab, "db_01")
    peers = ["10.77.0.62/32", "10.77.0.63/32"]
    lb = ["10.77.0.21/32", "10.77.0.22/32"]
    assert rules[4567] == peers and rules[4568] == peers and rules[4444] == peers
    assert rules[2379] == peers and rules[2380] == peers
    assert rules[9200] == lb
    # The old MariaDB/MySQL servers (whc, aws_01) reach a member for a move back (db_move.yml -e from=db_01).
    assert ["10.77.0.11/32", "10.77.0.13/32"] == [s for s in rules[3306] if s not in lb + peers]
    assert set(lb + peers) <= set(rules[3306]) and rules[5432] == sorted(lb + peers) and rules[8008] == sorted(lb + peers)
    assert 80 not in rules and 443 not in rules


def test_load_balancer_opens_the_tier_address_to_the_sites_using_it():
    groups = {"all": ["lb", "db", "w1"], "lb": ["lb"], "galera": ["db"], "web": ["w1"]}
    hostvars = {"lb": "10.0.0.20", "db": "10.0.0.61", "w1": "10.0.0.31"}
    sites = {"shop": {"hosts": ["w1"], "databases": ["shop"]}}
    databases = {"shop": {"engine": "mysql", "host": "db", "site": "shop"}}
    rules = {r["port"]: r for r in firewall.firewall_rules("lb", groups, hostvars, sites, databases, ["10.0.0.0/24"])}
    assert rules[3306]["sources"] == ["10.0.0.31/32"] and "on the tier" in rules[3306]["reason"]
    assert 5432 not in rules
