"""Bench: the active load balancer lost under a steady load on the floating address.

Runs against the molecule/edge_ha scenario (`molecule converge -s edge_ha` first, before `molecule
destroy -s edge_ha`) or, with EDGE_LAB=1, the lab (lab-lb_01 and lab-lb_02). From this controller, a
bounded load (EDGE_RATE req/s, default 15, for EDGE_DURATION s, default 30) goes to the site on the
floating address; at EDGE_STOP_AT s (default 10) the load balancer holding the address loses it:
EDGE_STOP_MODE=haproxy (default) stops its HAProxy (keepalived's check gives the address up),
container kills the whole container (scenario only; adverts stop). Afterwards the stopped one is
started again (no pre-emption: the address stays where it went).

Prints the requests sent, those whose first try failed and those still failed after the client's
one retry (0.5 s later), and the seconds without service. Never asserts on time; prints NO FIGURE
and exits 1 when the address did not move (no failover happened) or no request was sent.

    python3 tests/bench/lb_failover.py
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _edge_load  # noqa: E402
import _edge_targets as edge  # noqa: E402

RATE = float(os.environ.get("EDGE_RATE", "15"))
DURATION = float(os.environ.get("EDGE_DURATION", "30"))
STOP_AT = float(os.environ.get("EDGE_STOP_AT", "10"))
MODE = os.environ.get("EDGE_STOP_MODE", "haproxy")


def main():
    if MODE == "container" and edge.LAB:
        sys.exit("NO FIGURE: EDGE_STOP_MODE=container is for the scenario's containers, not the lab's")
    vip = edge.floating_address()
    before = edge.holder(vip)
    if before is None:
        sys.exit(f"NO FIGURE: no load balancer holds {vip}")
    load = _edge_load.Load(vip, edge.DOMAIN, rate=RATE, duration=DURATION, path="/up", retry=True)
    load.start()
    time.sleep(STOP_AT)
    if MODE == "container":
        edge.podman("kill", before)
    else:
        edge.sh(before, "systemctl stop haproxy")
    load.join(DURATION + 60)
    after = edge.holder(vip)
    if MODE == "container":
        edge.podman("start", before)
    else:
        edge.sh(before, "systemctl start haproxy")
    if not load.results:
        sys.exit("NO FIGURE: no request was sent")
    if after in (None, before):
        sys.exit(f"NO FIGURE: the floating address did not move ({before} -> {after}): no failover happened")
    print(f"bench lb_failover: mode={MODE} {before} -> {after}, {RATE:g} r/s for {DURATION:g} s, stop at +{STOP_AT:g} s")
    print(f"  requests={len(load.results)} failed_first_try={len(load.failed_first())} "
          f"failed_after_retry={len(load.failed())}")
    print(f"  seconds without service (first tries): {load.seconds_without_service():.1f}; "
          f"after the retry: {load.seconds_without_service(first_try=False):.1f}")
    failures = [(round(t, 1), first) for t, _, _, first, _ in load.failed_first()][:10]
    if failures:
        print(f"  first failures (time s, outcome): {failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
