"""Runs of the repository's playbooks through ansible-runner (called in the worker, never in a web request).

`queue_run` checks the one-run-per-site rule and records the run; the worker (tasks.py) calls `execute`,
which runs `playbooks/<kind>.yml` with ansible-runner: a private data directory per run under
CONSOLE_RUNS_DIR (artifacts kept), project_dir the repository (its ansible.cfg applies), the configured
inventory, the parameters as extravars (never a shell string) and the person's username as `actor`.
Every event is stored as it arrives; progress and the summary come from them.
"""

import logging
import os
import re
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import notify, status as status_cache, summary
from .datamodel import inventory_path
from .models import Run, RunEvent, SiteLock

log = logging.getLogger(__name__)

PLAYBOOKS = {
    "deploy": "deploy.yml", "rollback": "rollback.yml", "env": "env.yml", "artisan": "artisan.yml",
    "logs": "logs.yml", "status": "status.yml", "db_cleanup": "db_cleanup.yml", "site_cleanup": "site_cleanup.yml",
}
# Runs that change a site: one at a time per site. Reading runs (logs, status, plans) may run beside them.
EXCLUSIVE = {"deploy", "rollback", "env", "artisan"}


class Busy(Exception):
    """Another run of the same site is queued or running; str() is the message shown."""


def queue_run(kind, site, params, user):
    """Record a queued run, or raise Busy when the site already has an exclusive run queued or running."""
    if kind not in PLAYBOOKS:
        raise ValueError(kind)
    with transaction.atomic():
        if kind in EXCLUSIVE and site:
            # Serializes the check and the insert (PostgreSQL: row lock; SQLite: IMMEDIATE transaction).
            SiteLock.objects.get_or_create(site=site)
            SiteLock.objects.select_for_update().get(site=site)
            other = Run.objects.filter(site=site, kind__in=EXCLUSIVE, state__in=Run.ACTIVE).first()
            if other:
                raise Busy(f"{site}: run #{other.pk} ({other.kind} by {other.actor}) is {other.state}; wait for it "
                           f"to finish, nothing was started / une exécution est déjà en cours, rien n'a été lancé")
        run = Run.objects.create(kind=kind, site=site or "", params=params, actor=user.get_username(),
                                 inventory=str(settings.CONSOLE_INVENTORY))
    return run


# The console's own secrets, read once by console/settings.py: ansible-runner hands its whole environment to
# ansible-playbook and keeps it in each run's artifacts (artifacts/<id>/command), so the worker drops them first.
SECRET_ENV_RE = re.compile(r"^CONSOLE_\w*(PASSWORD|SECRET|TOKEN)\w*$|^DATABASE_URL$")


def drop_secret_env():
    """Remove the console's secrets from this process's environment (the worker's; settings has them already)."""
    for name in [n for n in os.environ if SECRET_ENV_RE.match(n)]:
        os.environ.pop(name, None)


def _envvars():
    env = {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PYTHONUNBUFFERED": "1"}
    if settings.CONSOLE_VAULT_PASSWORD_FILE:
        # The path only: ansible reads the password; the console never does.
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = settings.CONSOLE_VAULT_PASSWORD_FILE
    return env


def _expected_tasks(run):
    """About how many tasks the run will start: the last successful run of the same action on the site
    (else on any site); 0 when there is none yet."""
    done = Run.objects.filter(kind=run.kind, state="successful").exclude(pk=run.pk).order_by("-id")
    last = done.filter(site=run.site).first() or done.first()
    return last.tasks_done if last else 0


def recover():
    """At the worker's start: runs left `running` by a stopped worker are errors (their site is free again)."""
    return Run.objects.filter(state="running").update(
        state="error", finished=timezone.now(), summary="The worker stopped during this run / le worker s'est arrêté")


def _default_runner(**kwargs):
    import ansible_runner

    return ansible_runner.run(**kwargs)


def execute(run_id, runner=_default_runner):
    """Run one queued run to its end; returns the Run."""
    run = Run.objects.get(pk=run_id)
    if run.state != "queued":
        return run
    data_dir = Path(settings.CONSOLE_RUNS_DIR) / str(run.pk)
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    Run.objects.filter(pk=run.pk).update(state="running", started=timezone.now(), data_dir=str(data_dir),
                                         tasks_expected=_expected_tasks(run))
    events = []
    state = {"tasks": 0, "hosts": {}, "task": ""}

    def on_event(event):
        events.append(event)
        data = event.get("event_data") or {}
        name = event.get("event", "")
        if name == "playbook_on_task_start":
            state["tasks"] += 1
            state["task"] = data.get("task", "")
        summary.progress(state["hosts"], event)
        RunEvent.objects.create(run_id=run.pk, counter=event.get("counter", 0), event=name,
                                host=data.get("host", "") or "", task=(data.get("task", "") or "")[:300],
                                stdout=event.get("stdout", "") or "")
        if name.startswith(("playbook_on_task_start", "runner_on_")):
            Run.objects.filter(pk=run.pk).update(tasks_done=state["tasks"], current_task=state["task"][:300],
                                                 hosts=state["hosts"])
        return True

    extravars = dict(run.params)
    if run.site:
        extravars["site"] = run.site
    extravars["actor"] = run.actor
    if run.kind in ("db_cleanup", "site_cleanup"):
        # The plan reports land in the run's own directory (kept with its artifacts, shown as tables).
        extravars["report_dir"] = str(data_dir / "reports")
    status, rc = "error", None
    drop_secret_env()
    try:
        result = runner(
            private_data_dir=str(data_dir),
            project_dir=str(settings.REPO_ROOT),
            playbook=os.path.join("playbooks", PLAYBOOKS[run.kind]),
            inventory=str(inventory_path()),
            extravars=extravars,
            envvars=_envvars(),
            event_handler=on_event,
            quiet=True,
            # ansible-runner's default ('jsonfile' in the run's artifacts) would set ANSIBLE_CACHE_PLUGIN*
            # and hide the repository's fact cache (ansible.cfg: gathering smart, .cache/facts): every run
            # would gather facts again where ansible-playbook reuses them. Any other value leaves it to ansible.cfg.
            fact_cache_type="ansible.cfg",
        )
        status, rc = result.status, result.rc
    except Exception as exc:  # pylint: disable=broad-except
        log.exception("run %s", run.pk)
        RunEvent.objects.create(run_id=run.pk, counter=10 ** 9, event="console_error", stdout=f"console: {exc}")
    seconds = time.monotonic() - started
    # A retirement names its target in its parameters (site or database), not in the run's site.
    target = run.site or run.params.get("site") or run.params.get("retire") or ""
    text = summary.summarize(run.kind, target, run.params, status, events, seconds)
    Run.objects.filter(pk=run.pk).update(
        state=status if status in ("successful", "failed", "canceled") else "error", rc=rc, finished=timezone.now(),
        summary=text, tasks_done=state["tasks"], hosts=state["hosts"], current_task="")
    run.refresh_from_db()
    if run.kind == "status":
        status_cache.store(run, events)
    if run.kind in ("deploy", "rollback"):
        notify.send(run)
    return run
