"""Bench: how long a converge takes on the lab, by the way Ansible reaches the hosts.

Run after `bash scripts/lab.sh up` (the lab converged), from the repository root, in a fresh shell:

    .venv/bin/python tests/bench/converge_speed.py [--host web_01] [--blank web_02] [--podman-lab]

One run, the same lab state, one measure after the other:
- a no-op converge (`lab/site.yml`: the lab services, then playbooks/site.yml; nothing to change) of one
  host (`--host`) and of the whole lab, over SSH with pipelining (the lab's default, as production), over
  SSH with Mitogen's strategy
  (the opt-in switch, docs/lab.md), and through podman's connection plugin (what the lab used before:
  `podman exec` per step; its whole-lab run takes most of an hour, so it runs only with `--podman-lab`);
- the first converge of one blank host (`--blank`): its container is removed, started again from the
  image (scripts/lab.sh start), then `site.yml --limit` it over SSH.
Each line gives the wall time, the machine's load average before and after, the CPU-seconds used by
ansible-playbook (the controller, its workers and SSH clients) and by the lab's containers (their
cgroups: the hosts' module runs), and the PLAY RECAP's changed and failed counts. The CPU-seconds are
the work a run costs, whatever else shares the machine; the wall time is what a user waits, and on two
cores it grows with everything else running. A run that failed, or a "no-op" that changed something, is printed as
such and the bench exits non-zero: a time is only a figure for what really happened. Never asserts
on time. Only the lab's own containers are reached.
"""

import argparse
import glob
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# podman's connection plugin, as inventories/lab reached the hosts before: root, no become.
PODMAN_OVERLAY = """all:
  children:
    lab_hosts:
      vars:
        ansible_connection: containers.podman.podman
        ansible_host: lab-{{ inventory_hostname }}
        ansible_user: root
        ansible_become: false
"""


def environment(mode):
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               CONTAINERS_CONF=os.path.join(ROOT, "lab", "containers.conf"))
    if mode == "mitogen":
        env.update(ANSIBLE_STRATEGY_PLUGINS=os.path.join(ROOT, "lab", "plugins", "strategy"),
                   ANSIBLE_STRATEGY="mitogen_linear")
    return env


def lab_cpu_seconds():
    """CPU-seconds used so far by the lab's containers (`lab-*`), read from their cgroups (v1 or v2)."""
    out = subprocess.run(["podman", "ps", "--filter", "name=^lab-", "--format", "{{.ID}}"], capture_output=True,
                         text=True, check=False, env=environment("ssh")).stdout.split()
    if not out:
        return 0.0
    paths = subprocess.run(["podman", "inspect", "--format", "{{.State.CgroupPath}}", *out], capture_output=True,
                           text=True, check=False, env=environment("ssh")).stdout.split()
    total = 0.0
    for path in paths:
        v1 = glob.glob(f"/sys/fs/cgroup/cpuacct{path}/cpuacct.usage") or glob.glob(f"/sys/fs/cgroup/cpu,cpuacct{path}/cpuacct.usage")
        if v1:
            with open(v1[0], encoding="ascii") as handle:
                total += int(handle.read()) / 1e9
            continue
        v2 = f"/sys/fs/cgroup{path}/cpu.stat"
        if os.path.exists(v2):
            with open(v2, encoding="ascii") as handle:
                stats = dict(line.split() for line in handle if line.strip())
            total += int(stats.get("usage_usec", 0)) / 1e6
    return total


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def converge(mode, limit, overlay, log_dir):
    """Run site.yml; return (seconds, load before, load after, {host: (changed, failed, unreachable)}, rc, log, cpu).

    cpu: (controller CPU-seconds, lab containers' CPU-seconds) during the run."""
    cmd = ["ansible-playbook", "lab/site.yml"]
    if mode == "podman":
        cmd += ["-i", "inventories/lab", "-i", overlay]
    if limit:
        cmd += ["--limit", limit]
    log = os.path.join(log_dir, f"{mode}-{limit or 'lab'}.log")
    load_before = os.getloadavg()[0]
    lab_before = lab_cpu_seconds()
    controller_before = children_cpu_seconds()
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        rc = subprocess.run(cmd, cwd=ROOT, env=environment(mode), stdout=out, stderr=subprocess.STDOUT,
                            check=False, timeout=4 * 3600).returncode
    seconds = time.monotonic() - started
    cpu = (children_cpu_seconds() - controller_before, lab_cpu_seconds() - lab_before)
    with open(log, encoding="utf-8") as out:
        text = out.read()
    recap = {m.group(1): (int(m.group(3)), int(m.group(5)), int(m.group(4))) for m in RECAP.finditer(text)}
    return seconds, load_before, os.getloadavg()[0], recap, rc, log, cpu


def verdict(rc, recap, noop):
    if rc != 0 or not recap:
        return "FAILED"
    if any(failed or unreachable for _, failed, unreachable in recap.values()):
        return "FAILED"
    changed = sum(c for c, _, _ in recap.values())
    if noop and changed:
        return f"NOT A NO-OP ({changed} changed)"
    return "ok"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="web_01", help="host of the one-host measures")
    parser.add_argument("--blank", default="web_02", help="host re-created blank for the first converge ('' to skip)")
    parser.add_argument("--podman-lab", action="store_true", help="also the whole lab through podman (~50 min)")
    parser.add_argument("--modes", default="ssh,mitogen,podman", help="comma-separated: ssh, mitogen, podman")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    keeper = None
    if "podman" in modes or args.blank:
        # podman exec into these containers needs the cgroup keeper (scripts/cgroup-keeper.sh).
        keeper = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "cgroup-keeper.sh"), str(os.getpid())],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log_dir = tempfile.mkdtemp(prefix="converge-speed-")
    overlay = os.path.join(log_dir, "podman.yml")
    with open(overlay, "w", encoding="utf-8") as handle:
        handle.write(PODMAN_OVERLAY)

    rows, bad = [], False
    plan = []
    for mode in modes:
        plan.append((mode, args.host))
        if mode != "podman" or args.podman_lab:
            plan.append((mode, None))
    try:
        for mode, limit in plan:
            seconds, before, after, recap, rc, log, cpu = converge(mode, limit, overlay, log_dir)
            state = verdict(rc, recap, noop=True)
            bad |= state != "ok"
            rows.append((f"no-op, {limit or 'whole lab'} ({len(recap)} hosts)", mode, seconds, before, after, recap, state, log))
            print(f"{rows[-1][0]:<32} {mode:<8} {seconds:8.1f} s  load {before:.1f}->{after:.1f}  "
                  f"CPU controller {cpu[0]:.0f} s, lab hosts {cpu[1]:.0f} s  {state}", flush=True)
        if args.blank:
            container = "lab-" + args.blank
            subprocess.run(["podman", "rm", "-f", "-t", "5", container], check=True, capture_output=True,
                           env=environment("ssh"))
            started = time.monotonic()
            subprocess.run(["bash", "scripts/lab.sh", "start"], cwd=ROOT, env=environment("ssh"), check=True,
                           stdout=subprocess.DEVNULL)
            start_seconds = time.monotonic() - started
            seconds, before, after, recap, rc, log, cpu = converge("ssh", args.blank, overlay, log_dir)
            state = verdict(rc, recap, noop=False)
            bad |= state != "ok"
            changed = sum(c for c, _, _ in recap.values())
            rows.append((f"first converge of blank {args.blank}", "ssh", seconds, before, after, recap, state, log))
            print(f"{rows[-1][0]:<32} ssh      {seconds:8.1f} s  load {before:.1f}->{after:.1f}  "
                  f"CPU controller {cpu[0]:.0f} s, lab hosts {cpu[1]:.0f} s  {state}"
                  f" ({changed} changed; container start and bootstrap {start_seconds:.1f} s before it)", flush=True)
    finally:
        if keeper:
            keeper.terminate()

    print("\nSummary (wall time; ratio to the podman connection of the same measure where it ran)")
    by_key = {(r[0], r[1]): r for r in rows}
    for label, mode, seconds, _, _, recap, state, log in rows:
        if state != "ok":  # a figure only for a run that did what it measures
            print(f"  {label:<32} {mode:<8} NO FIGURE ({state})")
            continue
        base = by_key.get((label, "podman"))
        ratio = f"{base[2] / seconds:5.1f}x faster than podman" if base and mode != "podman" and base[7] and base[6] == "ok" else ""
        print(f"  {label:<32} {mode:<8} {seconds:8.1f} s  {state:<10} {ratio}")
    print(f"Logs: {log_dir}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
