#!/usr/bin/env python3
"""Noisy-neighbour bench: site B's latency while site A is flooded with CPU-heavy PHP requests.

Runs ON the web host (the molecule `web` scenario's mol-web; see noisy_neighbour.sh), against its own
loopback only, with bounded request counts and durations. Prints figures; never asserts on time.

Phases (each measures N sequential requests to B's health route, about 10 per second):
  quiet        no flood
  flood-limits A flooded by C concurrent /burn requests (200 ms of CPU each), A's CPUQuota in force
  flood-nolim  same flood after `systemctl set-property --runtime php-fpm-site@A CPUQuota=` (removed),
               restored afterwards
"""

import argparse
import http.client
import os
import socket
import ssl
import statistics
import subprocess
import threading
import time

CA = "/usr/local/share/lab-acme-issuer-root.pem"


class LoopbackHTTPS(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with the site's name as SNI and Host (like curl --resolve)."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", 443), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def context():
    ctx = ssl.create_default_context(cafile=CA if os.path.exists(CA) else None)
    if not os.path.exists(CA):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def percentile(values, pct):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def measure(domain, path, count, interval):
    conn = LoopbackHTTPS(domain, timeout=15, context=context())
    latencies, errors = [], 0
    for _ in range(count):
        start = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = LoopbackHTTPS(domain, timeout=15, context=context())
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(interval)
    conn.close()
    return latencies, errors


def flood(domain, path, stop, counter, max_requests):
    conn = LoopbackHTTPS(domain, timeout=30, context=context())
    while not stop.is_set() and counter[0] < max_requests:
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            counter[0] += 1
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = LoopbackHTTPS(domain, timeout=30, context=context())
            time.sleep(0.05)
    conn.close()


def phase(name, args):
    stop = threading.Event()
    counter = [0]
    threads = []
    if name != "quiet":
        for _ in range(args.concurrency):
            thread = threading.Thread(target=flood, args=(args.noisy, "/burn", stop, counter, args.max_flood), daemon=True)
            thread.start()
            threads.append(thread)
        time.sleep(2)  # let the flood reach steady state
    started = time.perf_counter()
    latencies, errors = measure(args.victim, "/up", args.requests, args.interval)
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join(timeout=35)
    return {
        "phase": name,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": percentile(latencies, 95) if latencies else float("nan"),
        "p99": percentile(latencies, 99) if latencies else float("nan"),
        "errors": errors,
        "flood_done": counter[0],
        "flood_rate": counter[0] / (elapsed + 2) if threads else 0.0,
    }


def systemctl(*argv):
    subprocess.run(["systemctl", *argv], check=True, capture_output=True, timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--victim", default="alpha.lab.test", help="domain of site B (measured)")
    parser.add_argument("--noisy", default="beta.lab.test", help="domain of site A (flooded)")
    parser.add_argument("--noisy-site", default="beta", help="site name of A (its php-fpm-site@ instance)")
    parser.add_argument("--requests", type=int, default=100, help="requests measured per phase")
    parser.add_argument("--interval", type=float, default=0.1, help="pause between two measured requests (s)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent flooding connections")
    parser.add_argument("--max-flood", type=int, default=2000, help="upper bound of flood requests per phase")
    args = parser.parse_args()

    unit = f"php-fpm-site@{args.noisy_site}.service"
    quota = subprocess.run(["systemctl", "show", unit, "-p", "CPUQuotaPerSecUSec", "--value"],
                           capture_output=True, text=True, check=True).stdout.strip()
    results = [phase("quiet", args), phase("flood-limits", args)]
    try:
        systemctl("set-property", "--runtime", unit, "CPUQuota=")
        results.append(phase("flood-nolim", args))
    finally:
        subprocess.run(["rm", "-rf", f"/run/systemd/system.control/{unit}.d"], check=False)
        systemctl("daemon-reload")

    # A figure only for what happened: a CPU limit in force, a flood that ran, a victim that answered.
    problems = []
    if quota in ("", "infinity"):
        problems.append(f"{unit} has no CPUQuota: there is no limit to measure")
    problems += [f"phase {r['phase']}: no flood request completed" for r in results[1:] if not r["flood_done"]]
    problems += [f"phase {r['phase']}: the victim answered none of {args.requests} requests" for r in results
                 if r["errors"] >= args.requests]
    if problems:
        raise SystemExit("NO FIGURE: " + "; ".join(problems))
    quiet_p99 = results[0]["p99"]
    print(f"noisy_neighbour: victim={args.victim} noisy={args.noisy} ({unit} CPUQuota {quota}/s), "
          f"{args.requests} requests per phase, flood concurrency {args.concurrency}, cores {os.cpu_count()}")
    print(f"{'phase':<14}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'p99/quiet':>11}{'errors':>8}{'flood req':>11}{'flood r/s':>11}")
    for r in results:
        print(f"{r['phase']:<14}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}{r['p99'] / quiet_p99:>10.2f}x"
              f"{r['errors']:>8}{r['flood_done']:>11}{r['flood_rate']:>11.1f}")
    print("target: flood-limits p99 under 1.5x quiet p99")


if __name__ == "__main__":
    main()
