# -*- coding: utf-8 -*-
"""Filters of the search topic (Typesense keys).

typesense_keys_plan(existing, wanted, prefix, prune): which managed keys to delete and create.
typesense_scoped_key(parent_key, params): a Typesense scoped search key (HMAC, made offline).
"""

import base64
import hashlib
import hmac
import json


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


def typesense_scoped_key(parent_key, params):
    """Scoped search key: base64(base64(hmac_sha256(parent, params)) + parent[:4] + params), as Typesense documents."""
    params_json = params if isinstance(params, str) else json.dumps(params, separators=(",", ":"), sort_keys=True)
    digest = base64.b64encode(hmac.new(parent_key.encode("utf-8"), params_json.encode("utf-8"), hashlib.sha256).digest())
    return base64.b64encode(digest + parent_key[:4].encode("utf-8") + params_json.encode("utf-8")).decode("ascii")


class FilterModule(object):
    """Search filters."""

    def filters(self):
        return {"typesense_keys_plan": typesense_keys_plan, "typesense_scoped_key": typesense_scoped_key}
