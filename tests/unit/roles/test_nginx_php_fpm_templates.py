"""Render the web tier's real templates (nginx, php_fpm) with fixtures and check what they promise."""

from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "roles"


def _env(role):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ROLES / role / "templates")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["bool"] = lambda v: v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")
    env.filters["ternary"] = lambda v, a, b: a if v else b
    # Ansible's combine, shallow (what the templates use it for).
    env.filters["combine"] = lambda base, *more: {k: v for d in (base, *more) for k, v in d.items()}
    return env


def _defaults(role):
    data = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
    data["ansible_managed"] = "Managed by Ansible"
    return data


SITE = {
    "domains": ["alpha.example.test", "www.alpha.example.test"],
    "web_root": "public",
    "health_path": "/up",
    "php_version": "8.2",
    "limits": {
        "cpu_weight": 100, "cpu_quota": "50%", "memory_high": "192M", "memory_max": "256M",
        "pm_max_children": 6, "memory_limit": "64M", "request_terminate_timeout": "30s",
        "rate_limit": "20r/s", "rate_burst": 40, "client_max_body_size": "5m",
    },
}


def vhost(tls, site=None, **overrides):
    variables = _defaults("nginx") | overrides
    variables["item"] = {"key": "alpha", "value": site or SITE}
    variables["nginx_site_tls"] = tls
    return _env("nginx").get_template("etc/nginx/sites-available/site.conf.j2").render(variables)


def test_a_site_without_limits_gets_the_role_fallbacks_and_own_limits_win_key_by_key():
    site = {k: v for k, v in SITE.items() if k != "limits"}
    text = vhost(True, site=site)
    assert "rate=20r/s;" in text and "burst=40 nodelay;" in text and "client_max_body_size 20m;" in text
    text = vhost(True, site=site | {"limits": {"rate_limit": "5r/s"}})
    assert "rate=5r/s;" in text and "client_max_body_size 20m;" in text


def test_vhost_without_certificate_serves_http_only():
    text = vhost(False)
    assert "listen 443" not in text
    assert "ssl_certificate" not in text
    assert "return 301" not in text
    assert "Strict-Transport-Security" not in text
    assert "fastcgi_pass unix:/run/php-fpm-sites/alpha.sock;" in text
    assert "root /srv/www/alpha/current/public;" in text


def test_vhost_with_certificate_redirects_and_serves_tls():
    text = vhost(True)
    assert text.count("return 301 https://alpha.example.test$request_uri;") == 2  # HTTP and the alias
    assert "server_name www.alpha.example.test;" in text
    assert "ssl_certificate /etc/ssl/sites/alpha/fullchain.pem;" in text
    assert 'Strict-Transport-Security "max-age=63072000; includeSubDomains" always' in text


def test_acme_challenge_comes_before_the_redirect():
    text = vhost(True)
    assert text.index("/.well-known/acme-challenge/") < text.index("return 301")
    assert "root /var/www/acme;" in text


def test_vhost_uses_realpath_root_and_site_limits():
    text = vhost(True)
    assert "fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;" in text
    assert "fastcgi_param DOCUMENT_ROOT $realpath_root;" in text
    assert "limit_req_zone $binary_remote_addr zone=site_alpha:10m rate=20r/s;" in text
    assert "limit_req zone=site_alpha burst=40 nodelay;" in text
    assert "limit_req_status 429;" in text
    assert "client_max_body_size 5m;" in text
    assert "access_log /var/log/nginx/alpha.access.log" in text
    assert "error_log /var/log/nginx/alpha.error.log;" in text


def test_single_domain_site_has_no_alias_server():
    site = dict(SITE, domains=["beta.example.test"])
    text = vhost(True, site=site)
    assert text.count("return 301") == 1
    assert text.count("listen 443 ssl http2;") == 1


def test_ipv6_can_be_turned_off():
    assert "[::]" not in vhost(True, nginx_listen_ipv6=False)
    assert "listen [::]:443 ssl http2;" in vhost(True)


def test_main_config_is_hardened():
    variables = _defaults("nginx")
    text = _env("nginx").get_template("etc/nginx/nginx.conf.j2").render(variables)
    assert "server_tokens off;" in text
    assert "worker_processes auto;" in text
    assert "ssl_session_tickets off;" in text
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256" in text
    assert text.count("return 444;") >= 1 and "ssl_reject_handshake on;" in text
    assert "include /etc/nginx/sites-enabled/*.conf;" in text  # nginx-test-vhost relies on this line
    assert "ssl_prefer_server_ciphers on;" in text  # testssl.sh: no client-chosen cipher order


def test_application_pages_are_not_compressed_static_files_are():
    text = vhost(True)
    php = text.split("location ~ \\.php$ {")[1].split("\n    }")[0]
    assert "gzip off;" in php  # BREACH
    assert text.count("gzip off;") == text.count("location ~ \\.php$")
    assert "gzip off;" not in vhost(True, nginx_gzip_dynamic=True)


def pool(site=None, **overrides):
    variables = _defaults("php_fpm") | overrides
    variables["item"] = {"key": "alpha", "value": site or SITE}
    return _env("php_fpm").get_template("etc/php/fpm/sites/site.conf.j2").render(variables)


def test_a_pool_without_limits_gets_the_role_fallbacks_and_own_limits_win_key_by_key():
    site = {k: v for k, v in SITE.items() if k != "limits"}
    text = pool(site)
    assert "pm.max_children = 4" in text and "php_admin_value[memory_limit] = 128M" in text
    assert "request_terminate_timeout = 60s" in text
    text = pool(site | {"limits": {"pm_max_children": 9}})
    assert "pm.max_children = 9" in text and "php_admin_value[memory_limit] = 128M" in text


def test_pool_runs_as_site_user_on_its_own_socket():
    text = pool()
    assert "user = alpha\ngroup = alpha\n" in text
    assert "listen = /run/php-fpm-sites/alpha.sock" in text
    assert "listen.owner = alpha\nlisten.group = www-data\nlisten.mode = 0660" in text


def test_pool_limits_come_from_the_site():
    text = pool()
    assert "pm.max_children = 6" in text
    assert "pm.start_servers = 2" in text
    assert "pm.max_spare_servers = 3" in text
    assert "request_terminate_timeout = 30s" in text
    assert "php_admin_value[memory_limit] = 64M" in text
    assert "php_admin_value[open_basedir] = /srv/www/alpha/:/tmp/:/usr/share/php/" in text
    assert "slowlog = /var/log/php-fpm-sites/alpha.slow.log" in text


@pytest.mark.parametrize("pm", ["static", "ondemand"])
def test_pool_process_managers(pm):
    text = pool(php_fpm_pm=pm)
    assert f"pm = {pm}" in text
    assert "pm.start_servers" not in text


def test_slowlog_can_be_disabled():
    assert "slowlog" not in pool(php_fpm_slowlog_timeout="0")


def test_systemd_dropin_carries_limits_and_version():
    variables = _defaults("php_fpm")
    variables["item"] = {"key": "alpha", "value": SITE}
    text = _env("php_fpm").get_template("etc/systemd/system/php-fpm-site@.service.d/limits.conf.j2").render(variables)
    for line in ("Environment=PHP_FPM_VERSION=8.2", "CPUWeight=100", "CPUQuota=50%", "MemoryHigh=192M", "MemoryMax=256M"):
        assert line in text.splitlines()


def test_fpm_unit_is_a_notify_template_that_reloads_gracefully():
    variables = _defaults("php_fpm")
    text = _env("php_fpm").get_template("etc/systemd/system/php-fpm-site@.service.j2").render(variables)
    assert "Type=notify" in text
    assert "--nodaemonize --fpm-config /etc/php/\"$PHP_FPM_VERSION\"/fpm/sites/%i.conf" in text
    assert "ExecReload=/bin/kill -USR2 $MAINPID" in text


def test_opcache_keeps_timestamps_by_default():
    variables = _defaults("php_fpm")
    text = _env("php_fpm").get_template("etc/php/fpm/conf.d/90-opcache-sites.ini.j2").render(variables)
    assert "opcache.validate_timestamps = 1" in text
    assert "opcache.revalidate_freq = 60" in text


@pytest.mark.parametrize("role", ["nginx", "php_fpm", "acme", "lab_acme"])
def test_defaults_and_argument_specs_agree(role):
    path = ROLES / role if (ROLES / role).exists() else ROOT / "lab" / "roles" / role  # lab_acme: the lab's
    defaults = set(yaml.safe_load((path / "defaults" / "main.yml").read_text()))
    specs = yaml.safe_load((path / "meta" / "argument_specs.yml").read_text())
    assert defaults == set(specs["argument_specs"]["main"]["options"])
    assert all(name.startswith(role + "_") for name in defaults)


def test_real_client_address_behind_the_load_balancers():
    render = _env("nginx").get_template("etc/nginx/nginx.conf.j2").render
    assert "set_real_ip_from" not in render(_defaults("nginx"))
    text = render(_defaults("nginx") | {"nginx_trusted_proxies": ["10.0.0.21", "10.0.0.22"]})
    assert "set_real_ip_from 10.0.0.21;" in text and "set_real_ip_from 10.0.0.22;" in text
    assert "real_ip_header X-Forwarded-For;" in text and "real_ip_recursive on;" in text
