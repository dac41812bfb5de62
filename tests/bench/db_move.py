"""Bench: playbooks/db_move.yml of a large database under a write load, per engine (issue #18).

Runs against the lab (bash scripts/lab.sh up; the tier converged with TLS by playbooks/db_cluster.yml, HAProxy's
TCP frontends on the lb hosts). For each engine it seeds a database of --size-mb (default 1024) on whc, the lab's
Forge-era server: `bench_move` (MariaDB) or `bench_move_pg` (PostgreSQL), one table `items` of ~1 KB rows and the
writer's table `move_probe`, owned by an account of the same name made for the bench (random password, as a site's
own). The data model of the run places the database on db_01 (`-e @` a copy of the lab's `databases` plus the bench's
entry, site null: no lab site's .env is touched; the lab's files are not changed).

The writer (this file, `--writer`, in the bench's own client container `bench-db-move`, 10.77.0.68, removed at the
end) inserts DB_RATE rows/s (default 20), one committed transaction each, through the address a site uses: whc's
private address before the move, and the tier's one address (db_cluster_address: HAProxy, the floating one under
VRRP) with TLS and the CA verified (MariaDB: the CA and the server's certificate checked; PostgreSQL:
sslmode=verify-full) from the moment the playbook's switch play ("Switch the owning site's DB_HOST": the staged .env
renamed over the live one, the configuration cache rebuilt) has ended, as a site's DB_HOST switches there. A failed
write reconnects at the next tick.

What the bench changes on the lab for its run, and takes back at the end (--keep leaves the databases):
- whc: MariaDB gets a binary log (/etc/mysql/mariadb.conf.d/90-bench-db-move.cnf, a restart of whc's MariaDB:
  db_move replicates from it; Forge's MySQL 8 has it by default) and PostgreSQL wal_level = logical (ALTER SYSTEM,
  a restart), only when they are missing; a pg_hba line for the bench's role from the client; the seeded
  databases dropped at the end (the binary-log files removed, the settings reset, the servers restarted).
- whc, lb_01, lb_02: an nftables rule accepting 3306 and 5432 from the client only (comment bench-db-move, not
  persistent), as the firewall opens them to a site's hosts.
- the tier: the bench's account (MariaDB REQUIRE SSL, as a site's) and role, the moved databases, dropped at the end.

Prints, per engine: the seeded size, the initial copy seconds (db_move's own), the catch-up before the freeze
(from the end of the copy to the sums before the freeze), those sums of both sides (while the writer writes), and
the part within the freeze (the destination reaching the source's last position, the tables written since summed
again on both sides), the
write freeze as the writer saw it (the longest gap between two acknowledged writes) and its failed writes, the
playbook's own verification (rows and tables verified equal by row counts and checksums), acknowledged rows missing
on the tier afterwards, and the machine's load average. Then, for MariaDB, the way back (db_move.yml -e from=db_01
-e set_aside=true, the model placing it on whc again) under the same load, the same figures; PostgreSQL's way back
is by hand (docs/databases.md). Never asserts on time; exits 1 when a move failed.

    export CONTAINERS_CONF=$PWD/lab/containers.conf; bash scripts/cgroup-keeper.sh $$ &
    .venv/bin/python tests/bench/db_move.py [mariadb|postgresql ...] [--size-mb 1024] [--no-back] [--keep]
"""

import argparse
import json
import os
import re
import secrets
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
BIN = os.path.dirname(sys.executable)
CLIENT = "bench-db-move"
CLIENT_IP = "10.77.0.68"
SOURCE = "lab-whc"
MEMBERS = ["lab-db_01", "lab-db_02", "lab-db_03"]
LBS = ["lab-lb_01", "lab-lb_02"]
CA = "/etc/ssl/infra-db/ca.crt"  # datamodel_db_tls_ca_cert on the members
NAMES = {"mariadb": "bench_move", "postgresql": "bench_move_pg"}
PORTS = {"mariadb": 3306, "postgresql": 5432}
ENGINES = {"mariadb": "mysql", "postgresql": "postgresql"}
MARK = "bench-db-move"
# The play after the site's switch: the site writes to the tier from there on (an upper bound: its staged .env
# is in place and its configuration cache rebuilt when that play begins).
SWITCHED = "PLAY [Clean up after the switch]"
BINLOG_CNF = "/etc/mysql/mariadb.conf.d/90-bench-db-move.cnf"
MAX_WRITER_SECONDS = 5400  # the writer's own bound, whatever happens to the bench


# --- the writer (run in the client container: python3 db_move.py --writer ...) -------------------------------------

def writer_connect(args, address):
    host, port = address.rsplit(":", 1)
    tls = bool(args.ca) and address == (args.new if args.tls == "new" else args.old)
    if args.engine == "mariadb":
        import pymysql
        ssl = {"ca": args.ca, "check_hostname": True} if tls else None
        return pymysql.connect(host=host, port=int(port), user=args.user, password=args.password, database=args.db,
                               connect_timeout=2, read_timeout=5, write_timeout=5, autocommit=False, ssl=ssl)
    import psycopg2
    extra = {"sslmode": "verify-full", "sslrootcert": args.ca} if tls else {"sslmode": "disable"}
    return psycopg2.connect(host=host, port=int(port), user=args.user, password=args.password, dbname=args.db,
                            connect_timeout=2, options="-c statement_timeout=5000", **extra)


def writer(args):
    """Writes one row per tick to --old until told `switch` on stdin, then to --new; stops on `stop` or after
    --seconds. Prints one JSON object: acknowledged (on each side), failed, the longest gap between acknowledged
    writes and when, the first errors, and the acknowledged ids missing from --new afterwards."""
    with open(args.password_file, encoding="utf-8") as handle:
        args.password = handle.read().strip()
    conn, address, switched_at = None, args.old, None
    acks, acked_ids, failed, errors = [], [], 0, []
    side = {"old": 0, "new": 0}
    start = time.time()
    tick = 1.0 / args.rate
    n = args.first_id
    stop = False
    while not stop and time.time() - start < args.seconds:
        t0 = time.time()
        while select.select([sys.stdin], [], [], 0)[0]:
            line = sys.stdin.readline()
            if not line or line.strip() == "stop":
                stop = True
                break
            if line.strip() == "switch" and switched_at is None:
                switched_at, address = t0, args.new
                try:
                    if conn is not None:
                        conn.close()
                except Exception:
                    pass
                conn = None
        if stop:
            break
        n += 1
        try:
            if conn is None:
                conn = writer_connect(args, address)
            cur = conn.cursor()
            cur.execute("INSERT INTO move_probe (id, at) VALUES (%s, %s)", (n, t0))
            conn.commit()
            now = time.time()
            acks.append(now)
            acked_ids.append(n)
            side["new" if address == args.new else "old"] += 1
        except Exception as exc:  # a failed write; the next tick reconnects
            failed += 1
            if len(errors) < 6:
                errors.append("%.1f %s: %s" % (t0 - start, type(exc).__name__,
                                               str(exc).splitlines()[0][:160] if str(exc) else ""))
            try:
                if conn is not None:
                    conn.close()
            except Exception:
                pass
            conn = None
        time.sleep(max(0.0, tick - (time.time() - t0)))
    gap, gap_from = 0.0, None
    for before, after in zip(acks, acks[1:]):
        if after - before > gap:
            gap, gap_from = after - before, before
    present = None
    for _ in range(10):
        try:
            conn = writer_connect(args, args.new)
            cur = conn.cursor()
            cur.execute("SELECT id FROM move_probe WHERE id > %s", (args.first_id,))
            present = {row[0] for row in cur.fetchall()}
            conn.close()
            break
        except Exception:
            time.sleep(1)
    print(json.dumps({
        "acknowledged": len(acks), "acknowledged_old": side["old"], "acknowledged_new": side["new"], "failed": failed,
        "longest_gap": round(gap, 2), "gap_from": gap_from, "switched_at": switched_at, "started": start,
        "lost": None if present is None else len(set(acked_ids) - present), "errors": errors}))


# --- the bench (on the controller) ---------------------------------------------------------------------------------

def podman(*args, check=True, timeout=900):
    return subprocess.run(["podman", *args], check=check, text=True, capture_output=True, timeout=timeout)


def sh(container, command, check=True, timeout=900):
    out = podman("exec", container, "sh", "-c", command, check=False, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError("%s: %s: rc %s: %s" % (container, command[:200], out.returncode, out.stderr[-800:]))
    return out


def mysql(container, sql, db="", check=True, timeout=900):
    return sh(container, "mariadb -N -B %s -e \"%s\"" % (db, sql.replace('"', '\\"')), check=check,
              timeout=timeout).stdout.strip()


def psql(container, sql, db="postgres", check=True, timeout=900):
    return sh(container, "runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 -d %s -c \"%s\"" % (
        db, sql.replace('"', '\\"')), check=check, timeout=timeout).stdout.strip()


def load():
    with open("/proc/loadavg", encoding="utf-8") as handle:
        return " ".join(handle.read().split()[:3])


def inventory():
    out = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(ROOT, "inventories", "lab"),
                          "--list"], check=True, text=True, capture_output=True).stdout
    return json.loads(out)


def tier_address(data):
    """db_cluster_address as the sites get it: the floating address under VRRP, else the first load balancer's."""
    first = sorted(data.get("lb", {}).get("hosts", []))[0]
    hostvars = data["_meta"]["hostvars"][first]
    floating = str(hostvars.get("lb_floating_address") or "").split("/")[0]
    if hostvars.get("lb_floating_mode") == "vrrp" and floating and floating.upper() != "TO-FILL":
        return floating
    return hostvars["private_ip"]


def galera_writer():
    """The first Synced member (asked directly: the HTTP check may time out on a loaded machine)."""
    for name in MEMBERS:
        if mysql(name, "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'", check=False).endswith("Synced"):
            return name
    raise RuntimeError("no Synced Galera member")


def patroni_leader():
    for name in MEMBERS:
        out = sh(name, "curl -s --max-time 3 http://127.0.0.1:8008/cluster", check=False)
        if out.returncode == 0 and out.stdout.strip():
            leaders = [m["name"] for m in json.loads(out.stdout)["members"] if m["role"] == "leader"]
            if leaders:
                return "lab-" + leaders[0]
    raise RuntimeError("no Patroni leader")


def firewall(action, addresses):
    """Temporary nftables rules (comment bench-db-move, not persistent), removed at the end: the client's 3306
    and 5432 on whc and the load balancers, as the firewall opens them to a site's hosts; and the ports the move
    itself uses, which the lab's firewall does not open (docs/databases.md): whc's to the tier members (the copy,
    the replication, PostgreSQL's subscription), db_01's 3306 to whc (MariaDB's way back)."""
    tier = [addresses[m] for m in MEMBERS]
    rules = {SOURCE: [CLIENT_IP] + tier, "lab-db_01": [addresses[SOURCE]]}
    rules.update({lb: [CLIENT_IP] for lb in LBS})
    for name, sources in rules.items():
        if podman("container", "exists", name, check=False).returncode != 0:
            continue
        if sh(name, "nft list chain inet firewall input", check=False).returncode != 0:
            continue  # no firewall there
        handles = re.findall(r'comment "%s" # handle (\d+)' % MARK,
                             sh(name, "nft -a list chain inet firewall input").stdout)
        for handle in handles:
            sh(name, "nft delete rule inet firewall input handle %s" % handle)
        if action == "open":
            sh(name, "nft insert rule inet firewall input ip saddr '{ %s }' tcp dport '{ 3306, 5432 }' accept "
                     "comment %s" % (", ".join(sources), MARK))


def client_setup():
    if podman("container", "exists", CLIENT, check=False).returncode != 0:
        podman("run", "-d", "--name", CLIENT, "--network", "lab", "--ip", CLIENT_IP, "--systemd=always",
               "--privileged", "--cgroupns=private", "--tmpfs", "/tmp", "--tmpfs", "/run",
               os.environ.get("LAB_IMAGE", "localhost/lab-debian:bookworm"), "/sbin/init")
        time.sleep(5)
        sh(CLIENT, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                   "python3-pymysql python3-psycopg2 >/dev/null", timeout=900)
    podman("cp", os.path.abspath(__file__), "%s:/usr/local/bin/db-move-writer" % CLIENT)
    ca = sh(MEMBERS[0], "cat %s" % CA).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False) as handle:
        handle.write(ca)
    podman("cp", handle.name, "%s:/root/tier-ca.crt" % CLIENT)
    os.unlink(handle.name)


def mariadb_prepare(size_mb, password, reuse):
    """whc: a binary log when missing; the database seeded (not into the binary log); the account on both sides."""
    restarted = False
    if mysql(SOURCE, "SELECT @@log_bin") != "1":
        sh(SOURCE, "printf '%s\\n' '# %s: a binary log for db_move.yml (removed at the end)' '[mysqld]' "
                   "'log_bin = mysql-bin' 'binlog_format = ROW' 'expire_logs_days = 1' > %s "
                   "&& systemctl restart mariadb" % ("%s", MARK, BINLOG_CNF))
        restarted = True
    name = NAMES["mariadb"]
    for member in [galera_writer()]:
        mysql(member, "DROP DATABASE IF EXISTS %s; CREATE OR REPLACE USER %s@'10.77.0.%%' IDENTIFIED BY '%s' "
                      "REQUIRE SSL; GRANT ALL ON %s.* TO %s@'10.77.0.%%'" % (name, name, password, name, name))
    seeded = reuse and mysql(SOURCE, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' "
                                     "AND TABLE_NAME = 'items'" % name) == "1"
    if not seeded:
        mysql(SOURCE, "SET sql_log_bin = 0; DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; "
                      "CREATE TABLE %s.items (id BIGINT PRIMARY KEY, k INT NOT NULL, payload VARCHAR(1000) NOT NULL); "
                      "CREATE TABLE %s.move_probe (id BIGINT PRIMARY KEY, at DOUBLE NOT NULL)"
              % (name, name, name, name))
    mysql(SOURCE, "SET sql_log_bin = 0; CREATE OR REPLACE USER %s@'10.77.0.%%' IDENTIFIED BY '%s'; "
                  "GRANT ALL ON %s.* TO %s@'10.77.0.%%'" % (name, password, name, name))
    started, batch = time.time(), 50000
    done = int(mysql(SOURCE, "SELECT COALESCE(MAX(id), 0) FROM items", db=name))
    for _ in range(size_mb // 40 + 10):  # ~50 MB a batch; bounded
        if done and int(mysql(SOURCE, "SELECT (DATA_LENGTH + INDEX_LENGTH) >> 20 FROM information_schema.TABLES "
                                      "WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = 'items'" % name)) >= size_mb:
            break
        mysql(SOURCE, "SET sql_log_bin = 0; INSERT INTO items SELECT seq, seq %% 1000, REPEAT(SHA2(seq, 256), 15) "
                      "FROM seq_%d_to_%d; ANALYZE TABLE items" % (done + 1, done + batch), db=name)
        done += batch
    size = int(mysql(SOURCE, "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) >> 20 FROM information_schema.TABLES WHERE "
                             "TABLE_SCHEMA = '%s'" % name))
    return {"rows": done, "size_mb": size, "seed_seconds": round(time.time() - started, 1), "restarted": restarted,
            "reused": seeded}


def postgresql_prepare(size_mb, password, reuse):
    restarted = False
    if psql(SOURCE, "SHOW wal_level") != "logical":
        psql(SOURCE, "ALTER SYSTEM SET wal_level = logical")
        sh(SOURCE, "systemctl restart postgresql@15-main")
        restarted = True
    name = NAMES["postgresql"]
    leader = patroni_leader()
    seeded = reuse and psql(SOURCE, "SELECT count(*) FROM pg_database WHERE datname = '%s'" % name) == "1"
    psql(leader, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    psql(leader, "DROP ROLE IF EXISTS %s" % name)
    if not seeded:
        psql(SOURCE, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        psql(SOURCE, "DROP ROLE IF EXISTS %s" % name)
    for server in (leader, SOURCE):
        psql(server, "DO \\$\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE %s; "
                     "END IF; END \\$\\$" % (name, name))
        psql(server, "ALTER ROLE %s LOGIN PASSWORD '%s'" % (name, password))
    if not seeded:
        psql(SOURCE, "CREATE DATABASE %s OWNER %s" % (name, name))
        psql(SOURCE, "SET ROLE %s; CREATE TABLE items (id BIGINT PRIMARY KEY, k INT NOT NULL, payload TEXT NOT NULL); "
                     "CREATE TABLE move_probe (id BIGINT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)" % name, db=name)
    hba = psql(SOURCE, "SHOW hba_file")
    sh(SOURCE, "sed -i '/%s/d' %s && sed -i '1i host %s %s %s/32 scram-sha-256 # %s' %s" % (
        MARK, hba, name, name, CLIENT_IP, MARK, hba))
    psql(SOURCE, "SELECT pg_reload_conf()")
    started, batch = time.time(), 50000
    done = int(psql(SOURCE, "SELECT COALESCE(max(id), 0) FROM items", db=name))
    for _ in range(size_mb // 40 + 10):  # ~55 MB a batch (960-character rows stay inline, uncompressed); bounded
        if done and int(psql(SOURCE, "SELECT pg_database_size(current_database()) >> 20", db=name)) >= size_mb:
            break
        psql(SOURCE, "INSERT INTO items SELECT g, g %% 1000, repeat(md5(g::text), 30) FROM generate_series(%d, %d) g"
             % (done + 1, done + batch), db=name)
        done += batch
    psql(SOURCE, "ANALYZE items", db=name)
    size = int(psql(SOURCE, "SELECT pg_database_size(current_database()) >> 20", db=name))
    return {"rows": done, "size_mb": size, "seed_seconds": round(time.time() - started, 1), "restarted": restarted,
            "reused": seeded}


def model_file(engine, host):
    """The lab's databases with the bench's, placed on `host` (extra vars: the lab's files stay as they are)."""
    import yaml
    with open(os.path.join(ROOT, "inventories", "lab", "group_vars", "all", "databases.yml"), encoding="utf-8") as h:
        databases = yaml.safe_load(h)["databases"]
    databases[NAMES[engine]] = {"engine": ENGINES[engine], "host": host, "site": None, "environment": "dev",
                                "protected": False}
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", prefix="db_move_bench_", delete=False)
    json.dump({"databases": databases}, handle)
    handle.close()
    return handle.name


def writer_first_id():
    """The writer's first id: 1,000 per second of the clock, so that a run starting soon after another (the way
    back after the move) never reuses its ids (at 10 per second it did: duplicate keys counted as failed writes)."""
    return int(time.time()) * 1000


def move(engine, source_address, dest_address, tls_side, model, extra, rate, first_id):
    """The writer on `source_address` then, once the switch play ended, `dest_address`; db_move.yml meanwhile."""
    name = NAMES[engine]
    writer_proc = subprocess.Popen(
        ["podman", "exec", "-i", CLIENT, "python3", "/usr/local/bin/db-move-writer", "--writer", engine,
         "--old", "%s:%d" % (source_address, PORTS[engine]), "--new", "%s:%d" % (dest_address, PORTS[engine]),
         "--user", name, "--db", name, "--password-file", "/root/.db-move-password", "--rate", str(rate),
         "--seconds", str(MAX_WRITER_SECONDS), "--first-id", str(first_id),
         "--ca", "/root/tier-ca.crt", "--tls", tls_side],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(8)  # the writer's first writes on the old side
    marks, lines = {}, []
    # SSH's connection timeout raised from 10 s: on the 2 shared cores under other jobs (load 50-80) a new
    # connection to a lab container took longer (seen: db_01 unreachable at the first task).
    env = dict(os.environ, PYTHONUNBUFFERED="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_TIMEOUT=os.environ.get("ANSIBLE_TIMEOUT", "60"))
    cmd = [os.path.join(BIN, "ansible-playbook"), "playbooks/db_move.yml", "-e", "db=" + name, "-e", "@" + model]
    cmd += extra
    started = time.time()
    play = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    for line in play.stdout:
        now = time.time()
        lines.append(line)
        for key, pattern in (("copy", "TASK [Copy a consistent snapshot"),
                             ("copy", "TASK [Create the database on the leader"),
                             # PostgreSQL's catch-up before the freeze is inside its initial copy (subscribe).
                             ("copied", "TASK [Replicate the writes made since"), ("copied", "TASK [Sum the source before"),
                             ("presums", "TASK [Sum the source before the freeze"), ("presums", "TASK [Freeze the writes"),
                             ("freeze", "TASK [Freeze the writes"), ("catch_up", "TASK [Catch up to the source's last"),
                             ("catch_up", "TASK [Freeze the writes on the old server"),
                             ("caught_up", "TASK [Set the sequences on the leader"),
                             ("caught_up", "TASK [Sum every table on the source"),
                             ("caught_up", "TASK [Note the sums, where the data landed"),
                             ("switch", SWITCHED)):
            if line.startswith(pattern) and key not in marks:
                marks[key] = now
        if line.startswith(SWITCHED):
            writer_proc.stdin.write("switch\n")
            writer_proc.stdin.flush()
    rc = play.wait()
    playbook_seconds = time.time() - started
    log = os.path.join(tempfile.gettempdir(), "db_move_bench_%s_%d.log" % (engine, int(started)))
    with open(log, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    time.sleep(10)  # writes on the new side
    try:
        writer_proc.stdin.write("stop\n")
        writer_proc.stdin.flush()
    except BrokenPipeError:
        pass
    out, _ = writer_proc.communicate(timeout=120)
    text = " ".join("".join(lines).split())
    result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    verified = re.search(r"(\d+) rows in (\d+) tables verified equal; writes frozen ([0-9.]+) s until verified", text)
    copy = re.search(r"copy ([0-9.]+) s; writes frozen", text)
    return {"rc": rc, "playbook_seconds": round(playbook_seconds, 1), "marks": marks, "writer": result,
            "verified": verified.groups() if verified else None, "copy_seconds": copy.group(1) if copy else None,
            "tail": "".join(lines[-40:]), "log": log}


def span(marks, start, end):
    return "%.1f" % (marks[end] - marks[start]) if start in marks and end in marks else "?"


def report(label, engine, seeded, res):
    w, m = res["writer"], res["marks"]
    print("%s %s: playbook rc %s in %.0f s (output: %s); %s MB (%s rows, seeded in %s s%s); load %s" % (
        label, engine, res["rc"], res["playbook_seconds"], res["log"], seeded["size_mb"], seeded["rows"],
        seeded["seed_seconds"], ", on top of an earlier seed" if seeded.get("reused") else "", load()))
    print("  initial copy %s s (db_move's own), catch-up %s s and sums of both sides %s s before the freeze, "
          "catch-up and sums of what was written since %s s in it" % (
              res["copy_seconds"] or "?", span(m, "copied", "presums"), span(m, "presums", "freeze"),
              span(m, "catch_up", "caught_up")))
    if w:
        print("  write freeze %.2f s (longest gap between acknowledged writes), failed writes %d; acknowledged %d "
              "(%d old side, %d new side), acknowledged rows missing on the new side %s" % (
                  w["longest_gap"], w["failed"], w["acknowledged"], w["acknowledged_old"], w["acknowledged_new"],
                  "?" if w["lost"] is None else w["lost"]))
        if w["switched_at"] and w["gap_from"]:
            print("  the switch play ended %.1f s into that gap; first errors: %s" % (
                w["switched_at"] - w["gap_from"], "; ".join(w["errors"][:3]) or "none"))
    if res["verified"]:
        print("  verified equal by db_move: %s rows in %s tables; frozen %s s until verified (the playbook's figure)"
              % res["verified"])
    else:
        print("  NOT VERIFIED (the playbook failed or printed no verification)")
    if res["rc"] != 0:
        print("".join(line for line in res["tail"].splitlines(True) if "msg" in line or "fatal" in line
                      or "UNREACHABLE" in line or "FAILED" in line)[-3000:] or res["tail"][-3000:])


def cleanup(engines, keep, addresses):
    firewall("close", addresses)
    if not keep:
        if "mariadb" in engines:
            name = NAMES["mariadb"]
            try:
                member = galera_writer()
                mysql(member, "STOP ALL SLAVES; RESET SLAVE 'db_move' ALL", check=False)
                mysql(member, "DROP DATABASE IF EXISTS %s; DROP USER IF EXISTS %s@'10.77.0.%%'" % (name, name),
                      check=False)
            except RuntimeError as exc:
                print("cleanup: %s" % exc)
            mysql(SOURCE, "SET sql_log_bin = 0; DROP DATABASE IF EXISTS %s; DROP USER IF EXISTS %s@'10.77.0.%%'"
                  % (name, name), check=False)
            sh(SOURCE, "rm -f /var/backups/infra/db_move-%s-*" % name, check=False)
        if "postgresql" in engines:
            name = NAMES["postgresql"]
            try:
                leader = patroni_leader()
                psql(leader, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name, check=False)
                psql(leader, "DROP ROLE IF EXISTS %s" % name, check=False)
            except RuntimeError as exc:
                print("cleanup: %s" % exc)
            psql(SOURCE, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name, check=False)
            psql(SOURCE, "DROP ROLE IF EXISTS %s" % name, check=False)
    if "postgresql" in engines:
        hba = psql(SOURCE, "SHOW hba_file", check=False)
        if hba:
            sh(SOURCE, "sed -i '/%s/d' %s" % (MARK, hba), check=False)
            psql(SOURCE, "SELECT pg_reload_conf()", check=False)
    # whc's settings as the bench found them (a --keep run leaves them for a --reuse run).
    if "mariadb" in engines and not keep and sh(SOURCE, "test -f %s" % BINLOG_CNF, check=False).returncode == 0:
        sh(SOURCE, "rm -f %s && systemctl restart mariadb && rm -f /var/lib/mysql/mysql-bin.*" % BINLOG_CNF,
           check=False)
    auto_conf = "/var/lib/postgresql/15/main/postgresql.auto.conf"
    if "postgresql" in engines and not keep and sh(SOURCE, "grep -q '^wal_level' " + auto_conf,
                                                   check=False).returncode == 0:
        psql(SOURCE, "ALTER SYSTEM RESET wal_level", check=False)
        sh(SOURCE, "systemctl restart postgresql@15-main", check=False)
    if not keep:
        podman("rm", "-f", CLIENT, check=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("engines", nargs="*", default=["mariadb", "postgresql"])
    parser.add_argument("--size-mb", type=int, default=int(os.environ.get("DB_MOVE_SIZE_MB", "1024")))
    parser.add_argument("--rate", type=float, default=float(os.environ.get("DB_RATE", "20")))
    parser.add_argument("--no-back", action="store_true", help="skip MariaDB's way back")
    parser.add_argument("--keep", action="store_true", help="leave the databases and whc's settings in place")
    parser.add_argument("--reuse", action="store_true", help="seed on top of the database a --keep run left on whc")
    parser.add_argument("--seed-only", action="store_true", help="seed whc and stop (with --keep: a later --reuse run)")
    args = parser.parse_args()
    data = inventory()
    whc = data["_meta"]["hostvars"]["whc"]["private_ip"]
    tier = tier_address(data)
    print("db_move bench: %s, %s MB each, %.0f writes/s, whc %s -> the tier %s; load %s" % (
        ", ".join(args.engines), args.size_mb, args.rate, whc, tier, load()))
    password = secrets.token_hex(16)
    ok = True
    client_setup()
    sh(CLIENT, "umask 077; printf '%s' '" + password + "' > /root/.db-move-password")
    addresses = {"lab-" + h: v["private_ip"] for h, v in data["_meta"]["hostvars"].items() if "private_ip" in v}
    firewall("open", addresses)
    try:
        for engine in args.engines:
            prepare = mariadb_prepare if engine == "mariadb" else postgresql_prepare
            seeded = prepare(args.size_mb, password, args.reuse)
            if args.seed_only:
                print("seeded %s: %s MB, %s rows in %s s; load %s" % (engine, seeded["size_mb"], seeded["rows"],
                                                                   seeded["seed_seconds"], load()))
                continue
            model = model_file(engine, "db_01")
            try:
                res = move(engine, whc, tier, "new", model, ["-e", "from=whc"], args.rate, writer_first_id())
            finally:
                os.unlink(model)
            report("to the tier", engine, seeded, res)
            ok = ok and res["rc"] == 0
            if engine == "mariadb" and res["rc"] == 0 and not args.no_back:
                model = model_file(engine, "whc")
                try:
                    back = move(engine, tier, whc, "old", model, ["-e", "from=db_01", "-e", "set_aside=true"],
                                args.rate, writer_first_id())
                finally:
                    os.unlink(model)
                report("the way back", engine, seeded, back)
                ok = ok and back["rc"] == 0
    finally:
        cleanup(args.engines, args.keep, addresses)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        wp = argparse.ArgumentParser()
        wp.add_argument("--writer", choices=["mariadb", "postgresql"], dest="engine")
        for option in ("--old", "--new", "--user", "--db", "--password-file", "--ca", "--tls"):
            wp.add_argument(option, default="")
        wp.add_argument("--rate", type=float, default=20)
        wp.add_argument("--seconds", type=float, default=MAX_WRITER_SECONDS)
        wp.add_argument("--first-id", type=int, default=0)
        writer(wp.parse_args())
    else:
        main()
