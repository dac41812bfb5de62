# -*- coding: utf-8 -*-
"""Filters of the database roles and of the database cleanup.

- ``db_users``: the per-site database users of one host (name, password, databases, client hosts),
  computed from the data model by the play and handed to the mysql / postgresql roles.
- ``db_classify``: classifies every database of a host as keep, review or retire, from the facts
  of the db_facts module and the data model, with the reason and the evidence.
- ``db_cleanup_markdown``: the Markdown report of a classification.
"""

from __future__ import annotations

import datetime

CLASSES = ("keep", "review", "retire")
DEFAULT_POLICY = {
    # The activity evidence must cover this many seconds before anything is classified retire.
    "min_window_seconds": 30 * 86400,
    # Count reads as activity (off by default: scheduled dumps read every database).
    "count_reads": False,
}


def _private_ip(hostvars, host):
    """hostvars[host].private_ip, or None when the host or the address is unknown here."""
    try:
        address = hostvars[host]["private_ip"]
    except Exception:  # HostVars raises its own undefined errors. pylint: disable=broad-except
        return None
    return address if isinstance(address, str) and address else None


def db_users(databases, sites, vault_sites=None, hostvars=None, local_hosts=("localhost",)):
    """One user per site owning databases of ``databases`` (already limited to one host and engine).

    Returns a list sorted by name: {name, password, databases, hosts} where hosts are the client
    addresses allowed (the site's app hosts' private_ip, plus ``local_hosts``). A site without a
    vault password gets ``password: None`` (the role then keeps the existing password).
    """
    users = {}
    for db_name, db in sorted((databases or {}).items()):
        owner = (db or {}).get("site")
        if not owner:
            continue
        site = (sites or {}).get(owner) or {}
        user = users.setdefault(owner, {
            "name": owner,
            "password": ((vault_sites or {}).get(owner) or {}).get("db_password"),
            "databases": [],
            "hosts": list(local_hosts),
        })
        user["databases"].append(db_name)
        for host in site.get("hosts") or []:
            address = _private_ip(hostvars, host)
            if address and address not in user["hosts"]:
                user["hosts"].append(address)
    return [users[name] for name in sorted(users)]


def db_remote_clients(users, local_hosts=(), own_address=None):
    """The client addresses of ``users`` (db_users' answer) that are not on the server itself.

    ``local_hosts`` and the server's own ``own_address`` (its private_ip: a site on the same host
    may name it) are local. A server with remote clients listens on its private address too.
    """
    local = set(local_hosts or ()) | ({own_address} if own_address else set())
    remote = []
    for user in users or []:
        for host in user.get("hosts") or []:
            if host not in local and host not in remote:
                remote.append(host)
    return sorted(remote)


def _model_references(name, db, sites):
    refs = []
    owner = (db or {}).get("site")
    for site_name, site in sorted((sites or {}).items()):
        if (site or {}).get("status", "active") != "active":
            continue
        if site_name == owner or name in ((site or {}).get("databases") or []):
            refs.append(site_name)
    return refs


def db_classify(facts, databases=None, sites=None, policy=None):
    """Classify each database of ``facts`` (the db_facts module's ``databases``) as keep/review/retire.

    The first rule that matches decides:
    protected -> keep; referenced by an active site of the data model -> keep; named by a .env
    file of the host -> keep; connections now -> review; activity in the window -> review; no
    evidence or a window shorter than the policy's -> review; otherwise retire.
    """
    pol = dict(DEFAULT_POLICY)
    pol.update(policy or {})
    items = []
    for key in sorted(facts or {}):
        fact = facts[key]
        name = fact["name"]
        db = (databases or {}).get(name)
        declared = db is not None and (db or {}).get("engine", fact.get("engine")) == fact.get("engine")
        model_refs = _model_references(name, db, sites) if declared else []
        activity = fact.get("activity") or {}
        writes = activity.get("writes")
        reads = activity.get("reads")
        window = activity.get("window_seconds")
        if declared and (db or {}).get("protected"):
            cls, reason = "keep", "protected in the data model"
        elif model_refs:
            cls, reason = "keep", "used by site(s) %s in the data model" % ", ".join(model_refs)
        elif fact.get("env_references"):
            cls, reason = "keep", "named by %s" % ", ".join(fact["env_references"])
        elif fact.get("connections"):
            cls, reason = "review", "%d connection(s) open now, but no site declares it" % fact["connections"]
        elif writes is None:
            cls, reason = "review", "no activity evidence (%s)" % activity.get("window_source", "unknown")
        elif writes or (pol["count_reads"] and reads):
            cls, reason = "review", "activity in the window (%s writes, %s reads), but no site declares it" % (writes, reads)
        elif window is None or window < pol["min_window_seconds"]:
            cls, reason = "review", "idle, but the window (%ss) is shorter than the %ss the policy needs" % (
                window, pol["min_window_seconds"])
        else:
            cls = "retire"
            reason = "idle for %ss (no connection, no write), referenced by no site%s" % (
                window, "" if declared else ", and not declared in the data model")
        items.append({
            "name": name,
            "engine": fact.get("engine"),
            "kind": "database",
            "classification": cls,
            "reason": reason,
            "declared": declared,
            "protected": bool(declared and (db or {}).get("protected")),
            "site": (db or {}).get("site") if declared else None,
            "model_references": model_refs,
            "frees_bytes": fact.get("size_bytes", 0) if cls == "retire" else 0,
            "evidence": {
                "size_bytes": fact.get("size_bytes"),
                "tables": fact.get("tables"),
                "connections": fact.get("connections"),
                "activity": activity,
                "env_references": fact.get("env_references", []),
                "last_dump": fact.get("last_dump"),
            },
        })
    return items


def _named(item, names):
    return item["name"] in names or "%s/%s" % (item["engine"], item["name"]) in names


def db_select(items, names):
    """The classified items the operator named (``name`` or ``engine/name``)."""
    return [item for item in items or [] if _named(item, names or [])]


def db_unmatched(names, items):
    """The names given that match no database of this host."""
    return [n for n in names or [] if not any(_named(item, [n]) for item in items or [])]


def db_cleanup_report(items, host, policy=None, generated_at=None):
    """Wrap classified items in the report shape shared with the site cleanup."""
    pol = dict(DEFAULT_POLICY)
    pol.update(policy or {})
    summary = {cls: sorted("%s/%s" % (i["engine"], i["name"]) for i in items if i["classification"] == cls) for cls in CLASSES}
    return {
        "generated_at": generated_at or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "host": host,
        "kind": "databases",
        "policy": pol,
        "summary": summary,
        "items": items,
    }


def _human(value):
    value = float(value or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return "%.0f %s" % (value, unit) if unit == "B" else "%.1f %s" % (value, unit)
        value /= 1024
    return str(value)


def db_cleanup_markdown(report):
    """Markdown text of a report made by db_cleanup_report."""
    lines = [
        "# Database cleanup plan: %s" % report.get("host"),
        "",
        "Generated %s. Plan only: nothing was changed. Retire a database with "
        "`ansible-playbook playbooks/db_cleanup.yml -l %s -e mode=retire -e retire=NAME -e confirm=NAME`."
        % (report.get("generated_at"), report.get("host")),
        "",
    ]
    for cls in CLASSES:
        lines.append("- **%s**: %s" % (cls, ", ".join(report["summary"].get(cls) or []) or "none"))
    lines += ["", "| Database | Engine | Class | Reason | Size | Tables | Conn. | Writes | Reads | Window | .env | Last dump |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for item in report.get("items", []):
        ev = item["evidence"]
        act = ev.get("activity") or {}
        dump = (ev.get("last_dump") or {}).get("mtime") or "none"
        window = "%s -> %s" % (act.get("window_start"), act.get("window_end"))
        lines.append("| %s | %s | **%s** | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            item["name"], item["engine"], item["classification"], item["reason"].replace("|", "/"),
            _human(ev.get("size_bytes")), ev.get("tables"), ev.get("connections"), act.get("writes"),
            act.get("reads"), window, ", ".join(ev.get("env_references") or []) or "-", dump))
    lines.append("")
    return "\n".join(lines)


class FilterModule:
    """Database filters."""

    def filters(self):
        return {
            "db_users": db_users,
            "db_remote_clients": db_remote_clients,
            "db_classify": db_classify,
            "db_cleanup_report": db_cleanup_report,
            "db_select": db_select,
            "db_unmatched": db_unmatched,
            "db_cleanup_markdown": db_cleanup_markdown,
        }
