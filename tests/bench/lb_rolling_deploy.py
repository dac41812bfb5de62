"""Bench: requests lost during a rolling deploy under steady load through the load balancer.

Two targets:
- default: the molecule/lb scenario (molecule converge -s lb first); playbooks/rolling_deploy.yml
  deploys aerotalent node by node with the scenario's stand-in step (molecule/lb/tasks/deploy_node.yml,
  which restarts nginx and PHP-FPM on the drained node);
- LB_LAB=1: the lab (bash scripts/lab.sh up); playbooks/deploy.yml deploys the real Laravel app of
  aerotalent on web_01 then web_02 (-e force=true: a new release even for the same commit).
A bounded load (LB_RATE req/s for LB_DURATION s, default 30 x 40 s; 15 x 240 s on the lab) goes from the
LB container to HAProxy on its loopback during the deploy. Prints total and failed requests, the
requests each node served, and the deploy's duration. Never asserts on time.
"""

import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LAB = os.environ.get("LB_LAB") == "1"
LB = os.environ.get("LB_CONTAINER", "lab-lb_01" if LAB else "mol-lb-lb")
if LAB:
    os.environ.setdefault("LB_DURATION", "240")  # a deploy of two nodes takes 2-3 min here
DEPLOY_AT = float(os.environ.get("LB_DEPLOY_AT", "5"))
# On the lab all the load comes from one client (the LB's loopback, forwarded as its address): keep it
# under the sites' per-client nginx limit (20 r/s) even when one node takes all of it, or the
# figures count 429s, which is the limit working, not a request lost by the LB.
if LAB:
    os.environ.setdefault("LB_RATE", "15")
ENV = {k: v for k, v in os.environ.items() if k.startswith("LB_")}


def inventory():
    found = sorted(glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.lb/inventory")), key=os.path.getmtime)
    if not found:
        sys.exit("no molecule/lb inventory: run `molecule converge -s lb` first")
    return found[-1]


def main():
    env_args = [f"--env={k}={v}" for k, v in ENV.items()]
    release = f"bench-{int(time.time())}"
    if LAB:
        cmd = [os.path.join(ROOT, ".venv/bin/ansible-playbook"), "-i", os.path.join(ROOT, "inventories/lab"),
               os.path.join(ROOT, "playbooks/deploy.yml"), "-e", "site=aerotalent", "-e", "force=true"]
    else:
        cmd = [
            os.path.join(ROOT, ".venv/bin/ansible-playbook"), "-i", inventory(),
            os.path.join(ROOT, "playbooks/rolling_deploy.yml"),
            "-e", "site=aerotalent", "-e", f"lb_test_release={release}",
            "-e", f"rolling_deploy_node_tasks={ROOT}/molecule/lb/tasks/deploy_node.yml",
        ]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_VAULT_IDENTITY_LIST=f"lab@{ROOT}/tests/fixtures/lab-vault-password")
    with open(os.path.join(HERE, "_lb_load.py"), encoding="utf-8") as script:
        load = subprocess.Popen(["podman", "exec", "-i", *env_args, LB, "python3", "-"], stdin=script,
                                stdout=subprocess.PIPE, text=True)
        time.sleep(DEPLOY_AT)
        began = time.time()
        deploy = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        took = time.time() - began
        out, _ = load.communicate(timeout=900)
    result = json.loads(out)
    # A figure only for what happened: the deploy ran to its end and requests were sent meanwhile.
    if deploy.returncode != 0:
        print(deploy.stdout[-3000:])
        sys.exit(f"NO FIGURE: the rolling deploy failed (rc={deploy.returncode}): nothing was measured")
    if not result["total"]:
        sys.exit("NO FIGURE: no request was sent through the load balancer during the deploy")
    print(f"bench lb_rolling_deploy: deploy rc={deploy.returncode} took {took:.1f}s (release {release})")
    print(f"  requests total={result['total']} failed={result['failed']} per_node={result['per_node']}")
    if result["failures"]:
        print(f"  first failures (time s, outcome): {result['failures']}")
    if took > float(os.environ.get("LB_DURATION", "40")) - DEPLOY_AT:
        print("  note: the deploy outlasted the load; raise LB_DURATION to cover all of it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
