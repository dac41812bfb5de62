"""Bounded HTTPS load from the controller to one address (the edge's floating address), stdlib only.

Used by tests/bench/lb_failover.py, redis_failover.py and molecule/edge_ha's tests. Requests go only
to the address given (a scenario's or the lab's container), at `rate` per second for at most
`duration` seconds, each with its own short timeout; `retry` gives a failed request one more try
after 0.5 s (what a browser or a client library's retry does). A cookie jar (one session) is
optional: the application's session counter then tells whether the session survived.
"""

import http.client
import json
import socket
import ssl
import threading
import time

_CTX = ssl.create_default_context()
_CTX.check_hostname = False
_CTX.verify_mode = ssl.CERT_NONE


class _Conn(http.client.HTTPSConnection):
    def __init__(self, address, domain, timeout):
        super().__init__(address, 443, timeout=timeout)
        self._address = address
        self._domain = domain

    def connect(self):
        sock = socket.create_connection((self._address, 443), self.timeout)
        self.sock = _CTX.wrap_socket(sock, server_hostname=self._domain)


def request(address, domain, path="/", cookie=None, timeout=1.5):
    """One GET; returns (status or error text, parsed JSON body or None, Set-Cookie or None)."""
    conn = _Conn(address, domain, timeout)
    headers = {"Host": domain, "Connection": "close"}
    if cookie:
        headers["Cookie"] = cookie
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        data = None
        if (resp.getheader("Content-Type") or "").startswith("application/json"):
            try:
                data = json.loads(body)
            except ValueError:
                data = None
        return resp.status, data, resp.getheader("Set-Cookie")
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__, None, None
    finally:
        conn.close()


class Load(threading.Thread):
    """Sends `rate` requests per second for `duration` seconds (at most rate x duration requests).

    results: [(seconds since start, final status or error, JSON body or None, first try's status, cookie)].
    `cookie` may be a list: the requests take them in turn (several sessions).
    """

    def __init__(self, address, domain, rate=10.0, duration=30.0, path="/", cookie=None, retry=False):
        super().__init__(daemon=True)
        self.address, self.domain, self.path, self.cookie = address, domain, path, cookie
        self.rate, self.duration, self.retry = float(rate), float(duration), retry
        self.results = []
        self._stop_event = threading.Event()

    def stop(self):
        self._stop_event.set()

    def run(self):
        start = time.monotonic()
        for i in range(int(self.rate * self.duration)):
            slot = start + i / self.rate
            if self._stop_event.is_set() or slot - start > self.duration:
                break
            delay = slot - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic() - start
            cookie = self.cookie[i % len(self.cookie)] if isinstance(self.cookie, list) else self.cookie
            first, data, _ = request(self.address, self.domain, self.path, cookie)
            status = first
            if first != 200 and self.retry:
                time.sleep(0.5)
                status, data, _ = request(self.address, self.domain, self.path, cookie)
            self.results.append((sent, status, data, first, cookie))

    def failed(self):
        """Requests that failed in the end (after the retry, when retrying)."""
        return [r for r in self.results if r[1] != 200]

    def failed_first(self):
        """Requests whose first try failed (what a client without retry sees)."""
        return [r for r in self.results if r[3] != 200]

    def seconds_without_service(self, first_try=True):
        """From the first failed request to the last one (0 when none failed)."""
        failed = self.failed_first() if first_try else self.failed()
        if not failed:
            return 0.0
        return failed[-1][0] - failed[0][0] + 1.0 / self.rate
