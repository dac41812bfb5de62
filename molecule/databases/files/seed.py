#!/usr/bin/env python3
"""Seed a database with known rows, once: items (100 rows) and events (as many rows as the name
has characters). Prints "seeded" when it wrote anything, "unchanged" otherwise.
Usage: seed.py mysql|postgresql NAME [OWNER]"""
import subprocess
import sys

engine, name = sys.argv[1], sys.argv[2]
owner = sys.argv[3] if len(sys.argv) > 3 else ""


def run(sql):
    if engine == "mysql":
        argv = ["mysql", "-N", "-B", "-e", sql, name]
    else:
        prefix = 'SET ROLE "%s"; ' % owner if owner else ""
        argv = ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", name,
                "-c", prefix + sql]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


if engine == "mysql":
    run("CREATE TABLE IF NOT EXISTS items (id INT PRIMARY KEY, label VARCHAR(64)) ENGINE=InnoDB")
    run("CREATE TABLE IF NOT EXISTS events (id INT AUTO_INCREMENT PRIMARY KEY, kind VARCHAR(32)) ENGINE=InnoDB")
else:
    run("CREATE TABLE IF NOT EXISTS items (id INT PRIMARY KEY, label TEXT)")
    run("CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY, kind TEXT)")
changed = False
if run("SELECT COUNT(*) FROM items").splitlines()[-1] == "0":
    run("INSERT INTO items (id, label) VALUES " + ",".join("(%d, 'item %d')" % (i, i) for i in range(1, 101)))
    changed = True
if run("SELECT COUNT(*) FROM events").splitlines()[-1] == "0":
    run("INSERT INTO events (kind) VALUES " + ",".join("('seed')" for _ in name))
    changed = True
print("seeded" if changed else "unchanged")
