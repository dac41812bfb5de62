# -*- coding: utf-8 -*-
"""Filters over the data model (`sites`, `databases`, `dns_domains`): defaults and validation.

The data model is read by every role through the plays. These filters compute once what the
plays hand to roles (a site with its defaults applied) and check the whole model before any host
is touched (playbooks/validate.yml), with one line per problem naming the site or database and
the field.

The rules on .env names live here once (ENV_NAME_RE, SECRET_ENV_RE): validate.yml applies them to
`sites.<site>.env` and playbooks/env.yml to what an operator sets (env_bad_names, env_secret_names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

KNOWN_ENGINES = ("mysql", "postgresql")
ENGINE_GROUPS = {"mysql": "mysql", "postgresql": "postgresql"}
# The replicated tier of each engine (docs/databases.md): a database may live there instead.
TIER_GROUPS = {"mysql": "galera", "postgresql": "patroni"}
ENVIRONMENTS = ("prod", "staging", "dev")
SITE_STATUSES = ("active", "retired")
SEARCH_ENGINES = ("none", "typesense", "meilisearch")
SESSION_DRIVERS = ("auto", "file", "redis", "database", "cookie")
CACHE_DRIVERS = ("auto", "file", "redis", "database", "array")
QUEUE_CONNECTIONS = ("auto", "sync", "redis", "database")
UPLOAD_DISKS = ("local", "s3", "none")
# Who owns a site's layout on its hosts: Laravel Forge (/home/forge/<domain>, Supervisor, forge's
# crontab; docs/forge.md) or this repository (/srv/www/<site>, systemd units; docs/conventions.md).
SITE_LAYOUTS = ("native", "forge")
FORGE_GROUP = "forge_managed"
DNS_PROVIDERS = ("godaddy", "route53", "lab", "unknown")
REGISTRARS = ("godaddy", "route53", "lab", "unknown")

SITE_FIELDS = {
    "description", "status", "environment", "domains", "hosts", "repo", "branch", "php_version",
    "unconfirmed", "databases", "workers", "scheduler", "search", "search_indexes", "web_root",
    "health_path", "keep_releases", "session_driver", "cache_driver", "queue_connection",
    "uploads", "limits", "env", "layout", "deploy_hooks",
}
REQUIRED_SITE_FIELDS = ("domains", "hosts", "repo", "php_version")
LIMIT_FIELDS = {
    "cpu_weight", "cpu_quota", "memory_high", "memory_max", "pm_max_children", "memory_limit",
    "request_terminate_timeout", "rate_limit", "rate_burst", "client_max_body_size",
}
WORKER_FIELDS = {"queue", "processes", "timeout", "tries", "sleep", "memory"}
# The points of a deploy where a site's own task files run (roles/laravel_release, its README).
DEPLOY_HOOK_POINTS = ("build_before", "build_after", "finalize_before", "finalize_after")
DATABASE_FIELDS = {"engine", "host", "site", "environment", "protected", "description", "synchronous", "tls"}

SITE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$"
)
# Names of .env variables: upper case letters, digits and _.
ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Names of .env variables that carry secrets; these belong in vault_sites.<site>.env.
SECRET_ENV_RE = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|PASSPHRASE|CREDENTIALS|PRIVATE|(^|_)KEY$|API_KEY|_DSN$)"
)
SIZE_RE = re.compile(r"^[0-9]+[KMGT]?$")
BODY_SIZE_RE = re.compile(r"^[0-9]+[kmg]?$")
RATE_RE = re.compile(r"^[0-9]+r/[sm]$")
DURATION_RE = re.compile(r"^[0-9]+[smh]?$")
PERCENT_RE = re.compile(r"^[0-9]+%$")
# Names in search_indexes: a Meilisearch index uid or a Typesense collection (or alias) name, which
# becomes the alias in the cluster (Meilisearch's rule for uids, which Typesense takes too).
SEARCH_INDEX_RE = re.compile(r"^[A-Za-z0-9_-]{1,400}$")
LEGACY_TYPESENSE_GROUP = "typesense_legacy"


def _plain(value):
    """Return a plain copy of nested mappings and lists.

    Not copy.deepcopy: under ansible-core 2.19 the values are lazy template containers whose
    deep copy also copies their templating context, which made datamodel_sites take six
    seconds for eleven sites (each evaluation); this copy takes milliseconds.
    """
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _merge(base, override):
    """Return base updated by override; nested dicts merge key by key, other values replace."""
    result = _plain(base)
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = _plain(value)
    return result


def site_defaults(sites, defaults):
    """Apply `defaults` to every site and resolve the `auto` drivers.

    A site on several hosts gets Redis for sessions, cache and queues; a site on one host
    keeps file sessions and cache and a Redis-less database queue.
    """
    result = {}
    for name, site in (sites or {}).items():
        merged = _merge(defaults or {}, site or {})
        hosts = merged.get("hosts") or []
        shared = len(hosts) > 1
        for field, one_host, many_hosts in (
            ("session_driver", "file", "redis"),
            ("cache_driver", "file", "redis"),
            ("queue_connection", "database", "redis"),
        ):
            if merged.get(field, "auto") == "auto":
                merged[field] = many_hosts if shared else one_host
        merged["name"] = name
        result[name] = merged
    return result


def _is_placeholder(value):
    return isinstance(value, str) and (
        value.startswith("TO-CONFIRM") or value.startswith("TO-FILL") or value.endswith(".to-confirm.invalid")
    )


def _check_site(name, site, ctx, errors):
    """Append to `errors` every problem of site `name`, in the order a reader meets the fields."""
    where = f"site {name}"
    if not SITE_NAME_RE.match(str(name)):
        errors.append(f"{where}: name: must match {SITE_NAME_RE.pattern} (it becomes a Unix and database user)")
    if not isinstance(site, dict):
        errors.append(f"{where}: must be a mapping of fields, got {type(site).__name__}")
        return
    _check_site_fields(where, site, errors)
    _check_site_domains(where, name, site, ctx, errors)
    hosts = _check_site_hosts(where, site, ctx, errors)
    _check_site_layout(where, site, hosts, ctx, errors)
    _check_site_php_and_databases(where, name, site, ctx, errors)
    _check_site_workers(where, site, errors)
    _check_site_deploy_hooks(where, site, errors)
    _check_site_drivers(where, site, hosts, errors)
    _check_site_search_indexes(where, site, site.get("search", "none"), ctx, errors)
    limits = site.get("limits") or {}
    if not isinstance(limits, dict):
        errors.append(f"{where}: limits: must be a mapping")
        limits = {}
    for field in sorted(set(limits) - LIMIT_FIELDS):
        errors.append(f"{where}: limits.{field}: unknown field")
    _check_limits(where, limits, errors)
    _check_site_env(where, name, site, errors)
    for field in site.get("unconfirmed") or []:
        if field not in SITE_FIELDS:
            errors.append(f"{where}: unconfirmed: '{field}' is not a field of a site")


def _check_site_fields(where, site, errors):
    """Unknown and missing fields, status and environment."""
    for field in sorted(set(site) - SITE_FIELDS - {"name"}):
        errors.append(f"{where}: {field}: unknown field (docs/data-model.md lists the fields)")
    for field in REQUIRED_SITE_FIELDS:
        if not site.get(field):
            errors.append(f"{where}: {field}: is required")
    status = site.get("status", "active")
    if status not in SITE_STATUSES:
        errors.append(f"{where}: status: '{status}' is not one of {', '.join(SITE_STATUSES)}")
    env_name = site.get("environment", "prod")
    if env_name not in ENVIRONMENTS:
        errors.append(f"{where}: environment: '{env_name}' is not one of {', '.join(ENVIRONMENTS)}")


def _check_site_domains(where, name, site, ctx, errors):
    """Valid names, each served by one site only, each with its DNS entry."""
    domains = site.get("domains") or []
    if not isinstance(domains, list):
        errors.append(f"{where}: domains: must be a list, primary domain first")
        domains = []
    for domain in domains:
        if not isinstance(domain, str) or not DOMAIN_RE.match(domain):
            errors.append(f"{where}: domains: '{domain}' is not a valid lower-case domain name")
            continue
        owner = ctx["domain_owner"].setdefault(domain, name)
        if owner != name:
            errors.append(f"{where}: domains: '{domain}' is already served by site {owner}")
        if ctx["dns_domains"] is not None and domain not in ctx["dns_domains"]:
            errors.append(f"{where}: domains: '{domain}' has no entry in dns_domains (registrar and DNS provider)")


def _check_site_hosts(where, site, ctx, errors):
    """Hosts of the inventory, in group web, each once; returns the list (empty when malformed)."""
    hosts = site.get("hosts") or []
    if not isinstance(hosts, list):
        errors.append(f"{where}: hosts: must be a list of inventory hostnames")
        return []
    for host in hosts:
        if host not in ctx["all_hosts"]:
            errors.append(f"{where}: hosts: '{host}' is not a host of the inventory")
        elif host not in ctx["web_hosts"]:
            errors.append(f"{where}: hosts: '{host}' is not in group 'web'")
    if len(hosts) != len(set(hosts)):
        errors.append(f"{where}: hosts: lists a host twice")
    return hosts


def _check_site_layout(where, site, hosts, ctx, errors):
    """`layout` is native or forge; a forge site only on hosts of group forge_managed."""
    layout = site.get("layout", "native")
    if layout not in SITE_LAYOUTS:
        errors.append(f"{where}: layout: '{layout}' is not one of {', '.join(SITE_LAYOUTS)}")
        return
    if layout == "forge":
        forge_hosts = set(ctx["groups"].get(FORGE_GROUP, []))
        for host in hosts:
            if host in ctx["all_hosts"] and host not in forge_hosts:
                errors.append(
                    f"{where}: layout: 'forge' but host '{host}' is not Forge-managed (group {FORGE_GROUP}) / "
                    f"site Forge sur un hôte que Forge ne gère pas"
                )


def _check_site_php_and_databases(where, name, site, ctx, errors):
    """A supported PHP version; databases declared, and not another site's."""
    php = site.get("php_version")
    if php is not None and str(php) not in ctx["php_versions"]:
        errors.append(
            f"{where}: php_version: '{php}' is not supported (supported: {', '.join(ctx['php_versions'])})"
        )
    for db in site.get("databases") or []:
        declared = ctx["databases"].get(db)
        if declared is None:
            errors.append(f"{where}: databases: '{db}' is not declared in databases")
        elif isinstance(declared, dict) and declared.get("site") not in (None, name):
            errors.append(f"{where}: databases: '{db}' belongs to site {declared.get('site')}")


def _check_site_workers(where, site, errors):
    """Each worker a mapping of known fields, with whole numbers of at least 1."""
    workers = site.get("workers") or []
    if not isinstance(workers, list):
        errors.append(f"{where}: workers: must be a list")
        workers = []
    for index, worker in enumerate(workers):
        if not isinstance(worker, dict):
            errors.append(f"{where}: workers[{index}]: must be a mapping (queue, processes, timeout)")
            continue
        for field in sorted(set(worker) - WORKER_FIELDS):
            errors.append(f"{where}: workers[{index}].{field}: unknown field")
        for field in ("processes", "timeout"):
            value = worker.get(field, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                errors.append(f"{where}: workers[{index}].{field}: must be a whole number of at least 1")


def _check_site_deploy_hooks(where, site, errors):
    """deploy_hooks: a mapping of known points, each a list of task file paths (.yml or .yaml)."""
    hooks = site.get("deploy_hooks", {})
    if hooks is None:
        return
    if not isinstance(hooks, dict):
        errors.append(f"{where}: deploy_hooks: must be a mapping of {', '.join(DEPLOY_HOOK_POINTS)}")
        return
    for point in sorted(hooks):
        if point not in DEPLOY_HOOK_POINTS:
            errors.append(f"{where}: deploy_hooks.{point}: unknown point (one of {', '.join(DEPLOY_HOOK_POINTS)})")
            continue
        files = hooks[point] or []
        if not isinstance(files, list):
            errors.append(f"{where}: deploy_hooks.{point}: must be a list of task files")
            continue
        for index, path in enumerate(files):
            if not isinstance(path, str) or not path.strip() or not path.endswith((".yml", ".yaml")):
                errors.append(f"{where}: deploy_hooks.{point}[{index}]: {path!r} is not the path of a task file (.yml)")


def _check_site_drivers(where, site, hosts, errors):
    """Scheduler, search, the Laravel drivers, and what a site on several hosts cannot keep local."""
    if not isinstance(site.get("scheduler", False), bool):
        errors.append(f"{where}: scheduler: must be true or false")
    search = site.get("search", "none")
    if search not in SEARCH_ENGINES:
        errors.append(f"{where}: search: '{search}' is not one of {', '.join(SEARCH_ENGINES)}")
    elif search == "meilisearch" and not site.get("search_indexes"):
        errors.append(f"{where}: search_indexes: a site on meilisearch names the indexes to migrate")
    for field, allowed in (
        ("session_driver", SESSION_DRIVERS),
        ("cache_driver", CACHE_DRIVERS),
        ("queue_connection", QUEUE_CONNECTIONS),
        ("uploads", UPLOAD_DISKS),
    ):
        value = site.get(field)
        if value is not None and value not in allowed:
            errors.append(f"{where}: {field}: '{value}' is not one of {', '.join(allowed)}")
    if len(hosts) > 1:
        if site.get("session_driver") == "file":
            errors.append(
                f"{where}: session_driver: 'file' cannot be shared by {len(hosts)} hosts "
                f"({', '.join(hosts)}); use redis (or leave it to auto)"
            )
        if site.get("cache_driver") == "file":
            errors.append(f"{where}: cache_driver: 'file' cannot be shared by {len(hosts)} hosts; use redis")
        if site.get("uploads", "local") == "local":
            errors.append(
                f"{where}: uploads: a local upload disk cannot be shared by {len(hosts)} hosts "
                f"({', '.join(hosts)}); use s3, or none if the site stores no uploads"
            )


def _check_site_search_indexes(where, site, search, ctx, errors):
    """search_indexes: what moves to the Typesense cluster (docs/search.md).

    Meilisearch indexes for a site on meilisearch; for a site on typesense, its collections still on
    the legacy Typesense (group typesense_legacy). Each name becomes an alias of the cluster: one
    name cannot come from both engines.
    """
    indexes = site.get("search_indexes") or []
    if not isinstance(indexes, list):
        errors.append(f"{where}: search_indexes: must be a list of index or collection names")
        return
    if indexes and search not in ("meilisearch", "typesense"):
        errors.append(f"{where}: search_indexes: a site with search '{search}' has no index to move; "
                      "set search to meilisearch or typesense, or remove search_indexes")
        return
    if indexes and search == "typesense" and not (ctx["groups"].get(LEGACY_TYPESENSE_GROUP) or []):
        errors.append(f"{where}: search_indexes: names collections to move from the legacy Typesense, but group "
                      f"{LEGACY_TYPESENSE_GROUP} has no host")
    for index in indexes:
        if not isinstance(index, str) or not SEARCH_INDEX_RE.match(index):
            errors.append(f"{where}: search_indexes: '{index}' is not an index or collection name "
                          f"({SEARCH_INDEX_RE.pattern})")
            continue
        owner, engine = ctx["index_owner"].setdefault(index, (where, search))
        if engine != search:
            errors.append(f"{where}: search_indexes: '{index}' also comes from {engine} for {owner}: "
                          "one alias of the cluster cannot be fed by both")


def _check_site_env(where, name, site, errors):
    """Valid .env names, and no secret in plain text."""
    env = site.get("env") or {}
    if not isinstance(env, dict):
        errors.append(f"{where}: env: must be a mapping of NAME: value")
        env = {}
    for key, value in env.items():
        if not ENV_NAME_RE.match(str(key)):
            errors.append(f"{where}: env.{key}: names are upper case letters, digits and _")
        if SECRET_ENV_RE.search(str(key)) and value not in (None, ""):
            errors.append(
                f"{where}: env.{key}: looks like a secret in plain text; "
                f"put it in the vault as vault_sites.{name}.env.{key}"
            )


def _check_limits(where, limits, errors):
    checks = (
        ("cpu_weight", lambda v: isinstance(v, int) and 1 <= v <= 10000, "a whole number from 1 to 10000"),
        ("cpu_quota", lambda v: isinstance(v, str) and PERCENT_RE.match(v), "a percentage such as 100%"),
        ("memory_high", lambda v: isinstance(v, str) and SIZE_RE.match(v), "a size such as 512M"),
        ("memory_max", lambda v: isinstance(v, str) and SIZE_RE.match(v), "a size such as 768M"),
        ("pm_max_children", lambda v: isinstance(v, int) and v >= 1, "a whole number of at least 1"),
        ("memory_limit", lambda v: isinstance(v, str) and SIZE_RE.match(v), "a size such as 256M"),
        ("request_terminate_timeout", lambda v: isinstance(v, str) and DURATION_RE.match(v), "a duration such as 60s"),
        ("rate_limit", lambda v: isinstance(v, str) and RATE_RE.match(v), "a rate such as 20r/s"),
        ("rate_burst", lambda v: isinstance(v, int) and v >= 0, "a whole number"),
        ("client_max_body_size", lambda v: isinstance(v, str) and BODY_SIZE_RE.match(v), "a size such as 20m"),
    )
    for field, ok, expected in checks:
        if field in limits and not (ok(limits[field]) and not isinstance(limits[field], bool)):
            errors.append(f"{where}: limits.{field}: '{limits[field]}' is not {expected}")


def _check_database(name, db, ctx, errors):
    where = f"database {name}"
    if not isinstance(db, dict):
        errors.append(f"{where}: must be a mapping of fields")
        return
    for field in sorted(set(db) - DATABASE_FIELDS):
        errors.append(f"{where}: {field}: unknown field")
    engine = db.get("engine")
    if engine not in KNOWN_ENGINES:
        errors.append(f"{where}: engine: '{engine}' is not one of {', '.join(KNOWN_ENGINES)}")
    host = db.get("host")
    if host not in ctx["all_hosts"]:
        errors.append(f"{where}: host: '{host}' is not a host of the inventory")
    elif engine in KNOWN_ENGINES and host not in ctx["groups"].get(ENGINE_GROUPS[engine], []) \
            and host not in ctx["groups"].get(TIER_GROUPS[engine], []):
        tier = TIER_GROUPS[engine]
        also = f" (nor in '{tier}', the replicated tier)" if ctx["groups"].get(tier) else ""
        errors.append(f"{where}: host: '{host}' is not in group '{ENGINE_GROUPS[engine]}'{also}")
    _check_database_synchronous(where, db, ctx, errors)
    _check_database_tls(where, db, ctx, errors)
    site = db.get("site")
    if site is not None and site not in ctx["sites"]:
        errors.append(f"{where}: site: '{site}' is not a site of the data model")
    elif site is not None and name not in (ctx["sites"][site] or {}).get("databases", []):
        errors.append(f"{where}: site: site {site} does not list it in its databases")
    env_name = db.get("environment")
    if env_name not in ENVIRONMENTS:
        errors.append(f"{where}: environment: '{env_name}' is not one of {', '.join(ENVIRONMENTS)}")
    if not isinstance(db.get("protected"), bool):
        errors.append(f"{where}: protected: must be true or false")
    if not re.match(r"^[a-z][a-z0-9_]{0,62}$", str(name)):
        errors.append(f"{where}: name: must be lower case letters, digits and _ (at most 63)")


def _check_database_synchronous(where, db, ctx, errors):
    """`synchronous` (PostgreSQL on the patroni tier only): a commit waits for a standby (RPO 0)."""
    if "synchronous" not in db:
        return
    if not isinstance(db["synchronous"], bool):
        errors.append(f"{where}: synchronous: must be true or false")
    elif db.get("engine") != "postgresql":
        errors.append(f"{where}: synchronous: only a PostgreSQL database takes it "
                      "(Galera replicates every MariaDB database synchronously)")
    elif db.get("host") not in ctx["groups"].get(TIER_GROUPS["postgresql"], []):
        errors.append(f"{where}: synchronous: host '{db.get('host')}' is not on the replicated tier "
                      f"(group '{TIER_GROUPS['postgresql']}'): a single server has no standby to wait for")


def _check_database_tls(where, db, ctx, errors):
    """`tls` (a database on the replicated tier only): whether its site must reach it over TLS."""
    if "tls" not in db:
        return
    if not isinstance(db["tls"], bool):
        errors.append(f"{where}: tls: must be true or false")
        return
    engine = db.get("engine")
    tier = TIER_GROUPS.get(engine)
    if tier and db.get("host") not in ctx["groups"].get(tier, []):
        errors.append(f"{where}: tls: host '{db.get('host')}' is not on the replicated tier (group '{tier}'): "
                      "only the tier's servers have certificates (a Forge-era server is left as it is)")


def database_tls(name, databases, groups, defaults=None):
    """Whether database `name` must be reached over TLS (docs/databases.md).

    Only a database on the replicated tier (a host of group galera or patroni): its own `tls` when
    given, else the engine's default in `defaults` ({mysql: bool, postgresql: bool}; an engine
    missing there: required). A database elsewhere (whc and the other Forge-era servers): never.
    """
    db = (databases or {}).get(name) or {}
    engine = db.get("engine")
    tier = TIER_GROUPS.get(engine)
    if not tier or db.get("host") not in ((groups or {}).get(tier) or []):
        return False
    if "tls" in db:
        return bool(db["tls"])
    return bool((defaults or {}).get(engine, True))


def db_users_tls(users, engine, databases, groups, defaults=None):
    """The tier's accounts of `engine` (galera_users, patroni_users) each with `tls` decided.

    An account's own `tls` wins; else TLS is required when any database of the data model on the tier
    of that engine owned by the site of the same name requires it (database_tls); an account that owns
    none there takes the engine's default. One account serves all of a site's databases, so the
    requirement is per account on both engines (MariaDB REQUIRE SSL, PostgreSQL hostssl).
    """
    result = []
    for user in users or []:
        user = _plain(user)
        if "tls" not in user:
            owned = [name for name, db in (databases or {}).items()
                     if (db or {}).get("site") == user.get("name") and (db or {}).get("engine") == engine
                     and (db or {}).get("host") in ((groups or {}).get(TIER_GROUPS.get(engine, "")) or [])]
            if owned:
                user["tls"] = any(database_tls(name, databases, groups, defaults) for name in owned)
            else:
                user["tls"] = bool((defaults or {}).get(engine, True))
        result.append(user)
    return result


def db_tier_users(databases, engine, groups, vault_sites=None, client_hosts=(), listed=()):
    """The accounts of the sites whose databases the data model places on the tier of `engine`.

    One account per site, named after it, with the site's password from the vault (`vault_sites.<site>.db_password`,
    the one the site's .env reads): MariaDB - one entry per client host in `client_hosts` (the load balancers'
    addresses: HAProxy connects from its own), `priv` on each of the site's databases on the tier; PostgreSQL -
    {name, password} (the role; db_move.yml's copy or `db_cluster_postgresql_databases` makes it the owner).
    Sites named in `listed` (accounts written by hand in db_cluster_*_users) are left out. Sorted by name.
    Whether each account requires TLS is decided afterwards (db_users_tls)."""
    tier = set((groups or {}).get(TIER_GROUPS.get(engine, ""), []) or [])
    owned = {}
    for name, db in sorted((databases or {}).items()):
        db = db or {}
        if db.get("engine") == engine and db.get("host") in tier and db.get("site") and db["site"] not in set(listed or ()):
            owned.setdefault(db["site"], []).append(name)
    users = []
    for site, names in sorted(owned.items()):
        password = ((vault_sites or {}).get(site) or {}).get("db_password")
        if engine == "mysql":
            priv = "/".join("%s.*:ALL" % name for name in names)
            users.extend({"name": site, "host": str(host), "password": password, "priv": priv} for host in client_hosts or [])
        else:
            users.append({"name": site, "password": password})
    return users


def _check_tiers(groups, errors):
    """A replicated tier needs an odd number of hosts, at least 3, for its quorum."""
    for tier in sorted(set(TIER_GROUPS.values())):
        hosts = groups.get(tier) or []
        if hosts and (len(hosts) < 3 or len(hosts) % 2 == 0):
            errors.append(f"group {tier}: {len(hosts)} host(s); its quorum needs an odd number, at least 3")


def _check_dns(dns_domains, errors):
    for domain, entry in (dns_domains or {}).items():
        where = f"domain {domain}"
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be a mapping (registrar, dns_provider, confirmed)")
            continue
        if entry.get("registrar") not in REGISTRARS:
            errors.append(f"{where}: registrar: '{entry.get('registrar')}' is not one of {', '.join(REGISTRARS)}")
        if entry.get("dns_provider") not in DNS_PROVIDERS:
            errors.append(
                f"{where}: dns_provider: '{entry.get('dns_provider')}' is not one of {', '.join(DNS_PROVIDERS)}"
            )
        if entry.get("confirmed") is True and "unknown" in (entry.get("registrar"), entry.get("dns_provider")):
            errors.append(f"{where}: confirmed: an unknown registrar or DNS provider cannot be confirmed")


def _check_vault(sites, vault_sites, errors):
    for name, site in sites.items():
        if not isinstance(site, dict) or site.get("status", "active") == "retired":
            continue
        secrets = (vault_sites or {}).get(name)
        if secrets is None:
            errors.append(f"site {name}: vault_sites.{name}: missing from the vault (db_password, env.APP_KEY)")
            continue
        if site.get("databases") and not secrets.get("db_password"):
            errors.append(f"site {name}: vault_sites.{name}.db_password: missing from the vault")
        if not (secrets.get("env") or {}).get("APP_KEY"):
            errors.append(f"site {name}: vault_sites.{name}.env.APP_KEY: missing from the vault")
        for key in (secrets.get("env") or {}):
            if key in (site.get("env") or {}):
                errors.append(f"site {name}: env.{key}: set both in env and in the vault")


def datamodel_errors(sites, databases, groups, dns_domains=None, php_versions=None, vault_sites=None):
    """Return the list of problems of the data model, one line each (empty when it is sound).

    `groups` is Ansible's `groups` magic variable; `vault_sites` is checked only when given
    (production's vault is not available to CI).
    """
    errors = []
    sites = sites or {}
    databases = databases or {}
    if not isinstance(sites, dict):
        return ["sites: must be a mapping keyed by site name"]
    if not isinstance(databases, dict):
        return ["databases: must be a mapping keyed by database name"]
    ctx = {
        "sites": sites,
        "databases": databases,
        "groups": groups or {},
        "all_hosts": set((groups or {}).get("all", [])),
        "web_hosts": set((groups or {}).get("web", [])),
        "php_versions": [str(v) for v in (php_versions or [])],
        "dns_domains": dns_domains,
        "domain_owner": {},
        "index_owner": {},
    }
    for name in sorted(sites):
        _check_site(name, sites[name], ctx, errors)
    for name in sorted(databases):
        _check_database(name, databases[name], ctx, errors)
    _check_tiers(ctx["groups"], errors)
    if dns_domains is not None:
        _check_dns(dns_domains, errors)
    if vault_sites is not None:
        _check_vault(sites, vault_sites, errors)
    return errors


def site_placeholders(site):
    """Return the fields of one site that still hold placeholders (TO-CONFIRM, .to-confirm.invalid)."""
    found = []
    for field in ("repo", "branch"):
        if _is_placeholder(site.get(field)):
            found.append(field)
    if any(_is_placeholder(d) for d in site.get("domains") or []):
        found.append("domains")
    return found


def without_placeholders(sites):
    """Return the sites (a dict keyed by name) whose repo, branch and domains hold no placeholder."""
    return {name: site for name, site in (sites or {}).items() if not site_placeholders(site)}


def sites_for_host(sites, host, include_retired=False):
    """Return the sites (already through site_defaults) that `host` serves, keyed by name."""
    return {
        name: site
        for name, site in (sites or {}).items()
        if host in (site.get("hosts") or []) and (include_retired or site.get("status", "active") != "retired")
    }


def site_rounds(sites, hosts):
    """Group the sites of `hosts` in rounds, each a dict host -> site name, for one include per round.

    A play that includes a task file once per site of its host (apps.yml) runs the hosts' includes one
    after another: ansible-core's linear strategy runs hosts together only on the same included file with
    the same loop item. Looping over these rounds (the same list on every host) lets each round's sites
    converge on their hosts together. A site served by several of the hosts is in one round for all of
    them (its hosts deploy it in step: the migrations on the first before the others switch). Each host
    has at most one site per round; retired sites are left out (as sites_for_host does). Greedy, sites
    on the most hosts first, then by name: the same rounds on every host and on every run.
    """
    hosts = list(hosts or [])
    wanted = set(hosts)
    served = []
    for name, site in (sites or {}).items():
        if site.get("status", "active") == "retired":
            continue
        on = [h for h in (site.get("hosts") or []) if h in wanted]
        if on:
            served.append((name, on))
    served.sort(key=lambda item: (-len(item[1]), item[0]))
    rounds = []
    for name, on in served:
        for current in rounds:
            if not any(h in current for h in on):
                break
        else:
            current = {}
            rounds.append(current)
        for host in on:
            current[host] = name
    return [dict(sorted(r.items(), key=lambda kv: hosts.index(kv[0]))) for r in rounds]


def databases_for_host(databases, host, engine=None):
    """Return the databases declared on `host` (of one engine when given), keyed by name."""
    return {
        name: db
        for name, db in (databases or {}).items()
        if db.get("host") == host and (engine is None or db.get("engine") == engine)
    }


def site_addresses(sites, hostvars, lb_sites=None, lb_hosts=None, lb_address=None):
    """Return {domain: IPv4} as DNS should answer for every active site.

    A site behind the load balancers (`lb_sites`, when group lb has hosts) answers at their
    floating address (`lb_address`, CIDR or bare, when set and not a placeholder), else at the
    first load balancer; any other site at its first host. Addresses are the hosts' `private_ip`;
    a host without one (or with a placeholder) is left out, so that nothing points at a guess.
    """
    lb_sites = set(lb_sites or [])
    lb_hosts = list(lb_hosts or [])
    floating = str(lb_address or "").split("/", maxsplit=1)[0]
    records = {}
    for name, site in (sites or {}).items():
        if site.get("status", "active") == "retired":
            continue
        hosts = site.get("hosts") or []
        behind = name in lb_sites and lb_hosts
        target = lb_hosts[0] if behind else (hosts[0] if hosts else None)
        address = (hostvars or {}).get(target, {}).get("private_ip") if target else None
        if behind and floating and not _is_placeholder(floating):
            address = floating
        if not address or _is_placeholder(address):
            continue
        for domain in site.get("domains") or []:
            if not _is_placeholder(domain):
                records[domain] = address
    return dict(sorted(records.items()))


def site_database(site_name, site, databases, hostvars, this_host, tier_address=None, tls_defaults=None, tls_ca=None):
    """Return the database settings of one site's .env, as laravel_app_database wants them.

    The site's first database: {connection (engine), database, username (the site's name), host}
    with host 127.0.0.1 when the database lives on `this_host`, `tier_address` (the load
    balancers' one address of the replicated tier) when it lives on a member of group galera or
    patroni, else the database host's private_ip. {} when the site has no database (SQLite then).
    A database on the tier that requires TLS (its `tls`, else `tls_defaults` per engine; required
    when neither says) also gets `ssl_ca` (`tls_ca`, the tier's CA certificate on the web nodes) and,
    for PostgreSQL, `sslmode` verify-full: the certificates name HAProxy's addresses, so the name
    the site connects to is checked too.
    """
    names = (site or {}).get("databases") or []
    if not names:
        return {}
    name = names[0]
    db = (databases or {}).get(name)
    if not db:
        return {}
    db_host = db.get("host")
    groups = ((hostvars or {}).get(db_host) or {}).get("group_names") or []
    on_tier = "galera" in groups or "patroni" in groups
    if tier_address and on_tier:
        address = str(tier_address)
    elif db_host == this_host:
        address = "127.0.0.1"
    else:
        address = ((hostvars or {}).get(db_host) or {}).get("private_ip") or db_host
    result = {"connection": db.get("engine"), "database": name, "username": site_name, "host": address}
    tier_groups = {TIER_GROUPS[db.get("engine")]: [db_host]} if on_tier and db.get("engine") in TIER_GROUPS else {}
    if database_tls(name, databases, tier_groups, tls_defaults):
        if not tls_ca:
            raise AnsibleFilterError("site %s: database %s: tls: TLS is required on the tier but no CA certificate path"
                                     " is known for the .env (datamodel_db_tls_ca_cert)" % (site_name, name))
        result["ssl_ca"] = str(tls_ca)
        if db.get("engine") == "postgresql":
            result["sslmode"] = "verify-full"
    return result


def site_platform_env(site, platform):
    """The .env lines a site needs from the platform around it, not from its own entry.

    `site` is a site of `datamodel_sites` (drivers resolved: `auto` is `redis` on a site of several
    nodes); `platform` is `datamodel_platform`: {redis_host, redis_port, redis_password,
    trusted_proxies, lb_sites, typesense_nodes, typesense_port, typesense_keys}. REDIS_HOST/PORT
    (/PASSWORD) when the site's sessions, cache or queue are in Redis; TRUSTED_PROXIES (the load
    balancers' addresses) when the site is served through them, so that Laravel sees the visitor's
    address and https; for a site with `search: typesense`, SCOUT_DRIVER and TYPESENSE_* with every
    node of the cluster in TYPESENSE_NODES (comma-separated, the app's config/scout.php lists them
    as Scout's `nodes`: losing one node does not break the site), TYPESENSE_HOST the first, and the
    site's back-end key when the vault has it. A Redis site without a Redis host, or a Typesense
    site without a node, is a data model error, named here rather than left to fail at the app's
    first request.
    """
    site = site or {}
    platform = platform or {}
    name = site.get("name", "?")
    env = {}
    drivers = (site.get("session_driver"), site.get("cache_driver"), site.get("queue_connection"))
    if "redis" in drivers:
        host = platform.get("redis_host")
        if not host:
            raise AnsibleFilterError("site %s: session_driver, cache_driver or queue_connection is redis but no Redis"
                                     " host is known (group redis is empty, or lb_redis_host is not set)" % name)
        env["REDIS_HOST"] = str(host)
        env["REDIS_PORT"] = str(platform.get("redis_port") or 6379)
        if platform.get("redis_password"):
            env["REDIS_PASSWORD"] = platform["redis_password"]
    if name in (platform.get("lb_sites") or []) and platform.get("trusted_proxies"):
        env["TRUSTED_PROXIES"] = str(platform["trusted_proxies"])
    if site.get("search") == "typesense":
        nodes = [str(n) for n in platform.get("typesense_nodes") or [] if n and not _is_placeholder(n)]
        if not nodes:
            raise AnsibleFilterError("site %s: search is typesense but no Typesense node has an address"
                                     " (group typesense is empty, or its hosts have no private_ip)" % name)
        env["SCOUT_DRIVER"] = "typesense"
        env["TYPESENSE_HOST"] = nodes[0]
        env["TYPESENSE_NODES"] = ",".join(nodes)
        env["TYPESENSE_PORT"] = str(platform.get("typesense_port") or 8108)
        env["TYPESENSE_PROTOCOL"] = "http"
        key = ((platform.get("typesense_keys") or {}).get(name) or {}).get("backend")
        if key:
            env["TYPESENSE_API_KEY"] = str(key)
    return env


def env_bad_names(names):
    """Return the names among `names` that are not valid .env names (ENV_NAME_RE), in their order."""
    return [name for name in (names or []) if not ENV_NAME_RE.match(str(name))]


def env_secret_names(names):
    """Return the names among `names` that look like secrets (SECRET_ENV_RE): they go to the vault."""
    return [name for name in (names or []) if SECRET_ENV_RE.search(str(name))]


class FilterModule:
    """Data model filters."""

    def filters(self):
        return {
            "site_defaults": site_defaults,
            "datamodel_errors": datamodel_errors,
            "site_placeholders": site_placeholders,
            "without_placeholders": without_placeholders,
            "sites_for_host": sites_for_host,
            "site_rounds": site_rounds,
            "databases_for_host": databases_for_host,
            "site_addresses": site_addresses,
            "site_database": site_database,
            "db_users_tls": db_users_tls,
            "db_tier_users": db_tier_users,
            "site_platform_env": site_platform_env,
            "env_bad_names": env_bad_names,
            "env_secret_names": env_secret_names,
        }
