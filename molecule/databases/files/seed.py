#!/usr/bin/env python3
"""Seed a database with known rows, once: items (100 rows) and events (as many rows as the name
has characters). The databases of WITH_OBJECTS also get a trigger, a view and a procedure created with
their schema's name (mysqldump then writes the trigger as `TRIGGER <db>.items_bi`): their retirement
must verify the dump without replaying those into the live server.
Prints "seeded" when it wrote anything, "unchanged" otherwise.
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
# [(existence query, creation statement)] per engine, schema-qualified on purpose.
MYSQL_OBJECTS = [
    ("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='{db}' AND TRIGGER_NAME='items_bi'",
     "CREATE TRIGGER {db}.items_bi BEFORE INSERT ON {db}.items FOR EACH ROW SET NEW.label = COALESCE(NEW.label, 'none')"),
    ("SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='{db}' AND TABLE_NAME='recent_events'",
     "CREATE VIEW {db}.recent_events AS SELECT id, kind FROM {db}.events"),
    ("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='{db}' AND ROUTINE_NAME='count_items'",
     "CREATE PROCEDURE {db}.count_items() SELECT COUNT(*) FROM {db}.items"),
]
POSTGRESQL_OBJECTS = [
    ("SELECT COUNT(*) FROM pg_proc WHERE proname='events_fill'",
     "CREATE FUNCTION public.events_fill() RETURNS trigger LANGUAGE plpgsql AS "
     "$f$BEGIN NEW.kind := COALESCE(NEW.kind, 'none'); RETURN NEW; END$f$"),
    ("SELECT COUNT(*) FROM pg_trigger WHERE tgname='events_bi'",
     "CREATE TRIGGER events_bi BEFORE INSERT ON public.events FOR EACH ROW EXECUTE FUNCTION public.events_fill()"),
    ("SELECT COUNT(*) FROM pg_views WHERE viewname='recent_events'",
     "CREATE VIEW public.recent_events AS SELECT id, kind FROM public.events"),
    ("SELECT COUNT(*) FROM pg_proc WHERE proname='count_items'",
     "CREATE PROCEDURE public.count_items() LANGUAGE sql AS $p$ SELECT COUNT(*) FROM public.items $p$"),
]
# mol_objects: created by the tests (tests/test_databases.py) to verify scheduled dumps with objects.
WITH_OBJECTS = {"placementspot_dev", "aeroweb_dev", "mol_objects"}
for exists, create in (MYSQL_OBJECTS if engine == "mysql" else POSTGRESQL_OBJECTS) if name in WITH_OBJECTS else []:
    if run(exists.format(db=name)).splitlines()[-1] == "0":
        run(create.format(db=name))
        changed = True
print("seeded" if changed else "unchanged")
