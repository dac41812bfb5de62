"""Render the edge's templates (#19) with fixtures: the Redis replication and Sentinel files, HAProxy's
Redis service and ACME answers, the certificate timer's scripts."""

import os

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule

from ansible_collections.infra.hosting.plugins.filter import lb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def values(role, extra):
    out = {}
    for part in ("defaults", "vars"):
        with open(os.path.join(ROOT, "roles", role, part, "main.yml"), encoding="utf-8") as f:
            out.update(yaml.safe_load(f) or {})
    out.update(ansible_managed="Managed by Ansible", **extra)
    return out


def render(role, template, **extra):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROOT, "roles", role, "templates")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    # Ansible's filters the templates use (comment, bool), Jinja's own kept (default: StrictUndefined-aware).
    env.filters.update({k: v for k, v in FilterModule().filters().items() if k not in env.filters})
    data = values(role, extra)
    # vars/main.yml holds templated values: render them once (one level is enough here).
    for key, value in list(data.items()):
        if isinstance(value, str) and "{{" in value:
            data[key] = env.from_string(value).render(**data)
    return env.get_template(template).render(**data)


PASSWORD = "s3cret-s3cret-s3cret"


def test_a_replica_follows_the_master_with_its_password_and_haproxy_may_only_ask_its_role():
    out = render("redis", "etc/redis/redis.conf.j2", redis_bind_addresses=["127.0.0.1", "10.0.0.52"],
                 redis_password=PASSWORD, redis_replica_of="10.0.0.51")
    assert "masterauth s3cret-s3cret-s3cret\n" in out
    assert "replicaof 10.0.0.51 6379\n" in out
    assert "user healthcheck on nopass resetchannels -@all +ping +info\n" in out
    master = render("redis", "etc/redis/redis.conf.j2", redis_bind_addresses=["127.0.0.1", "10.0.0.51"],
                    redis_password=PASSWORD)
    assert "replicaof" not in master


def test_sentinel_watches_the_first_master_with_a_majority_and_passwords():
    out = render("redis", "etc/redis/sentinel.conf.j2", redis_bind_addresses=["127.0.0.1", "10.0.0.21"],
                 redis_password=PASSWORD, redis_sentinel_master_address="10.0.0.51", redis_sentinel_quorum=3)
    assert "sentinel monitor main 10.0.0.51 6379 3\n" in out
    assert "sentinel auth-pass main s3cret-s3cret-s3cret\n" in out
    assert "sentinel down-after-milliseconds main 2000\n" in out
    assert "requirepass s3cret-s3cret-s3cret\n" in out and "sentinel sentinel-pass s3cret-s3cret-s3cret\n" in out


def test_a_starting_server_asks_every_sentinel_and_follows_or_leads():
    out = render("redis", "usr/local/sbin/redis-follow-master.j2", redis_bind_addresses=["127.0.0.1", "10.0.0.51"],
                 redis_sentinel_addresses=["10.0.0.51", "10.0.0.52", "10.0.0.21"])
    assert "for sentinel in 10.0.0.51 10.0.0.52 10.0.0.21; do" in out
    assert 'self="10.0.0.51"' in out
    assert "REPLICAOF NO ONE" in out and 'REPLICAOF "$master" 6379' in out
    assert "sed -n 's/^requirepass //p' /etc/redis/infra/redis.conf" in out
    dropin = render("redis", "etc/systemd/system/redis-server.service.d/10-config.conf.j2")
    assert "ExecStart=\nExecStart=/usr/bin/redis-server /etc/redis/infra/redis.conf " in dropin


HOSTVARS = {"redis_01": {"private_ip": "10.0.0.51"}, "redis_02": {"private_ip": "10.0.0.52"}}
SITES = [{"name": "aerotalent", "domains": ["aerotalent.example.com"], "health_path": "/up",
          "servers": [{"name": "web_01", "address": "10.0.0.31", "port": 80}]}]


def haproxy(**extra):
    return render("haproxy", "etc/haproxy/haproxy.cfg.j2", haproxy_sites=SITES, **extra)


def test_haproxy_sends_redis_clients_to_the_master_on_both_addresses():
    services = lb.lb_redis_services(["redis_01", "redis_02"], HOSTVARS, ["10.0.0.21", "10.0.0.20"])
    cfg = haproxy(haproxy_tcp_services=services)
    block = cfg.split("listen tcp_redis\n", 1)[1]
    assert "    bind 10.0.0.21:6379,10.0.0.20:6379 transparent\n" in block
    assert "    tcp-check send AUTH\\ healthcheck\\ x\\r\\n\n" in block
    assert "    tcp-check expect string role:master\n" in block
    assert "on-marked-down shutdown-sessions" in block
    assert "    server redis_01 10.0.0.51:6379 check\n" in block and "backup" not in block
    assert "httpchk" not in block


def test_haproxy_answers_its_own_acme_renewals_and_asks_its_peers():
    cfg = haproxy(haproxy_acme_challenge_map="/etc/haproxy/acme-challenges.map", haproxy_acme_peers=["10.0.0.22"])
    http = cfg.split("frontend http\n")[1].split("\nfrontend ")[0]
    assert "map(/etc/haproxy/acme-challenges.map) -m found }" in http
    assert "use_backend acme_peers if acme_challenge !{ src 10.0.0.22 }" in http
    # Own answers first, then the peers, then the web nodes (the converge's answers).
    assert http.index("http-request return") < http.index("acme_peers") < http.index("use_backend site_aerotalent")
    peers = cfg.split("backend acme_peers\n", 1)[1].split("\nbackend ", 1)[0]
    assert "retry-on 404 conn-failure empty-response" in peers and "server peer_1 10.0.0.22:80" in peers
    assert "acme_peers" not in haproxy()


@pytest.mark.parametrize("certs_dir", ["", "/etc/haproxy/certs"])
def test_the_timer_renews_within_30_days_checks_the_key_and_alerts(certs_dir):
    out = render("acme", "usr/local/sbin/certs-renew.j2", acme_haproxy_certs_dir=certs_dir,
                 acme_reload_services=["haproxy"])
    assert "days=${1:-30}" in out
    assert "openssl x509 -noout -checkend $((days * 86400))" in out
    assert '/usr/bin/dehydrated --signcsr "$dir/csr.pem"' in out
    assert "openssl pkey -pubout -in \"$dir/privkey.pem\"" in out
    assert "systemctl reload haproxy.service" in out
    assert "/usr/local/sbin/certs-alert" in out
    assert ('install -m 0600 "$dir/privkey.pem" "/etc/haproxy/certs/$site.pem.key"' in out) == bool(certs_dir)
    alert = render("acme", "usr/local/sbin/certs-alert.j2", acme_alert_email="ops@example.com")
    assert "days=${1:-14}" in alert and "logger -t certs-alert -p user.err" in alert
    assert '"ops@example.com"' in alert and "/usr/sbin/sendmail -t" in alert
    assert "sendmail" not in render("acme", "usr/local/sbin/certs-alert.j2")


def test_the_timer_hook_feeds_haproxys_map_only_when_asked():
    hook = render("acme", "usr/local/sbin/acme-challenge-hook.j2", acme_haproxy_challenge_map="/etc/haproxy/acme-challenges.map")
    assert 'echo "add map /etc/haproxy/acme-challenges.map $3 $4"' in hook
    assert 'echo "del map /etc/haproxy/acme-challenges.map $3"' in hook
    assert "socat" not in render("acme", "usr/local/sbin/acme-challenge-hook.j2")
    timer = render("acme", "etc/systemd/system/certs-renew.timer.j2")
    assert "OnCalendar=daily" in timer and "Persistent=true" in timer
