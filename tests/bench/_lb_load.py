"""Load generator run INSIDE the load balancer container (python3 -, no extra package).

Sends a steady, bounded load to HAProxy on the container's loopback and polls the runtime API
for the status of the servers of one backend. Prints one JSON object at the end.
Settings come from the environment: LB_RATE (req/s), LB_DURATION (s), LB_DOMAIN, LB_BACKEND.
"""

import json
import os
import socket
import ssl
import threading
import time
import http.client

RATE = float(os.environ.get("LB_RATE", "30"))
DURATION = float(os.environ.get("LB_DURATION", "40"))
DOMAIN = os.environ.get("LB_DOMAIN", "aerotalent.lab.test")
BACKEND = os.environ.get("LB_BACKEND", "site_aerotalent")
SOCKET = os.environ.get("LB_SOCKET", "/run/haproxy/admin.sock")
WORKERS = 8

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

results = []  # (start, status or error, node)
lock = threading.Lock()
statuses = []  # (time, {server: status})
served = []  # (time, {server: sessions served so far (stot)})
start = time.time()
deadline = start + DURATION
slots = iter(start + i / RATE for i in range(int(RATE * DURATION)))
slot_lock = threading.Lock()


class Conn(http.client.HTTPSConnection):
    def connect(self):
        sock = socket.create_connection(("127.0.0.1", 443), self.timeout)
        self.sock = ctx.wrap_socket(sock, server_hostname=DOMAIN)


def served_by(resp, body):
    """The node that answered: the Molecule stand-in says it in JSON; the lab's Laravel app does
    not (HTML), so the node is unknown there and HAProxy's per-server counters tell the split."""
    if (resp.getheader("Content-Type") or "").startswith("application/json"):
        try:
            return json.loads(body).get("node")
        except ValueError:
            return None
    return None


def worker():
    while True:
        with slot_lock:
            slot = next(slots, None)
        if slot is None:
            return
        delay = slot - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            conn = Conn(DOMAIN, timeout=10)
            conn.request("GET", "/", headers={"Host": DOMAIN})
            resp = conn.getresponse()
            body = resp.read()
            node = served_by(resp, body) if resp.status == 200 else None
            outcome = resp.status
            conn.close()
        except Exception as exc:  # noqa: BLE001  (every failure counts, whatever its kind)
            outcome, node = type(exc).__name__, None
        with lock:
            results.append((slot - start, outcome, node))


def poll():
    while time.time() < deadline + 2:
        try:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(SOCKET)
            client.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    break
                data += chunk
            client.close()
            lines = data.decode().splitlines()
            fields = lines[0].lstrip("# ").split(",")
            now, total = {}, {}
            for line in lines[1:]:
                row = dict(zip(fields, line.split(",")))
                if row.get("pxname") == BACKEND and row.get("svname") not in ("FRONTEND", "BACKEND"):
                    now[row["svname"]] = row["status"]
                    total[row["svname"]] = int(row.get("stot") or 0)
            statuses.append((time.time(), now))
            served.append((time.time(), total))
        except OSError:
            pass
        time.sleep(0.2)


threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
poller = threading.Thread(target=poll)
for t in threads + [poller]:
    t.start()
for t in threads + [poller]:
    t.join()

failed = [r for r in results if r[1] != 200]
nodes = {}
for _, _, node in results:
    if node:
        nodes[node] = nodes.get(node, 0) + 1
# Without a node name in the answers (the lab's app), HAProxy's counters give the split.
if not nodes and len(served) > 1:
    first, last = served[0][1], served[-1][1]
    nodes = {name: last[name] - first.get(name, 0) for name in last if last[name] - first.get(name, 0) > 0}
print(json.dumps({
    "start": start,
    "total": len(results),
    "failed": len(failed),
    "failures": [[round(t, 2), str(o)] for t, o, _ in failed[:20]],
    "per_node": nodes,
    "statuses": [[t, s] for t, s in statuses],
}))
