"""Parsing of Nginx server blocks, FPM pools, units, Supervisor programs and cron entries."""

import datetime

import pytest

from ansible_collections.infra.hosting.plugins.module_utils.site_parse import (
    ParseError, claim, count_requests, cron_entries, fpm_pools, nginx_server_blocks, paths_in,
    releases_to_prune, site_identities, supervisor_programs, systemd_unit)

FORGE_VHOST = r"""
# FORGE CONFIG (DO NOT REMOVE!)
include forge-conf/shop.example.com/before/*;

server {
    listen 443 ssl http2;
    server_name shop.example.com;   # main name
    server_name www.shop.example.com "alias.example.com";
    server_tokens off;
    root /home/forge/shop.example.com/public;

    ssl_certificate /etc/nginx/ssl/shop.example.com/1/server.crt;
    add_header X-Note "braces { in } a string; and # not a comment";
    include forge-conf/shop.example.com/server/*;

    location / {
        try_files $uri $uri/ /index.php?$query_string;
        if ($request_method = POST) { return 405; }
    }
    location ~ \.php$ {
        fastcgi_pass unix:/var/run/php/php8.2-fpm.sock;
    }
    access_log /var/log/nginx/shop.example.com-access.log;
}

server {
    listen 80;
    server_name shop.example.com www.shop.example.com;
    return 301 https://$host$request_uri;
}
"""


def test_forge_vhost_two_server_blocks():
    servers = nginx_server_blocks(FORGE_VHOST, "shop")
    assert len(servers) == 2
    first = servers[0]
    assert first["server_names"] == ["shop.example.com", "www.shop.example.com", "alias.example.com"]
    assert first["roots"] == ["/home/forge/shop.example.com/public"]
    assert first["access_logs"] == ["/var/log/nginx/shop.example.com-access.log"]
    assert first["fastcgi_pass"] == ["unix:/var/run/php/php8.2-fpm.sock"]
    assert "forge-conf/shop.example.com/server/*" in first["includes"]
    assert servers[1]["roots"] == []


def test_servers_inside_http_block_and_default_name():
    text = "http { server { listen 80 default_server; server_name _; root /var/www/html; } }"
    servers = nginx_server_blocks(text)
    assert servers[0]["server_names"] == []
    assert servers[0]["listen"] == ["80 default_server"]


def test_file_without_server_block():
    assert nginx_server_blocks("upstream php { server unix:/run/x.sock; }\nmap $a $b { default 1; }") == []


@pytest.mark.parametrize("text, message", [
    ("server { server_name a.test; ", "unclosed"),
    ("server { server_name a.test; } }", "unbalanced"),
    ("server { server_name a.test }", "not terminated"),
    ('server { add_header X "oops; }', "unterminated quoted"),
    ("server { root /x; } listen 80", "missing ';'"),
])
def test_malformed_nginx_is_a_clear_error(text, message):
    with pytest.raises(ParseError, match=message):
        nginx_server_blocks(text, "/etc/nginx/sites-enabled/bad")


def test_error_names_file_and_line():
    with pytest.raises(ParseError, match=r"/etc/nginx/x:4"):
        nginx_server_blocks("server {\n listen 80;\n}\n}\n", "/etc/nginx/x")


def test_fpm_pools():
    text = "; comment\n[global]\npid = /run/x.pid\n\n[shop]\nuser = shop\ngroup = shop\nlisten = /run/php-fpm-sites/shop.sock\n"
    pools = fpm_pools(text)
    assert pools == [{"name": "shop", "user": "shop", "group": "shop", "listen": "/run/php-fpm-sites/shop.sock",
                      "chdir": None, "line": 5}]


@pytest.mark.parametrize("text", ["user = x\n[pool]\n", "[pool\nuser = x\n", "[pool]\njust words\n"])
def test_malformed_pool(text):
    with pytest.raises(ParseError):
        fpm_pools(text, "pool.conf")


def test_systemd_worker_unit():
    text = """[Unit]
Description=worker
[Service]
User=shop
WorkingDirectory=/srv/www/shop/current
ExecStart=/usr/bin/php /srv/www/shop/current/artisan \\
    queue:work --queue=default
[Install]
WantedBy=multi-user.target
"""
    unit = systemd_unit(text)
    assert unit["user"] == "shop"
    assert unit["is_worker"] and not unit["is_scheduler"]
    assert paths_in(" ".join(unit["exec_start"])) == ["/srv/www/shop"]


def test_systemd_fpm_unit_is_not_a_worker():
    unit = systemd_unit("[Service]\nExecStart=/usr/sbin/php-fpm8.2 --nodaemonize\n")
    assert unit["is_fpm"] and not unit["is_worker"]


def test_supervisor_programs():
    text = """[program:worker-123]
command=php8.2 /home/forge/shop.example.com/artisan queue:work redis --sleep=3
user=forge
numprocs=1
[group:x]
programs=worker-123
"""
    programs = supervisor_programs(text)
    assert programs[0]["name"] == "worker-123" and programs[0]["is_worker"]
    assert paths_in(programs[0]["command"]) == ["/home/forge/shop.example.com"]


def test_cron_d_and_user_crontab():
    system = "SHELL=/bin/sh\n# m h\n* * * * * shop cd /srv/www/shop/current && php artisan schedule:run >> /dev/null 2>&1\n0 3 * * * root /usr/bin/backup\n"
    entries = cron_entries(system, "/etc/cron.d/shop")
    assert len(entries) == 1 and entries[0]["user"] == "shop" and entries[0]["is_scheduler"]
    user = "@reboot php /home/forge/a.test/artisan queue:restart\n*/5 * * * * php /home/forge/a.test/artisan schedule:run\n"
    entries = cron_entries(user, "crontab", system=False)
    assert [e["user"] for e in entries] == [None, None]


@pytest.mark.parametrize("text", ["* * * shop php artisan schedule:run\n", "* * * * *\n", "hello world\n"])
def test_malformed_cron(text):
    with pytest.raises(ParseError):
        cron_entries(text, "/etc/cron.d/bad")


SITES = {
    "shop": {"domains": ["shop.example.com"], "status": "active"},
    "old": {"domains": ["old.example.com", "vieux.example.com"], "status": "retired"},
}


@pytest.mark.parametrize("item, owner", [
    ({"server_names": ["vieux.example.com"]}, "old"),
    ({"user": "shop"}, "shop"),
    ({"user": "forge", "paths": ["/home/forge/old.example.com/public"]}, "old"),
    ({"paths": ["/srv/www/shop/current/public"]}, "shop"),
    ({"paths": ["/srv/www/shopping"]}, None),
    ({"user": "forge", "server_names": ["new.example.com"]}, None),
    ({"site_names": ["old"]}, "old"),
    ({"domains": ["shop.example.com"]}, "shop"),
])
def test_claim(item, owner):
    assert claim(item, site_identities(SITES))[0] == owner


NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.timezone.utc)


def _line(addr, when, path, status=200):
    return '%s - - [%s] "GET %s HTTP/1.1" %d 12 "-" "curl/7"\n' % (addr, when.strftime("%d/%b/%Y:%H:%M:%S +0000"), path, status)


def test_count_requests_ignores_health_and_local_monitoring():
    lines = [
        _line("203.0.113.9", NOW - datetime.timedelta(days=40), "/old"),
        _line("203.0.113.9", NOW - datetime.timedelta(days=2), "/jobs?page=2"),
        _line("203.0.113.9", NOW - datetime.timedelta(days=1), "/up"),
        _line("127.0.0.1", NOW - datetime.timedelta(hours=1), "/"),
        "garbage line\n",
    ]
    ev = count_requests(lines, NOW, 14)
    assert (ev["requests"], ev["ignored"], ev["unparsed"]) == (1, 2, 1)
    assert ev["window"]["covers_whole_window"]
    assert ev["last_request"].startswith("2026-11-22")


def test_window_covered_is_from_oldest_line():
    ev = count_requests([_line("203.0.113.9", NOW - datetime.timedelta(days=3), "/up")], NOW, 14)
    assert ev["requests"] == 0
    assert not ev["window"]["covers_whole_window"]
    assert ev["window"]["covered_from"].startswith("2026-11-21")


@pytest.mark.parametrize("ids, current, keep, doomed", [
    (["r1", "r2", "r3", "r4", "r5"], "r5", 3, ["r1", "r2"]),
    (["r1", "r2", "r3", "r4", "r5"], "r5", 0, ["r1", "r2", "r3"]),
    (["r1", "r2", "r3", "r4", "r5"], "r2", 1, ["r3", "r4"]),   # rolled back: r2 and r1 stay
    (["r1", "r2"], "r2", 5, []),
    (["r1", "r2", "r3"], None, 0, ["r1"]),
])
def test_releases_to_prune(ids, current, keep, doomed):
    assert releases_to_prune(ids, current, keep) == doomed
