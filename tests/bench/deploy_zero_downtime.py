#!/usr/bin/env python3
"""Bench: failed requests while a deploy switches releases (target: 0).

Runs a steady, bounded HTTP load (RATE requests/s, at most MAX_SECONDS) against site demo in the
Molecule scenario `deploy` (container mol-deploy-web, requests sent inside it to its own loopback
with `Host: demo.lab.test`), while playbooks/deploy.yml deploys a new ref. Prints total requests,
failed requests (non-2xx or connection errors) and p50/p99 latency. Never asserts on time.

Needs the scenario up: `molecule converge -s deploy` (then `molecule destroy -s deploy`).
Usage: python3 tests/bench/deploy_zero_downtime.py [REF]   (default: alternates v2 / main)
Environment: RATE (20), MAX_SECONDS (120), CONTAINER (mol-deploy-web).
DEPLOY_LAB=1: the same against the lab instead (bash scripts/lab.sh up): site aeroweb on whc over
HTTPS (its Pebble certificate), RATE 15 by default (the lab's per-client limit is 20 r/s).
"""

import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.environ.get("DEPLOY_LAB") == "1"
RATE = int(os.environ.get("RATE", "15" if LAB else "20"))
MAX_SECONDS = int(os.environ.get("MAX_SECONDS", "120"))
CONTAINER = os.environ.get("CONTAINER", "lab-whc" if LAB else "mol-deploy-web")
SITE = "aeroweb" if LAB else "demo"
DOMAIN = SITE + ".lab.test"
URL = (f"--resolve {DOMAIN}:443:127.0.0.1 -k https://{DOMAIN}/" if LAB
       else f"-H 'Host: {DOMAIN}' http://127.0.0.1/")

# The load runs inside the web container (loopback only), bounded in count and time; it writes
# one line per request: "<http_code> <seconds>".
LOAD = r"""
end=$(( $(date +%s) + {max_s} )); n=0
while [ -e /tmp/bench-run ] && [ $(date +%s) -lt $end ] && [ $n -lt {max_n} ]; do
  curl -s -o /dev/null -m 5 -w '%{{http_code}} %{{time_total}}\n' {url} &
  n=$((n+1)); sleep {gap}
done; wait
"""


def podman(*args, background=False, **kw):
    """podman ARGS: waits for it, or with background=True returns the running process (Popen)."""
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(ROOT, "lab", "containers.conf"))
    if background:
        return subprocess.Popen(["podman", *args], env=env, text=True, **kw)
    return subprocess.run(["podman", *args], env=env, text=True, **kw)


def current_release():
    """The release `current` points at ('' when it cannot be read)."""
    out = podman("exec", CONTAINER, "readlink", f"/srv/www/{SITE}/current", capture_output=True).stdout
    return os.path.basename(out.strip())


def current_ref():
    out = podman("exec", CONTAINER, "cat", f"/srv/www/{SITE}/current/config/testapp.php", capture_output=True).stdout
    return "v2" if "'v2'" in out else "main"


def main():
    inventory = ([os.path.join(ROOT, "inventories", "lab")] if LAB
                 else sorted(glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.deploy/inventory"))))
    if not inventory:
        sys.exit("Molecule scenario 'deploy' is not up: molecule converge -s deploy")
    # podman exec into a systemd container needs the cgroup keeper (scripts/cgroup-keeper.sh).
    keeper = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "cgroup-keeper.sh"), str(os.getpid())],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        ref = sys.argv[1] if len(sys.argv) > 1 else ("main" if current_ref() == "v2" else "v2")
        run(ref, inventory)
    finally:
        keeper.terminate()


def run(ref, inventory):
    """Deploy `ref` under load; print the figures, or exit non-zero without them."""
    before = current_release()
    podman("exec", CONTAINER, "touch", "/tmp/bench-run", check=True)
    script = LOAD.format(max_s=MAX_SECONDS, max_n=RATE * MAX_SECONDS, gap=1.0 / RATE, url=URL)
    load = podman("exec", CONTAINER, "sh", "-c", script, background=True, stdout=subprocess.PIPE)
    time.sleep(2)
    env = dict(os.environ, ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"),
               ANSIBLE_FILTER_PLUGINS=os.path.join(ROOT, "plugins", "filter"), ANSIBLE_NOCOLOR="1")
    # The scenario's inventory reads it (set by Molecule, absent in a fresh shell).
    env.setdefault("MOLECULE_PROJECT_DIRECTORY", ROOT)
    started = time.monotonic()
    deploy = subprocess.run(
        [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", inventory[-1],
         os.path.join(ROOT, "playbooks", "deploy.yml"), "-e", f"site={SITE}", "-e", f"ref={ref}"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=MAX_SECONDS + 600)
    deploy_s = time.monotonic() - started
    time.sleep(2)
    podman("exec", CONTAINER, "rm", "-f", "/tmp/bench-run")
    out, _ = load.communicate(timeout=MAX_SECONDS + 60)
    codes, times = [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            codes.append(parts[0])
            times.append(float(parts[1]))
    failed = sum(1 for c in codes if not c.startswith("2"))
    times.sort()

    def pct(p):
        return times[min(len(times) - 1, int(p / 100 * len(times)))] * 1000 if times else float("nan")

    after = current_release()
    # A figure only for a deploy that happened: it succeeded and switched `current`.
    if deploy.returncode != 0 or not after or after == before:
        print(deploy.stdout[-3000:] + deploy.stderr[-1000:])
        sys.exit(f"NO FIGURE: the deploy of ref {ref} did not happen (rc={deploy.returncode}, "
                 f"current {before or '?'} -> {after or '?'}, {deploy_s:.1f} s)")
    print(f"deploy of ref {ref}: rc=0, release {before} -> {after}, {deploy_s:.1f} s")
    print(f"requests: {len(codes)} (target rate {RATE}/s, bounded to {MAX_SECONDS} s)")
    print(f"failed (non-2xx or connection error): {failed}")
    print(f"latency p50: {pct(50):.1f} ms, p99: {pct(99):.1f} ms")
    if not codes:
        sys.exit("NO FIGURE: no request was sent during the deploy")

if __name__ == "__main__":
    main()
