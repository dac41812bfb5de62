"""No single point of failure at the edge, seen from a client (#19).

The client is this controller: requests go to the scenario's floating address on its podman network
(bounded loops, tests/bench/_edge_load.py). The tests run in order: the Redis master is lost first
(a session counter survives), then the active load balancer's HAProxy stops under load (the address
moves, no pre-emption when it comes back), then the whole active load balancer is killed.
Before them, the certificates: issued by Pebble (on the web node) at converge, renewed by the timer.
"""

import os
import re
import subprocess
import sys
import time

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tests", "bench"))
import _edge_load  # noqa: E402  (the path above first)

testinfra_hosts = ["ansible://mol-edge_ha-web"]

DOMAIN = "aerotalent.lab.test"
LBS = ["mol-edge_ha-lb-1", "mol-edge_ha-lb-2"]
REDIS = ["mol-edge_ha-redis-1", "mol-edge_ha-redis-2"]
SOCKET = "/run/haproxy/admin.sock"


def other(name):
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


def address(name):
    return other(name).check_output("hostname -I").split()[0]


@pytest.fixture(scope="module")
def vip():
    return re.sub(r"\.[0-9]+$", ".250", address("mol-edge_ha-web"))


@pytest.fixture(scope="module")
def password():
    line = other(REDIS[0]).check_output("grep '^requirepass ' /etc/redis/infra/redis.conf")
    return line.split(" ", 1)[1]


def holders(vip):
    return [lb for lb in LBS if running(lb) and f" {vip}/" in other(lb).check_output("ip -4 -o addr show")]


def running(name):
    out = subprocess.run(["podman", "inspect", "-f", "{{.State.Running}}", name], capture_output=True, text=True)
    return out.stdout.strip() == "true"


def wait_for(what, limit=30.0):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        value = what()
        if value:
            return value, time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not after {limit}s: {what.__doc__}")


def redis_cli(name, password, command, port=6379):
    return other(name).check_output(f"REDISCLI_AUTH='{password}' redis-cli --no-auth-warning -p {port} {command}")


def role(name, password):
    """The server's replication role, None while it does not answer."""
    out = other(name).run(f"REDISCLI_AUTH='{password}' redis-cli --no-auth-warning INFO replication").stdout
    found = re.search(r"^role:(\w+)", out, re.M)
    return found.group(1) if found else None


def tcp_redis_status(lb):
    out = other(lb).check_output(f"echo 'show stat' | socat stdio UNIX-CONNECT:{SOCKET}")
    rows = [line.split(",") for line in out.splitlines()[1:]]
    return {r[1]: r[17] for r in rows if r[0] == "tcp_redis" and r[1] not in ("FRONTEND", "BACKEND")}


class Session:
    """One client session (cookie) through the floating address; count() is its counter."""

    def __init__(self, vip):
        self.vip, self.cookie = vip, None

    def count(self):
        status, data, set_cookie = _edge_load.request(self.vip, DOMAIN, "/", self.cookie, timeout=5)
        assert status == 200, status
        if set_cookie and self.cookie is None:
            self.cookie = set_cookie.split(";")[0]
        return data["count"]


def test_the_floating_address_is_held_by_exactly_one_load_balancer(vip):
    assert len(holders(vip)) == 1


def test_the_site_answers_through_the_floating_address(vip):
    status, data, _ = _edge_load.request(vip, DOMAIN, "/", timeout=5)
    assert status == 200
    assert data["node"] == "mol-edge_ha-web" and data["forwarded_proto"] == "https"


def served_certificate(lb):
    """Serial, end date and issuer of the certificate HAProxy on `lb` serves for the site."""
    return other(lb).check_output(
        f"echo | openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} 2>/dev/null"
        " | openssl x509 -noout -serial -enddate -issuer")


def test_each_load_balancer_serves_its_own_certificate_from_pebble():
    served = [served_certificate(lb) for lb in LBS]
    assert all("Pebble" in s for s in served), served
    assert served[0] != served[1]


def test_the_timer_renews_the_certificates_of_both_load_balancers(vip):
    """Pebble's certificates last 20 days: under the 30 days of the timer. The load balancer that does
    not hold the floating address is renewed too: the validator reaches the holder, which asks it."""
    for lb in LBS:
        host = other(lb)
        assert host.service("certs-renew.timer").is_enabled
        assert host.service("certs-renew.timer").is_running
        before = served_certificate(lb)
        # What the timer starts, started now rather than tomorrow.
        out = host.check_output("systemctl start certs-renew.service && journalctl -u certs-renew.service -o cat -n 20")
        after = served_certificate(lb)
        print(f"{lb} ({'holder' if lb in holders(vip) else 'backup'}): {before!r} -> {after!r}")
        assert "certs-renew: aerotalent renewed" in out
        assert after != before and "Pebble" in after


def test_a_certificate_within_the_alert_window_raises_an_alert():
    """The production window is 14 days; the certificates here have about 20 left: asked for 25."""
    host = other(LBS[0])
    result = host.run("/usr/local/sbin/certs-alert 25")
    assert result.rc == 1 and "aerotalent" in result.stdout
    assert "expiring within 25 days" in host.check_output("journalctl -t certs-alert -p err -o cat -n 5")
    assert host.run("/usr/local/sbin/certs-alert").rc == 0


def roles(password):
    """(master, replica) among the Redis containers (a bench run before may have failed over)."""
    found = {role(r, password): r for r in REDIS}
    return found.get("master"), found.get("slave")


def test_redis_is_one_master_and_one_replica_watched_by_four_sentinels(password):
    master, replica = roles(password)
    assert master and replica
    for name in LBS + REDIS:
        answer = redis_cli(name, password, "SENTINEL get-master-addr-by-name main", port=26379).split()
        assert answer[0] == address(master), name
    assert "num-other-sentinels\n3" in redis_cli(LBS[0], password, "SENTINEL master main", port=26379)


def test_haproxy_sends_redis_clients_to_the_master_only(password):
    master, replica = roles(password)
    for lb in LBS:
        assert tcp_redis_status(lb) == {master: "UP", replica: "DOWN"}


def test_a_session_counter_survives_the_loss_of_the_redis_master(vip, password):
    master, replica = roles(password)
    session = Session(vip)
    assert [session.count() for _ in range(3)] == [1, 2, 3]
    time.sleep(1)  # replication is asynchronous: let the replica have the last write
    holder = holders(vip)[0]
    other(master).check_output("systemctl stop redis-server")
    try:
        def promoted():
            """the replica promoted and HAProxy on the active load balancer sending clients to it"""
            return tcp_redis_status(holder).get(replica) == "UP" and role(replica, password) == "master"
        _, seconds = wait_for(promoted, limit=40)
        print(f"Redis master stopped: replica promoted and in HAProxy after {seconds:.1f}s (polled)")
        assert session.count() == 4
    finally:
        other(master).check_output("systemctl start redis-server")

    def rejoined():
        """the former master a replica of the new one, and out of HAProxy"""
        return role(master, password) == "slave" and tcp_redis_status(holder).get(master) == "DOWN"
    wait_for(rejoined, limit=30)
    assert session.count() == 5


def test_the_floating_address_moves_when_haproxy_stops_under_load(vip):
    [first] = holders(vip)
    load = _edge_load.Load(vip, DOMAIN, rate=10, duration=20, path="/up")
    load.start()
    time.sleep(3)
    other(first).check_output("systemctl stop haproxy")
    try:
        (second,), seconds = wait_for(lambda: [h for h in holders(vip) if h != first], limit=20)
        load.join(30)
        print(f"HAProxy stopped on {first}: address on {second} after {seconds:.1f}s (polled); "
              f"{len(load.results)} requests, {len(load.failed())} failed, "
              f"{load.seconds_without_service():.1f}s without service")
        assert load.results and load.results[-1][1] == 200
        assert len(load.failed()) < len(load.results) / 2
    finally:
        other(first).check_output("systemctl start haproxy")
    # No pre-emption: the member that comes back does not take the address back.
    time.sleep(5)
    assert holders(vip) == [second]


def test_the_floating_address_moves_when_the_active_load_balancer_is_lost(vip):
    [active] = holders(vip)
    session = Session(vip)
    assert session.count() == 1
    subprocess.run(["podman", "kill", active], check=True, capture_output=True)
    (survivor,), seconds = wait_for(lambda: [h for h in holders(vip) if h != active], limit=30)
    print(f"{active} killed: address on {survivor} after {seconds:.1f}s (polled)")
    assert session.count() == 2
