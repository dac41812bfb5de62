#!/usr/bin/env python3
"""Bench: migration throughput (Meilisearch stand-in -> real Typesense) vs Typesense's own bulk import.

Starts, on loopback only, a real Typesense 0.24.1 (the binary assembled by the typesense role's lab
install, .cache/typesense/typesense-server-0.24.1, or $TYPESENSE_BIN) and the Meilisearch STAND-IN
(tests/standins/meilisearch_standin.py, not Meilisearch) with a generated index, then:
  1. runs the migration (read in pages, fingerprint, import in JSONL batches while reading - the
     streamed path, as the bench's alias has no ledger entry -, verify, publish alias, ledger);
  2. runs it again (the ledger says unchanged: read, fingerprint, verify, no write) and times it;
  3. imports the same JSONL, same batch size, into a fresh collection with the same schema
     (Typesense's own bulk import, the baseline);
and prints documents per second of each, the ratios (target: migration >= 80 % of bulk), the time
of each phase of both runs (read, import, verify, publish) and the load average of the machine
(the lab's 2 cores are shared: figures taken under load are slower, for the migration and the
baseline alike). Prints figures; never asserts on time.
Usage: python3 tests/bench/search_migrate.py [--docs N]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402,F401  (registers plugins/module_utils as ansible.module_utils.*)
from ansible.module_utils.search_migrate_lib import DocumentConverter, document_line  # noqa: E402
from ansible.module_utils.search_migrate_run import Ledger, MeiliSource, Typesense, migrate  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--typesense-bin", default=os.environ.get(
        "TYPESENSE_BIN", os.path.join(ROOT, ".cache/typesense/typesense-server-0.24.1")))
    parser.add_argument("--typesense-url", help="use a running Typesense instead (loopback)")
    parser.add_argument("--typesense-key", default="bench-admin-key")
    parser.add_argument("--meili-url", help="use a running stand-in instead (loopback)")
    parser.add_argument("--meili-key", default="bench-master-key")
    args = parser.parse_args()
    procs, tmp = [], tempfile.mkdtemp(prefix="search-bench-")
    ts_pid = meili_pid = None
    try:
        if not args.typesense_url:
            port = free_port()
            os.makedirs(os.path.join(tmp, "ts"))
            procs.append(subprocess.Popen([args.typesense_bin, "--data-dir", os.path.join(tmp, "ts"),
                                           "--api-key", args.typesense_key, "--api-address", "127.0.0.1",
                                           "--api-port", str(port), "--peering-port", str(free_port())],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            ts_pid = procs[-1].pid
            args.typesense_url = "http://127.0.0.1:%d" % port
        if not args.meili_url:
            port = free_port()
            procs.append(subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/standins/meilisearch_standin.py"),
                                           "--port", str(port), "--master-key", args.meili_key,
                                           "--generate", "candidatures:%d" % args.docs],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            meili_pid = procs[-1].pid
            args.meili_url = "http://127.0.0.1:%d" % port
        wait(args.typesense_url + "/health")
        wait(args.meili_url + "/health")
        load_start = os.getloadavg()
        ts = Typesense(args.typesense_url, args.typesense_key)
        source = MeiliSource(args.meili_url, args.meili_key, "candidatures", page_size=1000)
        alias = "bench_candidatures"
        for coll in ts.collections():
            if coll["name"].startswith(alias):
                ts.drop(coll["name"])
        Ledger(ts).forget(alias)  # a running Typesense may remember the alias: the first run must import
        def cpu():
            return [cpu_seconds(), cpu_seconds(ts_pid) if ts_pid else float("nan"),
                    cpu_seconds(meili_pid) if meili_pid else float("nan")]

        c0, t0 = cpu(), time.time()
        first = migrate(source, ts, alias, batch_size=args.batch_size,
                        progress=lambda m: print("  progress: " + m, flush=True))
        total1, cpu1 = time.time() - t0, [b - a for a, b in zip(c0, cpu())]
        t0 = time.time()
        second = migrate(source, ts, alias, batch_size=args.batch_size)
        total2 = time.time() - t0
        # Baseline: the same JSONL lines as the migration sends (document_line), same batches, straight
        # into Typesense; the lines are prepared before the clock starts.
        schema = dict(first["schema"], name=alias + "_bulk_baseline")
        types = dict((f["name"], f["type"]) for f in schema["fields"])
        converter = DocumentConverter(first["primary_key"], types)
        lines = [document_line(d, converter) for d in source.documents()]
        ts.create(schema)
        c0, t0 = cpu(), time.time()
        for start in range(0, len(lines), args.batch_size):
            ts.import_jsonl(schema["name"], "\n".join(lines[start:start + args.batch_size]))
        bulk, cpu_bulk = time.time() - t0, [b - a for a, b in zip(c0, cpu())]
        ts.drop(schema["name"])
        n = first["source_documents"]
        import_rate = n / first["import_seconds"]
        end_to_end = n / total1
        bulk_rate = n / bulk
        print("documents: %d, batch size: %d" % (n, args.batch_size))
        print("migration, first run: %.1f s end to end (%.0f docs/s: read pages + fingerprint + import + verify + alias)"
              % (total1, end_to_end))
        print("migration, import phase: %.1f s (%.0f docs/s)" % (first["import_seconds"], import_rate))
        print("typesense bulk import of the same JSONL: %.1f s (%.0f docs/s)" % (bulk, bulk_rate))
        print("ratio import phase / bulk: %.0f %%; end to end / bulk: %.0f %% (target >= 80 %%)"
              % (100 * import_rate / bulk_rate, 100 * end_to_end / bulk_rate))
        print("verification: ok=%s, queries: %s" % (first["verification"]["ok"],
                                                    [q["overlap"] for q in first["verification"]["queries"]]))
        for label, run in (("first run", first), ("second run", second)):
            print("phases, %s (%s path): %s" % (label, run["path"], ", ".join(
                "%s %.1f s" % (k, run["timings"][k]) for k in ("read", "import", "import_wait", "verify", "publish")
                if k in run["timings"])))
        print("(a streamed run imports while it reads: its read and import phases overlap; import_wait is the "
              "time the import went on after the read)")
        print("second run: changed=%s, imported=%d, %.1f s" % (second["changed"], second["imported"], total2))
        print("CPU seconds, first run: migration %.1f, Typesense %.1f, Meilisearch stand-in %.1f; "
              "bulk import: client %.1f, Typesense %.1f" % tuple(cpu1 + cpu_bulk[:2]))
        print("load average (1, 5, 15 min) at the start: %s, at the end: %s"
              % (" ".join("%.1f" % x for x in load_start), " ".join("%.1f" % x for x in os.getloadavg())))
        print("unsupported settings: %s" % json.dumps(first["unsupported"], ensure_ascii=False))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
