"""Bench of the web console (docs/console.md): prints figures, never asserts on time.

1. Deploy: the same deploy of site demo on the deploy scenario's web container, by ansible-playbook and
   through the console (HTTP on loopback: sign in, POST the deploy, poll its events until the run is over),
   and through ansible_runner.run alone (no console, no database); each way deploys main then v2 each round
   (every deploy builds a new release), the first way changing each round; wall time ratio console/playbook
   over the totals (goal <= 1.1x). The console's own time is split from its database: click to the worker's
   start, the ansible-runner run, the run's end to the page seeing it.
   Exits non-zero, without a figure, when a deploy did not happen.
2. Dashboard: render time of the dashboard page (p50/p95 over 60 requests on loopback) with the lab's sites
   and with 200 generated sites (goal p95 < 200 ms), each with a status reading per site.

Needs the deploy scenario converged (its containers up; the console's browser tests are part of it), then:
    export PATH=$PWD/.venv/bin:$PATH CONTAINERS_CONF=$PWD/lab/containers.conf
    flock /tmp/mol-deploy.lock molecule converge -s deploy     # (with scripts/cgroup-keeper.sh $$ & running)
    python tests/bench/console_bench.py [--rounds 2] [--inventory ~/.ansible/tmp/molecule.*.deploy/inventory]
    python tests/bench/console_bench.py --dashboard-only           # part 2 only, no container needed
"""

import argparse
import datetime
import glob
import http.cookiejar
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = sys.executable
PASSWORD = "bench-password-1"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ansible_env(inventory):
    env = dict(os.environ, MOLECULE_PROJECT_DIRECTORY=ROOT, ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"),
               ANSIBLE_FILTER_PLUGINS=os.path.join(ROOT, "plugins", "filter"),
               ANSIBLE_LIBRARY=os.path.join(ROOT, "plugins", "modules"),
               ANSIBLE_MODULE_UTILS=os.path.join(ROOT, "plugins", "module_utils"),
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_FORCE_HANDLERS="true", ANSIBLE_NOCOLOR="1")
    cfg = os.path.join(os.path.dirname(inventory), "ansible.cfg")
    if os.path.exists(cfg):
        env["ANSIBLE_CONFIG"] = cfg
    return env


class Console:
    """scripts/console.sh on a free loopback port with its own data directory; a signed-in HTTP client."""

    def __init__(self, env):
        self.data = tempfile.mkdtemp(prefix="console-bench-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(env, CONSOLE_DATA_DIR=self.data, CONSOLE_BIND=f"127.0.0.1:{self.port}",
                        CONSOLE_ADMIN_PASSWORD=PASSWORD, CONSOLE_WEB_WORKERS="2")
        self.log = open(os.path.join(self.data, "console.log"), "w")  # noqa: SIM115
        self.proc = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "console.sh")], cwd=ROOT, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.parts = []
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        deadline = time.monotonic() + 120
        while not self._up():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("console did not start: " + open(self.log.name).read()[-2000:])
            time.sleep(0.5)

    def _up(self):
        try:
            return self.opener.open(self.base + "/healthz", timeout=5).status == 200
        except OSError:
            return False

    def _csrf(self, path):
        page = self.opener.open(self.base + path, timeout=30).read().decode()
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def post(self, path, fields, form_page):
        fields = dict(fields, csrfmiddlewaretoken=self._csrf(form_page))
        request = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(fields).encode(),
                                         headers={"Referer": self.base + form_page})
        return self.opener.open(request, timeout=60)

    def sign_in(self):
        self.post("/login/", {"username": "admin", "password": PASSWORD}, "/login/")

    def deploy(self, ref):
        """Seconds from the click to the end of the run, and the run's summary."""
        started = time.monotonic()
        response = self.post("/sites/demo/deploy", {"ref": ref}, "/sites/demo/")
        match = re.search(r"/runs/(\d+)/", response.geturl())
        if not match:
            raise SystemExit("the console did not start the deploy: " + response.read().decode()[-1500:])
        run = match.group(1)
        after = -1
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            response = self.opener.open(f"{self.base}/runs/{run}/events?after={after}", timeout=30)
            body = response.read().decode()
            found = re.search(r"after=(-?\d+)", body)
            after = int(found.group(1)) if found else after
            if response.status == 286:
                break
            time.sleep(0.25)
        seconds = time.monotonic() - started
        page = self.opener.open(f"{self.base}/runs/{run}/", timeout=30).read().decode()
        state = re.search(r'id="state">([a-z]+)<', page).group(1)
        summary = re.search(r'id="summary">([^<]*)<', page)
        self.parts.append(self.stages(int(run), started, seconds))
        return seconds, state, summary.group(1) if summary else ""

    def stages(self, run, clicked, seconds):
        """Where the console's time went, from its own database: (click to the worker's start, the
        ansible-runner run, the run's end to the page seeing it), in seconds."""
        with sqlite3.connect(os.path.join(self.data, "console.sqlite3")) as db:
            created, started, finished = db.execute(
                "SELECT created, started, finished FROM web_run WHERE id = ?", (run,)).fetchone()
        created, started, finished = (datetime.datetime.fromisoformat(v) for v in (created, started, finished))
        queued = (started - created).total_seconds()
        running = (finished - started).total_seconds()
        return queued, running, seconds - queued - running

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def playbook_deploy(env, inventory, ref, check=True):
    started = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(PYTHON), "ansible-playbook"), "-i", inventory,
                           os.path.join(ROOT, "playbooks", "deploy.yml"), "-e", "site=demo", "-e", f"ref={ref}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    seconds = time.monotonic() - started
    if check and (proc.returncode != 0 or "new release" not in proc.stdout):
        raise SystemExit(f"ansible-playbook deploy of {ref} did not happen (rc {proc.returncode}):\n{proc.stdout[-2000:]}")
    return seconds


RUNNER_ALONE = """
import json, sys, tempfile, time
import ansible_runner
inventory, ref = sys.argv[1], sys.argv[2]
events = []
started = time.monotonic()
result = ansible_runner.run(private_data_dir=tempfile.mkdtemp(prefix="console-bench-runner-"), project_dir=sys.argv[3],
                            playbook="playbooks/deploy.yml", inventory=inventory, extravars={"site": "demo", "ref": ref},
                            envvars={"ANSIBLE_NOCOLOR": "1"}, event_handler=lambda event: events.append(event) or True,
                            quiet=True, fact_cache_type="ansible.cfg")
news = [e for e in events if "new release" in (e.get("stdout") or "")]
print(json.dumps({"seconds": time.monotonic() - started, "status": result.status, "new": bool(news)}))
"""


def runner_alone_deploy(env, inventory, ref):
    """The same deploy through ansible_runner.run alone (no console, no database): the runner's own cost."""
    proc = subprocess.run([PYTHON, "-c", RUNNER_ALONE, inventory, ref, ROOT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {}
    if result.get("status") != "successful" or not result.get("new"):
        raise SystemExit(f"ansible_runner.run deploy of {ref} did not happen: {result}\n{proc.stderr[-2000:]}")
    return result["seconds"]


def bench_deploy(inventory, rounds):
    """Each round deploys main then v2 by each way in turn (every deploy builds a new release, every way deploys
    both refs): ansible-playbook, ansible_runner.run alone, the console."""
    env = ansible_env(inventory)
    console = Console(dict(env, CONSOLE_INVENTORY=inventory))
    try:
        console.sign_in()
        times = {"ansible-playbook": [], "ansible_runner.run alone": [], "console": []}

        def by_console(ref):
            seconds, state, summary = console.deploy(ref)
            if state != "successful" or "deployed" not in summary:
                raise SystemExit(f"the console's deploy did not happen ({state}): {summary}")
            return seconds

        ways = {"ansible-playbook": lambda ref: playbook_deploy(env, inventory, ref),
                "ansible_runner.run alone": lambda ref: runner_alone_deploy(env, inventory, ref),
                "console": by_console}
        playbook_deploy(env, inventory, "v2", check=False)  # v2 live (or made so): the first measured deploy builds main
        order = list(ways)
        refs = iter(["main", "v2"] * (3 * rounds))
        for number in range(rounds):
            for way in order[number % 3:] + order[:number % 3]:  # who goes first changes each round
                for _ in range(2):
                    times[way].append(ways[way](next(refs)))
            print("  round " + str(number + 1) + ": " + ", ".join(
                f"{way} {times[way][-2]:.1f} + {times[way][-1]:.1f} s" for way in order))
    finally:
        console.stop()
    playbook, alone, through = (sum(times[way]) for way in order)
    print(f"deploy of demo, {2 * rounds} deploys each (main and v2 alternating), total: ansible-playbook {playbook:.1f} s, "
          f"ansible_runner.run alone {alone:.1f} s ({alone / playbook:.2f}x), console {through:.1f} s "
          f"(ratio {through / playbook:.2f}x, goal <= 1.1x)")
    queued, running, seen = (sum(part) for part in zip(*console.parts))
    print(f"  the console's {through:.1f} s: click to the worker's start {queued:.1f} s, ansible-runner {running:.1f} s, "
          f"the run's end to the page seeing it (with the HTTP requests) {seen:.1f} s")


def fake_inventory(count):
    """An inventory of `count` sites on ten hosts (what the dashboard reads; nothing is run on it)."""
    path = tempfile.mkdtemp(prefix="console-bench-inv-")
    hosts = {f"web_{n:02d}": {"ansible_host": "127.0.0.1"} for n in range(10)}
    os.makedirs(os.path.join(path, "group_vars", "all"))
    with open(os.path.join(path, "hosts.yml"), "w") as handle:
        json.dump({"all": {"children": {"web": {"hosts": hosts}}}}, handle)
    sites = {f"site{n:03d}": {"domains": [f"site{n:03d}.example.test", f"www.site{n:03d}.example.test"],
                              "hosts": [f"web_{n % 10:02d}", f"web_{(n + 1) % 10:02d}"], "repo": "git://x/y.git",
                              "php_version": "8.2", "branch": "main"} for n in range(count)}
    with open(os.path.join(path, "group_vars", "all", "sites.yml"), "w") as handle:
        json.dump({"sites": sites}, handle)
    return path


def bench_dashboard(label, inventory, requests=60):
    """Render the dashboard over HTTP on loopback with a status reading and a deploy per site; print p50/p95."""
    console = Console(dict(os.environ, CONSOLE_INVENTORY=inventory))
    try:
        seed = (
            "import django, datetime; django.setup()\n"
            "from django.utils import timezone\n"
            "from console.web.datamodel import sites\n"
            "from console.web.models import Run, StatusReading\n"
            "now = timezone.now()\n"
            "for name, site in sites().items():\n"
            "    hosts = [{'host': h, 'release': '20261204150528-64f42cb', 'commit': '64f42cb19185', 'releases': [],"
            " 'cert_days': 80, 'health': 200} for h in site['hosts']]\n"
            "    StatusReading.objects.update_or_create(site=name, defaults={'data': {'hosts': hosts}, 'read_at': now})\n"
            "    Run.objects.create(kind='deploy', site=name, actor='bench', state='successful', started=now, finished=now)\n"
        )
        subprocess.run([PYTHON, "-c", seed], cwd=ROOT, check=True, timeout=300,
                       env=dict(console.env, DJANGO_SETTINGS_MODULE="console.settings", PYTHONPATH=ROOT))
        console.sign_in()
        console.opener.open(console.base + "/", timeout=60).read()  # warm: the model is read once, then cached
        times = []
        for _ in range(requests):
            started = time.monotonic()
            body = console.opener.open(console.base + "/", timeout=60).read()
            times.append((time.monotonic() - started) * 1000)
        rows = body.count(b"data-site=")
    finally:
        console.stop()
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"dashboard, {label} ({rows} sites): p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms "
          f"over {requests} requests on loopback (goal p95 < 200 ms)")


def scenario_inventory():
    """The deploy scenario's inventory converged from this checkout (Molecule keeps one directory per
    project path: another checkout's would point at its own files)."""
    mine = []
    for cfg in glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.deploy/ansible.cfg")):
        inventory = os.path.join(os.path.dirname(cfg), "inventory")
        if os.path.isdir(inventory) and f"{ROOT}/tests/fixtures" in open(cfg).read():
            mine.append((os.path.getmtime(inventory), inventory))
    return max(mine)[1] if mine else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="")
    parser.add_argument("--rounds", type=int, default=2, help="each way deploys twice a round")
    parser.add_argument("--dashboard-only", action="store_true")
    args = parser.parse_args()
    bench_dashboard("the lab's sites", os.path.join(ROOT, "inventories", "lab"))
    bench_dashboard("200 generated sites", fake_inventory(200))
    if args.dashboard_only:
        return
    inventory = args.inventory or scenario_inventory()
    if not inventory or not os.path.isdir(inventory):
        raise SystemExit("no deploy scenario inventory: converge it first (molecule converge -s deploy)")
    bench_deploy(inventory, args.rounds)


if __name__ == "__main__":
    main()
