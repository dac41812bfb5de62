"""Validation of the data model: one clear line per problem, naming the site or database and the field."""

import copy

import pytest

from ansible_collections.infra.hosting.plugins.filter import datamodel

GROUPS = {
    "all": ["whc", "whc_2", "web_01", "web_02", "lb_01"],
    "web": ["whc", "whc_2", "web_01", "web_02"],
    "mysql": ["whc"],
    "postgresql": ["whc"],
    "lb": ["lb_01"],
}
PHP = ["8.1", "8.2", "8.3"]
DEFAULTS = {
    "status": "active",
    "php_version": "8.2",
    "databases": [],
    "workers": [],
    "scheduler": False,
    "search": "none",
    "session_driver": "auto",
    "cache_driver": "auto",
    "queue_connection": "auto",
    "uploads": "local",
    "limits": {"cpu_quota": "100%", "memory_max": "768M", "pm_max_children": 8},
    "env": {},
}


def good_model():
    sites = {
        "alpha": {
            "domains": ["alpha.test", "www.alpha.test"],
            "hosts": ["whc"],
            "repo": "git@example.test:alpha.git",
            "databases": ["alpha_prod"],
            "env": {"APP_NAME": "Alpha"},
        },
        "beta": {
            "domains": ["beta.test"],
            "hosts": ["web_01", "web_02"],
            "repo": "git@example.test:beta.git",
            "databases": ["beta_pg"],
            "uploads": "s3",
        },
    }
    databases = {
        "alpha_prod": {"engine": "mysql", "host": "whc", "site": "alpha", "environment": "prod", "protected": True},
        "beta_pg": {"engine": "postgresql", "host": "whc", "site": "beta", "environment": "prod", "protected": True},
        "old_dev": {"engine": "mysql", "host": "whc", "site": None, "environment": "dev", "protected": False},
    }
    dns = {
        d: {"registrar": "godaddy", "dns_provider": "route53", "confirmed": True}
        for d in ("alpha.test", "www.alpha.test", "beta.test")
    }
    return sites, databases, dns


def errors_of(sites, databases, dns=None, vault=None):
    normalized = datamodel.site_defaults(sites, DEFAULTS)
    return datamodel.datamodel_errors(normalized, databases, GROUPS, dns_domains=dns, php_versions=PHP, vault_sites=vault)


def test_good_model_has_no_error():
    assert errors_of(*good_model()) == []


def test_defaults_resolve_drivers_by_host_count():
    sites, _unused, _unused = good_model()
    result = datamodel.site_defaults(sites, DEFAULTS)
    assert result["alpha"]["session_driver"] == "file"
    assert result["beta"]["session_driver"] == "redis"
    assert result["beta"]["queue_connection"] == "redis"
    assert result["alpha"]["limits"]["memory_max"] == "768M"


def test_defaults_merge_limits_key_by_key():
    sites, _unused, _unused = good_model()
    sites["alpha"]["limits"] = {"memory_max": "2G"}
    result = datamodel.site_defaults(sites, DEFAULTS)
    assert result["alpha"]["limits"] == {"cpu_quota": "100%", "memory_max": "2G", "pm_max_children": 8}


def test_domain_used_by_two_sites():
    sites, dbs, dns = good_model()
    sites["beta"]["domains"].append("www.alpha.test")
    assert errors_of(sites, dbs, dns) == ["site beta: domains: 'www.alpha.test' is already served by site alpha"]


def test_site_on_unknown_host():
    sites, dbs, dns = good_model()
    sites["alpha"]["hosts"] = ["whc_3"]
    assert errors_of(sites, dbs, dns) == ["site alpha: hosts: 'whc_3' is not a host of the inventory"]


def test_site_on_host_outside_web():
    sites, dbs, dns = good_model()
    sites["alpha"]["hosts"] = ["lb_01"]
    assert errors_of(sites, dbs, dns) == ["site alpha: hosts: 'lb_01' is not in group 'web'"]


def test_database_used_but_not_declared():
    sites, dbs, dns = good_model()
    sites["alpha"]["databases"].append("alpha_mail")
    assert errors_of(sites, dbs, dns) == ["site alpha: databases: 'alpha_mail' is not declared in databases"]


def test_database_on_host_outside_engine_group():
    sites, dbs, dns = good_model()
    dbs["beta_pg"]["host"] = "web_01"
    assert errors_of(sites, dbs, dns) == ["database beta_pg: host: 'web_01' is not in group 'postgresql'"]


def test_unknown_engine():
    sites, dbs, dns = good_model()
    dbs["old_dev"]["engine"] = "oracle"
    assert errors_of(sites, dbs, dns) == ["database old_dev: engine: 'oracle' is not one of mysql, postgresql"]


def test_unsupported_php_version():
    sites, dbs, dns = good_model()
    sites["alpha"]["php_version"] = "5.6"
    assert errors_of(sites, dbs, dns) == ["site alpha: php_version: '5.6' is not supported (supported: 8.1, 8.2, 8.3)"]


@pytest.mark.parametrize("key", ["DB_PASSWORD", "APP_KEY", "STRIPE_SECRET", "MAIL_TOKEN", "AWS_SECRET_ACCESS_KEY", "TYPESENSE_API_KEY"])
def test_secret_in_plain_text(key):
    sites, dbs, dns = good_model()
    sites["alpha"]["env"][key] = "hunter2"
    assert errors_of(sites, dbs, dns) == [
        f"site alpha: env.{key}: looks like a secret in plain text; put it in the vault as vault_sites.alpha.env.{key}"
    ]


def test_non_secret_env_is_fine():
    sites, dbs, dns = good_model()
    sites["alpha"]["env"].update({"APP_ENV": "production", "MAIL_MAILER": "smtp", "KEYBOARD_LAYOUT": "fr"})
    assert errors_of(sites, dbs, dns) == []


def test_multi_host_site_with_file_sessions():
    sites, dbs, dns = good_model()
    sites["beta"]["session_driver"] = "file"
    assert errors_of(sites, dbs, dns) == [
        "site beta: session_driver: 'file' cannot be shared by 2 hosts (web_01, web_02); use redis (or leave it to auto)"
    ]


def test_multi_host_site_with_local_uploads():
    sites, dbs, dns = good_model()
    sites["beta"]["uploads"] = "local"
    assert errors_of(sites, dbs, dns) == [
        "site beta: uploads: a local upload disk cannot be shared by 2 hosts (web_01, web_02); use s3, or none if the site stores no uploads"
    ]


def test_unknown_site_field_is_a_typo():
    sites, dbs, dns = good_model()
    sites["alpha"]["dommains"] = ["x.test"]
    assert errors_of(sites, dbs, dns) == ["site alpha: dommains: unknown field (docs/data-model.md lists the fields)"]


def test_missing_required_field():
    sites, dbs, dns = good_model()
    del sites["alpha"]["repo"]
    assert errors_of(sites, dbs, dns) == ["site alpha: repo: is required"]


def test_database_owned_by_another_site():
    sites, dbs, dns = good_model()
    sites["alpha"]["databases"].append("beta_pg")
    assert errors_of(sites, dbs, dns) == ["site alpha: databases: 'beta_pg' belongs to site beta"]


def test_database_owner_must_list_it():
    sites, dbs, dns = good_model()
    dbs["old_dev"]["site"] = "alpha"
    assert errors_of(sites, dbs, dns) == ["database old_dev: site: site alpha does not list it in its databases"]


def test_domain_without_dns_entry():
    sites, dbs, dns = good_model()
    del dns["beta.test"]
    assert errors_of(sites, dbs, dns) == ["site beta: domains: 'beta.test' has no entry in dns_domains (registrar and DNS provider)"]


def test_bad_limits_are_named():
    sites, dbs, dns = good_model()
    sites["alpha"]["limits"] = {"cpu_quota": "lots", "rate_limit": "20/s"}
    assert errors_of(sites, dbs, dns) == [
        "site alpha: limits.cpu_quota: 'lots' is not a percentage such as 100%",
        "site alpha: limits.rate_limit: '20/s' is not a rate such as 20r/s",
    ]


def test_worker_processes_must_be_positive():
    sites, dbs, dns = good_model()
    sites["alpha"]["workers"] = [{"queue": "default", "processes": 0}]
    assert errors_of(sites, dbs, dns) == ["site alpha: workers[0].processes: must be a whole number of at least 1"]


def test_deploy_hooks_are_task_files_at_known_points():
    sites, dbs, dns = good_model()
    sites["alpha"]["deploy_hooks"] = {"build_after": ["hooks/assets.yml"], "finalize_after": ["/srv/hooks/ping.yaml"]}
    assert errors_of(sites, dbs, dns) == []


def test_bad_deploy_hooks_are_named():
    sites, dbs, dns = good_model()
    sites["alpha"]["deploy_hooks"] = {"build_afterr": ["a.yml"], "build_before": "a.yml", "finalize_after": ["", "x.sh"]}
    assert errors_of(sites, dbs, dns) == [
        "site alpha: deploy_hooks.build_afterr: unknown point (one of build_before, build_after, finalize_before, finalize_after)",
        "site alpha: deploy_hooks.build_before: must be a list of task files",
        "site alpha: deploy_hooks.finalize_after[0]: '' is not the path of a task file (.yml)",
        "site alpha: deploy_hooks.finalize_after[1]: 'x.sh' is not the path of a task file (.yml)",
    ]
    sites["alpha"]["deploy_hooks"] = ["a.yml"]
    assert errors_of(sites, dbs, dns) == [
        "site alpha: deploy_hooks: must be a mapping of build_before, build_after, finalize_before, finalize_after"]


def test_several_problems_give_several_lines():
    sites, dbs, dns = good_model()
    sites["alpha"]["php_version"] = "5.6"
    dbs["old_dev"]["engine"] = "oracle"
    assert len(errors_of(sites, dbs, dns)) == 2


def test_vault_checked_only_when_given():
    sites, dbs, dns = good_model()
    assert errors_of(sites, dbs, dns, vault=None) == []
    vault = {"alpha": {"db_password": "x", "env": {"APP_KEY": "k"}}}
    assert errors_of(sites, dbs, dns, vault=vault) == ["site beta: vault_sites.beta: missing from the vault (db_password, env.APP_KEY)"]


def test_placeholders_are_listed():
    site = {"repo": "TO-CONFIRM git URL", "branch": "main", "domains": ["a.to-confirm.invalid"]}
    assert datamodel.site_placeholders(site) == ["repo", "domains"]


def test_sites_and_databases_for_host():
    sites, dbs, _unused = good_model()
    normalized = datamodel.site_defaults(sites, DEFAULTS)
    assert list(datamodel.sites_for_host(normalized, "web_02")) == ["beta"]
    normalized["beta"]["status"] = "retired"
    assert datamodel.sites_for_host(normalized, "web_02") == {}
    assert list(datamodel.databases_for_host(dbs, "whc", "postgresql")) == ["beta_pg"]


def test_input_is_not_modified():
    sites, dbs, dns = good_model()
    before = copy.deepcopy(sites)
    errors_of(sites, dbs, dns)
    assert sites == before


def test_meilisearch_site_names_its_indexes():
    sites, dbs, dns = good_model()
    sites["alpha"]["search"] = "meilisearch"
    assert errors_of(sites, dbs, dns) == ["site alpha: search_indexes: a site on meilisearch names the indexes to migrate"]
    sites["alpha"]["search_indexes"] = ["candidatures"]
    assert errors_of(sites, dbs, dns) == []


def test_typesense_site_names_the_collections_to_move_from_the_legacy_node():
    sites, dbs, dns = good_model()
    sites["alpha"]["search"] = "typesense"
    assert errors_of(sites, dbs, dns) == []  # nothing to move: no search_indexes needed
    sites["alpha"]["search_indexes"] = ["aerotalent_candidates"]
    assert errors_of(sites, dbs, dns) == [
        "site alpha: search_indexes: names collections to move from the legacy Typesense, but group "
        "typesense_legacy has no host"]
    groups = dict(GROUPS, typesense_legacy=["whc"])
    normalized = datamodel.site_defaults(sites, DEFAULTS)
    assert datamodel.datamodel_errors(normalized, dbs, groups, dns_domains=dns, php_versions=PHP) == []


@pytest.mark.parametrize("indexes, error", [
    ("candidatures", "site alpha: search_indexes: must be a list of index or collection names"),
    (["bad name"], "site alpha: search_indexes: 'bad name' is not an index or collection name (^[A-Za-z0-9_-]{1,400}$)"),
])
def test_search_indexes_are_names(indexes, error):
    sites, dbs, dns = good_model()
    sites["alpha"].update(search="meilisearch", search_indexes=indexes)
    assert error in errors_of(sites, dbs, dns)


def test_search_indexes_of_a_site_without_search_are_refused():
    sites, dbs, dns = good_model()
    sites["alpha"]["search_indexes"] = ["candidatures"]
    assert errors_of(sites, dbs, dns) == [
        "site alpha: search_indexes: a site with search 'none' has no index to move; "
        "set search to meilisearch or typesense, or remove search_indexes"]


def test_one_alias_is_not_fed_by_both_engines():
    sites, dbs, dns = good_model()
    sites["alpha"].update(search="meilisearch", search_indexes=["candidatures"])
    sites["beta"].update(search="typesense", search_indexes=["candidatures"])
    groups = dict(GROUPS, typesense_legacy=["whc"])
    normalized = datamodel.site_defaults(sites, DEFAULTS)
    assert datamodel.datamodel_errors(normalized, dbs, groups, dns_domains=dns, php_versions=PHP) == [
        "site beta: search_indexes: 'candidatures' also comes from meilisearch for site alpha: "
        "one alias of the cluster cannot be fed by both"]


def test_site_addresses_point_at_the_first_host_or_the_load_balancer():
    sites = {
        "one": {"domains": ["one.test", "www.one.test"], "hosts": ["web_a", "web_b"]},
        "two": {"domains": ["two.test"], "hosts": ["web_b"]},
        "old": {"domains": ["old.test"], "hosts": ["web_a"], "status": "retired"},
        "unknown": {"domains": ["x.to-confirm.invalid"], "hosts": ["web_a"]},
    }
    hostvars = {"web_a": {"private_ip": "10.0.0.1"}, "web_b": {"private_ip": "10.0.0.2"}, "lb": {"private_ip": "10.0.0.9"}}
    assert datamodel.site_addresses(sites, hostvars) == {"one.test": "10.0.0.1", "two.test": "10.0.0.2", "www.one.test": "10.0.0.1"}
    behind = datamodel.site_addresses(sites, hostvars, ["one"], ["lb"])
    assert behind["one.test"] == behind["www.one.test"] == "10.0.0.9" and behind["two.test"] == "10.0.0.2"
    # No load balancer in the inventory: the site stays at its first host.
    assert datamodel.site_addresses(sites, hostvars, ["one"], [])["one.test"] == "10.0.0.1"


def test_site_addresses_point_at_the_floating_address_when_there_is_one():
    sites = {"one": {"domains": ["one.test"], "hosts": ["web_a"]}, "two": {"domains": ["two.test"], "hosts": ["web_b"]}}
    hostvars = {"web_a": {"private_ip": "10.0.0.1"}, "web_b": {"private_ip": "10.0.0.2"}, "lb": {"private_ip": "10.0.0.9"}}
    records = datamodel.site_addresses(sites, hostvars, ["one"], ["lb"], "10.0.0.20/24")
    assert records == {"one.test": "10.0.0.20", "two.test": "10.0.0.2"}
    assert datamodel.site_addresses(sites, hostvars, ["one"], ["lb"], "TO-FILL")["one.test"] == "10.0.0.9"


def test_site_addresses_never_point_at_a_placeholder():
    sites = {"one": {"domains": ["one.test"], "hosts": ["web_a"]}}
    assert datamodel.site_addresses(sites, {"web_a": {"private_ip": "TO-FILL"}}) == {}
    assert datamodel.site_addresses(sites, {}) == {}


def test_site_database_for_the_env():
    dbs = {"app": {"engine": "mysql", "host": "whc"}, "pg": {"engine": "postgresql", "host": "db_01"}}
    hostvars = {"db_01": {"private_ip": "10.0.0.5"}}
    assert datamodel.site_database("app", {"databases": ["app"]}, dbs, hostvars, "whc") == {
        "connection": "mysql", "database": "app", "username": "app", "host": "127.0.0.1"}
    assert datamodel.site_database("site", {"databases": ["pg", "app"]}, dbs, hostvars, "web_01")["host"] == "10.0.0.5"
    assert datamodel.site_database("site", {"databases": []}, dbs, hostvars, "whc") == {}
    assert datamodel.site_database("site", {"databases": ["missing"]}, dbs, hostvars, "whc") == {}


def test_site_database_on_the_tier_is_reached_at_the_tier_address():
    dbs = {"app": {"engine": "mysql", "host": "db_01"}}
    hostvars = {"db_01": {"private_ip": "10.0.0.61", "group_names": ["galera", "patroni"]}}
    ca = "/etc/ssl/infra-db/ca.crt"
    assert datamodel.site_database("app", {"databases": ["app"]}, dbs, hostvars, "web_01", "10.0.0.20", None, ca)["host"] == "10.0.0.20"
    # Without the tier's address (an older caller), the member itself.
    assert datamodel.site_database("app", {"databases": ["app"]}, dbs, hostvars, "web_01", None, None, ca)["host"] == "10.0.0.61"


def test_without_placeholders_keeps_only_ready_sites():
    sites = {"ready": {"repo": "git://x/y.git", "branch": "main", "domains": ["a.test"]},
             "repo": {"repo": "TO-CONFIRM: repository", "branch": "main", "domains": ["b.test"]},
             "domain": {"repo": "git://x/y.git", "branch": "main", "domains": ["c.to-confirm.invalid"]}}
    assert list(datamodel.without_placeholders(sites)) == ["ready"]


def test_site_platform_env_redis_only_for_sites_using_it():
    import pytest
    from ansible.errors import AnsibleFilterError
    files = {"name": "solo", "session_driver": "file", "cache_driver": "file", "queue_connection": "database"}
    platform = {"redis_host": "10.0.0.9", "redis_port": 6380, "redis_password": "pw", "trusted_proxies": "10.0.0.2",
                "lb_sites": ["multi"]}
    assert datamodel.site_platform_env(files, platform) == {}
    shared = dict(files, name="multi", session_driver="redis")
    assert datamodel.site_platform_env(shared, platform) == {
        "REDIS_HOST": "10.0.0.9", "REDIS_PORT": "6380", "REDIS_PASSWORD": "pw", "TRUSTED_PROXIES": "10.0.0.2"}
    assert "REDIS_PASSWORD" not in datamodel.site_platform_env(shared, dict(platform, redis_password=""))
    with pytest.raises(AnsibleFilterError, match="site multi: .*no Redis host"):
        datamodel.site_platform_env(shared, dict(platform, redis_host=""))


def test_site_platform_env_trusted_proxies_only_behind_the_lb():
    site = {"name": "solo", "session_driver": "file"}
    assert datamodel.site_platform_env(site, {"trusted_proxies": "10.0.0.2", "lb_sites": ["other"]}) == {}
    assert datamodel.site_platform_env(site, {"trusted_proxies": "10.0.0.2", "lb_sites": ["solo"]}) == {
        "TRUSTED_PROXIES": "10.0.0.2"}
    assert datamodel.site_platform_env(site, {"trusted_proxies": "", "lb_sites": ["solo"]}) == {}


def test_multi_node_sites_get_the_shared_redis():
    """site_defaults resolves `auto` to redis on a site of several nodes: the .env must then say where Redis is."""
    sites = datamodel.site_defaults({"duo": {"hosts": ["web_01", "web_02"], "domains": ["duo.lab.test"]}}, {})
    assert datamodel.site_platform_env(sites["duo"], {"redis_host": "10.77.0.40"})["REDIS_HOST"] == "10.77.0.40"


TIER_GROUPS = dict(GROUPS, all=GROUPS["all"] + ["db_01", "db_02", "db_03"],
                   galera=["db_01", "db_02", "db_03"], patroni=["db_01", "db_02", "db_03"])


def tier_errors(sites, databases, groups=None):
    normalized = datamodel.site_defaults(sites, DEFAULTS)
    return datamodel.datamodel_errors(normalized, databases, TIER_GROUPS if groups is None else groups, php_versions=PHP)


def test_database_on_the_tier_with_synchronous_replication():
    sites, dbs, _unused = good_model()
    dbs["beta_pg"].update(host="db_01", synchronous=True)
    dbs["alpha_prod"]["host"] = "db_02"
    assert tier_errors(sites, dbs) == []


def test_synchronous_on_a_single_server_is_refused_with_name_and_field():
    sites, dbs, _unused = good_model()
    dbs["beta_pg"]["synchronous"] = True
    assert tier_errors(sites, dbs) == [
        "database beta_pg: synchronous: host 'whc' is not on the replicated tier (group 'patroni'): "
        "a single server has no standby to wait for"]


def test_synchronous_on_mariadb_or_not_a_bool_is_refused():
    sites, dbs, _unused = good_model()
    dbs["alpha_prod"].update(host="db_01", synchronous=True)
    dbs["beta_pg"].update(host="db_01", synchronous="yes")
    assert tier_errors(sites, dbs) == [
        "database alpha_prod: synchronous: only a PostgreSQL database takes it "
        "(Galera replicates every MariaDB database synchronously)",
        "database beta_pg: synchronous: must be true or false"]


def test_database_outside_both_groups_names_the_tier():
    sites, dbs, _unused = good_model()
    dbs["beta_pg"]["host"] = "web_01"
    assert tier_errors(sites, dbs) == [
        "database beta_pg: host: 'web_01' is not in group 'postgresql' (nor in 'patroni', the replicated tier)"]


def test_tier_below_its_quorum_is_refused():
    sites, dbs, _unused = good_model()
    groups = dict(TIER_GROUPS, galera=["db_01", "db_02"])
    assert tier_errors(sites, dbs, groups) == ["group galera: 2 host(s); its quorum needs an odd number, at least 3"]


def test_layout_forge_on_forge_managed_host_is_accepted():
    sites, dbs, dns = good_model()
    sites["alpha"]["layout"] = "forge"
    groups = dict(GROUPS, forge_managed=["whc"])
    normalized = datamodel.site_defaults(sites, DEFAULTS)
    assert datamodel.datamodel_errors(normalized, dbs, groups, dns_domains=dns, php_versions=PHP) == []


def test_layout_forge_on_a_host_forge_does_not_manage_names_site_host_and_field():
    sites, dbs, dns = good_model()
    sites["beta"]["layout"] = "forge"
    groups = dict(GROUPS, forge_managed=["whc", "web_02"])
    normalized = datamodel.site_defaults(sites, DEFAULTS)
    assert datamodel.datamodel_errors(normalized, dbs, groups, dns_domains=dns, php_versions=PHP) == [
        "site beta: layout: 'forge' but host 'web_01' is not Forge-managed (group forge_managed) / "
        "site Forge sur un hôte que Forge ne gère pas"
    ]


def test_unknown_layout_is_refused():
    sites, dbs, dns = good_model()
    sites["alpha"]["layout"] = "plesk"
    assert errors_of(sites, dbs, dns) == ["site alpha: layout: 'plesk' is not one of native, forge"]
