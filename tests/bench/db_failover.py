"""Bench: failover of the database tier under a write load, per engine (issue #18).

Runs against the molecule/db_ha scenario (molecule converge -s db_ha first; the write client is
its LB container, database `appdb`, user `app`) or, with DB_LAB=1, against the lab (lab-db_01..03
converged by playbooks/db_cluster.yml, HAProxy on lab-lb_01 by playbooks/lb.yml --tags haproxy;
the address is the sites' own, db_cluster_address: the floating one under VRRP, DB_LB_ADDRESS overrides):
there the bench creates its own client container `bench-db-client` (10.77.0.69, removed at the end)
and its own database and user `bench_failover` on each engine (random password, dropped at the
end), so no lab host is changed. The client runs tests/bench/_db_writer.py: DB_RATE rows/s
(default 20) for DB_DURATION s (default 40) through HAProxy's address; DB_STOP_AT s in (default 10)
the member taking the writes is stopped (MariaDB: the first Synced server, `systemctl stop mariadb`;
PostgreSQL: Patroni's leader, `systemctl stop patroni`), and started again at the end. With
DB_STOP_MODE=crash the member's whole container is killed instead (`podman kill`, a power loss) and
started again at the end.

Prints, per engine: acknowledged writes, failed writes, RTO (longest time from a failed write to the
next acknowledged one, seconds), acknowledged rows missing afterwards (RPO, goal 0). Never asserts on
time. Prints NO FIGURE and exits 1 when no failover happened for an engine (no write acknowledged
after the stop, or the member was not stopped, or Patroni kept the same leader).

    .venv/bin/python tests/bench/db_failover.py [mariadb|postgresql ...]
"""

import json
import os
import re
import secrets
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.environ.get("DB_LAB") == "1"
LB = os.environ.get("DB_LB_CONTAINER", "lab-lb_01" if LAB else "mol-db_ha-lb")


def lab_tier_address():
    """The lab's db_cluster_address, read from the inventory as the sites get it: the load balancers'
    floating address under VRRP (lb_floating_mode vrrp), else the first load balancer's own."""
    if os.environ.get("DB_LB_ADDRESS"):
        return os.environ["DB_LB_ADDRESS"]
    inventory = os.path.join(HERE, "..", "..", "inventories", "lab")
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", inventory, "--list"],
                         check=True, text=True, capture_output=True).stdout
    data = json.loads(out)
    first = sorted(data.get("lb", {}).get("hosts", []))[0]
    hostvars = data["_meta"]["hostvars"][first]
    floating = str(hostvars.get("lb_floating_address") or "").split("/")[0]
    if hostvars.get("lb_floating_mode") == "vrrp" and floating and floating.upper() != "TO-FILL":
        return floating
    return hostvars["private_ip"]


LB_ADDRESS = lab_tier_address() if LAB else None
CLIENT = "bench-db-client" if LAB else LB
CLIENT_IP = "10.77.0.69"
# The lab's load balancers open 3306 and 5432 to the sites' hosts only (roles/firewall): the bench's client gets
# a temporary rule of its own there (comment bench-db-failover, not persistent), removed at the end.
LB_CONTAINERS = ["lab-lb_01", "lab-lb_02"]
FIREWALL_MARK = "bench-db-failover"
USER, DB = ("bench_failover", "bench_failover") if LAB else ("app", "appdb")
MEMBERS = ["lab-db_01", "lab-db_02", "lab-db_03"] if LAB else ["mol-db_ha-1", "mol-db_ha-2", "mol-db_ha-3"]
RATE = float(os.environ.get("DB_RATE", "20"))
DURATION = float(os.environ.get("DB_DURATION", "40"))
STOP_AT = float(os.environ.get("DB_STOP_AT", "10"))
# service: the engine's service is stopped (a clean stop: Patroni hands its leader key over);
# crash: the member's whole container is killed (SIGKILL, as a power loss: Patroni's key expires after its ttl).
MODE = os.environ.get("DB_STOP_MODE", "service")
PORTS = {"mariadb": 3306, "postgresql": 5432}


def podman(*args, check=True):
    return subprocess.run(["podman", *args], check=check, text=True, capture_output=True)


def in_container(name, command, check=True):
    return podman("exec", name, "sh", "-c", command, check=check)


def container_of(member_name):
    """Patroni and HAProxy name members after their inventory host (db_01 -> lab-db_01)."""
    return member_name if member_name.startswith(("mol-", "lab-")) else "lab-" + member_name


def patroni_leader():
    for name in MEMBERS:
        out = in_container(name, "curl -s --max-time 3 http://127.0.0.1:8008/cluster", check=False)
        if out.returncode == 0 and out.stdout.strip():
            leaders = [m["name"] for m in json.loads(out.stdout)["members"] if m["role"] == "leader"]
            return leaders[0] if leaders else None
    return None


def galera_writer():
    """The first member whose Synced check answers 200: HAProxy's active server."""
    for name in MEMBERS:
        if in_container(name, "curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:9200/",
                        check=False).stdout.strip() == "200":
            return name
    return None


def lab_firewall(action):
    """Open (or close) 3306 and 5432 on the lab's load balancers to the bench's client only."""
    for name in LB_CONTAINERS:
        listed = in_container(name, "nft -a list chain inet firewall input", check=False)
        if listed.returncode != 0:
            continue  # no firewall there
        for handle in re.findall(r'comment "%s" # handle (\d+)' % FIREWALL_MARK, listed.stdout):
            in_container(name, "nft delete rule inet firewall input handle %s" % handle)
        if action == "open":
            in_container(name, "nft insert rule inet firewall input ip saddr %s tcp dport '{ 3306, 5432 }' accept "
                               "comment %s" % (CLIENT_IP, FIREWALL_MARK))


def lab_setup():
    """The lab's own client container, its way through the load balancers' firewall, and a throw-away
    database and user on each engine."""
    lab_firewall("open")
    if podman("container", "exists", CLIENT, check=False).returncode != 0:
        podman("run", "-d", "--name", CLIENT, "--network", "lab", "--ip", CLIENT_IP, "--systemd=always",
               "--privileged", "--cgroupns=private", "--tmpfs", "/tmp", "--tmpfs", "/run",
               os.environ.get("LAB_IMAGE", "localhost/lab-debian:bookworm"), "/sbin/init")
        time.sleep(5)
        in_container(CLIENT, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                             "python3-pymysql python3-psycopg2 curl >/dev/null")
    password = secrets.token_hex(16)
    in_container(CLIENT, "umask 077; printf '%s' '" + password + "' > /root/.db-writer-password")
    sql = ("CREATE DATABASE IF NOT EXISTS bench_failover; CREATE OR REPLACE USER bench_failover@'10.77.0.%%' "
           "IDENTIFIED BY '%s'; GRANT ALL ON bench_failover.* TO bench_failover@'10.77.0.%%';" % password)
    in_container(galera_writer(), "mariadb -e \"%s\"" % sql)
    leader = container_of(patroni_leader())
    psql = "su postgres -s /bin/sh -c \"psql -q -v ON_ERROR_STOP=1 -c \\\"%s\\\"\""
    in_container(leader, psql % ("DROP DATABASE IF EXISTS bench_failover"))
    in_container(leader, psql % ("DROP ROLE IF EXISTS bench_failover"))
    in_container(leader, psql % ("CREATE ROLE bench_failover LOGIN PASSWORD '%s'" % password))
    in_container(leader, psql % ("CREATE DATABASE bench_failover OWNER bench_failover"))


def lab_cleanup():
    lab_firewall("close")
    writer = galera_writer()
    if writer:
        in_container(writer, "mariadb -e \"DROP DATABASE IF EXISTS bench_failover; DROP USER IF EXISTS "
                             "bench_failover@'10.77.0.%'\"", check=False)
    leader = patroni_leader()
    if leader:
        for sql in ("DROP DATABASE IF EXISTS bench_failover WITH (FORCE)", "DROP ROLE IF EXISTS bench_failover"):
            in_container(container_of(leader), "su postgres -s /bin/sh -c \"psql -q -c \\\"%s\\\"\"" % sql, check=False)
    if os.environ.get("DB_KEEP_CLIENT") != "1":
        podman("rm", "-f", CLIENT, check=False)


def run(engine):
    address = LB_ADDRESS or in_container(LB, "hostname -I").stdout.split()[0]
    podman("cp", os.path.join(HERE, "_db_writer.py"), "%s:/usr/local/bin/db-writer" % CLIENT)
    first_id = int(time.time())  # a fresh id range per run
    writer = subprocess.Popen(
        ["podman", "exec", CLIENT, "python3", "/usr/local/bin/db-writer", engine, address, str(PORTS[engine]), USER,
         DB, "--password-file", "/root/.db-writer-password", "--seconds", str(DURATION), "--rate", str(RATE),
         "--first-id", str(first_id)], stdout=subprocess.PIPE, text=True)
    time.sleep(STOP_AT)
    victim = galera_writer() if engine == "mariadb" else patroni_leader()
    service = "mariadb" if engine == "mariadb" else "patroni"
    stopped_at = time.time()
    if victim is None:
        stopped = False
    elif MODE == "crash":
        stopped = podman("kill", container_of(victim), check=False).returncode == 0
    else:
        stopped = in_container(container_of(victim), "systemctl stop %s" % service, check=False).returncode == 0
    out, _ = writer.communicate(timeout=DURATION + 120)
    new_leader = patroni_leader() if engine == "postgresql" else None
    if victim is not None and MODE == "crash":
        podman("start", container_of(victim), check=False)
    elif victim is not None:
        in_container(container_of(victim), "systemctl start %s" % service, check=False)
    result = json.loads(out.strip().splitlines()[-1])
    happened = (stopped and result["last_ack_at"] is not None and result["last_ack_at"] > stopped_at + 1
                and (engine == "mariadb" or (new_leader is not None and new_leader != victim)))
    print("%-10s stopped %-12s acknowledged %5d  failed %4d  RTO %6.2f s  rows lost %s%s" % (
        engine, victim, result["acknowledged"], result["failed"], result["rto"],
        "?" if result["lost"] is None else len(result["lost"]),
        "" if engine == "mariadb" else "  new leader %s" % new_leader))
    if not happened:
        print("NO FIGURE: %s: no failover happened (member stopped: %s, writes after the stop: %s)" % (
            engine, stopped, result["last_ack_at"] is not None and result["last_ack_at"] > stopped_at + 1))
    return happened


def main():
    engines = sys.argv[1:] or ["mariadb", "postgresql"]
    print("db_failover: %s through %s, %.0f writes/s for %.0f s, %s at %.0f s" % (
        "lab" if LAB else "molecule db_ha", LB, RATE, DURATION, "crash" if MODE == "crash" else "stop", STOP_AT))
    if LAB:
        lab_setup()
    try:
        ok = []
        for engine in engines:
            ok.append(run(engine))
            time.sleep(30)  # the stopped member rejoins before the next engine's run
    finally:
        if LAB:
            lab_cleanup()
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
