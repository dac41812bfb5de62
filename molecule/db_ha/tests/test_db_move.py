"""db_move.yml (issue #18, point 5): a seeded database moved from a Forge-like MariaDB (port 3307 of
the load balancer container, standing for whc) into the Galera tier while a client writes to it,
verified equal on both sides, then moved back.

Order matters (pytest runs a file top to bottom): bad input refused, a writer outside the site's
accounts refused during the freeze with nothing left changed, the move under a write load, the way back.
"""

import json
import re
import time

import pytest
import testinfra
from lab_playbook import playbook

SOURCE = "mol-db_ha-lb"
TIER = ["mol-db_ha-1", "mol-db_ha-2", "mol-db_ha-3"]
SOURCE_MYSQL = "mariadb -N -B"
MOVE = ["-e", "db=shopdb", "-e", "from=" + SOURCE]
BACK_MODEL = json.dumps({"databases": {"shopdb": {"engine": "mysql", "host": SOURCE, "site": None,
                                                  "environment": "prod", "protected": False}}})


def node(name):
    return testinfra.get_host("podman://" + name)


def sql(name, query):
    return node(name).check_output("%s -e \"%s\"" % (SOURCE_MYSQL, query))


def lb_only(host):
    if not host.backend.get_hostname().endswith("-lb"):
        pytest.skip("driven from the load balancer")


def shop_tables(name):
    return int(sql(name, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shopdb'"))


def locked(name):
    """Whether app@% is locked (MariaDB keeps it in mysql.global_priv; JSON_VALUE renders true as 1)."""
    return sql(name, "SELECT JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv WHERE User = 'app' AND Host = '%'") in ("1", "true")


def test_bad_input_refused_with_the_name_and_the_reason(host):
    lb_only(host)
    rc, out = playbook("db_move.yml", "-e", "db=nosuchdb", "-e", "from=" + SOURCE)
    assert rc != 0 and "no such database" in out and "nosuchdb" in out, out[-3000:]
    # The model still places shopdb on the stand-in: not a move to the tier.
    rc, out = playbook("db_move.yml", "-e", "db=shopdb", "-e", "from=" + TIER[0], "-e", BACK_MODEL)
    assert rc != 0 and "shopdb" in out and "set_aside" in out, out[-3000:]  # the stand-in holds its tables
    assert shop_tables(TIER[0]) == 0


def test_a_writer_outside_the_sites_accounts_is_refused_and_the_move_undone(host):
    lb_only(host)
    # root writes through the socket, one short session per row: not an account the freeze locks.
    host.run("setsid sh -c 'for i in $(seq 1 300); do mariadb shopdb -e \"INSERT INTO orders (customer_id, total) "
             "VALUES (1, 1)\"; sleep 0.1; done' > /dev/null 2>&1 < /dev/null &")
    try:
        rc, out = playbook("db_move.yml", *MOVE)
    finally:
        host.run("pkill -f 'INSERT INTO orders' || true")
    assert rc != 0 and "still written to during the freeze" in out, out[-3000:]
    assert not locked(SOURCE)  # the site's account unlocked again
    assert shop_tables(TIER[0]) == 0  # the partial copy set aside
    assert "db_move" not in node(TIER[0]).check_output("mariadb -N -B -e 'SHOW ALL SLAVES STATUS'")


def test_moved_under_a_write_load_verified_equal(host):
    lb_only(host)
    out_file = "/tmp/db-writer-move.json"
    host.run("rm -f %s" % out_file)
    # The site's writes, through the old server, until the freeze locks its account.
    host.run("setsid sh -c '/usr/local/bin/db-writer mariadb 127.0.0.1 3307 app shopdb --password-file "
             "/root/.db-writer-password --seconds 40 --rate 20 --first-id 500000 --readback-tries 1 > %s.tmp 2>&1 "
             "&& mv %s.tmp %s' < /dev/null > /dev/null 2>&1 &" % (out_file, out_file, out_file))
    time.sleep(4)
    started = time.time()
    rc, out = playbook("db_move.yml", *MOVE)
    print(out[-2500:])
    assert rc == 0, out[-5000:]
    print("db_move took %.1f s" % (time.time() - started))
    # The YAML result format folds a long message across lines.
    frozen = re.search(r"writes frozen ([0-9.]+) s until verified", " ".join(out.split()))
    assert frozen, out[-3000:]
    print("write freeze until verified: %s s" % frozen.group(1))
    # Row-based binary log: the freeze sums again only the table the writer wrote since the sums before it.
    resummed = re.search(r"summed again inside the freeze: ([^;]*);", " ".join(out.split()))
    assert resummed and resummed.group(1) in ("failover_probe", "no table"), out[-3000:]
    for _ in range(60):
        if host.file(out_file).exists:
            break
        time.sleep(1)
    writer = json.loads(host.file(out_file).content_string)
    print("writer:", {k: writer[k] for k in ("acknowledged", "failed", "rto")})
    assert writer["acknowledged"] > 40, writer
    # Every write the old server acknowledged before the freeze is on the tier, on every member.
    for member in TIER:
        on_tier = int(sql(member, "SELECT COUNT(*) FROM shopdb.failover_probe WHERE id > 500000"))
        assert on_tier >= writer["acknowledged"], (member, on_tier, writer)
    assert int(sql(TIER[2], "SELECT COUNT(*) FROM shopdb.customers")) == 2000
    assert locked(SOURCE)  # the old server refuses the site from now on


def test_the_way_back_after_writes_on_the_tier(host):
    lb_only(host)
    sql(TIER[1], "INSERT INTO shopdb.customers VALUES (9001, 'written on the tier', NULL)")
    rc, out = playbook("db_move.yml", "-e", "db=shopdb", "-e", "from=" + TIER[0], "-e", "set_aside=true",
                       "-e", "db_move_source_port=3306", "-e", BACK_MODEL)
    print(out[-2500:])
    assert rc == 0, out[-5000:]
    assert sql(SOURCE, "SELECT name FROM shopdb.customers WHERE id = 9001") == "written on the tier"
    assert not locked(SOURCE)  # the site may write here again
    assert host.run("ls /var/backups/infra/db_move-shopdb-*.sql.gz").rc == 0  # the stale copy kept aside
