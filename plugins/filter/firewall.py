"""Firewall rules derived from the data model: which sources may reach which port of a host.

Pure Python (no Ansible import needed by the logic), unit-tested in tests/unit/plugins/filter/test_firewall.py.
The firewall role renders the result into /etc/nftables.conf; nothing is opened by hand.

Rules (inbound; loopback and established traffic are always accepted by the role):
- 22/tcp from `admin_networks`, on every host.
- 80/443 from anywhere on hosts of group `web` (they serve directly today) and `lb`.
- 3306 (group `mysql`) / 5432 (group `postgresql`): from the web hosts of the active sites whose
  databases this host holds (the host itself is reached over loopback and is left out).
- 6379 (group `redis`): from the web hosts of active sites spread over several hosts (they share
  sessions, cache and queues through Redis). A replicated Redis (two or more hosts in `redis`, redis.yml):
  the sites reach it through the load balancers (lb_redis_address), so 6379 on the Redis hosts is open
  to the load balancers (HAProxy's role check and its connections), the other Redis hosts (replication)
  and the Sentinels (group `redis_sentinel`), and on the `lb` hosts to the web hosts of those sites;
  26379 (Sentinel) on each Sentinel host from the other Sentinels. A single Redis with no load
  balancer in front keeps the direct rule.
- VRRP (IP protocol 112, `proto: vrrp`, no port) on `lb` hosts from the other load balancers, when
  keepalived holds their floating address (`lb_floating_mode` vrrp).
- 8108 (groups `typesense`, `typesense_legacy`): from the web hosts of active sites with
  `search: typesense`; on `typesense` nodes also 8107 and 8108 from the other nodes (raft peering).
- The replicated database tier (#18, docs/databases.md): on `galera` members 3306 from the load
  balancers, the other members and the `mysql` hosts (a move back pulls from a member, db_move.yml),
  4567/4568/4444 (replication, incremental and full state transfer) from the other members, 9200
  (the Synced check) from the load balancers; on `patroni` members 5432 and 8008 (Patroni's REST
  API) from the load balancers and the other members, 2379/2380 (etcd) from the other members; on
  `lb` hosts 3306/5432 (the tier's one address) from the web hosts of the active sites whose
  databases the data model places on the tier.
"""

import ipaddress

ANYWHERE = ["0.0.0.0/0", "::/0"]

PORTS = {
    "ssh": 22,
    "http": 80,
    "https": 443,
    "mysql": 3306,
    "postgresql": 5432,
    "redis": 6379,
    "redis_sentinel": 26379,
    "typesense_peering": 8107,
    "typesense_api": 8108,
    "galera_replication": 4567,
    "galera_ist": 4568,
    "galera_sst": 4444,
    "galera_check": 9200,
    "patroni_api": 8008,
    "etcd_client": 2379,
    "etcd_peer": 2380,
}
TIER_GROUPS = {"mysql": "galera", "postgresql": "patroni"}

ENGINE_PORTS = {"mysql": ("mysql", 3306), "postgresql": ("postgresql", 5432)}


class FirewallError(ValueError):
    """The data model cannot give a safe rule set (unknown address, no admin network)."""


def _address(host, hostvars):
    """Return the private address of `host`, as a network string, or raise FirewallError."""
    value = hostvars.get(host)
    if isinstance(value, dict):
        value = value.get("private_ip")
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise FirewallError(f"host {host}: private_ip: '{value}' is not an address (fill it in the inventory)") from None


def _network(value, where):
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise FirewallError(f"{where}: '{value}' is not an address or network") from None


def _active(sites):
    return {
        name: site
        for name, site in (sites or {}).items()
        if isinstance(site, dict) and site.get("status", "active") != "retired"
    }


def _sort_sources(sources):
    def key(net):
        parsed = ipaddress.ip_network(net)
        return (parsed.version, parsed.network_address, parsed.prefixlen)

    return sorted(set(sources), key=key)


class _Rules:
    """The rules of one host being built: who the host is, its peers' addresses, the sites it serves."""

    def __init__(self, hostname, groups, hostvars_subset, sites, databases):
        self.hostname = hostname
        self.hostvars = hostvars_subset or {}
        self.sites = _active(sites)
        self.databases = databases or {}
        self.member = {name: set(hosts or []) for name, hosts in (groups or {}).items()}
        self.rules = {}

    def in_group(self, group):
        return self.hostname in self.member.get(group, set())

    def add(self, port, sources, reason, proto="tcp"):
        sources = [s for s in sources if s]
        if not sources:
            return
        entry = self.rules.setdefault((port, proto), {"port": port, "proto": proto, "sources": [], "reasons": []})
        entry["sources"].extend(sources)
        if reason not in entry["reasons"]:
            entry["reasons"].append(reason)

    def hosts_of(self, site_names):
        """The addresses of the hosts serving these sites, this host left out."""
        found = set()
        for name in site_names:
            found.update(self.sites[name].get("hosts") or [])
        found.discard(self.hostname)
        return [_address(h, self.hostvars) for h in sorted(found)]

    def others(self, group):
        """The addresses of the other members of a group."""
        return [_address(h, self.hostvars) for h in sorted(self.member.get(group, set()) - {self.hostname})]

    def owners(self, engine, db_hosts):
        """The active sites owning a database of this engine on one of these hosts."""
        return sorted({
            db.get("site") for db in self.databases.values()
            if isinstance(db, dict) and db.get("engine") == engine and db.get("host") in db_hosts
            and db.get("site") in self.sites
        })

    def result(self):
        return [{"port": port, "proto": proto, "sources": _sort_sources(entry["sources"]),
                 "reason": "; ".join(entry["reasons"])}
                for (port, proto), entry in sorted(self.rules.items())]


def _edge_rules(r, lb_floating_mode):
    """HTTP(S) on web and lb hosts; VRRP between the load balancers."""
    if r.in_group("web") or r.in_group("lb"):
        role = "web" if r.in_group("web") else "lb"
        r.add(PORTS["http"], ANYWHERE, f"http on a {role} host")
        r.add(PORTS["https"], ANYWHERE, f"https on a {role} host")
    if r.in_group("lb") and str(lb_floating_mode or "") == "vrrp":
        r.add(0, r.others("lb"), "vrrp adverts between the load balancers (keepalived)", proto="vrrp")


def _redis_rules(r):
    """A replicated Redis (redis.yml: a replica and Sentinels) is reached through the load balancers
    (lb_redis_address); with no load balancer the sites reach the first Redis host directly."""
    lbs = r.others("lb")
    shared = sorted(name for name, site in r.sites.items() if len(site.get("hosts") or []) > 1)
    replicated = len(r.member.get("redis", set())) > 1
    through_lb = replicated and bool(r.member.get("lb"))
    if r.in_group("redis"):
        if not through_lb:
            r.add(PORTS["redis"], r.hosts_of(shared), f"redis for the web hosts of {', '.join(shared)}")
        if replicated:
            r.add(PORTS["redis"], lbs, "redis for the load balancers (role check, the sites' connections)")
            r.add(PORTS["redis"], r.others("redis"), "redis replication between the servers")
            r.add(PORTS["redis"], r.others("redis_sentinel"), "redis for the sentinels")
    if replicated and r.in_group("redis_sentinel"):
        r.add(PORTS["redis_sentinel"], r.others("redis_sentinel"), "redis sentinel between the sentinels")
    if through_lb and r.in_group("lb"):
        r.add(PORTS["redis"], r.hosts_of(shared), f"redis through the load balancers for the web hosts of {', '.join(shared)}")


def _search_rules(r):
    """Typesense's API for the web hosts of the search sites; peering and API between the nodes."""
    if r.in_group("typesense") or r.in_group("typesense_legacy"):
        searching = sorted(name for name, site in r.sites.items() if site.get("search") == "typesense")
        r.add(PORTS["typesense_api"], r.hosts_of(searching), f"typesense for the web hosts of {', '.join(searching)}")
    if r.in_group("typesense"):
        peers = r.others("typesense")
        r.add(PORTS["typesense_peering"], peers, "typesense peering between the nodes")
        r.add(PORTS["typesense_api"], peers, "typesense api between the nodes")


def _database_rules(r):
    """Databases on the old servers (per site), the tier's members, and the tier's one address on the lbs."""
    for engine, (group, port) in ENGINE_PORTS.items():
        if r.in_group(group):
            owners = r.owners(engine, {r.hostname})
            r.add(port, r.hosts_of(owners), f"{engine} for the web hosts of {', '.join(owners)}")
            # db_move.yml: the tier's members copy, replicate or subscribe from the old server.
            r.add(port, r.others(TIER_GROUPS[engine]), f"{engine} for the database tier (db_move.yml's copy)")
    lbs = r.others("lb")
    if r.in_group("galera"):
        galera = r.others("galera")
        r.add(PORTS["mysql"], lbs, "mariadb for the load balancers (the tier's one address)")
        r.add(PORTS["mysql"], galera, "mariadb between the galera members")
        r.add(PORTS["mysql"], r.others("mysql"), "mariadb for the old servers (a move back, db_move.yml)")
        r.add(PORTS["galera_replication"], galera, "galera replication between the members")
        r.add(PORTS["galera_ist"], galera, "galera incremental state transfer")
        r.add(PORTS["galera_sst"], galera, "galera state transfer")
        r.add(PORTS["galera_check"], lbs, "galera synced check for the load balancers")
    if r.in_group("patroni"):
        patroni = r.others("patroni")
        r.add(PORTS["postgresql"], lbs + patroni, "postgresql for the load balancers and the standbys")
        r.add(PORTS["patroni_api"], lbs + patroni, "patroni rest api for the load balancers and the members")
        r.add(PORTS["etcd_client"], patroni, "etcd clients on the members")
        r.add(PORTS["etcd_peer"], patroni, "etcd peering between the members")
    if r.in_group("lb"):
        for engine, tier in TIER_GROUPS.items():
            owners = r.owners(engine, r.member.get(tier, set()))
            r.add(PORTS[engine], r.hosts_of(owners), f"{engine} on the tier for the web hosts of {', '.join(owners)}")


def firewall_rules(hostname, groups, hostvars_subset, sites, databases, admin_networks, lb_floating_mode=None):
    """Return the inbound rules of `hostname`: a list of {port, proto, sources, reason}.

    `lb_floating_mode` vrrp: the load balancers accept VRRP (proto vrrp, port 0: an IP protocol
    without ports) from each other, for keepalived's adverts.

    `groups` is Ansible's `groups`; `hostvars_subset` maps host -> {private_ip: ...} or host -> address
    (only the hosts that appear as sources need one); `sites` should already have site_defaults
    applied (a missing status counts as active). Rules are sorted by port; rules with no source
    are left out (the port stays closed). Raises FirewallError when an address is missing or
    when there is no admin network (the host would be locked out of SSH).
    """
    admin = [_network(n, "admin_networks") for n in (admin_networks or [])]
    if not admin:
        raise FirewallError("admin_networks: empty; SSH would be closed to everyone (list the administrators' networks)")
    r = _Rules(hostname, groups, hostvars_subset, sites, databases)
    r.add(PORTS["ssh"], admin, "ssh from the admin networks")
    _edge_rules(r, lb_floating_mode)
    _database_rules(r)
    _redis_rules(r)
    _search_rules(r)
    return r.result()


def firewall_split_sources(sources):
    """Split sources into {'ipv4': [...], 'ipv6': [...], 'any4': bool, 'any6': bool} for nftables."""
    out = {"ipv4": [], "ipv6": [], "any4": False, "any6": False}
    for source in sources or []:
        net = ipaddress.ip_network(source, strict=False)
        if net.prefixlen == 0:
            out["any4" if net.version == 4 else "any6"] = True
        else:
            out["ipv4" if net.version == 4 else "ipv6"].append(str(net))
    return out


def _wrap(func):
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except FirewallError as exc:
            try:
                from ansible.errors import AnsibleFilterError
            except ImportError:  # pragma: no cover - Ansible is always there when a play runs
                raise
            raise AnsibleFilterError(str(exc)) from exc

    call.__doc__ = func.__doc__
    return call


class FilterModule:
    """Firewall filters."""

    def filters(self):
        return {
            "firewall_rules": _wrap(firewall_rules),
            "firewall_split_sources": firewall_split_sources,
        }
