"""Filters of the load-balancer tier: the HAProxy backends from the data model."""

from ansible.errors import AnsibleFilterError


def lb_backends(sites, lb_sites, hostvars, extra_hosts=None, port=80):
    """Return the HAProxy backends (haproxy_sites) of the sites behind the load balancers.

    sites: datamodel_sites (site_defaults applied); lb_sites: names of the sites behind the load
    balancers; hostvars: Ansible's (private_ip of each server); extra_hosts: {host: [site, ...]},
    servers to add before the data model lists them (add_node.yml); port: the nodes' web port.
    Returns [{name, domains, health_path, servers: [{name, address, port}]}] for the active sites
    of lb_sites, in lb_sites order; servers in the site's `hosts` order, then the extra ones.
    """
    result = []
    for name in lb_sites or []:
        site = (sites or {}).get(name)
        if not site or site.get("status", "active") != "active":
            continue
        servers = list(site.get("hosts") or [])
        for host, host_sites in (extra_hosts or {}).items():
            if name in (host_sites or []) and host not in servers:
                servers.append(host)
        backend = []
        for server in servers:
            address = (hostvars.get(server) or {}).get("private_ip")
            if not address:
                raise AnsibleFilterError(f"lb_backends: site {name}: server {server} has no private_ip in the inventory")
            backend.append({"name": server, "address": address, "port": int(port)})
        result.append({"name": name, "domains": list(site.get("domains") or []),
                       "health_path": site.get("health_path", "/up"), "servers": backend})
    return result


def lb_acme_sites(backends):
    """Return acme_sites for the load balancer: each backend's domains, answers published on its servers."""
    return {b["name"]: {"domains": b["domains"], "challenge_hosts": [s["name"] for s in b["servers"]]} for b in backends or []}


def lb_bind_addresses(private_ip, floating_mode=None, floating_address=None):
    """Return the addresses the load balancers' TCP services bind: this host's own and, when
    keepalived holds a floating one (`floating_mode` vrrp, address set), that one too, bare (no
    prefix length; haproxy binds it `transparent`, so the member that does not hold it still starts)."""
    addresses = [str(private_ip)]
    floating = str(floating_address or "").split("/", maxsplit=1)[0]
    if str(floating_mode or "") == "vrrp" and floating and floating.upper() != "TO-FILL" and floating not in addresses:
        addresses.append(floating)
    return addresses


def lb_redis_services(redis_hosts, hostvars, bind_addresses, port=6379, check_user="healthcheck"):
    """Return the HAProxy TCP service of a replicated Redis (two or more hosts), else [].

    Every Redis host is a server; HAProxy sends connections only to the one answering role:master
    to INFO replication (haproxy's `check: redis`), so the sites keep one address through a failover.
    """
    hosts = list(redis_hosts or [])
    if len(hosts) < 2:
        return []
    if not check_user:
        raise AnsibleFilterError("lb_redis_services: a replicated Redis needs its health check user (redis_health_user)")
    servers = []
    for host in hosts:
        address = (hostvars.get(host) or {}).get("private_ip")
        if not address:
            raise AnsibleFilterError(f"lb_redis_services: Redis host {host} has no private_ip in the inventory")
        servers.append({"name": str(host), "address": str(address), "port": int(port)})
    addresses = [bind_addresses] if isinstance(bind_addresses, str) else list(bind_addresses or [])
    if not addresses:
        raise AnsibleFilterError("lb_redis_services: no address to bind")
    bind = ",".join(f"{address}:{int(port)}" for address in addresses) + (" transparent" if len(addresses) > 1 else "")
    return [{"name": "redis", "bind": bind, "check": "redis",
             "check_user": check_user, "single_writer": False, "servers": servers}]


def lb_redis_address(redis_hosts, lb_hosts, hostvars, floating_mode=None, floating_address=None):
    """Return the Redis address the sites' .env names (REDIS_HOST).

    One Redis host: that host. Two or more (replicated, Sentinel): the load balancers, which send
    the connections to the current master (lb_redis_services): their floating address under VRRP,
    else the first load balancer's own. '' when there is no Redis.
    """
    redis_hosts = list(redis_hosts or [])
    lb_hosts = list(lb_hosts or [])
    if not redis_hosts:
        return ""
    if len(redis_hosts) == 1 or not lb_hosts:
        return str((hostvars.get(redis_hosts[0]) or {}).get("private_ip", ""))
    first_lb = str((hostvars.get(lb_hosts[0]) or {}).get("private_ip", ""))
    return lb_bind_addresses(first_lb, floating_mode, floating_address)[-1]


class FilterModule:
    """Load-balancer filters."""

    def filters(self):
        return {"lb_backends": lb_backends, "lb_acme_sites": lb_acme_sites,
                "lb_bind_addresses": lb_bind_addresses, "lb_redis_services": lb_redis_services,
                "lb_redis_address": lb_redis_address}
