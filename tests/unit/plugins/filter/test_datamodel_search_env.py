"""A search site's .env names every Typesense node (site_platform_env, plugins/filter/datamodel.py)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.infra.hosting.plugins.filter import datamodel

PLATFORM = {"typesense_nodes": ["10.0.0.41", "10.0.0.42", "10.0.0.43"], "typesense_port": 8108,
            "typesense_keys": {"talent": {"search": "s-key", "backend": "b-key"}}}


def test_a_typesense_site_gets_scout_and_every_node():
    env = datamodel.site_platform_env({"name": "talent", "search": "typesense"}, PLATFORM)
    assert env == {"SCOUT_DRIVER": "typesense", "TYPESENSE_HOST": "10.0.0.41",
                   "TYPESENSE_NODES": "10.0.0.41,10.0.0.42,10.0.0.43", "TYPESENSE_PORT": "8108",
                   "TYPESENSE_PROTOCOL": "http", "TYPESENSE_API_KEY": "b-key"}


@pytest.mark.parametrize("search", ["none", "meilisearch", None])
def test_other_sites_get_no_search_settings(search):
    assert datamodel.site_platform_env({"name": "talent", "search": search}, PLATFORM) == {}


def test_no_key_in_the_vault_writes_no_key_and_placeholders_are_no_node():
    platform = dict(PLATFORM, typesense_keys={}, typesense_nodes=["TO-FILL", "10.0.0.42"])
    env = datamodel.site_platform_env({"name": "talent", "search": "typesense"}, platform)
    assert "TYPESENSE_API_KEY" not in env
    assert env["TYPESENSE_NODES"] == "10.0.0.42" and env["TYPESENSE_HOST"] == "10.0.0.42"


@pytest.mark.parametrize("nodes", [[], ["TO-FILL"], None])
def test_a_typesense_site_without_a_node_is_refused_by_name(nodes):
    with pytest.raises(AnsibleFilterError, match="site talent: search is typesense but no Typesense node"):
        datamodel.site_platform_env({"name": "talent", "search": "typesense"}, dict(PLATFORM, typesense_nodes=nodes))
