"""Behaviour of the load balancer, the web nodes behind it and the shared Redis, seen from outside.

Requests go from the load balancer container to its own loopback (HAProxy), which spreads them
over the scenario's web containers. Loops are bounded in count and time.
"""

import json
import os
import time

import pytest
import testinfra

testinfra_hosts = ["ansible://mol-lb-lb"]

DOMAIN = "aerotalent.lab.test"
BACKEND = "site_aerotalent"
SOCKET = "/run/haproxy/admin.sock"
CURL = f"curl -sk --max-time 5 --resolve {DOMAIN}:443:127.0.0.1 --resolve {DOMAIN}:80:127.0.0.1"


def other(name):
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


def get_json(host, path="/", extra=""):
    return json.loads(host.check_output(f"{CURL} {extra} https://{DOMAIN}{path}"))


def server_status(host):
    """Status of each server of the site's backend, from the runtime API (show stat)."""
    out = host.check_output(f"echo 'show stat' | socat stdio UNIX-CONNECT:{SOCKET}")
    lines = out.splitlines()
    fields = lines[0].lstrip("# ").split(",")
    result = {}
    for line in lines[1:]:
        row = dict(zip(fields, line.split(",")))
        if row.get("pxname") == BACKEND and row.get("svname") not in ("FRONTEND", "BACKEND"):
            result[row["svname"]] = row["status"]
            LASTCHG[row["svname"]] = int(row.get("lastchg") or 0)
    return result


LASTCHG = {}


def wait_status(host, server, wanted, limit=60.0):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if server_status(host).get(server, "").startswith(wanted):
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"{server} not {wanted} after {limit}s: {server_status(host)}")


def test_http_redirects_to_https(host):
    out = host.check_output(f"{CURL} -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{DOMAIN}/page")
    assert out == f"301 https://{DOMAIN}/page"


def test_acme_challenges_are_not_redirected(host):
    code = host.check_output(f"{CURL} -o /dev/null -w '%{{http_code}}' http://{DOMAIN}/.well-known/acme-challenge/x")
    assert code != "301"


def test_https_sends_hsts_and_forwarded_headers(host):
    headers = host.check_output(f"{CURL} -D - -o /dev/null https://{DOMAIN}/").lower()
    assert "strict-transport-security: max-age=63072000" in headers
    body = get_json(host)
    assert body["forwarded_proto"] == "https"
    assert body["forwarded_port"] == "443"
    assert body["forwarded_for"] == "127.0.0.1"
    assert body["host"] == DOMAIN


def test_unknown_host_gets_404(host):
    code = host.check_output(f"curl -sk --max-time 5 -o /dev/null -w '%{{http_code}}' https://127.0.0.1/")
    assert code == "404"


def test_requests_reach_every_node_of_the_pool(host):
    # mol-lb-web-3 joined through add_node.yml in the side effect.
    nodes = {get_json(host)["node"] for _ in range(12)}
    assert nodes == {"mol-lb-web-1", "mol-lb-web-2", "mol-lb-web-3"}
    assert set(server_status(host)) == nodes
    assert all(status == "UP" for status in server_status(host).values())


def test_session_survives_a_switch_between_nodes(host):
    jar = "/tmp/molecule-lb-cookies"
    host.run(f"rm -f {jar}")
    answers = [get_json(host, extra=f"-b {jar} -c {jar}") for _ in range(6)]
    assert [a["count"] for a in answers] == [1, 2, 3, 4, 5, 6]
    assert len({a["session"] for a in answers}) == 1
    assert len({a["node"] for a in answers}) >= 2


def runtime(host, command):
    return host.check_output(f"echo '{command}' | socat -t 5 stdio UNIX-CONNECT:{SOCKET}")


def test_drain_through_the_runtime_api_survives_a_reload(host):
    # The same runtime API command community.general.haproxy sends (rolling_deploy.yml uses the module).
    runtime(host, f"set server {BACKEND}/mol-lb-web-1 state drain")
    try:
        assert server_status(host)["mol-lb-web-1"] == "DRAIN"
        host.check_output("systemctl reload haproxy")
        time.sleep(2)
        assert server_status(host)["mol-lb-web-1"] == "DRAIN"
        nodes = {get_json(host)["node"] for _ in range(4)}
        assert "mol-lb-web-1" not in nodes
    finally:
        runtime(host, f"set server {BACKEND}/mol-lb-web-1 state ready")
    wait_status(host, "mol-lb-web-1", "UP", limit=60)


def test_a_stopped_node_leaves_the_pool_within_fall_times_inter(host):
    web2 = other("mol-lb-web-2")
    web2.check_output("systemctl stop nginx")
    stopped = time.time()
    try:
        wait_status(host, "mol-lb-web-2", "DOWN", limit=60)
        # HAProxy's own clock (lastchg: seconds since the change), not the slow polling's. A figure,
        # not an assertion: on a loaded machine `podman exec` alone takes seconds (the time it takes
        # is the bench's business: tests/bench/lb_node_loss.py).
        elapsed = time.time() - LASTCHG["mol-lb-web-2"] - stopped
        print(f"mol-lb-web-2 marked DOWN {elapsed:.1f}s after nginx stopped (fall 2 x inter 2s)")
        answers = [host.run(f"{CURL} -o /dev/null -w '%{{http_code}}' https://{DOMAIN}/").stdout for _ in range(4)]
        assert answers == ["200"] * 4
    finally:
        web2.check_output("systemctl start nginx")
    wait_status(host, "mol-lb-web-2", "UP", limit=60)


@pytest.mark.parametrize("name", ["mol-lb-redis"])
def test_redis_refuses_clients_without_the_password(name):
    redis = other(name)
    address = redis.check_output("hostname -I").split()[0]
    assert "NOAUTH" in redis.check_output(f"redis-cli -h {address} ping")
    assert redis.socket(f"tcp://{address}:6379").is_listening
    assert not redis.socket("tcp://0.0.0.0:6379").is_listening


def test_runtime_socket_is_not_world_accessible(host):
    sock = host.file(SOCKET)
    assert sock.is_socket
    assert sock.mode == 0o660
