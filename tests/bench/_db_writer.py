#!/usr/bin/env python3
"""Bounded write load through one address, and what it saw (used by molecule/db_ha and db_failover.py).

    python3 _db_writer.py ENGINE HOST PORT USER DB --password-file FILE --seconds 40 --rate 20

ENGINE is mariadb (PyMySQL) or postgresql (psycopg2), both Debian packages. Creates the table
`failover_probe` when missing, then inserts one row per tick (id, client time) for --seconds, each
in its own committed transaction; a failed connection or write is counted and the next tick
reconnects. At the end, reads back which acknowledged ids are in the table (retrying for up to 30 s
until the address answers). Prints one JSON object: acknowledged, failed, lost (acknowledged ids
missing), rto (longest time between a failed write and the next acknowledged one, seconds),
first_failure_at and last_ack_at (epoch seconds).
"""

import argparse
import json
import time


def connect(engine, args):
    if engine == "mariadb":
        import pymysql
        return pymysql.connect(host=args.host, port=args.port, user=args.user, password=args.password,
                               database=args.db, connect_timeout=2, read_timeout=5, write_timeout=5, autocommit=False)
    import psycopg2
    return psycopg2.connect(host=args.host, port=args.port, user=args.user, password=args.password,
                            dbname=args.db, connect_timeout=2, options="-c statement_timeout=5000")


def run(args):
    ddl = "CREATE TABLE IF NOT EXISTS failover_probe (id INT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)"
    conn = None
    acked, failed, first_fail, rto, errors = [], 0, None, 0.0, []
    first_failure_at = last_ack_at = None
    start = time.time()
    tick = 1.0 / args.rate
    n = args.first_id
    while time.time() - start < args.seconds:
        t0 = time.time()
        n += 1
        try:
            if conn is None:
                conn = connect(args.engine, args)
                cur = conn.cursor()
                cur.execute(ddl)
                conn.commit()
            cur = conn.cursor()
            cur.execute("INSERT INTO failover_probe (id, at) VALUES (%s, %s)", (n, t0))
            conn.commit()
            acked.append(n)
            last_ack_at = time.time()
            if first_fail is not None:
                rto = max(rto, time.time() - first_fail)
                first_fail = None
        except Exception as exc:  # any failure is a failed write; the next tick reconnects
            failed += 1
            if len(errors) < 5:
                errors.append("%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
            if first_fail is None:
                first_fail = t0
            if first_failure_at is None:
                first_failure_at = t0
            try:
                if conn is not None:
                    conn.close()
            except Exception:
                pass
            conn = None
        time.sleep(max(0.0, tick - (time.time() - t0)))
    if first_fail is not None:
        rto = max(rto, time.time() - first_fail)
    present = None
    for _ in range(args.readback_tries):
        try:
            conn = connect(args.engine, args)
            cur = conn.cursor()
            cur.execute("SELECT id FROM failover_probe WHERE id > %s", (args.first_id,))
            present = {row[0] for row in cur.fetchall()}
            conn.close()
            break
        except Exception:
            time.sleep(1)
    lost = None if present is None else sorted(set(acked) - present)
    return {"engine": args.engine, "acknowledged": len(acked), "failed": failed, "rto": round(rto, 2),
            "lost": lost, "last_id": n, "errors": errors, "first_failure_at": first_failure_at,
            "last_ack_at": last_ack_at}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=["mariadb", "postgresql"])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("user")
    parser.add_argument("db")
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--first-id", type=int, default=0)
    parser.add_argument("--readback-tries", type=int, default=30,
                        help="tries (1 s apart) to read back the acknowledged ids (1 when the address is meant to refuse)")
    parser.add_argument("--password-file", required=True, help="file holding the password (not on the command line)")
    args = parser.parse_args()
    with open(args.password_file, encoding="utf-8") as handle:
        args.password = handle.read().strip()
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
