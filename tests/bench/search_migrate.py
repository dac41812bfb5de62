#!/usr/bin/env python3
"""Bench: migration throughput (Meilisearch stand-in -> real Typesense) vs Typesense's own bulk import.

Starts, on loopback only, a real Typesense 0.24.1 (the binary assembled by the typesense role's lab
install, .cache/typesense/typesense-server-0.24.1, or $TYPESENSE_BIN) and the Meilisearch STAND-IN
(tests/standins/meilisearch_standin.py, not Meilisearch) with a generated index, then, --runs times:
  1. runs the migration as a first run (no alias, no ledger entry: the streamed path, which reads
     in pages, fingerprints, imports JSONL batches while reading and looks for each accepted
     batch's ids by filtered searches, then verifies the count and sample queries, publishes the
     alias and records the ledger);
  2. imports the same JSONL, same batch size, sent the same way (import_batches: two requests
     under way, every answer line checked), into the same schema on a fresh Typesense (Typesense's
     own bulk import, the baseline; run 1 also times it one request at a time, for comparison);
then runs the migration once more over the unchanged index (the ledger says unchanged: read,
fingerprint, verify, no write). It prints each run's end to end / bulk ratio (target: migration
>= 80 % of bulk) with their median and lowest, then the first run's phases (read, import, verify,
publish), the CPU seconds of each process and the load average of the machine (the lab's 2 cores
are shared: figures taken under load are slower, for the migration and the baseline alike).
Prints figures; never asserts on time.
Usage: python3 tests/bench/search_migrate.py [--docs N] [--runs N]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402,F401  (puts the collection infra.hosting on sys.path)
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import DocumentConverter, schema_types  # noqa: E402
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_api import MeiliSource, Typesense  # noqa: E402
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_run import (  # noqa: E402
    IMPORT_IN_FLIGHT, LEDGER, batched, import_batches, migrate)


def cpu_seconds(pid=None):
    """CPU time (user + system) used so far by a process this bench started, or by the bench itself."""
    if pid is None:
        times = os.times()
        return times[0] + times[1]
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return float("nan")


def host_speed(seconds=0.5):
    """Millions of iterations per second of a fixed Python loop: how fast this machine runs right now.

    Printed at the start and the end: on a shared host (a VM) the figures of a run follow it.
    """
    count, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        for _ in range(10000):
            pass
        count += 10000
    return count / seconds / 1e6


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("not answering: %s" % url)


class TypesenseServer(object):
    """A Typesense the bench starts on loopback, on its own new data directory (or one already running)."""

    def __init__(self, args, tmp):
        self.args, self.tmp, self.proc, self.number = args, tmp, None, 0

    def start(self):
        """A fresh server (stops the previous one): every measure starts from the same empty state."""
        args = self.args
        if args.typesense_url:   # a running Typesense: the bench cleans up its own collections instead
            ts = Typesense(args.typesense_url, args.typesense_key)
            forget(ts, ALIAS)
            return ts
        self.stop()
        self.number += 1
        data = os.path.join(self.tmp, "ts%d" % self.number)
        os.makedirs(data)
        port = free_port()
        self.proc = subprocess.Popen([args.typesense_bin, "--data-dir", data, "--api-key", args.typesense_key,
                                      "--api-address", "127.0.0.1", "--api-port", str(port),
                                      "--peering-port", str(free_port())],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = "http://127.0.0.1:%d" % port
        wait(url + "/health")
        return Typesense(url, args.typesense_key)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None
            shutil.rmtree(os.path.join(self.tmp, "ts%d" % self.number), ignore_errors=True)


ALIAS = "bench_candidatures"


def bulk_import(server, schema, lines, batch_size, cpu, in_flight=None):
    """Typesense's bulk import of the lines into a new collection on a fresh server: (seconds, CPU seconds)."""
    ts = server.start()
    ts.create(schema)
    c0, t0 = cpu(), time.time()
    done, errors = import_batches(ts, schema["name"], batched(lines, batch_size), lambda msg: None, schema["name"],
                                  len(lines), in_flight=in_flight or IMPORT_IN_FLIGHT)
    seconds, cpu_used = time.time() - t0, [b - a for a, b in zip(c0, cpu())]
    if errors or done != len(lines):
        raise SystemExit("bulk import failed: %s" % errors[:3])
    return seconds, cpu_used


def niced(nice, func, *args, **kwargs):
    """func(*args, **kwargs) in a thread whose CPU priority is lowered by nice (and the threads it starts).

    The module lowers its own priority the same way (niceness 10): on Linux the niceness is
    per thread and inherited by the threads created, so the servers this bench starts keep theirs.
    """
    out = {}

    def run():
        try:
            if nice:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
            out["result"] = func(*args, **kwargs)
        except BaseException as exc:  # raised again in the caller's thread
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["result"]


def forget(ts, alias):
    """Drop the bench alias's collections, the alias and its ledger entry (on a running Typesense)."""
    for coll in ts.collections():
        if coll["name"].startswith(alias):
            ts.drop(coll["name"])
    if ts.alias(alias):
        ts.http.request("DELETE", "/aliases/%s" % alias)
    if ts.document(LEDGER, alias):
        ts.http.request("DELETE", "/collections/%s/documents/%s" % (LEDGER, alias))


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7,
                        help="pairs of measures (migration, bulk import), each on a fresh Typesense")
    parser.add_argument("--nice", type=int, default=10, help="CPU priority of the migration, as the module's niceness")
    parser.add_argument("--typesense-bin", default=os.environ.get(
        "TYPESENSE_BIN", os.path.join(ROOT, ".cache/typesense/typesense-server-0.24.1")))
    parser.add_argument("--typesense-url", help="use a running Typesense instead (loopback; not restarted)")
    parser.add_argument("--typesense-key", default="bench-admin-key")
    parser.add_argument("--meili-url", help="use a running stand-in instead (loopback)")
    parser.add_argument("--meili-key", default="bench-master-key")
    return parser.parse_args()


def measure(args, server, source, cpu, number, lines):
    """One pair: the migration as a first run, then the bulk import of the same lines; run 1 also times the run
    over the unchanged index and the bulk import one request at a time. Returns (run, extra, lines)."""
    ts = server.start()
    c0, t0 = cpu(), time.time()
    first = niced(args.nice, migrate, source, ts, ALIAS, batch_size=args.batch_size,
                  progress=(lambda m: print("  progress: " + m, flush=True)) if number == 1 else None)
    total1, cpu1 = time.time() - t0, [b - a for a, b in zip(c0, cpu())]
    extra = {}
    if number == 1:   # once: the run over the unchanged index (the ledger says so: nothing written)
        t0 = time.time()
        extra["second"] = migrate(source, ts, ALIAS, batch_size=args.batch_size)
        extra["total2"] = time.time() - t0
    # Baseline: the same JSONL lines as the migration sends (DocumentConverter.line), same batches, sent the
    # same way (import_batches: IMPORT_IN_FLIGHT requests under way, every answer line checked) into a
    # collection with the same schema on a fresh Typesense; the lines are prepared before the clock starts.
    schema = dict(first["schema"], name=ALIAS + "_bulk_baseline")
    if lines is None:
        converter = DocumentConverter(first["primary_key"], schema_types(schema))
        lines = [converter.line(d) for d in source.documents()]
    bulk, cpu_bulk = bulk_import(server, schema, lines, args.batch_size, cpu)
    if number == 1:
        extra["single"] = bulk_import(server, schema, lines, args.batch_size, cpu, in_flight=1)[0]
    # A figure only for a migration that happened: every document imported, verified, published.
    complete = not args.meili_started or first["source_documents"] == args.docs
    if not (first.get("changed") and first["verification"].get("ok") and complete):
        raise SystemExit("NO FIGURE: run %d did not migrate and verify the %d documents (changed=%s, verification "
                         "ok=%s, source documents %s)" % (number, args.docs, first.get("changed"),
                                                          first["verification"].get("ok"), first.get("source_documents")))
    n = first["source_documents"]
    print("run %d: migration %.1f s end to end (%.0f docs/s), import phase %.1f s; bulk import %.1f s (%.0f docs/s); "
          "end to end / bulk %.0f %%" % (number, total1, n / total1, first["import_seconds"], bulk, n / bulk,
                                         100 * bulk / total1), flush=True)
    return (first, total1, cpu1, bulk, cpu_bulk), extra, lines


def report(runs, extra, args, load_start, speed_start):
    first, total1, cpu1, bulk, cpu_bulk = runs[0]
    second, n = extra["second"], first["source_documents"]
    ratios = sorted(100 * run[3] / run[1] for run in runs)
    print("documents: %d, batch size: %d, runs: %d (each measure on a fresh Typesense)" % (n, args.batch_size, len(runs)))
    print("end to end / bulk, every run: %s; median %.0f %%, lowest %.0f %% (target >= 80 %%)"
          % (", ".join("%.0f %%" % (100 * run[3] / run[1]) for run in runs), ratios[len(ratios) // 2], ratios[0]))
    print("run 1: migration %.1f s end to end (%.0f docs/s: read pages + fingerprint + import + verify + alias), "
          "import phase %.1f s (%.0f docs/s); bulk import of the same JSONL %.1f s (%.0f docs/s)"
          % (total1, n / total1, first["import_seconds"], n / first["import_seconds"], bulk, n / bulk))
    verification = first["verification"]
    print("bulk import, run 1: %.1f s with %d requests under way (the baseline: the migration sends the same "
          "way), %.1f s one request at a time" % (bulk, IMPORT_IN_FLIGHT, extra["single"]))
    print("verification: ok=%s, ids checked by %s, queries: %s" % (
        verification["ok"], verification["ids"]["method"], [q["overlap"] for q in verification["queries"]]))
    for label, run in (("first run", first), ("second run", second)):
        print("phases, %s (%s path): %s" % (label, run["path"], ", ".join(
            "%s %.1f s" % (k, run["timings"][k]) for k in ("read", "import", "import_wait", "verify", "publish")
            if k in run["timings"])))
    print("(a streamed run imports while it reads: its read and import phases overlap; import_wait is the "
          "time the import went on after the read)")
    print("second run: changed=%s, imported=%d, %.1f s" % (second["changed"], second["imported"], extra["total2"]))
    print("CPU seconds, run 1: migration %.1f, Typesense %.1f, Meilisearch stand-in %.1f; "
          "bulk import: client %.1f, Typesense %.1f" % tuple(cpu1 + cpu_bulk[:2]))
    print("load average (1, 5, 15 min) at the start: %s, at the end: %s"
          % (" ".join("%.1f" % x for x in load_start), " ".join("%.1f" % x for x in os.getloadavg())))
    print("host speed (Python loop, M iterations/s) at the start: %.0f, at the end: %.0f" % (speed_start, host_speed()))
    print("unsupported settings: %s" % json.dumps(first["unsupported"], ensure_ascii=False))


def main():
    args = parse_args()
    tmp = tempfile.mkdtemp(prefix="search-bench-")
    server, meili = TypesenseServer(args, tmp), None
    args.meili_started = not args.meili_url
    try:
        if not args.meili_url:
            port = free_port()
            meili = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/standins/meilisearch_standin.py"),
                                      "--port", str(port), "--master-key", args.meili_key,
                                      "--generate", "candidatures:%d" % args.docs],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            args.meili_url = "http://127.0.0.1:%d" % port
        wait(args.meili_url + "/health", seconds=300)  # generating the index takes a while on a loaded host
        load_start, speed_start = os.getloadavg(), host_speed()
        source = MeiliSource(args.meili_url, args.meili_key, "candidatures", page_size=1000)

        def cpu():
            return [cpu_seconds(), cpu_seconds(server.pid) if server.pid else float("nan"),
                    cpu_seconds(meili.pid) if meili else float("nan")]

        runs, extra, lines = [], {}, None
        for number in range(1, args.runs + 1):
            run, more, lines = measure(args, server, source, cpu, number, lines)
            runs.append(run)
            extra.update(more)
        report(runs, extra, args, load_start, speed_start)
    finally:
        server.stop()
        if meili is not None:
            meili.terminate()
            meili.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
