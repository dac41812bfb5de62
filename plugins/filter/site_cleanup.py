# -*- coding: utf-8 -*-
"""Filters of the site cleanup: classify what site_facts found into a plan report.

- ``site_cleanup_plan(facts, host, sites, default_keep=5, forge_managed=False)``: the report
  (same shape as the database cleanup's: generated_at, host, window, items[{name, kind,
  classification, reason, evidence, frees_bytes}]); classifications: orphan (claimed by no
  site), retired_present (claimed by a site marked retired), prune (releases beyond those kept).
- ``cleanup_markdown(report)``: its Markdown text (module_utils/cleanup_common.render_markdown).
"""

from __future__ import absolute_import, division, print_function

import importlib.util
import os
import sys

_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")


def _load(name):
    """module_utils files are shared with the modules; load them by path (filters have no module_utils)."""
    full = "ansible.module_utils." + name
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.spec_from_file_location("site_cleanup_" + name, os.path.join(_UTILS, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _evidence_text(traffic):
    if not traffic:
        return "no access log found"
    window = traffic.get("window") or {}
    text = "%d request(s) in %s day(s) (%d ignored: %s); logs cover from %s" % (
        traffic.get("requests", 0), window.get("days"), traffic.get("ignored", 0), traffic.get("ignoring"),
        window.get("covered_from") or "nothing")
    if not window.get("covers_whole_window"):
        text += " (less than the window)"
    return text


def _describe(item):
    parts = []
    if item.get("server_names"):
        parts.append("server_name " + " ".join(item["server_names"]))
    if item.get("user"):
        parts.append("user " + item["user"])
    files = (item.get("files") or []) + (item.get("dirs") or [])
    if files:
        parts.append(", ".join(files))
    return "; ".join(parts)


def site_cleanup_plan(facts, host, sites=None, default_keep=5, forge_managed=False):
    """Classify the inventory of one host into the report's items."""
    sites = sites or {}
    statuses = dict(facts.get("statuses") or {})
    statuses.update({name: (site or {}).get("status", "active") for name, site in sites.items()})
    prune_rule = _load("site_parse").releases_to_prune
    items, kept = [], 0
    for item in facts.get("items") or []:
        owner = item.get("claimed_by")
        if item.get("shared"):
            kept += 1
            continue
        if owner is None:
            evidence = _describe(item)
            if item.get("kind") == "vhost":
                evidence += "; " + _evidence_text(item.get("traffic"))
            items.append({"name": item["name"], "kind": item["kind"], "classification": "orphan",
                          "reason": "claimed by no site of the data model", "evidence": evidence,
                          "frees_bytes": int(item.get("size_bytes") or 0), "site": None})
            continue
        if statuses.get(owner) == "retired":
            traffic = (facts.get("traffic") or {}).get(owner)
            reason = "site %s is marked retired and still present (%s)" % (owner, item.get("claim_reason"))
            if traffic and traffic.get("requests"):
                reason += "; it served traffic in the window: retiring is refused until it is quiet"
            items.append({"name": owner, "kind": item["kind"], "classification": "retired_present",
                          "reason": reason, "evidence": _describe(item) + "; " + _evidence_text(traffic),
                          "frees_bytes": int(item.get("size_bytes") or 0), "site": owner})
            continue
        kept += 1
        if item.get("kind") == "directory" and item.get("releases"):
            keep = int((sites.get(owner) or {}).get("keep_releases", default_keep))
            ids = [r["id"] for r in item["releases"]]
            doomed = prune_rule(ids, item.get("current_release"), keep)
            for release in item["releases"]:
                if release["id"] in doomed:
                    items.append({"name": owner, "kind": "release", "classification": "prune",
                                  "reason": "beyond the %d release(s) kept (current %s and the previous one always stay)"
                                            % (keep, item.get("current_release")),
                                  "evidence": release["path"], "frees_bytes": int(release.get("size_bytes") or 0),
                                  "site": owner})
    notes = ["Plan only: nothing was changed.",
             "Traffic ignores health checks and local monitoring; see each item's evidence."]
    if forge_managed:
        notes.append("This host is managed by Laravel Forge: the cleanup only reports here (pass "
                     "forge_override=true to act), and every retired site must also be deleted in Forge.")
    return {
        "title": "Site cleanup plan: %s" % host,
        "generated_at": facts.get("generated_at"),
        "host": host,
        "window": facts.get("window"),
        "forge_managed": bool(forge_managed),
        "items": items,
        "summary": {"kept": kept, "orphan": sum(1 for i in items if i["classification"] == "orphan"),
                    "retired_present": sum(1 for i in items if i["classification"] == "retired_present"),
                    "prune": sum(1 for i in items if i["classification"] == "prune"),
                    "frees_bytes": sum(i["frees_bytes"] for i in items)},
        "notes": notes,
    }


def cleanup_markdown(report):
    """Markdown of a cleanup report (shared with the database cleanup)."""
    return _load("cleanup_common").render_markdown(report)


class FilterModule(object):
    """Site cleanup filters."""

    def filters(self):
        return {"site_cleanup_plan": site_cleanup_plan, "cleanup_markdown": cleanup_markdown}
