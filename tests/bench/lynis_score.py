"""Bench: the Lynis hardening index of each lab host, beside a stock container of the lab image.

Run after `bash scripts/lab.sh up` and `ansible-playbook playbooks/security.yml` (the lab converged),
from the repository root, in a fresh shell:

    .venv/bin/python tests/bench/lynis_score.py [--hosts web_01,whc,...] [--no-stock]

Lynis is Debian's package (`lynis` 3.0.8 of bookworm), fetched on the controller with
`apt-get download lynis` into `.cache/lynis/` (once) and unpacked there into a standalone tree
(the script, include/, db/, plugins/, default.prf: Lynis finds them beside itself). Nothing is
installed on the audited hosts: the tree is copied to a private directory under /tmp, run as
`lynis audit system --quick` with its log and report written in that directory, and the directory
is removed afterwards (the host is left as it was).

- Lab hosts are reached as Ansible reaches them (SSH as the lab admin with its key, sudo).
- The stock container is a new container of `localhost/lab-debian:bookworm` (override with
  LAB_IMAGE) started as the lab's are (systemd, privileged, private cgroup namespace) with no
  network, audited through `podman exec`, then removed. `scripts/cgroup-keeper.sh` runs meanwhile.

Prints, per host: its kind (groups), the hardening index, the number of tests Lynis ran, and the
remaining suggestions (test id and text) and warnings. Never asserts on a figure. A host where Lynis
did not run to its end (no `hardening_index` in its report) is printed as NO FIGURE and the bench
exits non-zero. Only the lab's containers and a local container without network are reached.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, ".cache", "lynis")
KEY = os.path.join(ROOT, ".cache", "lab", "labadmin.key")
SSH_OPTS = ["-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-i", KEY]
IMAGE = os.environ.get("LAB_IMAGE") or "localhost/lab-debian:bookworm"
STOCK = "bench-lynis-stock"
REMOTE_DIR = "/tmp/lynis-bench"
# Unpack, run, print the report, remove everything: one shell on the audited host, as root.
RUN = (
    f"set -u; rm -rf {REMOTE_DIR}; mkdir -m 0700 {REMOTE_DIR} && tar -C {REMOTE_DIR} -xzf - && cd {REMOTE_DIR} && "
    f"./lynis audit system --quick --no-colors --logfile {REMOTE_DIR}/lynis.log "
    f"--report-file {REMOTE_DIR}/report.dat >{REMOTE_DIR}/out.txt 2>&1; rc=$?; "
    f"cat {REMOTE_DIR}/report.dat 2>/dev/null; rm -rf {REMOTE_DIR}; exit $rc"
)
# Lab hosts audited by default: every kind (web node, whc-like Forge hosts, lb, redis, typesense).
DEFAULT_HOSTS = ["web_01", "web_02", "whc", "whc_2", "aws_01", "lb_01", "redis_01", "typesense_01"]
HIDDEN_GROUPS = {"all", "ungrouped", "lab_hosts"}


def lynis_bundle():
    """Debian's lynis unpacked into a standalone tree, as a gzipped tar (bytes), root-owned."""
    os.makedirs(CACHE, exist_ok=True)
    debs = sorted(f for f in os.listdir(CACHE) if f.startswith("lynis_") and f.endswith(".deb"))
    if not debs:
        subprocess.run(["apt-get", "download", "lynis"], cwd=CACHE, check=True, capture_output=True)
        debs = sorted(f for f in os.listdir(CACHE) if f.startswith("lynis_") and f.endswith(".deb"))
    deb = os.path.join(CACHE, debs[-1])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        tree = os.path.join(tmp, "tree")
        os.makedirs(tree)
        shutil.copy2(os.path.join(tmp, "usr/sbin/lynis"), tree)
        for sub in ("include", "db"):
            shutil.copytree(os.path.join(tmp, "usr/share/lynis", sub), os.path.join(tree, sub))
        shutil.copytree(os.path.join(tmp, "etc/lynis/plugins"), os.path.join(tree, "plugins"))
        shutil.copy2(os.path.join(tmp, "etc/lynis/default.prf"), tree)
        out = os.path.join(tmp, "lynis.tgz")

        def as_root(info):
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info

        with tarfile.open(out, "w:gz") as tar:
            for name in sorted(os.listdir(tree)):
                tar.add(os.path.join(tree, name), arcname=name, filter=as_root)
        with open(out, "rb") as f:
            return os.path.basename(deb), f.read()


def parse(report):
    """{index, tests, suggestions [(id, text)], warnings [(id, text)]} from report.dat text."""
    result = {"index": None, "tests": None, "suggestions": [], "warnings": []}
    for line in report.splitlines():
        if line.startswith("hardening_index="):
            result["index"] = int(line.split("=", 1)[1])
        elif line.startswith("lynis_tests_done="):
            result["tests"] = int(line.split("=", 1)[1])
        elif line.startswith(("suggestion[]=", "warning[]=")):
            kind, _, rest = line.partition("=")
            fields = rest.split("|")
            key = "suggestions" if kind.startswith("suggestion") else "warnings"
            detail = fields[2] if len(fields) > 2 and fields[2] not in ("-", "") else ""
            result[key].append((fields[0], fields[1] + (f" ({detail})" if detail else "")))
    return result


def audit_lab_host(host, address, bundle):
    proc = subprocess.run(["ssh", *SSH_OPTS, f"labadmin@{address}", "sudo", "bash", "-c", f"'{RUN}'"],
                          input=bundle, capture_output=True, check=False, timeout=900)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def podman(*args, **kw):
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(ROOT, "lab", "containers.conf"))
    return subprocess.run(["podman", *args], env=env, check=False, **kw)


def audit_stock(bundle):
    podman("rm", "-f", "-t", "5", STOCK, capture_output=True)
    started = podman("run", "-d", "--name", STOCK, "--hostname", "stock", "--network", "none", "--systemd=always",
                     "--privileged", "--cgroupns=private", "--ulimit", "nofile=16384:16384",
                     "--ulimit", "nproc=16384:16384", IMAGE, "/sbin/init", capture_output=True, text=True)
    if started.returncode != 0:
        return started.returncode, "", started.stderr
    # podman exec into a systemd container needs the cgroup keeper on this machine (scripts/cgroup-keeper.sh).
    keeper = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "cgroup-keeper.sh"), str(os.getpid())],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(60):  # right after the start systemd may not have its bus yet
            state = podman("exec", STOCK, "systemctl", "is-system-running", "--wait", capture_output=True,
                           text=True, timeout=120).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(2)
        proc = podman("exec", "-i", STOCK, "bash", "-c", RUN, input=bundle, capture_output=True, timeout=900)
        return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    finally:
        keeper.terminate()
        podman("rm", "-f", "-t", "5", STOCK, capture_output=True)


def lab_inventory():
    """{host: (private_ip, "group, group")} of the lab inventory (ansible-inventory, no vault needed)."""
    out = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-inventory"), "-i", "inventories/lab", "--list"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    groups = {}
    for group, body in data.items():
        if group in HIDDEN_GROUPS or group == "_meta" or not isinstance(body, dict):
            continue
        for host in body.get("hosts", []):
            groups.setdefault(host, []).append(group)
    return {host: (hv["private_ip"], ", ".join(sorted(groups.get(host, []))))
            for host, hv in data["_meta"]["hostvars"].items() if "private_ip" in hv}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default=",".join(DEFAULT_HOSTS), help="comma-separated lab hosts")
    parser.add_argument("--no-stock", action="store_true", help="skip the stock container")
    args = parser.parse_args()
    deb, bundle = lynis_bundle()
    print(f"Lynis from {deb} (standalone copy in {REMOTE_DIR}, removed after each run), audit system --quick")
    inventory = lab_inventory()
    keeper = None
    if not args.no_stock:
        # podman exec into a systemd container needs the cgroup keeper on this machine (docs/lab.md).
        keeper = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "cgroup-keeper.sh"), str(os.getpid())],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = []
    try:
        targets = ([] if args.no_stock else [("stock", "stock container of " + IMAGE)]) + [
            (h, inventory.get(h, ("", "?"))[1]) for h in args.hosts.split(",") if h]
        for host, kind in targets:
            started = time.monotonic()
            if host == "stock":
                rc, out, err = audit_stock(bundle)
            elif host not in inventory:
                rc, out, err = 1, "", f"{host}: not in inventories/lab"
            else:
                rc, out, err = audit_lab_host(host, inventory[host][0], bundle)
            report = parse(out)
            results.append((host, kind, rc, report, err, time.monotonic() - started))
    finally:
        if keeper:
            keeper.terminate()

    failed = False
    print()
    print(f"{'host':<14} {'groups':<40} {'index':>5} {'tests':>5} {'sugg.':>5} {'warn.':>5} {'time':>6}")
    for host, kind, rc, report, err, seconds in results:
        if report["index"] is None:
            failed = True
            print(f"{host:<14} {kind:<40} NO FIGURE (Lynis did not finish: rc={rc}) {err.strip()[:200]}")
            continue
        print(f"{host:<14} {kind:<40} {report['index']:>5} {report['tests'] or 0:>5} "
              f"{len(report['suggestions']):>5} {len(report['warnings']):>5} {seconds:>5.0f}s")
    for host, _, _, report, _, _ in results:
        if report["index"] is None:
            continue
        print(f"\n{host}: hardening index {report['index']}; remaining warnings and suggestions")
        for test, text in report["warnings"]:
            print(f"  WARNING    {test:<10} {text}")
        for test, text in report["suggestions"]:
            print(f"  suggestion {test:<10} {text}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
