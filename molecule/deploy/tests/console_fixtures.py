"""Fixtures of the console tests (test_console.py, in the deploy scenario): the console under test, started on loopback with
scripts/console.sh against this scenario's inventory, a local SMTP sink (aiosmtpd), a local HTTP receiver (http.server) and three people."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import Browser  # noqa: E402
from lab_playbook import ansible_settings  # noqa: E402 (molecule/shared, put on sys.path by molecule/conftest.py)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PASSWORD = {"admin": "admin-console-1", "dana": "dana-deployer-1", "victor": "victor-viewer-1"}
# The lab's vault password file, handed to the console by path as production's would be (docs/console.md).
VAULT_PASSWORD_FILE = os.path.join(ROOT, "tests", "fixtures", "lab-vault-password")
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS", os.path.join(ROOT, ".cache", "console-screens"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """What the SMTP sink received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append({"to": envelope.rcpt_tos, "data": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_sink():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, sink.messages
    controller.stop()


@pytest.fixture(scope="session")
def webhook():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def molecule_inventory():
    """Molecule's whole inventory directory, as molecule/shared/lab_playbook.py hands it to ansible-playbook."""
    if os.environ.get("MOLECULE_INVENTORY_FILE"):
        return os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")


@pytest.fixture(scope="session")
def console(smtp_sink, webhook):
    """The console's base URL; it runs for the whole session, its data in a fresh directory."""
    data = tempfile.mkdtemp(prefix="console-molecule-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "CONSOLE_BIND"}
    env.update(
        CONSOLE_DATA_DIR=data,
        # The port only: the address is scripts/console.sh's default (loopback), checked by a test.
        CONSOLE_PORT=str(port),
        CONSOLE_VAULT_PASSWORD_FILE=VAULT_PASSWORD_FILE,
        CONSOLE_INVENTORY=molecule_inventory(),
        CONSOLE_ADMIN_PASSWORD=PASSWORD["admin"],
        CONSOLE_SMTP_HOST="127.0.0.1",
        CONSOLE_SMTP_PORT=str(smtp_sink[0]),
        CONSOLE_NOTIFY_EMAILS="ops@example.test",
        CONSOLE_WEBHOOK_URL=webhook[0],
        # The same Ansible settings lab_playbook.py gives ansible-playbook in the scenarios.
        **ansible_settings(),
        # Shorter waits than the defaults (15 s, 10 s): the same code, sooner.
        CONSOLE_DASHBOARD_REFRESH="3",
        CONSOLE_LOGS_FOLLOW_SECONDS="3",
    )
    log = open(os.path.join(data, "console.log"), "w")  # noqa: SIM115 (open for the whole session)
    proc = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "console.sh")], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.flush()
            raise AssertionError("console did not start:\n" + open(log.name).read()[-3000:])
        time.sleep(0.5)
    manage = [sys.executable, os.path.join(ROOT, "console", "manage.py"), "console_user"]
    for name, role, extra in (("dana", "deployer", ["--sites", "demo"]), ("victor", "viewer", [])):
        subprocess.run(manage + [name, role, "--password-env", "PW"] + extra, env=dict(env, PW=PASSWORD[name]),
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
    yield {"base": base, "data": data, "log": log.name, "port": port}
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()
    # Its database, sessions and log go with the run (each run left a folder in /tmp before).
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def people(console):
    """One signed-in browser per person (closed at the end)."""
    opened = {}

    def browser(name):
        if name not in opened:
            opened[name] = Browser(console["base"])
            opened[name].sign_in(name, PASSWORD[name])
        return opened[name]

    yield browser
    for item in opened.values():
        item.quit()


def shot(browser, name):
    browser.screenshot(os.path.join(SHOTS, name))
