# -*- coding: utf-8 -*-
"""Shared code of the database modules (db_facts, db_retire): one small driver per engine.

The drivers talk to the local server through its command-line clients, as root through the
unix socket for MariaDB/MySQL (``mysql``, ``mysqldump``) and as the ``postgres`` superuser for
PostgreSQL (``psql``, ``pg_dump -Fc``, ``pg_restore``). No Python driver is needed on the host.

Pure helpers (parsing, naming, .env scanning, evidence) are separated from the drivers so that
the unit tests (tests/unit/plugins/module_utils/test_db_engine.py) exercise them without a server.
"""

from __future__ import absolute_import, division, print_function

import datetime
import glob
import hashlib
import os
import re
import shlex
import subprocess
import time

ENGINES = ("mysql", "postgresql")
DB_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,63}$")
# Keys of a Laravel .env that name a database: DB_DATABASE, DB_DATABASE_MAIL, MAIL_DB_DATABASE...
ENV_DB_KEY_RE = re.compile(r"^(?:[A-Z0-9_]*_)?DB(?:_[A-Z0-9]+)*_DATABASE(?:_[A-Z0-9_]+)?$|^DB_DATABASE[A-Z0-9_]*$")
DEFAULT_ENV_GLOBS = ("/srv/www/*/shared/.env", "/home/forge/*/.env")
SYSTEM_DATABASES = {
    "mysql": {"mysql", "information_schema", "performance_schema", "sys"},
    "postgresql": {"postgres", "template0", "template1"},
}
# Scratch databases that older versions restored into on the live server (db_scratch verifies in a
# throw-away server now): a leftover is not a database of the host.
SCRATCH_PREFIX = "zz_verify_"


class DbError(Exception):
    """A command against the database server failed."""


def check_name(name):
    """Refuse a database name that is not plain (letters, digits, underscore)."""
    if not isinstance(name, str) or not DB_NAME_RE.match(name):
        raise DbError("database name %r is not plain (letters, digits, underscore only)" % (name,))
    return name


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def iso(value):
    return value.isoformat() if value else None


def timestamp_name(when=None):
    """File name stamp of a dump: 20261124T221500Z."""
    return (when or now_utc()).strftime("%Y%m%dT%H%M%SZ")


def parse_tsv(text, columns):
    """Parse the tab-separated output of ``mysql -B -N`` or ``psql -A -t -F '\\t'``."""
    rows = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise DbError("unexpected output line %r (expected %d columns)" % (line, len(columns)))
        rows.append(dict(zip(columns, cells)))
    return rows


def to_int(value):
    if value in (None, "", "NULL", "\\N"):
        return 0
    return int(float(value))


def parse_env_databases(text):
    """Return the database names a Laravel .env file names (DB_DATABASE and friends)."""
    found = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        key, value = line.split("=", 1)
        key = key.strip()
        if not ENV_DB_KEY_RE.match(key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        if value and value not in found:
            found.append(value)
    return found


def scan_env_files(patterns=DEFAULT_ENV_GLOBS):
    """Map database name -> list of .env paths that name it, over the given glob patterns."""
    refs = {}
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            try:
                with open(path, "r", encoding="utf-8", errors="replace") as handle:
                    names = parse_env_databases(handle.read())
            except OSError:
                continue
            for name in names:
                refs.setdefault(name, [])
                if path not in refs[name]:
                    refs[name].append(path)
    return refs


def dump_extension(engine):
    return "sql.gz" if engine == "mysql" else "dump"


def last_dump(backup_root, engine, name):
    """Newest dump of a database under <root>/<engine>/<name>/ with its checksum state, or None."""
    folder = os.path.join(backup_root, engine, name)
    ext = "." + dump_extension(engine)
    try:
        files = sorted(f for f in os.listdir(folder) if f.endswith(ext))
    except OSError:
        return None
    if not files:
        return None
    path = os.path.join(folder, files[-1])
    stat = os.stat(path)
    return {
        "path": path,
        "size_bytes": stat.st_size,
        "mtime": iso(datetime.datetime.fromtimestamp(int(stat.st_mtime), datetime.timezone.utc)),
        "checksum_file": os.path.exists(path + ".sha256"),
    }


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def restore_command(engine, name, path):
    """The exact shell command that brings a retired database back from its dump."""
    qpath = shlex.quote(path)
    if engine == "mysql":
        return (
            "mysql -e 'CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci' "
            "&& gunzip -c %s | mysql %s" % (name, qpath, name)
        )
    return (
        "runuser -u postgres -- createdb %s "
        "&& runuser -u postgres -- pg_restore --no-owner --no-acl -d %s < %s" % (name, name, qpath)
    )


def compare_objects(before, after):
    """Differences between two lists of "kind name" objects (routines, triggers, views, events),
    as readable lines naming each object (empty when equal)."""
    problems = []
    for obj in sorted(set(before) - set(after)):
        problems.append("%s missing from the restored copy" % obj)
    for obj in sorted(set(after) - set(before)):
        problems.append("%s only in the restored copy" % obj)
    return problems


def compare_counts(before, after):
    """Differences between two {table: rows} maps, as readable lines (empty when equal)."""
    problems = []
    for table in sorted(set(before) | set(after)):
        if table not in after:
            problems.append("table %s missing from the restored copy" % table)
        elif table not in before:
            problems.append("table %s only in the restored copy" % table)
        elif before[table] != after[table]:
            problems.append("table %s: %d rows, %d restored" % (table, before[table], after[table]))
    return problems


def activity_evidence(counters, baseline, server_since, observed_at):
    """Activity of one database over the observation window.

    ``counters``: {reads, writes} since ``server_since`` (server start or stats reset).
    ``baseline``: an earlier snapshot {ts, reads, writes, server_since} or None; used when it is
    newer than ``server_since`` and the counters did not go backwards (no reset in between), so
    that the window starts at that snapshot.
    """
    window_start = server_since
    reads, writes = counters.get("reads", 0), counters.get("writes", 0)
    source = "since server start or stats reset"
    if baseline and baseline.get("server_since") == iso(server_since) and \
            reads >= baseline.get("reads", 0) and writes >= baseline.get("writes", 0):
        reads -= baseline.get("reads", 0)
        writes -= baseline.get("writes", 0)
        window_start = datetime.datetime.fromisoformat(baseline["ts"])
        source = "since the snapshot of %s" % baseline["ts"]
    seconds = int((observed_at - window_start).total_seconds()) if window_start else None
    return {
        "reads": reads,
        "writes": writes,
        "window_start": iso(window_start),
        "window_end": iso(observed_at),
        "window_seconds": seconds,
        "window_source": source,
    }


class Driver(object):
    """Common shape of the engine drivers."""

    engine = None

    def __init__(self, timeout=3600, socket=None, port=None):
        # socket / port: a server other than the live one (MariaDB/MySQL: its unix socket;
        # PostgreSQL: the directory of its socket and its port), e.g. db_scratch's throw-away server.
        self.timeout = timeout
        self.socket = socket
        self.port = port
        self.commands = []

    def _run(self, argv, stdin=None, stdout=None):
        self.commands.append(" ".join(shlex.quote(a) for a in argv))
        proc = subprocess.run(
            argv, stdin=stdin, stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=self.timeout, check=False,
        )
        if proc.returncode != 0:
            raise DbError("%s failed (%d): %s" % (argv[0], proc.returncode, proc.stderr.decode("utf-8", "replace").strip()))
        return proc.stdout.decode("utf-8", "replace") if stdout is None else ""

    def shell(self, command):
        """Run a shell pipeline (dump | gzip > file); its text is recorded in ``commands``."""
        self.commands.append(command)
        proc = subprocess.run(["/bin/bash", "-o", "pipefail", "-c", command], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=self.timeout, check=False)
        if proc.returncode != 0:
            raise DbError("command failed (%d): %s: %s" % (proc.returncode, command, proc.stderr.decode("utf-8", "replace").strip()))
        return proc.stdout.decode("utf-8", "replace")


class MysqlDriver(Driver):
    """MariaDB / MySQL through the mysql client as root over the unix socket."""

    engine = "mysql"

    def client(self, binary="mysql"):
        """argv of a client of this server: the live one by default, else the server on ``socket``
        (--no-defaults: no option file may send the client elsewhere)."""
        if self.socket:
            return [binary, "--no-defaults", "--socket=" + self.socket, "--user=root"]
        return [binary]

    def query(self, sql, database=None, columns=None):
        argv = self.client() + ["--batch", "--skip-column-names", "--raw", "-e", sql]
        if database:
            argv.append(database)
        out = self._run(argv)
        return parse_tsv(out, columns) if columns else out

    def databases(self):
        rows = self.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA", columns=["name"])
        return sorted(r["name"] for r in rows if r["name"] not in SYSTEM_DATABASES["mysql"])

    def sizes(self):
        rows = self.query(
            "SELECT TABLE_SCHEMA, COALESCE(SUM(DATA_LENGTH+INDEX_LENGTH),0), COUNT(*) "
            "FROM information_schema.TABLES WHERE TABLE_TYPE='BASE TABLE' GROUP BY TABLE_SCHEMA",
            columns=["name", "size", "tables"])
        return {r["name"]: {"size_bytes": to_int(r["size"]), "tables": to_int(r["tables"])} for r in rows}

    def connections(self):
        rows = self.query(
            "SELECT DB, COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE DB IS NOT NULL AND ID <> CONNECTION_ID() GROUP BY DB", columns=["name", "count"])
        return {r["name"]: to_int(r["count"]) for r in rows}

    def server_since(self):
        rows = self.query("SHOW GLOBAL STATUS LIKE 'Uptime'", columns=["key", "value"])
        uptime = to_int(rows[0]["value"]) if rows else 0
        return now_utc() - datetime.timedelta(seconds=uptime)

    def activity(self):
        """{db: {reads, writes}} from performance_schema (None when it is off)."""
        enabled = self.query("SELECT @@GLOBAL.performance_schema", columns=["on"])
        if not enabled or enabled[0]["on"] not in ("1", "ON"):
            return None
        rows = self.query(
            "SELECT OBJECT_SCHEMA, SUM(COUNT_FETCH), SUM(COUNT_WRITE) "
            "FROM performance_schema.table_io_waits_summary_by_table "
            "WHERE OBJECT_TYPE='TABLE' GROUP BY OBJECT_SCHEMA", columns=["name", "reads", "writes"])
        return {r["name"]: {"reads": to_int(r["reads"]), "writes": to_int(r["writes"])} for r in rows}

    def tables(self, name):
        rows = self.query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='%s' AND TABLE_TYPE='BASE TABLE'" % check_name(name),
            columns=["table"])
        return sorted(r["table"] for r in rows)

    def row_counts(self, name):
        tables = self.tables(name)
        if not tables:
            return {}
        sql = " UNION ALL ".join("SELECT '%s', COUNT(*) FROM `%s`.`%s`" % (t, name, t.replace("`", "``")) for t in tables)
        rows = self.query(sql, columns=["table", "rows"])
        return {r["table"]: to_int(r["rows"]) for r in rows}

    def objects(self, name):
        """Sorted "kind name" of the routines, triggers, views and events of a database."""
        check_name(name)
        rows = self.query(
            "SELECT CONCAT(LOWER(ROUTINE_TYPE), ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='%s' "
            "UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='%s' "
            "UNION ALL SELECT CONCAT('view ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='%s' "
            "UNION ALL SELECT CONCAT('event ', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA='%s'"
            % (name, name, name, name), columns=["object"])
        return sorted(r["object"] for r in rows)

    def dump(self, name, path):
        check_name(name)
        self.shell("mysqldump --single-transaction --quick --routines --triggers --events --hex-blob %s | gzip -1 > %s"
                   % (name, shlex.quote(path)))

    def restore(self, name, path):
        check_name(name)
        self.query("CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" % name)
        self.shell("gunzip -c %s | %s %s" % (shlex.quote(path), " ".join(shlex.quote(a) for a in self.client()), name))

    def drop(self, name):
        self.query("DROP DATABASE IF EXISTS `%s`" % check_name(name))

    def exists(self, name):
        return check_name(name) in self.databases()

    def users_of(self, name):
        """Accounts with grants on this database, and whether they have grants on any other."""
        check_name(name)
        escaped = name.replace("_", "\\\\_")
        rows = self.query(
            "SELECT d.User, d.Host, (SELECT COUNT(*) FROM mysql.db o WHERE o.User=d.User AND o.Host=d.Host "
            "AND o.Db NOT IN ('%s','%s')) + (SELECT COUNT(*) FROM mysql.tables_priv t WHERE t.User=d.User "
            "AND t.Host=d.Host AND t.Db NOT IN ('%s','%s')) FROM mysql.db d WHERE d.Db IN ('%s','%s')"
            % (name, escaped, name, escaped, name, escaped), columns=["user", "host", "others"])
        return [{"user": r["user"], "host": r["host"], "unused_after": to_int(r["others"]) == 0} for r in rows]

    def user_definition(self, user):
        lines = []
        for stmt in ("SHOW CREATE USER '%s'@'%s'", "SHOW GRANTS FOR '%s'@'%s'"):
            out = self.query(stmt % (user["user"], user["host"]))
            lines.extend(line + ";" for line in out.splitlines() if line.strip())
        return lines

    def drop_user(self, user):
        self.query("DROP USER IF EXISTS '%s'@'%s'" % (user["user"].replace("'", ""), user["host"].replace("'", "")))


def pg_user_schema(column):
    """SQL condition: the schema in ``column`` is a user schema (not a catalog, toast or temp schema)."""
    return ("%s NOT IN ('pg_catalog','information_schema') AND %s NOT LIKE 'pg\\_toast%%' AND %s NOT LIKE 'pg\\_temp%%'"
            % (column, column, column))


class PostgresqlDriver(Driver):
    """PostgreSQL through psql as the postgres superuser (peer authentication)."""

    engine = "postgresql"
    prefix = ["runuser", "-u", "postgres", "--"]

    def client(self, binary):
        """argv of a client as postgres: the live cluster by default, else the one on ``socket`` (its
        socket directory) and ``port``."""
        argv = self.prefix + [binary]
        if self.socket:
            argv += ["-h", self.socket, "-p", str(self.port or 5432)]
        return argv

    def query(self, sql, database="postgres", columns=None):
        out = self._run(self.client("psql") + ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-F", "\t",
                                               "-d", database, "-c", sql])
        return parse_tsv(out, columns) if columns else out

    def major_version(self):
        """Major version of the server (15 for 15.x): a scratch cluster must be of the same one."""
        rows = self.query("SHOW server_version_num", columns=["num"])
        return to_int(rows[0]["num"]) // 10000

    def databases(self):
        rows = self.query("SELECT datname FROM pg_database WHERE datallowconn", columns=["name"])
        return sorted(r["name"] for r in rows if r["name"] not in SYSTEM_DATABASES["postgresql"])

    def sizes(self):
        result = {}
        for name in self.databases():
            size = self.query("SELECT pg_database_size(current_database()), "
                              "(SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema'))",
                              database=name, columns=["size", "tables"])
            result[name] = {"size_bytes": to_int(size[0]["size"]), "tables": to_int(size[0]["tables"])}
        return result

    def connections(self):
        rows = self.query("SELECT datname, COUNT(*) FROM pg_stat_activity WHERE datname IS NOT NULL "
                          "AND pid <> pg_backend_pid() GROUP BY datname", columns=["name", "count"])
        return {r["name"]: to_int(r["count"]) for r in rows}

    def server_since(self):
        rows = self.query("SELECT to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')",
                          columns=["ts"])
        return datetime.datetime.fromisoformat(rows[0]["ts"]).replace(tzinfo=datetime.timezone.utc)

    def activity(self):
        """{db: {reads, writes, since}}; the window starts at stats_reset when there was one."""
        rows = self.query(
            "SELECT datname, tup_fetched, tup_inserted + tup_updated + tup_deleted, "
            "COALESCE(to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'), '') "
            "FROM pg_stat_database WHERE datname IS NOT NULL", columns=["name", "reads", "writes", "reset"])
        result = {}
        for r in rows:
            since = None
            if r["reset"]:
                since = datetime.datetime.fromisoformat(r["reset"]).replace(tzinfo=datetime.timezone.utc)
            result[r["name"]] = {"reads": to_int(r["reads"]), "writes": to_int(r["writes"]), "since": since}
        return result

    def tables(self, name):
        rows = self.query("SELECT schemaname || '.' || tablename FROM pg_tables "
                          "WHERE schemaname NOT IN ('pg_catalog','information_schema')",
                          database=check_name(name), columns=["table"])
        return sorted(r["table"] for r in rows)

    def row_counts(self, name):
        tables = self.tables(name)
        if not tables:
            return {}
        parts = []
        for table in tables:
            schema, rel = table.split(".", 1)
            parts.append("SELECT '%s', COUNT(*) FROM \"%s\".\"%s\"" % (table, schema.replace('"', '""'), rel.replace('"', '""')))
        rows = self.query(" UNION ALL ".join(parts), database=name, columns=["table", "rows"])
        return {r["table"]: to_int(r["rows"]) for r in rows}

    def objects(self, name):
        """Sorted "kind name" of the routines, triggers, views and materialized views (and event
        triggers) of a database, in its user schemas; extension members left out."""
        rows = self.query(
            "SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' "
            "ELSE 'function' END || ' ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE " + pg_user_schema("n.nspname") +
            " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')"
            " UNION ALL SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || t.tgname FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal"
            " UNION ALL SELECT 'view ' || schemaname || '.' || viewname FROM pg_views WHERE " + pg_user_schema("schemaname") +
            " UNION ALL SELECT 'materialized view ' || schemaname || '.' || matviewname FROM pg_matviews"
            " UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger",
            database=check_name(name), columns=["object"])
        return sorted(r["object"] for r in rows)

    def dump(self, name, path):
        check_name(name)
        self.shell("runuser -u postgres -- pg_dump -Fc %s > %s" % (name, shlex.quote(path)))

    def restore(self, name, path):
        check_name(name)
        self._run(self.client("createdb") + [name])
        self.shell("%s --no-owner --no-acl --exit-on-error -d %s < %s"
                   % (" ".join(shlex.quote(a) for a in self.client("pg_restore")), name, shlex.quote(path)))

    def drop(self, name):
        self._run(self.client("dropdb") + ["--if-exists", check_name(name)])

    def exists(self, name):
        return check_name(name) in self.databases()

    def users_of(self, name):
        """The owner of the database, unused after the drop when it owns no other database."""
        rows = self.query(
            "SELECT r.rolname, r.rolsuper::text, (SELECT COUNT(*) FROM pg_database o WHERE o.datdba = r.oid AND o.datname <> d.datname) "
            "FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = '%s'" % check_name(name),
            columns=["user", "super", "others"])
        return [{"user": r["user"], "host": "", "unused_after": r["super"] != "true" and to_int(r["others"]) == 0 and r["user"] != "postgres"}
                for r in rows]

    def user_definition(self, user):
        return ["-- role %s (owner); recreate with: CREATE ROLE \"%s\" LOGIN PASSWORD '...';" % (user["user"], user["user"])]

    def drop_user(self, user):
        self.query('DROP ROLE IF EXISTS "%s"' % user["user"].replace('"', ""))


def driver_for(engine, timeout=3600, socket=None, port=None):
    if engine == "mysql":
        return MysqlDriver(timeout, socket=socket, port=port)
    if engine == "postgresql":
        return PostgresqlDriver(timeout, socket=socket, port=port)
    raise DbError("unknown engine %r" % (engine,))


def engine_available(engine):
    """True when this host runs a server of the engine (its client binary is installed)."""
    binary = "mysql" if engine == "mysql" else "psql"
    return any(os.access(os.path.join(p, binary), os.X_OK) for p in os.environ.get("PATH", "/usr/bin:/bin").split(":") + ["/usr/bin"])


def collect(engine, env_refs, backup_root, baselines=None, driver=None):
    """Facts of every database of one engine on this host (see db_facts' RETURN)."""
    drv = driver or driver_for(engine)
    observed = now_utc()
    names = drv.databases()
    sizes = drv.sizes()
    conns = drv.connections()
    server_since = drv.server_since()
    counters = drv.activity()
    result = {}
    for name in names:
        if name.startswith(SCRATCH_PREFIX):
            continue
        if counters is None:
            activity = {"reads": None, "writes": None, "window_start": None, "window_end": iso(observed),
                        "window_seconds": None, "window_source": "performance_schema is off: no activity evidence"}
        else:
            count = counters.get(name, {"reads": 0, "writes": 0})
            since = count.get("since") or server_since
            activity = activity_evidence(count, (baselines or {}).get(name), since, observed)
        result[name] = {
            "name": name,
            "engine": engine,
            "size_bytes": sizes.get(name, {}).get("size_bytes", 0),
            "tables": sizes.get(name, {}).get("tables", 0),
            "connections": conns.get(name, 0),
            "activity": activity,
            "env_references": env_refs.get(name, []),
            "last_dump": last_dump(backup_root, engine, name),
        }
    return result


def wait_gone(drv, name, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not drv.exists(name):
            return True
        time.sleep(0.5)
    return False
