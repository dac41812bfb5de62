# -*- coding: utf-8 -*-
"""Members of the database tier and the load balancer's TCP services in front of it.

- ``db_members(hosts, hostvars, key='private_ip')``: ``[{name, address}]`` of `hosts` (a group),
  in the group's order, each address read from the host's `key` variable. The galera and patroni
  roles take this list (`galera_members`, `patroni_members`).
- ``db_lb_services(galera, patroni, bind_address)``: the ``haproxy_tcp_services`` of the tier
  bound on `bind_address`, one address or a list (the load balancer's own address and the floating
  address keepalived moves between the load balancers: bound ``transparent``, so that the backup
  load balancer, which does not hold it, still starts and answers as soon as it takes it over):
  MariaDB on 3306, checked through the Galera Synced check (port 9200), one writer at a time
  (first member, the others backup: Galera certifies concurrent writers and aborts one of them);
  PostgreSQL on 5432, checked through Patroni's ``GET /primary`` (port 8008, 200 on the leader only).
  An engine without members gets no service.
- ``db_tls_subject_alt_names(addresses)``: the subject alternative names of a tier member's
  certificate (roles/db_tls): ``IP:<address>`` or ``DNS:<name>`` for each address or name given
  (the member's own, every load balancer's, the floating one), prefix lengths dropped, duplicates,
  empty values and placeholders (TO-FILL, TO-CONFIRM, *.invalid) left out, in their order. The
  sites connect through HAProxy in TCP mode, so the member's certificate must name HAProxy's
  addresses for a client that checks the name (verify-full, --ssl-verify-server-cert).
"""

from __future__ import annotations

import ipaddress
import re

# Documentation (ansible-doc -t filter infra.hosting.<name>): db_members.yml and db_lb_services.yml beside this file.

GALERA_PORT = 3306
GALERA_CHECK_PORT = 9200
POSTGRESQL_PORT = 5432
PATRONI_REST_PORT = 8008


def db_members(hosts, hostvars, key="private_ip"):
    """Return [{name, address}] for each host of `hosts`, the address from its `key` variable."""
    members = []
    for host in hosts or []:
        address = hostvars[host].get(key)
        if not address:
            raise ValueError("db_members: host %s has no %s" % (host, key))
        members.append({"name": str(host), "address": str(address)})
    return members


def _bind(addresses, port):
    """HAProxy bind of `port` on each address; `transparent` when there are several (a floating one)."""
    line = ",".join("%s:%d" % (address, port) for address in addresses)
    return line + (" transparent" if len(addresses) > 1 else "")


def db_lb_services(galera, patroni, bind_address):
    """Return the HAProxy TCP services of the database tier bound on `bind_address` (one or a list)."""
    addresses = [bind_address] if isinstance(bind_address, str) else list(bind_address or [])
    addresses = [str(a) for a in dict.fromkeys(addresses) if a]
    if not addresses:
        raise ValueError("db_lb_services: no address to bind")
    services = []
    if galera:
        services.append({
            "name": "mariadb",
            "bind": _bind(addresses, GALERA_PORT),
            "check_port": GALERA_CHECK_PORT,
            "check_path": "/",
            "single_writer": True,
            "servers": [{"name": m["name"], "address": m["address"], "port": GALERA_PORT} for m in galera],
        })
    if patroni:
        services.append({
            "name": "postgresql",
            "bind": _bind(addresses, POSTGRESQL_PORT),
            "check_port": PATRONI_REST_PORT,
            "check_path": "/primary",
            # Patroni answers OPTIONS with the status line only: a GET's JSON body, written after HAProxy has read the
            # status and closed, logged a ConnectionResetError traceback on every member for each check (every second).
            "check_method": "OPTIONS",
            "single_writer": False,
            "servers": [{"name": m["name"], "address": m["address"], "port": POSTGRESQL_PORT} for m in patroni],
        })
    return services


DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _placeholder(value):
    return value.upper().startswith(("TO-FILL", "TO-CONFIRM")) or value.endswith(".invalid")


def db_tls_subject_alt_names(addresses):
    """Return ['IP:a', 'DNS:n', ...] for the addresses and names in `addresses` (nested lists flattened)."""
    flat = []
    stack = [addresses]
    while stack:
        item = stack.pop(0)
        if isinstance(item, (list, tuple)):
            stack[0:0] = list(item)
        elif item is not None:
            flat.append(str(item).strip())
    names = []
    for value in flat:
        if not value or _placeholder(value):
            continue
        bare = value.split("/", maxsplit=1)[0]
        try:
            name = "IP:%s" % ipaddress.ip_address(bare)
        except ValueError:
            if not DNS_NAME_RE.match(bare):
                raise ValueError("db_tls_subject_alt_names: '%s' is neither an address nor a DNS name" % value) from None
            name = "DNS:%s" % bare.lower()
        if name not in names:
            names.append(name)
    return names


class FilterModule:
    """Database tier filters."""

    def filters(self):
        """Map filter names to functions."""
        return {"db_members": db_members, "db_lb_services": db_lb_services,
                "db_tls_subject_alt_names": db_tls_subject_alt_names}
