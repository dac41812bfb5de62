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


class FilterModule:
    """Load-balancer filters."""

    def filters(self):
        return {"lb_backends": lb_backends, "lb_acme_sites": lb_acme_sites}
