# -*- coding: utf-8 -*-
"""Pure logic of the laravel_app role: .env rendering, workers (releases: roles/laravel_release).

Kept here (and unit-tested in tests/unit/roles/test_laravel_app_filters.py) so that the task files stay plain sequences.
The rules the operator playbooks apply live in plugins/filter/: the artisan deny list in
artisan.py, the .env name rules in datamodel.py.
"""

from __future__ import annotations


APP_ENVS = {"prod": "production", "staging": "staging", "dev": "local"}
DB_DRIVERS = {"mysql": "mysql", "postgresql": "pgsql", "pgsql": "pgsql", "sqlite": "sqlite"}


def dotenv_quote(value):
    """Quote one value for Laravel's .env (phpdotenv 5): double quotes, escapes for \\ " $ and newlines."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
    return f'"{text}"'


def laravel_app_env(site, secrets=None, database=None, base=None, overrides=None):
    """Return the .env of a site as a list of (NAME, value), in a stable order.

    Layers, later wins: base values (APP_ENV, URL, drivers), database settings, the site's env,
    the controller's per-site overrides (env.yml), then the vault's env (secrets) and DB_PASSWORD.
    """
    site = site or {}
    secrets = secrets or {}
    database = database or {}
    domains = site.get("domains") or []
    env = {
        "APP_NAME": site.get("name", ""),
        "APP_ENV": APP_ENVS.get(site.get("environment", "prod"), "production"),
        "APP_DEBUG": "false",
        "APP_URL": f"https://{domains[0]}" if domains else "http://localhost",
        "LOG_CHANNEL": "single",
        "SESSION_DRIVER": site.get("session_driver", "file"),
        "CACHE_DRIVER": site.get("cache_driver", "file"),
        "QUEUE_CONNECTION": site.get("queue_connection", "database"),
    }
    env.update(base or {})
    driver = DB_DRIVERS.get(database.get("connection", "sqlite"), database.get("connection"))
    env["DB_CONNECTION"] = driver
    if driver == "sqlite":
        env["DB_DATABASE"] = database.get("database", "")
    else:
        env["DB_HOST"] = database.get("host", "127.0.0.1")
        env["DB_PORT"] = str(database.get("port", 5432 if driver == "pgsql" else 3306))
        env["DB_DATABASE"] = database.get("database", "")
        env["DB_USERNAME"] = database.get("username", site.get("name", ""))
        # TLS to the database (a database on the tier, docs/databases.md): the CA the server's
        # certificate is checked against, as Laravel's config/database.php reads it.
        if database.get("ssl_ca"):
            if driver == "mysql":
                env["MYSQL_ATTR_SSL_CA"] = database["ssl_ca"]
            elif driver == "pgsql":
                env["DB_SSLMODE"] = database.get("sslmode", "verify-full")
                env["DB_SSLROOTCERT"] = database["ssl_ca"]
                # libpq reads it from the environment too, for an app whose config has no sslrootcert.
                env["PGSSLROOTCERT"] = database["ssl_ca"]
    env.update(site.get("env") or {})
    env.update(overrides or {})
    env.update(secrets.get("env") or {})
    if driver != "sqlite" and secrets.get("db_password"):
        env["DB_PASSWORD"] = secrets["db_password"]
    return [[key, env[key]] for key in sorted(env)]


def laravel_app_worker_instances(workers, tries=1, sleep=3, memory=128):
    """One entry per worker process: instance "<queue>-<n>" of <site>-worker@.service, with its settings.

    `workers` is the site's `workers` list ({queue, processes, timeout, tries, sleep, memory});
    missing settings take the role's defaults (timeout 60).
    """
    out = []
    for worker in workers or []:
        for n in range(1, int(worker.get("processes", 1)) + 1):
            out.append({
                "instance": f"{worker['queue']}-{n}",
                "queue": worker["queue"],
                "timeout": worker.get("timeout", 60),
                "tries": worker.get("tries", tries),
                "sleep": worker.get("sleep", sleep),
                "memory": worker.get("memory", memory),
            })
    return out


class FilterModule:
    """laravel_app filters."""

    def filters(self):
        return {
            "laravel_app_dotenv_quote": dotenv_quote,
            "laravel_app_env": laravel_app_env,
            "laravel_app_worker_instances": laravel_app_worker_instances,
        }
