"""Render the haproxy and redis roles' real templates with fixtures and check what they promise."""

import os

import jinja2
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def defaults(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def render(role, template, **overrides):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROOT, "roles", role, "templates")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    values = defaults(role)
    values.update(ansible_managed="Managed by Ansible", **overrides)
    return env.get_template(template).render(**values)


SITES = [
    {"name": "aerotalent", "domains": ["aerotalent.example.com", "www.aerotalent.example.com"],
     "health_path": "/up", "servers": [{"name": "web_01", "address": "10.0.0.31", "port": 80},
                                       {"name": "web_02", "address": "10.0.0.32"}]},
    {"name": "aeroweb", "domains": ["aeroweb.example.com"], "servers": [{"name": "web_01", "address": "10.0.0.31"}]},
]


@pytest.fixture(name="cfg")
def fixture_cfg():
    return render("haproxy", "etc/haproxy/haproxy.cfg.j2", haproxy_sites=SITES)


def backend(cfg, name):
    block = cfg.split(f"backend {name}\n", 1)[1]
    return block.split("\nbackend ", 1)[0]


def test_master_worker_with_seamless_reload_and_kept_states(cfg):
    assert "    master-worker\n" in cfg
    assert "stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners" in cfg
    assert "server-state-file /var/lib/haproxy/server-state" in cfg
    assert "load-server-state-from-file global" in cfg


def test_retries_and_redispatch(cfg):
    assert "option redispatch 1" in cfg
    assert "retries 3" in cfg
    assert "retry-on conn-failure empty-response response-timeout" in cfg
    assert "default-server inter 2s fall 2 rise 2" in cfg


def test_one_backend_per_site_with_health_check_on_primary_domain(cfg):
    talent = backend(cfg, "site_aerotalent")
    assert "http-check send meth GET uri /up ver HTTP/1.1 hdr Host aerotalent.example.com" in talent
    assert "server web_01 10.0.0.31:80 check" in talent
    assert "server web_02 10.0.0.32:80 check" in talent
    web = backend(cfg, "site_aeroweb")
    assert "uri /up " in web  # health path defaults to /up
    assert "web_02" not in web


def test_every_domain_routes_to_its_site(cfg):
    assert ("use_backend site_aerotalent if { req.hdr(host),lower,word(1,:) -m str "
            "aerotalent.example.com www.aerotalent.example.com }") in cfg


def test_https_redirect_spares_acme_and_hsts_forwarded_headers(cfg):
    assert "http-request redirect scheme https code 301 unless acme_challenge" in cfg
    assert 'Strict-Transport-Security "max-age=63072000; includeSubDomains"' in cfg
    assert "option forwardfor" in cfg
    assert "http-request set-header X-Forwarded-Proto https" in cfg
    assert "http-request set-header X-Forwarded-Port %[dst_port]" in cfg
    assert "backend acme_challenge" not in cfg


def test_acme_challenge_goes_to_the_sites_nodes_by_default(cfg):
    http = cfg.split("frontend http\n")[1].split("\nfrontend ")[0]
    assert "use_backend site_aerotalent if acme_challenge { req.hdr(host),lower,word(1,:) -m str " \
           "aerotalent.example.com www.aerotalent.example.com }" in http
    # The redirect comes first: HAProxy runs http-request rules before use_backend anyway.
    assert http.index("http-request redirect") < http.index("use_backend")


def test_acme_challenge_hook_routes_to_local_server():
    cfg = render("haproxy", "etc/haproxy/haproxy.cfg.j2", haproxy_sites=SITES,
                 haproxy_acme_challenge_address="127.0.0.1:8402")
    assert "use_backend acme_challenge if acme_challenge" in cfg
    assert "server acme 127.0.0.1:8402" in cfg


def test_hsts_can_be_turned_off():
    cfg = render("haproxy", "etc/haproxy/haproxy.cfg.j2", haproxy_sites=SITES, haproxy_hsts_max_age=0)
    assert "Strict-Transport-Security" not in cfg


def test_crt_list_names_every_domain():
    out = render("haproxy", "etc/haproxy/crt-list.txt.j2", haproxy_sites=SITES)
    assert "/etc/haproxy/certs/aerotalent.pem aerotalent.example.com www.aerotalent.example.com" in out
    assert "/etc/haproxy/certs/aeroweb.pem aeroweb.example.com" in out


def test_reload_saves_states_before_signalling_the_master():
    out = render("haproxy", "etc/systemd/system/haproxy.service.d/10-server-state.conf.j2")
    lines = [line for line in out.splitlines() if line.startswith("ExecReload=")]
    assert lines[0] == "ExecReload="
    assert "-c -q" in lines[1]
    assert "show servers state" in lines[2] and "/var/lib/haproxy/server-state" in lines[2]
    assert lines[3] == "ExecReload=/bin/kill -USR2 $MAINPID"


def test_redis_binds_private_with_password_and_never_evicts():
    out = render("redis", "etc/redis/redis.conf.j2", redis_bind_addresses=["127.0.0.1", "10.0.0.51"],
                 redis_password="s3cret-s3cret-s3cret")
    assert "bind 127.0.0.1 10.0.0.51\n" in out
    assert "requirepass s3cret-s3cret-s3cret\n" in out
    assert "maxmemory-policy noeviction\n" in out
    assert "appendonly yes\n" in out


@pytest.mark.parametrize("role", ["haproxy", "redis"])
def test_defaults_and_argument_specs_list_the_same_variables(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as f:
        specs = yaml.safe_load(f)["argument_specs"]["main"]["options"]
    assert set(specs) == set(defaults(role))
    assert all(name.startswith(role + "_") for name in specs)
