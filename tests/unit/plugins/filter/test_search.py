"""Filters of the search topic: the key plan and scoped keys."""

import base64
import hashlib
import hmac

from ansible_collections.infra.hosting.plugins.filter.search import typesense_keys_plan, typesense_scoped_key

WANTED = [{"description": "aeroweb search (front end)", "value": "abcdWXYZ", "actions": ["documents:search"],
           "collections": ["candidatures"]}]


def test_missing_key_is_created_with_the_managed_prefix():
    plan = typesense_keys_plan([], WANTED)
    assert plan["delete"] == []
    assert plan["create"][0]["description"] == "managed: aeroweb search (front end)"
    assert plan["create"][0]["value"] == "abcdWXYZ"


def test_same_key_is_left_alone_and_changed_key_is_replaced():
    existing = [{"id": 3, "description": "managed: aeroweb search (front end)", "value_prefix": "abcd",
                 "actions": ["documents:search"], "collections": ["candidatures"]}]
    assert typesense_keys_plan(existing, WANTED) == {"create": [], "delete": []}
    changed = [dict(existing[0], value_prefix="zzzz")]
    plan = typesense_keys_plan(changed, WANTED)
    assert plan["delete"] == [{"id": 3, "description": "managed: aeroweb search (front end)"}]
    assert len(plan["create"]) == 1


def test_only_managed_keys_are_pruned():
    existing = [{"id": 1, "description": "managed: old site", "value_prefix": "oldk", "actions": [], "collections": []},
                {"id": 2, "description": "made by hand", "value_prefix": "hand", "actions": [], "collections": []}]
    plan = typesense_keys_plan(existing, [])
    assert plan["delete"] == [{"id": 1, "description": "managed: old site"}]
    assert typesense_keys_plan(existing, [], prune=False)["delete"] == []


def test_scoped_key_follows_typesense_algorithm():
    key = typesense_scoped_key("RN23GFr1s6jQ9kgSNg2O7fYcAUXU7127", {"filter_by": "company_id:124"})
    raw = base64.b64decode(key)
    params = b'{"filter_by":"company_id:124"}'
    digest = base64.b64encode(hmac.new(b"RN23GFr1s6jQ9kgSNg2O7fYcAUXU7127", params, hashlib.sha256).digest())
    assert raw == digest + b"RN23" + params


def test_site_keys_give_a_search_and_a_backend_key_per_site_in_order():
    from ansible_collections.infra.hosting.plugins.filter.search import search_site_keys
    sites = {"zeta": {"collections": ["z_.*"]}, "aeroweb": {"collections": ["candidatures"]},
             "nokeys": {"collections": ["n"]}}
    keys = search_site_keys(sites, {"zeta": {"search": "zzzz1", "backend": ""},
                                    "aeroweb": {"search": "abcd1", "backend": "efgh2"}})
    assert [k["description"] for k in keys] == [
        "aeroweb search (front end)", "aeroweb documents (back end)", "zeta search (front end)"]
    assert keys[0] == {"description": "aeroweb search (front end)", "value": "abcd1",
                       "actions": ["documents:search"], "collections": ["candidatures"]}
    assert keys[1]["actions"] == ["documents:*", "collections:get", "aliases:get"]
    assert search_site_keys({}, {"aeroweb": {"search": "x"}}) == []
    assert search_site_keys(None, None) == []


def test_site_keys_refuse_a_site_without_collections():
    import pytest
    from ansible.errors import AnsibleFilterError
    from ansible_collections.infra.hosting.plugins.filter.search import search_site_keys
    with pytest.raises(AnsibleFilterError, match=r"search_sites\.aeroweb\.collections"):
        search_site_keys({"aeroweb": {}}, {"aeroweb": {"search": "abcd1"}})
