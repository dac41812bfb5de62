# -*- coding: utf-8 -*-
"""Throw-away database servers that verify a dump, never the live server.

A dump is verified by restoring it **under its own name** into a private server started for that
purpose and removed afterwards, then comparing the row count of every table and the list of routines,
triggers, views and events with those of the source. Restoring into a scratch database of the live
server (the former ``zz_verify_<db>``) is unsafe: a dump whose triggers, views or routines carry their
schema's name (``CREATE TRIGGER `live_db`.`t```) replays them into the live database.

- MariaDB/MySQL: ``mariadbd`` (or ``mysqld``) as user mysql on a datadir under a fresh temporary
  directory, initialised by ``mariadb-install-db --auth-root-authentication-method=socket`` (MySQL 8:
  ``mysqld --initialize-insecure``), no TCP (``--skip-networking``), its own socket and pid file, a
  small buffer pool, no binary log, the event scheduler off (a restored event never runs).
- PostgreSQL: a cluster of the live server's major version (``/usr/lib/postgresql/<ver>/bin``),
  ``initdb`` then ``pg_ctl`` as postgres, socket in the temporary directory, no TCP
  (``listen_addresses=''``), fsync off.

Used by db_retire (``scratch_server``, ``verify_restore``) and, installed beside db_engine.py by
roles/db_backup, by ``infra-db-backup`` as a command:

  python3 db_scratch.py objects ENGINE DB        JSON list of the live database's objects
  python3 db_scratch.py verify ENGINE DB DUMP [--rowcounts F] [--unstable F] [--objects F]

Pure helpers (argv builders, comparisons) are tested without a server in tests/unit/plugins/module_utils/test_db_scratch.py.
"""

from __future__ import absolute_import, division, print_function

import argparse
import contextlib
import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

try:
    from ansible_collections.infra.hosting.plugins.module_utils.db_engine import DbError, check_name, compare_counts, compare_objects, driver_for
except ImportError:  # run as a command: installed beside db_engine.py by roles/db_backup
    from db_engine import DbError, check_name, compare_counts, compare_objects, driver_for

# Where the temporary directories go (on disk: a restored copy can be as big as the database).
SCRATCH_BASE = "/var/tmp"
SCRATCH_PREFIX = "infra-db-scratch-"
# Seconds a scratch server may take to start and to stop.
START_TIMEOUT = 180
STOP_TIMEOUT = 60
# PostgreSQL port of the scratch cluster: only names its socket file (no TCP), in a private directory.
PG_PORT = 55432
SEARCH_PATH = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/libexec")


def find_binary(*names):
    """First of ``names`` found in PATH or the usual sbin/bin folders, or None."""
    path = os.environ.get("PATH", "").split(os.pathsep) + list(SEARCH_PATH)
    for name in names:
        for folder in path:
            candidate = os.path.join(folder, name)
            if folder and os.access(candidate, os.X_OK):
                return candidate
    return None


def mysql_install_argv(binary, datadir):
    """argv that initialises an empty datadir: MariaDB's install-db, or MySQL 8's mysqld --initialize-insecure."""
    if os.path.basename(binary) in ("mariadb-install-db", "mysql_install_db"):
        return [binary, "--no-defaults", "--user=mysql", "--datadir=" + datadir,
                "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve"]
    return [binary, "--no-defaults", "--user=mysql", "--datadir=" + datadir, "--initialize-insecure"]


def mysql_server_argv(binary, tmpdir):
    """argv of the scratch mariadbd/mysqld: private datadir, socket and pid file under ``tmpdir``."""
    return [
        binary, "--no-defaults", "--user=mysql",
        "--datadir=" + os.path.join(tmpdir, "data"),
        "--socket=" + os.path.join(tmpdir, "mysqld.sock"),
        "--pid-file=" + os.path.join(tmpdir, "mysqld.pid"),
        "--log-error=" + os.path.join(tmpdir, "error.log"),
        "--tmpdir=" + tmpdir,
        "--skip-networking",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=64M",
        "--innodb-flush-log-at-trx-commit=0",
        "--performance-schema=OFF",
        "--event-scheduler=OFF",
        "--max-allowed-packet=1G",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
    ]


def pg_bindir(version):
    return "/usr/lib/postgresql/%d/bin" % int(version)


def pg_initdb_argv(version, tmpdir):
    return ["runuser", "-u", "postgres", "--", os.path.join(pg_bindir(version), "initdb"),
            "-D", os.path.join(tmpdir, "data"), "-U", "postgres", "--auth-local=peer", "--auth-host=reject",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]


def pg_ctl_argv(version, tmpdir, action, port=PG_PORT):
    """argv of pg_ctl start/stop for the scratch cluster (socket in ``tmpdir``, no TCP)."""
    argv = ["runuser", "-u", "postgres", "--", os.path.join(pg_bindir(version), "pg_ctl"),
            "-D", os.path.join(tmpdir, "data"), "-w", "-t", str(START_TIMEOUT if action == "start" else STOP_TIMEOUT)]
    if action == "start":
        options = "-k %s -c listen_addresses='' -p %d -c shared_buffers=32MB -c fsync=off -c synchronous_commit=off " \
                  "-c full_page_writes=off" % (shlex.quote(tmpdir), int(port))
        return argv + ["-l", os.path.join(tmpdir, "postgresql.log"), "-o", options, "start"]
    return argv + ["-m", "fast", "stop"]


def compare_restored(counts, objects, restored_counts, restored_objects, unstable=()):
    """Compare a restored copy with the source.

    ``counts`` {table: rows} and ``objects`` ["kind name"] of the source, None when unknown (a dump
    that recorded none); ``unstable``: tables written during the dump (their count is unknown).
    Returns (problems, notes): problems fail the verification, notes say what was not verified.
    """
    problems, notes = [], []
    unstable = sorted(set(unstable))
    if counts is None:
        notes.append("row counts NOT VERIFIED: none recorded with the dump")
    else:
        kept = dict((t, n) for t, n in restored_counts.items() if t not in unstable)
        problems += compare_counts(dict((t, n) for t, n in counts.items() if t not in unstable), kept)
        if unstable:
            notes.append("row counts NOT VERIFIED for table(s) written during the dump: %s" % ", ".join(unstable))
    if objects is None:
        notes.append("routines, triggers, views and events NOT VERIFIED: none recorded with the dump")
    else:
        problems += compare_objects(objects, restored_objects)
    return problems, notes


class ScratchServer(object):
    """One throw-away server of an engine under a fresh temporary directory (use ``scratch_server``)."""

    def __init__(self, engine, base=SCRATCH_BASE, version=None, timeout=3600):
        self.engine = engine
        self.version = version
        self.timeout = timeout
        self.tmpdir = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=base)
        self.proc = None
        self.started = False
        self.commands = []
        self.driver = None

    def _run(self, argv, timeout=None):
        self.commands.append(" ".join(shlex.quote(a) for a in argv))
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=timeout or START_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise DbError("scratch server: %s took more than %ds%s" % (argv[0], timeout or START_TIMEOUT, self._log_tail()))
        if proc.returncode != 0:
            program = os.path.basename(argv[4] if argv[0] == "runuser" else argv[0])
            output = proc.stdout.decode("utf-8", "replace")[-800:]
            raise DbError("scratch server: %s failed (%d): %s%s" % (program, proc.returncode, output, self._log_tail()))
        return proc

    def _log_tail(self):
        name = "error.log" if self.engine == "mysql" else "postgresql.log"
        try:
            with open(os.path.join(self.tmpdir, name), "r", encoding="utf-8", errors="replace") as handle:
                return " | log: " + handle.read()[-800:].replace("\n", " / ")
        except OSError:
            return ""

    def _own(self, user):
        account = pwd.getpwnam(user)
        os.chown(self.tmpdir, account.pw_uid, account.pw_gid)
        os.chmod(self.tmpdir, 0o700)

    def start(self):
        if self.engine == "mysql":
            self._start_mysql()
        elif self.engine == "postgresql":
            self._start_postgresql()
        else:
            raise DbError("unknown engine %r" % (self.engine,))
        self.started = True
        return self.driver

    def _start_mysql(self):
        server = find_binary("mariadbd", "mysqld")
        installer = find_binary("mariadb-install-db", "mysql_install_db") if server and server.endswith("mariadbd") \
            else find_binary("mysql_install_db", "mariadb-install-db")
        if not server:
            raise DbError("scratch server: no mariadbd or mysqld on this host")
        self._own("mysql")
        datadir = os.path.join(self.tmpdir, "data")
        self._run(mysql_install_argv(installer or server, datadir))
        argv = mysql_server_argv(server, self.tmpdir)
        self.commands.append(" ".join(shlex.quote(a) for a in argv) + " &")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.driver = driver_for("mysql", self.timeout, socket=os.path.join(self.tmpdir, "mysqld.sock"))
        probe = self.driver.client() + ["--batch", "--skip-column-names", "-e", "SELECT 1"]
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise DbError("scratch server: %s exited (%d) while starting%s"
                              % (os.path.basename(server), self.proc.returncode, self._log_tail()))
            if subprocess.run(probe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise DbError("scratch server: %s did not answer within %ds%s" % (os.path.basename(server), START_TIMEOUT, self._log_tail()))

    def _start_postgresql(self):
        if not self.version:
            raise DbError("scratch server: the PostgreSQL major version is needed")
        if not os.access(os.path.join(pg_bindir(self.version), "initdb"), os.X_OK):
            raise DbError("scratch server: %s/initdb missing" % pg_bindir(self.version))
        self._own("postgres")
        self._run(pg_initdb_argv(self.version, self.tmpdir))
        self._run(pg_ctl_argv(self.version, self.tmpdir, "start"), timeout=START_TIMEOUT + 30)
        self.driver = driver_for("postgresql", self.timeout, socket=self.tmpdir, port=PG_PORT)

    def stop(self):
        """Stop the server (whatever state it reached) and remove its directory."""
        try:
            if self.engine == "mysql" and self.proc is not None:
                if self.proc.poll() is None:
                    admin = find_binary("mariadb-admin", "mysqladmin") or "mysqladmin"
                    subprocess.run([admin, "--no-defaults", "--socket=" + os.path.join(self.tmpdir, "mysqld.sock"),
                                    "--user=root", "shutdown"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   timeout=STOP_TIMEOUT, check=False)
                    try:
                        self.proc.wait(STOP_TIMEOUT)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait(STOP_TIMEOUT)
                self.commands.append("mysqladmin shutdown (scratch server)")
            elif self.engine == "postgresql" and os.path.exists(os.path.join(self.tmpdir, "data", "postmaster.pid")):
                argv = pg_ctl_argv(self.version, self.tmpdir, "stop")
                self.commands.append(" ".join(shlex.quote(a) for a in argv))
                if subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=STOP_TIMEOUT + 30,
                                  check=False).returncode != 0:
                    subprocess.run(argv[:-3] + ["-m", "immediate", "stop"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=STOP_TIMEOUT + 30, check=False)
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.commands.append("rm -rf %s" % shlex.quote(self.tmpdir))


@contextlib.contextmanager
def scratch_server(engine, base=SCRATCH_BASE, version=None, timeout=3600, commands=None):
    """Start a throw-away server of ``engine``, yield a driver connected to it, always stop and remove it.

    ``version``: PostgreSQL major version (that of the live server). ``commands``: a list that
    receives every command run for the scratch server (its driver's too), for executed_commands.
    """
    server = ScratchServer(engine, base=base, version=version, timeout=timeout)
    try:
        yield server.start()
    finally:
        try:
            server.stop()
        finally:
            if commands is not None:
                commands.extend("[scratch] " + c for c in server.commands + (server.driver.commands if server.driver else []))


def verify_restore(engine, name, path, counts, objects, unstable=(), version=None, base=SCRATCH_BASE, commands=None):
    """Restore ``path`` as ``name`` into a scratch server and compare it with the source (see
    ``compare_restored``). Returns {problems, notes, row_counts, objects} of the restored copy."""
    check_name(name)
    with scratch_server(engine, base=base, version=version, commands=commands) as drv:
        drv.restore(name, path)
        restored_counts = drv.row_counts(name)
        restored_objects = drv.objects(name)
    problems, notes = compare_restored(counts, objects, restored_counts, restored_objects, unstable)
    return {"problems": problems, "notes": notes, "row_counts": restored_counts, "objects": restored_objects}


def _read_json(path):
    if not path or not os.path.exists(path):
        return None
    with open(path, "r", encoding="utf-8") as handle:
        return json.load(handle)


def _read_lines(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, "r", encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify dumps in a throw-away server (infra-db-backup).")
    sub = parser.add_subparsers(dest="action", required=True)
    obj = sub.add_parser("objects", help="print the routines, triggers, views and events of a live database (JSON)")
    obj.add_argument("engine", choices=["mysql", "postgresql"])
    obj.add_argument("name")
    ver = sub.add_parser("verify", help="restore a dump into a scratch server and compare it with what was recorded")
    ver.add_argument("engine", choices=["mysql", "postgresql"])
    ver.add_argument("name")
    ver.add_argument("dump")
    ver.add_argument("--rowcounts", help="<stamp>.rowcounts.json recorded with the dump")
    ver.add_argument("--unstable", help="<stamp>.rowcounts.unstable: tables written during the dump")
    ver.add_argument("--objects", help="<stamp>.objects.json recorded with the dump")
    args = parser.parse_args(argv)
    target = "%s/%s" % (args.engine, args.name)
    try:
        check_name(args.name)
        if args.action == "objects":
            print(json.dumps(driver_for(args.engine).objects(args.name), indent=1))
            return 0
        version = driver_for("postgresql").major_version() if args.engine == "postgresql" else None
        result = verify_restore(args.engine, args.name, args.dump, _read_json(args.rowcounts), _read_json(args.objects),
                                _read_lines(args.unstable), version=version)
    except (DbError, OSError, ValueError, subprocess.SubprocessError) as exc:
        print("FAIL %s: %s" % (target, exc))
        return 1
    for note in result["notes"]:
        print("%s: %s" % (target, note))
    if result["problems"]:
        print("FAIL %s: %s does not restore as recorded (in a scratch server): %s"
              % (target, args.dump, "; ".join(result["problems"])))
        return 1
    print("OK %s: %s restores in a scratch server (%d tables, %d routines/triggers/views/events), %s"
          % (target, args.dump, len(result["row_counts"]), len(result["objects"]),
             "NOT ALL VERIFIED (above)" if result["notes"] else "identical to what was recorded at dump time"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
