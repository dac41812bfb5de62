"""The Forge discovery's parsers (module_utils/forge_parse.py, and site_parse's as discovery uses them)
on real-shaped files of a Forge server (tests/fixtures/forge/), malformed ones included."""

from pathlib import Path

import pytest

from ansible_collections.infra.hosting.plugins.module_utils.forge_parse import (
    ENV_VALUE_KEYS, env_file, forge_site, os_release, php_version_of, pool_php_version, server_directive_lines,
    supervisor_workers)
from ansible_collections.infra.hosting.plugins.module_utils.site_parse import ParseError, cron_entries, nginx_server_blocks

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "forge"


def text(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_forge_nginx_file_gives_names_root_tls_php_and_lines():
    path = "/etc/nginx/sites-available/shop.test"
    raw = text("shop.test.nginx")
    servers = nginx_server_blocks(raw, path)
    assert len(servers) == 1
    site = forge_site(servers[0], path, server_directive_lines(raw, path)[0])
    assert site["server_names"] == ["shop.test", "www.shop.test"]
    assert site["roots"] == ["/home/forge/shop.test/public"]
    assert site["tls"] is True and site["listen"][0] == "443 ssl http2"
    assert site["certificates"] == ["/etc/nginx/ssl/shop.test/1001/server.crt"]
    assert site["php_versions"] == ["8.2"]
    assert "forge-conf/shop.test/server/*" in site["includes"]
    assert site["directive_lines"]["root"] == 9
    assert site["directive_lines"]["fastcgi_pass"] == 42


def test_malformed_nginx_names_the_file():
    with pytest.raises(ParseError, match="broken.test: end of file with 2 unclosed block"):
        nginx_server_blocks(text("broken.nginx"), "broken.test")


@pytest.mark.parametrize("socket, version", [
    ("unix:/var/run/php/php8.2-fpm.sock", "8.2"), ("/run/php/php7.4-fpm.sock", "7.4"),
    ("127.0.0.1:9000", None), (None, None), ("unix:/run/php-fpm-sites/shop.sock", None)])
def test_php_version_of_a_socket(socket, version):
    assert php_version_of(socket) == version


def test_env_gives_every_name_and_only_the_allowed_values():
    env = env_file(text("shop.env"), source="shop.env")
    assert env["keys"] == ["APP_NAME", "APP_ENV", "APP_KEY", "APP_DEBUG", "DB_CONNECTION", "DB_HOST", "DB_DATABASE",
                           "DB_USERNAME", "DB_PASSWORD", "QUEUE_CONNECTION", "CACHE_STORE", "SESSION_DRIVER",
                           "MAIL_MAILER", "PRIVATE_CERT", "STRIPE_SECRET"]
    assert env["values"] == {"DB_CONNECTION": "mysql", "DB_HOST": "127.0.0.1", "DB_DATABASE": "shop_db",
                             "QUEUE_CONNECTION": "database", "CACHE_STORE": "file", "SESSION_DRIVER": "file"}
    assert set(env["values"]) <= set(ENV_VALUE_KEYS)
    flat = repr(env)
    for secret in ("c2VjcmV0", "p@ss", "sk_test", "BEGIN", "Shop (test)"):
        assert secret not in flat


def test_env_values_only_for_the_names_asked():
    assert env_file("DB_PASSWORD=x\nDB_HOST=db\n", value_keys=("DB_HOST",))["values"] == {"DB_HOST": "db"}


@pytest.mark.parametrize("name, message", [
    ("bad.env", "bad.env:2: expected NAME=value"), ("bad-quote.env", "bad-quote.env:1: unterminated quoted value")])
def test_malformed_env_names_file_and_line_but_no_value(name, message):
    with pytest.raises(ParseError, match=message) as info:
        env_file(text(name), source=name)
    assert "never closed" not in str(info.value)


def test_supervisor_worker_of_forge():
    (worker,) = supervisor_workers(text("worker-101.conf"), "worker-101.conf")
    assert worker["name"] == "worker-101" and worker["user"] == "forge" and worker["is_worker"]
    assert worker["numprocs"] == 2 and worker["queue"] == "emails"
    assert worker["command"].startswith("php8.2 /home/forge/shop.test/artisan queue:work")


def test_supervisor_default_queue_and_malformed_numprocs():
    (worker,) = supervisor_workers("[program:w]\ncommand=php artisan queue:work\n")
    assert worker["queue"] == "default" and worker["numprocs"] == 1
    with pytest.raises(ParseError, match="worker-bad.conf:1: numprocs is not a number"):
        supervisor_workers(text("worker-bad.conf"), "worker-bad.conf")
    with pytest.raises(ParseError, match="x.conf:1: setting outside of any section"):
        supervisor_workers("command=php artisan queue:work\n", "x.conf")


def test_forge_crontab_and_malformed_one():
    (entry,) = cron_entries(text("forge.crontab"), "forge", system=False)
    assert entry["schedule"] == "* * * * *" and entry["is_scheduler"] and entry["line"] == 4
    with pytest.raises(ParseError, match="bad.crontab:1: not a cron entry"):
        cron_entries(text("bad.crontab"), "bad.crontab", system=False)


def test_os_release():
    assert os_release('PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nVERSION_ID="22.04"\n') == {
        "id": "ubuntu", "version_id": "22.04", "pretty_name": "Ubuntu 22.04.4 LTS"}
    assert os_release("garbage")["id"] is None


@pytest.mark.parametrize("path, version", [
    ("/etc/php/8.2/fpm/pool.d/www.conf", "8.2"), ("/tmp/x/etc/php/7.4/fpm/pool.d/a.conf", "7.4"), ("/etc/php.ini", None)])
def test_pool_php_version(path, version):
    assert pool_php_version(path) == version


def test_certificate_keys_are_not_certificates():
    # Seen on the lab's whc: /etc/ssl/sites/<site>/privkey.pem was read as a certificate.
    raw = ("server { listen 443 ssl; server_name a.test; ssl_certificate /etc/ssl/sites/a/fullchain.pem;"
           " ssl_certificate_key /etc/ssl/sites/a/privkey.pem; }")
    site = forge_site(nginx_server_blocks(raw)[0], "a")
    assert site["certificates"] == ["/etc/ssl/sites/a/fullchain.pem"]
