"""What a site's .env gets for TLS to its database (roles/laravel_app filter_plugins/laravel_app.py):
the names Laravel's config/database.php reads."""

from role_filters import load

la = load("laravel_app")

CA = "/etc/ssl/infra-db/ca.crt"
TLS_NAMES = {"MYSQL_ATTR_SSL_CA", "DB_SSLMODE", "DB_SSLROOTCERT", "PGSSLROOTCERT"}


def test_mysql_gets_the_ca_for_pdo():
    env = dict(la.laravel_app_env({"name": "shop"}, {}, {"connection": "mysql", "database": "shop", "host": "10.0.0.20",
                                                        "ssl_ca": CA}))
    assert env["MYSQL_ATTR_SSL_CA"] == CA
    assert not {"DB_SSLMODE", "DB_SSLROOTCERT", "PGSSLROOTCERT"} & set(env)


def test_pgsql_gets_verify_full_and_the_root_certificate():
    env = dict(la.laravel_app_env({"name": "shop"}, {}, {"connection": "postgresql", "database": "shop", "host": "10.0.0.20",
                                                        "ssl_ca": CA, "sslmode": "verify-full"}))
    assert (env["DB_SSLMODE"], env["DB_SSLROOTCERT"], env["PGSSLROOTCERT"]) == ("verify-full", CA, CA)
    assert "MYSQL_ATTR_SSL_CA" not in env


def test_no_tls_names_without_a_ca():
    for connection in ("mysql", "postgresql", "sqlite"):
        env = dict(la.laravel_app_env({"name": "shop"}, {}, {"connection": connection, "database": "shop"}))
        assert not TLS_NAMES & set(env), connection


def test_site_env_can_still_override():
    site = {"name": "shop", "env": {"DB_SSLMODE": "verify-ca"}}
    env = dict(la.laravel_app_env(site, {}, {"connection": "postgresql", "database": "shop", "ssl_ca": CA}))
    assert env["DB_SSLMODE"] == "verify-ca"
