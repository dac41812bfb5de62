"""Bench: the Redis master lost under a steady load of sessions through the floating address.

Runs against the molecule/edge_ha scenario (`molecule converge -s edge_ha` first; its web node keeps
PHP sessions in Redis through HAProxy: molecule/lb's counter page) or, with EDGE_LAB=1, the lab
(aerotalent's Laravel sessions in Redis through HAProxy: the test app's GET /counter).
EDGE_SESSIONS sessions (default 20) each get a counter first; then a bounded load (EDGE_RATE req/s,
default 10, for EDGE_DURATION s, default 30) takes them in turn, and at EDGE_STOP_AT s (default 8)
the master's redis-server stops (Sentinel promotes the replica, HAProxy follows role:master).
Afterwards the old master is started again and must rejoin as a replica.

Prints the sessions lost (a counter that went back to 1 or down), the requests in error (not 200),
and the seconds of errors. Never asserts on time; prints NO FIGURE and exits 1 when no failover
happened (the replica was not promoted) or no request was sent.

    python3 tests/bench/redis_failover.py
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _edge_load  # noqa: E402
import _edge_targets as edge  # noqa: E402

RATE = float(os.environ.get("EDGE_RATE", "10"))
DURATION = float(os.environ.get("EDGE_DURATION", "30"))
STOP_AT = float(os.environ.get("EDGE_STOP_AT", "8"))
SESSIONS = int(os.environ.get("EDGE_SESSIONS", "20"))


def main():
    vip = edge.floating_address()
    password = edge.redis_password()
    roles = {r: edge.redis_role(r, password) for r in edge.REDIS}
    master = next((r for r, role in roles.items() if role == "master"), None)
    if master is None:
        sys.exit(f"NO FIGURE: no Redis master ({roles})")
    cookies, last = [], {}
    for _ in range(SESSIONS):
        status, data, set_cookie = _edge_load.request(vip, edge.DOMAIN, edge.COUNTER_PATH, timeout=5)
        if status != 200 or not set_cookie or not data or "count" not in data:
            sys.exit(f"NO FIGURE: the counter page did not answer with a session ({status})")
        cookie = set_cookie.split(";")[0]
        cookies.append(cookie)
        last[cookie] = data["count"]
    time.sleep(1)  # replication is asynchronous: the replica has the first writes
    load = _edge_load.Load(vip, edge.DOMAIN, rate=RATE, duration=DURATION, path=edge.COUNTER_PATH, cookie=cookies)
    load.start()
    time.sleep(STOP_AT)
    edge.sh(master, "systemctl stop redis-server")
    load.join(DURATION + 60)
    promoted = [r for r in edge.REDIS if r != master and edge.redis_role(r, password) == "master"]
    edge.sh(master, "systemctl start redis-server")
    time.sleep(3)
    rejoined = edge.redis_role(master, password)
    if not load.results:
        sys.exit("NO FIGURE: no request was sent")
    if not promoted:
        sys.exit(f"NO FIGURE: no replica was promoted after {master} stopped: no failover happened")
    # A request is in error when it does not answer 200 with the session's next count (a count of 1
    # while Redis is out of reach: PHP could not read the session, and writes nothing). A session is
    # lost when, after the failover, its counter does not go on from its last good value.
    errors = []
    for t, status, data, _, cookie in load.results:
        if status == 200 and data and data.get("count") == last[cookie] + 1:
            last[cookie] = data["count"]
        else:
            errors.append(t)
    lost = 0
    for cookie in cookies:
        status, data, _ = _edge_load.request(vip, edge.DOMAIN, edge.COUNTER_PATH, cookie, timeout=5)
        if status != 200 or not data or data.get("count") != last[cookie] + 1:
            lost += 1
    seconds = (errors[-1] - errors[0] + 1.0 / RATE) if errors else 0.0
    print(f"bench redis_failover: master {master} stopped at +{STOP_AT:g} s -> {promoted[0]} promoted; "
          f"{master} back as {rejoined}")
    print(f"  sessions={SESSIONS} lost={lost}; requests={len(load.results)} in error={len(errors)}; "
          f"seconds of errors: {seconds:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
