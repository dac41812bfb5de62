"""Bench: requests lost while one web node stops under steady load through the load balancer.

Runs against the molecule/lb scenario (molecule converge -s lb first) or, with LB_LAB=1, against
the lab (bash scripts/lab.sh up: lab-lb_01 in front of web_01 and web_02, the real Laravel app). A bounded load (LB_RATE req/s
for LB_DURATION s, default 30 x 40 s) goes from the LB container to HAProxy on its loopback;
at LB_STOP_AT s (default 10) one web node is stopped (LB_STOP_MODE=nginx: its web server stops;
container: the whole container stops), and started again at the end. Prints the total and failed
requests and the time HAProxy took to mark the node DOWN (runtime API). Never asserts on time.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.environ.get("LB_LAB") == "1"
LB = os.environ.get("LB_CONTAINER", "lab-lb_01" if LAB else "mol-lb-lb")
NODE = os.environ.get("LB_NODE", "lab-web_02" if LAB else "mol-lb-web-2")
# The node's name in HAProxy (its inventory hostname).
SERVER = os.environ.get("LB_SERVER", "web_02" if LAB else NODE)
STOP_AT = float(os.environ.get("LB_STOP_AT", "10"))
MODE = os.environ.get("LB_STOP_MODE", "nginx")
# On the lab all the load comes from one client (the LB's loopback, forwarded as its address): keep it
# under the sites' per-client nginx limit (20 r/s) even when one node takes all of it, or the
# figures count 429s, which is the limit working, not a request lost by the LB.
if LAB:
    os.environ.setdefault("LB_RATE", "15")
ENV = {k: v for k, v in os.environ.items() if k.startswith("LB_")}


def podman(*args, **kwargs):
    return subprocess.run(["podman", *args], check=True, text=True, capture_output=True, **kwargs)


def stop_node():
    if MODE == "container":
        podman("stop", "-t", "2", NODE)
    else:
        podman("exec", NODE, "systemctl", "stop", "nginx")


def start_node():
    if MODE == "container":
        podman("start", NODE)
    else:
        podman("exec", NODE, "systemctl", "start", "nginx")


def main():
    env_args = [f"--env={k}={v}" for k, v in ENV.items()]
    with open(os.path.join(HERE, "_lb_load.py"), encoding="utf-8") as script:
        load = subprocess.Popen(["podman", "exec", "-i", *env_args, LB, "python3", "-"], stdin=script,
                                stdout=subprocess.PIPE, text=True)
        time.sleep(STOP_AT)
        stopped_at = time.time()
        stop_node()
        out, _ = load.communicate(timeout=600)
    start_node()
    result = json.loads(out)
    down_at = next((t for t, s in result["statuses"] if t >= stopped_at and s.get(SERVER, "").startswith("DOWN")), None)
    # A figure only for what happened: requests were sent, and the LB saw the node go down.
    if not result["total"]:
        sys.exit("NO FIGURE: no request was sent through the load balancer")
    if down_at is None:
        sys.exit(f"NO FIGURE: {SERVER} was never marked DOWN after the stop: the failover did not happen "
                 f"({result['total']} requests, {result['failed']} failed)")
    print(f"bench lb_node_loss: mode={MODE} node={NODE} stopped at +{stopped_at - result['start']:.1f}s")
    print(f"  requests total={result['total']} failed={result['failed']} per_node={result['per_node']}")
    if result["failures"]:
        print(f"  first failures (time s, outcome): {result['failures']}")
    print(f"  marked DOWN {down_at - stopped_at:.1f}s after the stop (fall 2 x inter 2s = 4s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
