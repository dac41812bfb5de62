"""Where the edge benches send their load and what they stop: the molecule/edge_ha scenario's
containers (default; `molecule converge -s edge_ha` first), or the lab with EDGE_LAB=1 (lab-lb_01 and
lab-lb_02 holding the lab's floating address, lab-redis_01 and lab-redis_02)."""

import os
import re
import subprocess

LAB = os.environ.get("EDGE_LAB") == "1"
DOMAIN = os.environ.get("EDGE_DOMAIN", "aerotalent.lab.test")
LBS = ["lab-lb_01", "lab-lb_02"] if LAB else ["mol-edge_ha-lb-1", "mol-edge_ha-lb-2"]
REDIS = ["lab-redis_01", "lab-redis_02"] if LAB else ["mol-edge_ha-redis-1", "mol-edge_ha-redis-2"]
WEB = "lab-web_01" if LAB else "mol-edge_ha-web"
# The page counting requests in a session: molecule/lb's index.php in the scenario, the test app's
# GET /counter (a Laravel session, SESSION_DRIVER redis) in the lab.
COUNTER_PATH = os.environ.get("EDGE_COUNTER_PATH", "/counter" if LAB else "/")


def podman(*args, check=True):
    return subprocess.run(["podman", *args], check=check, text=True, capture_output=True, timeout=120)


def sh(container, command, check=True):
    return podman("exec", container, "sh", "-c", command, check=check).stdout


def floating_address():
    if os.environ.get("EDGE_VIP"):
        return os.environ["EDGE_VIP"]
    if LAB:
        return "10.77.0.20"
    return re.sub(r"\.[0-9]+$", ".250", sh(WEB, "hostname -I").split()[0])


def holder(vip):
    """The load balancer holding the floating address (None: none of them)."""
    for lb in LBS:
        out = podman("exec", lb, "ip", "-4", "-o", "addr", "show", check=False).stdout
        if f" {vip}/" in out:
            return lb
    return None


def redis_password():
    line = sh(REDIS[0], "grep '^requirepass ' /etc/redis/infra/redis.conf")
    return line.split(" ", 1)[1].strip()


def redis_role(container, password):
    out = podman("exec", "-e", f"REDISCLI_AUTH={password}", container, "redis-cli", "--no-auth-warning",
                 "INFO", "replication", check=False).stdout
    found = re.search(r"^role:(\w+)", out, re.M)
    return found.group(1) if found else None
