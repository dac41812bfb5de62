"""Bench: a blank web node brought into service by add_node.yml, minutes until it takes traffic.

Run on the lab (`bash scripts/lab.sh up` done), from the repository root:

    .venv/bin/python tests/bench/add_node_blank.py [--node web_02] [--site aerotalent] [--rate 2]

What it does, on the lab only (its own containers):
1. reads from the data model (playbooks/group_vars through Ansible) the site (one behind the load
   balancers that the node serves with another node), its first domain and the address its visitors
   reach (`datamodel_site_addresses`: the load balancers' floating address, or the first of them);
2. starts a bounded client from this controller to that address (ADD_NODE_RATE requests per second,
   default 2, at most 5; at most rate x --max-seconds requests), each request marked in its query string;
3. takes the node out of every load balancer (runtime API, state disabled), removes its container
   and starts it again from the image (scripts/lab.sh start: the admin and sshd by lab/bootstrap.yml,
   as a provider hands a host over), then runs `add_node.yml -e node=<node>`;
4. keeps the client running --tail seconds after the playbook, then reads the node's nginx access
   log for the first marked request it served;
5. runs add_node.yml a second time: a node in service must be a no-op (changed=0).
Prints the seconds from the playbook's start (and from the container's removal) to the first request
served by the node, the playbook's wall time, changed/failed counts, failed client requests (web
nodes left serve meanwhile: goal 0), load average before/after. Never asserts on time; exits 1
when the node never took traffic or a run failed. The lab ends as it was: the node in service, converged.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _edge_load  # noqa: E402
from converge_speed import RECAP, ROOT, environment, verdict  # noqa: E402

MARK = "add_node_blank"
NGINX_TIME = re.compile(r"\[([^\]]+)\] \"GET /\?" + MARK + r"=1 ")


def lab_facts(node):
    """The data model as the playbooks see it: sites, load-balanced sites, DNS addresses, group lb."""
    expr = ("{{ {'sites': datamodel_sites, 'lb_sites': datamodel_lb_sites, 'addresses': datamodel_site_addresses,"
            " 'lb': groups['lb'] | default([])} | to_json }}")
    env = dict(environment("ssh"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    out = subprocess.run(["ansible", node, "--playbook-dir", "playbooks", "-m", "ansible.builtin.debug",
                          "-a", f"msg={expr}"], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    # The json callback's document, between the other callbacks' lines (profile_tasks, timer).
    document, _ = json.JSONDecoder().raw_decode(out[out.index("\n{") + 1:])
    msg = document["plays"][0]["tasks"][0]["hosts"][node]["msg"]
    return json.loads(msg) if isinstance(msg, str) else msg


def pick_site(facts, node, wanted):
    """The site to watch: behind the load balancers, served by the node and by at least one other node."""
    for name in [wanted] if wanted else facts["lb_sites"]:
        hosts = facts["sites"].get(name, {}).get("hosts", [])
        if name in facts["lb_sites"] and node in hosts and len(hosts) > 1:
            return name
    return None


def haproxy_state(node, site, state):
    """Set the node's state in the site's backend on every load balancer (the runtime API, as by hand)."""
    subprocess.run(["ansible", "lb", "-m", "community.general.haproxy", "-a",
                    f"state={state} host={node} backend=site_{site} socket=/run/haproxy/admin.sock"],
                   cwd=ROOT, env=environment("ssh"), check=True, capture_output=True, text=True)


def recreate_blank(node):
    """Remove the node's container and start it again from the image; return the seconds it took."""
    started = time.monotonic()
    subprocess.run(["podman", "rm", "-f", "-t", "5", f"lab-{node}"], check=True, capture_output=True, env=environment("ssh"))
    subprocess.run(["bash", "scripts/lab.sh", "start"], cwd=ROOT, env=environment("ssh"), check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def add_node(node, log):
    """Run add_node.yml; return (epoch started, seconds, rc, {host: (changed, failed, unreachable)})."""
    started, clock = time.time(), time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        rc = subprocess.run(["ansible-playbook", "playbooks/add_node.yml", "-e", f"node={node}"], cwd=ROOT,
                            env=environment("ssh"), stdout=out, stderr=subprocess.STDOUT, check=False,
                            timeout=3 * 3600).returncode
    seconds = time.monotonic() - clock
    with open(log, encoding="utf-8") as out:
        recap = {m.group(1): (int(m.group(3)), int(m.group(5)), int(m.group(4))) for m in RECAP.finditer(out.read())}
    return started, seconds, rc, recap


def first_served(node, site):
    """Epoch of the first marked request in the node's access log for the site (None: it served none)."""
    out = subprocess.run(["podman", "exec", f"lab-{node}", "cat", f"/var/log/nginx/{site}.access.log"],
                         capture_output=True, text=True, check=False, env=environment("ssh")).stdout
    found = NGINX_TIME.search(out)
    if not found:
        return None
    return datetime.datetime.strptime(found.group(1), "%d/%b/%Y:%H:%M:%S %z").timestamp()


def counts(recap):
    return sum(c for c, _, _ in recap.values()), sum(f + u for _, f, u in recap.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", default="web_02", help="the web node re-created blank (the lab's web_02)")
    parser.add_argument("--site", default="", help="the site to watch (default: the first fitting one)")
    parser.add_argument("--rate", type=float, default=float(os.environ.get("ADD_NODE_RATE", "2")))
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="the client stops after this at the latest")
    parser.add_argument("--tail", type=float, default=20.0, help="seconds of client after the playbook")
    args = parser.parse_args()
    rate = min(args.rate, 5.0)

    facts = lab_facts(args.node)
    site = pick_site(facts, args.node, args.site)
    if not site:
        sys.exit(f"NO FIGURE: no site behind the load balancers served by {args.node} and another node")
    domain = facts["sites"][site]["domains"][0]
    address = facts["addresses"][domain]
    status, _, _ = _edge_load.request(address, domain, f"/?{MARK}=1", timeout=5)
    if status != 200:
        sys.exit(f"NO FIGURE: {domain} does not answer at {address} before the bench ({status})")

    keeper = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "cgroup-keeper.sh"), str(os.getpid())],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log_dir = tempfile.mkdtemp(prefix="add-node-blank-")
    load = _edge_load.Load(address, domain, rate=rate, duration=args.max_seconds, path=f"/?{MARK}=1")
    load_before = os.getloadavg()
    try:
        load.start()
        removed = time.time()
        haproxy_state(args.node, site, "disabled")
        start_seconds = recreate_blank(args.node)
        began, seconds, rc, recap = add_node(args.node, os.path.join(log_dir, "add_node.log"))
        time.sleep(args.tail)
        load.stop()
        load.join(30)
        served_at = first_served(args.node, site)
        load_after = os.getloadavg()
        _, noop_seconds, noop_rc, noop_recap = add_node(args.node, os.path.join(log_dir, "add_node-noop.log"))
    finally:
        load.stop()
        keeper.terminate()

    state, noop_state = verdict(rc, recap, noop=False), verdict(noop_rc, noop_recap, noop=True)
    changed, failed = counts(recap)
    print(f"bench add_node_blank: {args.node} re-created blank, site {site} ({domain}) at {address} "
          f"through {', '.join(facts['lb'])}, {rate:g} r/s")
    print(f"  container removed, started from the image and bootstrapped: {start_seconds:.1f} s")
    print(f"  add_node.yml: {seconds:.1f} s ({seconds / 60:.1f} min), changed={changed} failed={failed}  {state}")
    if served_at is not None:
        print(f"  first request served by {args.node}: {served_at - began:.0f} s after add_node.yml started "
              f"({(served_at - began) / 60:.1f} min), {served_at - removed:.0f} s after the container was removed")
    print(f"  client: requests={len(load.results)} failed={len(load.failed())}"
          + (f" first failures (s, outcome): {[(round(t, 1), s) for t, s, *_ in load.failed()[:10]]}" if load.failed() else ""))
    print(f"  load average (1, 5, 15 min): before {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}, "
          f"after {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f}")
    noop_changed, noop_failed = counts(noop_recap)
    print(f"  add_node.yml again (node in service): {noop_seconds:.1f} s, changed={noop_changed} failed={noop_failed}  {noop_state}")
    print(f"  logs: {log_dir}")
    if served_at is None:
        print(f"NO FIGURE: {args.node} never served a request of the client")
        return 1
    return 0 if state == "ok" and noop_state == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
