# -*- coding: utf-8 -*-
"""Filters of the search topic (Typesense keys).

typesense_keys_plan(existing, wanted, prefix, prune): which managed keys to delete and create.
typesense_scoped_key(parent_key, params): a Typesense scoped search key (HMAC, made offline).
search_site_keys(sites, site_keys): the Typesense keys the sites' search settings ask for.
"""

import base64
import hashlib
import hmac
import json

from ansible.errors import AnsibleFilterError


def typesense_keys_plan(existing, wanted, prefix="managed: ", prune=True):
    """Plan key changes from GET /keys's answer and the wanted keys.

    Typesense shows only the first 4 characters of a key (value_prefix), so a key is equal when its
    description, actions, collections and value prefix are; a changed key is deleted and created
    again. Only keys whose description starts with `prefix` are ever deleted.
    """
    existing = existing or []
    by_desc = {}
    for key in existing:
        by_desc.setdefault(key.get("description", ""), []).append(key)
    plan = {"create": [], "delete": []}
    wanted_descs = set()
    for want in wanted or []:
        desc = want["description"]
        if not desc.startswith(prefix):
            desc = prefix + desc
        wanted_descs.add(desc)
        body = {"description": desc, "value": want["value"], "actions": list(want.get("actions", ["documents:search"])),
                "collections": list(want.get("collections", ["*"]))}
        same = [k for k in by_desc.get(desc, [])
                if k.get("value_prefix") == body["value"][:4] and sorted(k.get("actions", [])) == sorted(body["actions"])
                and sorted(k.get("collections", [])) == sorted(body["collections"])]
        for key in by_desc.get(desc, []):
            if key not in same[:1]:
                plan["delete"].append({"id": key["id"], "description": desc})
        if not same:
            plan["create"].append(body)
    if prune:
        for key in existing:
            desc = key.get("description", "")
            if desc.startswith(prefix) and desc not in wanted_descs:
                plan["delete"].append({"id": key["id"], "description": desc})
    return plan


def search_site_keys(sites, site_keys):
    """The keys of every search site, in site order: a front-end search key and a back-end key.

    `sites` is `search_sites` (site -> {collections: [...]}) and `site_keys` the vaulted
    `search_site_keys` (site -> {search: value, backend: value}). A site without keys, or with an
    empty value, gets no key of that kind; a site with keys but no search settings is ignored.
    A search site whose keys exist must list its collections (a key never defaults to all).
    """
    keys = []
    site_keys = site_keys or {}
    for site in sorted(sites or {}):
        if site not in site_keys:
            continue
        collections = list((sites[site] or {}).get("collections") or [])
        if not collections:
            # A key without collections would reach every collection: never guess that.
            raise AnsibleFilterError("search_sites.%s.collections: empty or missing; list the collections"
                                     " (or aliases, or patterns) this site's keys may use" % site)
        values = site_keys[site] or {}
        if values.get("search"):
            keys.append({"description": site + " search (front end)", "value": values["search"],
                         "actions": ["documents:search"], "collections": collections})
        if values.get("backend"):
            keys.append({"description": site + " documents (back end)", "value": values["backend"],
                         "actions": ["documents:*", "collections:get", "aliases:get"], "collections": collections})
    return keys


def typesense_scoped_key(parent_key, params):
    """Scoped search key: base64(base64(hmac_sha256(parent, params)) + parent[:4] + params), as Typesense documents."""
    params_json = params if isinstance(params, str) else json.dumps(params, separators=(",", ":"), sort_keys=True)
    digest = base64.b64encode(hmac.new(parent_key.encode("utf-8"), params_json.encode("utf-8"), hashlib.sha256).digest())
    return base64.b64encode(digest + parent_key[:4].encode("utf-8") + params_json.encode("utf-8")).decode("ascii")


class FilterModule(object):
    """Search filters."""

    def filters(self):
        return {"typesense_keys_plan": typesense_keys_plan, "typesense_scoped_key": typesense_scoped_key,
                "search_site_keys": search_site_keys}
