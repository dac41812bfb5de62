"""TLS between the sites and the replicated database tier: which database requires it (the data model),
what a site's .env gets, which tier accounts require it, refusals named."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.infra.hosting.plugins.filter import datamodel

CA = "/etc/ssl/infra-db/ca.crt"
GROUPS = {
    "all": ["whc", "web_01", "db_01", "db_02", "db_03"],
    "web": ["whc", "web_01"],
    "mysql": ["whc"],
    "postgresql": ["whc"],
    "galera": ["db_01", "db_02", "db_03"],
    "patroni": ["db_01", "db_02", "db_03"],
}
HOSTVARS = {
    "whc": {"private_ip": "10.0.0.11", "group_names": ["mysql", "postgresql", "web"]},
    "db_01": {"private_ip": "10.0.0.61", "group_names": ["galera", "patroni"]},
}
DATABASES = {
    "shop": {"engine": "mysql", "host": "db_01", "site": "shop", "environment": "prod", "protected": True},
    "shop_pg": {"engine": "postgresql", "host": "db_01", "site": "shop", "environment": "prod", "protected": True},
    "plain": {"engine": "mysql", "host": "db_01", "site": "legacy", "environment": "prod", "protected": True, "tls": False},
    "forge": {"engine": "mysql", "host": "whc", "site": "forge", "environment": "prod", "protected": True},
}


def test_database_on_the_tier_requires_tls_by_default():
    assert datamodel.database_tls("shop", DATABASES, GROUPS)
    assert datamodel.database_tls("shop_pg", DATABASES, GROUPS, {"mysql": True, "postgresql": True})


def test_engine_default_and_database_override():
    assert not datamodel.database_tls("shop", DATABASES, GROUPS, {"mysql": False})
    assert datamodel.database_tls("shop_pg", DATABASES, GROUPS, {"mysql": False})
    assert not datamodel.database_tls("plain", DATABASES, GROUPS, {"mysql": True})
    dbs = dict(DATABASES, shop=dict(DATABASES["shop"], tls=True))
    assert datamodel.database_tls("shop", dbs, GROUPS, {"mysql": False})


def test_forge_era_server_is_left_as_it_is():
    assert not datamodel.database_tls("forge", DATABASES, GROUPS, {"mysql": True})
    assert not datamodel.database_tls("missing", DATABASES, GROUPS)


def test_env_of_a_mariadb_site_on_the_tier_names_the_ca():
    db = datamodel.site_database("shop", {"databases": ["shop"]}, DATABASES, HOSTVARS, "web_01", "10.0.0.20", {}, CA)
    assert db == {"connection": "mysql", "database": "shop", "username": "shop", "host": "10.0.0.20", "ssl_ca": CA}


def test_env_of_a_postgresql_site_on_the_tier_verifies_the_name():
    db = datamodel.site_database("shop", {"databases": ["shop_pg"]}, DATABASES, HOSTVARS, "web_01", "10.0.0.20", {}, CA)
    assert db["ssl_ca"] == CA and db["sslmode"] == "verify-full" and db["host"] == "10.0.0.20"


def test_env_without_tls_off_the_tier_or_when_the_model_says_so():
    forge = datamodel.site_database("forge", {"databases": ["forge"]}, DATABASES, HOSTVARS, "whc", "10.0.0.20", {}, CA)
    assert forge == {"connection": "mysql", "database": "forge", "username": "forge", "host": "127.0.0.1"}
    plain = datamodel.site_database("legacy", {"databases": ["plain"]}, DATABASES, HOSTVARS, "web_01", "10.0.0.20", {}, CA)
    assert "ssl_ca" not in plain and "sslmode" not in plain
    off = datamodel.site_database("shop", {"databases": ["shop"]}, DATABASES, HOSTVARS, "web_01", "10.0.0.20",
                                  {"mysql": False}, CA)
    assert "ssl_ca" not in off


def test_env_requiring_tls_without_a_ca_path_names_site_database_and_field():
    with pytest.raises(AnsibleFilterError, match=r"site shop: database shop: tls: .*no CA certificate path"):
        datamodel.site_database("shop", {"databases": ["shop"]}, DATABASES, HOSTVARS, "web_01", "10.0.0.20", {}, "")


def test_tier_accounts_follow_their_site_databases():
    users = [{"name": "shop", "password": "x"}, {"name": "legacy"}, {"name": "writer"}, {"name": "own", "tls": False}]
    out = datamodel.db_users_tls(users, "mysql", DATABASES, GROUPS, {"mysql": True})
    assert [(u["name"], u["tls"]) for u in out] == [("shop", True), ("legacy", False), ("writer", True), ("own", False)]
    # An account that owns no database of the engine takes the engine's default.
    out = datamodel.db_users_tls([{"name": "writer"}], "postgresql", DATABASES, GROUPS, {"postgresql": False})
    assert out == [{"name": "writer", "tls": False}]
    assert "tls" not in users[0]  # the input is not modified


def _errors(databases):
    sites = {
        name: {"domains": [f"{name}.test"], "hosts": ["web_01"], "repo": "git@example.test:x.git", "php_version": "8.2",
               "databases": [d for d, db in databases.items() if db["site"] == name]}
        for name in sorted({db["site"] for db in databases.values()})
    }
    return datamodel.datamodel_errors(sites, databases, GROUPS, php_versions=["8.2"])


def test_tls_field_accepted_on_the_tier():
    assert [e for e in _errors(DATABASES) if "tls" in e] == []


def test_tls_on_a_forge_era_server_is_refused_with_name_and_field():
    dbs = dict(DATABASES, forge=dict(DATABASES["forge"], tls=True))
    assert [e for e in _errors(dbs) if "tls" in e] == [
        "database forge: tls: host 'whc' is not on the replicated tier (group 'galera'): only the tier's servers "
        "have certificates (a Forge-era server is left as it is)"]


def test_tls_must_be_a_boolean():
    dbs = dict(DATABASES, shop=dict(DATABASES["shop"], tls="yes"))
    assert [e for e in _errors(dbs) if "tls" in e] == ["database shop: tls: must be true or false"]


def test_tier_accounts_of_the_sites_placed_there_with_their_vaulted_password():
    vault = {"shop": {"db_password": "s3cret"}, "legacy": {"db_password": "old"}, "forge": {"db_password": "f"}}
    dbs = dict(DATABASES, shop_mail={"engine": "mysql", "host": "db_02", "site": "shop", "environment": "prod",
                                     "protected": True}, orphan={"engine": "mysql", "host": "db_01", "site": None})
    users = datamodel.db_tier_users(dbs, "mysql", GROUPS, vault, ["10.0.0.71", "10.0.0.72"])
    assert users == [
        {"name": "legacy", "host": "10.0.0.71", "password": "old", "priv": "plain.*:ALL"},
        {"name": "legacy", "host": "10.0.0.72", "password": "old", "priv": "plain.*:ALL"},
        {"name": "shop", "host": "10.0.0.71", "password": "s3cret", "priv": "shop.*:ALL/shop_mail.*:ALL"},
        {"name": "shop", "host": "10.0.0.72", "password": "s3cret", "priv": "shop.*:ALL/shop_mail.*:ALL"},
    ]  # forge stays on whc: not a tier account; a database without a site has no account
    assert datamodel.db_tier_users(dbs, "postgresql", GROUPS, vault) == [{"name": "shop", "password": "s3cret"}]
    assert datamodel.db_tier_users(dbs, "mysql", GROUPS, vault, ["10.0.0.71"], listed=["shop"])[0]["name"] == "legacy"
    # TLS decided afterwards from the data model: legacy's only tier database says tls: false.
    tls = {u["name"]: u["tls"] for u in datamodel.db_users_tls(users, "mysql", dbs, GROUPS, {"mysql": True})}
    assert tls == {"legacy": False, "shop": True}
