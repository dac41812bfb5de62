"""db_move.yml for PostgreSQL (issue #18, point 5): a seeded database moved from a Forge-like PostgreSQL 15
(port 5433 of the load balancer container, standing for whc) onto the Patroni tier by logical replication,
while a client writes to it; verified equal on both sides; the freeze reported; bad input refused. Then the
way back (the same playbook, -e from=<tier member> -e set_aside=true) after writes on the tier.

Order matters (pytest runs a file top to bottom): bad input refused with nothing changed, a writer outside the
site's roles refused during the freeze with the move undone, the move under a write load, the way back.
"""

import json
import re
import time

import pytest
import testinfra
from lab_playbook import playbook

SOURCE = "mol-db_ha-lb"
TIER = ["mol-db_ha-1", "mol-db_ha-2", "mol-db_ha-3"]
MOVE = ["-e", "db=shoppg", "-e", "from=" + SOURCE]


def node(name):
    return testinfra.get_host("podman://" + name)


def psql(name, query, db="shoppg", port=None):
    """One value (or rows, tab-separated) of ``query`` run as postgres on ``name`` (the source: port 5433)."""
    port = port or (5433 if name == SOURCE else 5432)
    return node(name).check_output("runuser -u postgres -- psql -XAtq -p %d -d %s -c \"%s\"" % (port, db, query))


def lb_only(host):
    if not host.backend.get_hostname().endswith("-lb"):
        pytest.skip("driven from the load balancer")


def model(**fields):
    entry = {"engine": "postgresql", "host": TIER[0], "site": None, "environment": "prod", "protected": False}
    entry.update(fields)
    return json.dumps({"databases": {"shoppg": entry}})


def on_tier(member):
    return psql(member, "SELECT count(*) FROM pg_database WHERE datname = 'shoppg'", db="postgres") == "1"


def move_left_no_trace():
    """Nothing of the move is left on the old server: no publication, slot, role or pg_hba line."""
    assert psql(SOURCE, "SELECT count(*) FROM pg_publication") == "0"
    assert psql(SOURCE, "SELECT count(*) FROM pg_replication_slots", db="postgres") == "0"
    assert psql(SOURCE, "SELECT count(*) FROM pg_roles WHERE rolname = 'db_move'", db="postgres") == "0"
    assert "db_move" not in node(SOURCE).file("/etc/postgresql/15/main/pg_hba.conf").content_string


def can_login(role):
    return psql(SOURCE, "SELECT rolcanlogin FROM pg_roles WHERE rolname = '%s'" % role, db="postgres") == "t"


def test_bad_input_refused_with_the_name_and_the_reason(host):
    lb_only(host)
    # The model does not place the database on the tier.
    rc, out = playbook("db_move.yml", *MOVE, "-e", model(host=SOURCE))
    assert rc != 0 and "shoppg" in out and "set databases.shoppg.host first" in " ".join(out.split()), out[-3000:]
    # The model says MariaDB: no such database on the old MariaDB.
    rc, out = playbook("db_move.yml", *MOVE, "-e", model(engine="mysql"))
    assert rc != 0 and "shoppg" in out and "the source has no such database" in " ".join(out.split()), out[-3000:]
    # A table logical replication cannot carry (no primary key), named.
    psql(SOURCE, "CREATE TABLE audit_log (at timestamptz, what text)")
    try:
        rc, out = playbook("db_move.yml", *MOVE)
    finally:
        psql(SOURCE, "DROP TABLE audit_log")
    text = " ".join(out.split())
    assert rc != 0 and "tables without a primary key" in text and "public.audit_log" in text, out[-3000:]
    assert "nothing was changed" in text
    assert not any(on_tier(m) for m in TIER)
    assert can_login("shop")
    move_left_no_trace()


def test_a_writer_outside_the_sites_roles_is_refused_and_the_move_undone(host):
    lb_only(host)
    # postgres (a superuser, not a role the freeze stops) writes, one short session per row, for 30 s at most.
    host.run("setsid sh -c 'echo $$ > /tmp/pg-late-writer.pid; for i in $(seq 1 300); do runuser -u postgres -- "
             "psql -XAtq -p 5433 -d shoppg -c \"INSERT INTO orders (customer_id, total) VALUES (1, 1)\"; sleep 0.1; done'"
             " > /dev/null 2>&1 < /dev/null &")
    time.sleep(1)
    try:
        rc, out = playbook("db_move.yml", *MOVE)
    finally:
        host.run("kill $(cat /tmp/pg-late-writer.pid)")
    print(out[-2500:])
    assert rc != 0 and "still written to during the freeze" in " ".join(out.split()), out[-3000:]
    assert can_login("shop")  # the site may log in again
    assert not any(on_tier(m) for m in TIER)  # the partial copy set aside
    assert host.run("ls /var/backups/infra/db_move-shoppg-*.dump").rc != 0  # (on the leader, not here)
    leader_dumps = [m for m in TIER if node(m).run("ls /var/backups/infra/db_move-shoppg-*.dump").rc == 0]
    assert leader_dumps, "the partial copy was not dumped before it was dropped"
    for member in TIER:
        assert psql(member, "SELECT count(*) FROM pg_subscription", db="postgres") == "0"
    move_left_no_trace()


def test_moved_under_a_write_load_verified_equal(host):
    lb_only(host)
    out_file = "/tmp/db-writer-move-pg.json"
    host.run("rm -f %s" % out_file)
    source_orders_seq = int(psql(SOURCE, "SELECT last_value FROM orders_id_seq"))
    # The site's writes, through the old server, until the freeze stops its role.
    host.run("setsid sh -c '/usr/local/bin/db-writer postgresql 127.0.0.1 5433 shop shoppg --password-file "
             "/root/.db-writer-password --seconds 40 --rate 20 --first-id 500000 --readback-tries 1 > %s.tmp 2>&1 "
             "&& mv %s.tmp %s' < /dev/null > /dev/null 2>&1 &" % (out_file, out_file, out_file))
    time.sleep(4)
    started = time.time()
    rc, out = playbook("db_move.yml", *MOVE)
    print(out[-2500:])
    assert rc == 0, out[-5000:]
    print("db_move (PostgreSQL) took %.1f s" % (time.time() - started))
    text = " ".join(out.split())
    frozen = re.search(r"writes frozen ([0-9.]+) s until verified", text)
    assert frozen, out[-3000:]
    print("write freeze until verified: %s s" % frozen.group(1))
    assert re.search(r"\d+ rows in 3 tables (verified )?equal", text), out[-3000:]
    # The freeze sums again only the table whose write marks moved since the sums before it.
    resummed = re.search(r"summed again inside the freeze: ([^;]*);", text)
    assert resummed and resummed.group(1) in ("public.failover_probe", "no table"), out[-3000:]
    for _ in range(60):
        if host.file(out_file).exists:
            break
        time.sleep(1)
    writer = json.loads(host.file(out_file).content_string)
    print("writer:", {k: writer[k] for k in ("acknowledged", "failed", "rto")})
    assert writer["acknowledged"] > 40, writer
    # Every write the old server acknowledged before the freeze is on the tier, on every member.
    for member in TIER:
        rows = int(psql(member, "SELECT count(*) FROM failover_probe WHERE id > 500000"))
        assert rows >= writer["acknowledged"], (member, rows, writer)
        assert psql(member, "SELECT count(*) FROM customers") == "2000"
        assert psql(member, "SELECT count(*) FROM pg_subscription", db="postgres") == "0"
    # The sequences came along: the next order on the tier does not reuse an id of the old server.
    leader = [m for m in TIER if psql(m, "SELECT pg_is_in_recovery()", db="postgres") == "f"][0]
    assert int(psql(leader, "SELECT last_value FROM orders_id_seq")) >= source_orders_seq
    assert not can_login("shop")  # the old server refuses the site from now on
    assert can_login("ledger")  # the other database's role is untouched
    move_left_no_trace()
    # The site writes through HAProxy's one address of the tier.
    address = host.check_output("hostname -I").split()[0]
    after = json.loads(host.check_output(
        "/usr/local/bin/db-writer postgresql %s 5432 shop shoppg --password-file /root/.db-writer-password "
        "--seconds 3 --rate 5 --first-id 900000 --readback-tries 5" % address))
    assert after["acknowledged"] > 0 and after["lost"] == [], after


def leader_of_tier():
    return [m for m in TIER if psql(m, "SELECT pg_is_in_recovery()", db="postgres") == "f"][0]


def tier_can_login(member, role):
    return psql(member, "SELECT rolcanlogin FROM pg_roles WHERE rolname = '%s'" % role, db="postgres") == "t"


def table_sums(name, port=None):
    """{table: "rows md5"} computed here, apart from the playbook's own sums: each row's text in id order, UTC."""
    port = port or (5433 if name == SOURCE else 5432)
    sums = {}
    for table in ("customers", "orders", "failover_probe"):
        sums[table] = node(name).check_output(
            "runuser -u postgres -- env PGOPTIONS='-c TimeZone=UTC -c extra_float_digits=3' psql -XAtq -p %d -d shoppg -c "
            "\"SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY id)), '') FROM %s t\"" % (port, table))
    return sums


BACK = ["-e", "db=shoppg", "-e", "from=" + TIER[0]]


def test_the_way_back_after_writes_on_the_tier(host):
    lb_only(host)
    back_model = model(host=SOURCE)
    # Bad input, refused before any host is touched: no confirmation. (A -e from= that is not a member of the tier
    # is the first test's first case: refused the same way in both directions.)
    rc, out = playbook("db_move.yml", *BACK, "-e", back_model)
    text = " ".join(out.split())
    assert rc != 0 and "shoppg" in text and "-e set_aside=true" in text and "nothing was changed" in text, out[-3000:]
    leader = leader_of_tier()
    assert tier_can_login(leader, "shop") and not can_login("shop")
    # --check --diff: says what it would do (the stale copy set aside, the dump restored) and changes nothing.
    stale = table_sums(SOURCE)
    rc, out = playbook("db_move.yml", *BACK, "-e", "set_aside=true", "-e", back_model, "--check", "--diff")
    assert rc == 0, out[-5000:]
    assert "restored_from" in out and "/var/backups/infra/db_move-shoppg-" in out, out[-3000:]
    assert tier_can_login(leader, "shop") and not can_login("shop") and table_sums(SOURCE) == stale
    assert host.run("ls /var/backups/infra/db_move-shoppg-*.dump").rc != 0
    # The site wrote on the tier since the move: a customer, an order (its sequence moves on).
    psql(leader, "INSERT INTO customers (id, name) VALUES (9001, 'written on the tier')")
    psql(leader, "INSERT INTO orders (customer_id, total) VALUES (9001, 12.5)")
    rc, out = playbook("db_move.yml", *BACK, "-e", "set_aside=true", "-e", back_model)
    print(out[-2500:])
    assert rc == 0, out[-5000:]
    text = " ".join(out.split())
    frozen = re.search(r"writes frozen ([0-9.]+) s until verified", text)
    assert frozen and re.search(r"\d+ rows in 3 tables (verified )?equal", text), out[-3000:]
    print("way back (PostgreSQL): write freeze until verified: %s s" % frozen.group(1))
    # The rows written on the tier are on the old server; every table the same, summed here apart from the playbook.
    assert psql(SOURCE, "SELECT name FROM customers WHERE id = 9001") == "written on the tier"
    assert table_sums(SOURCE) == table_sums(leader)
    assert int(psql(SOURCE, "SELECT last_value FROM orders_id_seq")) == int(psql(leader, "SELECT last_value FROM orders_id_seq"))
    # The site's role logs in on the old server again, with its password; the database still closed to other roles.
    assert can_login("shop")
    assert host.check_output("PGPASSWORD=\"$(cat /root/.db-writer-password)\" psql -XAtq -h 127.0.0.1 -p 5433 -U shop -d shoppg "
                             "-c 'SELECT count(*) FROM customers'") == "2001"
    assert psql(SOURCE, "SELECT has_database_privilege('ledger', 'shoppg', 'CONNECT')", db="postgres") == "f"
    assert not tier_can_login(leader, "shop")  # the tier refuses the site from now on
    # The stale copy was set aside before it was dropped: its dump is there and pg_restore reads it.
    dumps = host.check_output("ls /var/backups/infra/db_move-shoppg-*.dump").split()
    assert len(dumps) == 1
    assert "TABLE DATA public customers" in host.check_output("pg_restore --list %s" % dumps[0])
    assert node(leader).run("ls /var/backups/infra/db_back-shoppg-*.dump").rc != 0  # the leader's dump removed
