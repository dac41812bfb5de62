#!/usr/bin/env python3
"""Bench: time to retire a database (db_retire: dump, verify by restore, drop) against a bare dump
plus restore of the same database, on MariaDB.

It runs against a container with MariaDB: the Molecule container of the databases scenario
(`molecule converge -s databases`, then `--container mol-databases`), or its own one, which
`--prepare` starts from the lab image and fills with MariaDB (performance_schema on):
    .venv/bin/python tests/bench/db_retire.py --prepare [--size-mb 200] [--container bench-db-retire]
    podman rm -f bench-db-retire            # when done
The full figure of the issue is --size-mb 1024 (about 4x the default's time; several minutes per
step on 2 shared cores). Prints its figures; asserts nothing about time.
"""

import argparse
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DB = "bench_retire"


def sh(container, command, check=True):
    proc = subprocess.run(["podman", "exec", container, "bash", "-o", "pipefail", "-c", command],
                          capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        sys.exit("failed: %s\n%s" % (command, proc.stderr))
    return proc.stdout.strip()


def db_bytes(container, name):
    return int(sh(container, "mysql -N -B -e \"SELECT COALESCE(SUM(DATA_LENGTH+INDEX_LENGTH),0) FROM "
                             "information_schema.TABLES WHERE TABLE_SCHEMA='%s'\"" % name) or 0)


def build(container, size_mb):
    sh(container, "mysql -e 'DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4'" % (DB, DB))
    sh(container, "mysql %s -e 'CREATE TABLE payload (id BIGINT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(1000)) ENGINE=InnoDB;"
                  " CREATE TABLE small (id INT PRIMARY KEY, v INT)'" % DB)
    sh(container, "mysql %s -e 'INSERT INTO small SELECT seq, seq FROM seq_1_to_1000;"
                  " INSERT INTO payload (body) SELECT REPEAT(MD5(seq), 30) FROM seq_1_to_1000'" % DB)
    # Double the table until it reaches the size asked (bounded: at most 30 doublings).
    for _ in range(30):
        if db_bytes(container, DB) >= size_mb * 1024 * 1024:
            break
        sh(container, "mysql %s -e 'INSERT INTO payload (body) SELECT body FROM payload'" % DB)
        sh(container, "mysql %s -e 'ANALYZE TABLE payload' >/dev/null" % DB)


def prepare(container):
    """Start the bench's own container with MariaDB, unless it runs already."""
    if subprocess.run(["podman", "container", "exists", container], check=False).returncode != 0:
        image = os.environ.get("LAB_IMAGE", "localhost/lab-debian:bookworm")
        subprocess.run(["podman", "run", "-d", "--name", container, "--systemd=always", "--ulimit", "nofile=16384:16384",
                        "--ulimit", "nproc=16384:16384",
                        image, "/sbin/init"], check=True, capture_output=True)
        time.sleep(5)
    sh(container, "command -v mysqld >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                  "apt-get install -y -qq mariadb-server gzip >/dev/null)")
    sh(container, "printf '[mysqld]\\nperformance_schema = ON\\ninnodb_buffer_pool_size = 256M\\n' "
                  "> /etc/mysql/mariadb.conf.d/60-bench.cnf && systemctl restart mariadb")


def timed(func):
    start = time.monotonic()
    func()
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=int(os.environ.get("BENCH_DB_SIZE_MB", "200")))
    parser.add_argument("--container", default=os.environ.get("BENCH_DB_CONTAINER", "bench-db-retire"))
    parser.add_argument("--prepare", action="store_true", help="start the container and install MariaDB first")
    args = parser.parse_args()
    c = args.container
    if args.prepare:
        print("preparing %s (MariaDB) ..." % c, flush=True)
        print("prepared in %.1f s" % timed(lambda: prepare(c)), flush=True)
    print("building %s of about %d MB in %s ..." % (DB, args.size_mb, c), flush=True)
    build_s = timed(lambda: build(c, args.size_mb))
    size = db_bytes(c, DB)
    rows = sh(c, "mysql -N -B -e 'SELECT COUNT(*) FROM %s.payload'" % DB)
    print("built: %.0f MB on disk (InnoDB data+index), %s rows, in %.1f s" % (size / 1048576.0, rows, build_s))

    def bare():
        sh(c, "mysqldump --single-transaction --quick %s | gzip -1 > /tmp/bench_bare.sql.gz" % DB)
        sh(c, "mysql -e 'CREATE DATABASE bench_copy' && gunzip -c /tmp/bench_bare.sql.gz | mysql bench_copy")

    bare_s = timed(bare)
    sh(c, "mysql -e 'DROP DATABASE bench_copy'; rm -f /tmp/bench_bare.sql.gz")
    print("bare dump + restore: %.1f s" % bare_s, flush=True)

    # The retire module refuses writes in its window: restart MariaDB so the window starts clean.
    sh(c, "systemctl restart mariadb")
    time.sleep(3)
    # The module by its collection name, wherever the bench is started from (docs/conventions.md).
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "playbooks", "collections"),
               ANSIBLE_STDOUT_CALLBACK="oneline")
    module_args = "name=%s engine=mysql confirm=%s min_window_seconds=1 audit_log=/var/log/infra-audit.log" % (DB, DB)
    argv = [os.path.join(ROOT, ".venv", "bin", "ansible"), "all", "-i", c + ",", "-c", "containers.podman.podman",
            "-e", "ansible_python_interpreter=/usr/bin/python3", "-m", "infra.hosting.db_retire", "-a", module_args]
    start = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    retire_s = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("retire failed:\n%s%s" % (proc.stdout, proc.stderr))
    dump = sh(c, "ls -1 /var/backups/infra/databases/mysql/%s/*.sql.gz | tail -n 1" % DB)
    dump_bytes = int(sh(c, "stat -c %%s %s" % shlex.quote(dump)))
    print("retire (dump, sha256, verify by restore + row counts, drop): %.1f s" % retire_s)
    print("dump kept: %s (%.0f MB gzipped)" % (dump, dump_bytes / 1048576.0))
    print("RESULT size_mb=%.0f rows=%s bare_dump_restore_s=%.1f retire_s=%.1f overhead=%.0f%%"
          % (size / 1048576.0, rows, bare_s, retire_s, (retire_s / bare_s - 1) * 100 if bare_s else 0))
    sh(c, "rm -rf /var/backups/infra/databases/mysql/%s" % DB)


if __name__ == "__main__":
    main()
