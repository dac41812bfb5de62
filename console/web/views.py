"""Pages and actions. Every action checks the person's role on the server (roles.require) and its
parameters (checks.*) before a run is queued; runs execute in the worker (tasks.execute_run)."""

import difflib
import json
import time
from pathlib import Path

import yaml
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from . import checks, roles, runner
from .datamodel import inventory_path, model, sites as model_sites
from .models import Run, StatusReading
from .tasks import execute_run


def _start(request, kind, site, params, query=""):
    """Queue a run (or say why not) and go to its page (`query`: appended to its address)."""
    try:
        run = runner.queue_run(kind, site, params, request.user)
    except runner.Busy as busy:
        messages.error(request, str(busy))
        return redirect("site", site=site) if site else redirect("dashboard")
    execute_run(run.pk)
    url = reverse("run", kwargs={"pk": run.pk}) + query
    # An htmx request (the logs' follow) navigates the whole page to the new run.
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _refuse(request, site, exc):
    messages.error(request, str(exc))
    return redirect("site", site=site) if site in model_sites() else redirect("dashboard")


def _last_deploys():
    """{site: its last finished deploy or rollback}, in two queries whatever the history's length."""
    done = Run.objects.filter(kind__in=("deploy", "rollback")).exclude(state__in=Run.ACTIVE)
    ids = done.values("site").annotate(last=Max("id")).values_list("last", flat=True)
    return {run.site: run for run in Run.objects.filter(pk__in=list(ids))}


def _host_cells(reading):
    """A reading's hosts as the dashboard's cells show them, computed here once (plain strings: with a few
    hundred sites, the template's own lookups, filters and number formatting were most of the render time)."""
    cells = []
    for host in (reading or {}).get("hosts", []):
        cert = host.get("cert_days")
        health = host.get("health")
        cells.append({
            "host": str(host.get("host", "")), "release": str(host.get("release") or ""),
            "commit": str(host.get("commit") or "")[:7],
            "cert": "no certificate" if cert is None else f"{cert} days",
            "cert_class": "muted" if cert is None else ("bad" if cert < 21 else "ok"),
            "health": str(health) if health else "–", "health_class": "ok" if health == 200 else "bad",
        })
    return cells


def site_rows():
    """Everything the dashboard shows per site: the model, the cached reading of the hosts, the last deploy."""
    readings = {r.site: r for r in StatusReading.objects.all()}
    last = _last_deploys()
    # Site names are the data model's ([a-z0-9_]): one reverse() for all rows instead of one per row.
    site_url, run_url = reverse("site", kwargs={"site": "0"})[:-2], reverse("run", kwargs={"pk": 0})[:-2]
    now = timezone.now()
    rows = []
    for name, site in model_sites().items():
        reading = readings.get(name)
        run = last.get(name)
        rows.append({
            "name": name, "url": f"{site_url}{name}/", "environment": site.get("environment") or "prod",
            "retired": site.get("status") == "retired", "domains": site.get("domains") or [],
            "hosts": ", ".join(site.get("hosts") or []), "branch": site.get("branch") or "main",
            "live": _host_cells(reading.data if reading else {}), "read_at": reading.read_at if reading else None,
            "last": run and {"url": f"{run_url}{run.pk}/", "state": run.state, "what": f"{run.kind} {run.state}",
                             "who": f"{run.actor}, {timesince(run.finished, now) if run.finished else '?'} ago"},
        })
    return rows


@login_required
def dashboard(request):
    rows = site_rows()
    oldest = min((r["read_at"] for r in rows if r["read_at"]), default=None)
    stale = oldest is None or (timezone.now() - oldest).total_seconds() > settings.CONSOLE_STATUS_MAX_AGE
    running = Run.objects.filter(state__in=Run.ACTIVE).order_by("id")[:20]
    # htmx polling (every CONSOLE_DASHBOARD_REFRESH seconds) asks for the live part only.
    template = "web/dashboard_live.html" if request.htmx else "web/dashboard.html"
    return render(request, template, {"rows": rows, "stale": stale, "running": running,
                                      "inventory": settings.CONSOLE_INVENTORY,
                                      "refresh": settings.CONSOLE_DASHBOARD_REFRESH})


@login_required
@require_POST
def refresh_status(request):
    roles.require(request.user, "status")
    return _start(request, "status", "", {})


def _current_env(site_name):
    """The non-secret .env values the model gives a site: sites.<site>.env and the override file env.yml writes."""
    values = dict(model_sites()[site_name].get("env") or {})
    override = inventory_path() / "site_env" / f"{site_name}.yml"
    if override.is_file():
        values.update(yaml.safe_load(override.read_text()) or {})
    return {str(k): str(v) for k, v in values.items()}


@login_required
def site(request, site):
    sites = model_sites()
    checks.site(site, sites)
    reading = StatusReading.objects.filter(site=site).first()
    return render(request, "web/site.html", {
        "name": site, "site": sites[site], "reading": reading.data if reading else {},
        "read_at": reading.read_at if reading else None,
        "runs": Run.objects.filter(site=site)[:15], "env": sorted(_current_env(site).items()),
        "artisan": settings.CONSOLE_ARTISAN_ALLOWED, "follow_seconds": settings.CONSOLE_LOGS_FOLLOW_SECONDS,
        "can_act": roles.allowed(request.user, "deploy", site),
    })


def _checked_site(request, action, site, active=True):
    roles.require(request.user, action, site)
    sites = model_sites()
    (checks.active_site if active else checks.site)(site, sites)
    return sites


def _site_action(kind, params_of, active=True):
    """The view of a POST action on one site: role, site and parameters checked, then the run queued.
    `params_of(post, site, sites)` returns the run's parameters or raises checks.Refused."""

    @login_required
    @require_POST
    def view(request, site):
        roles.require(request.user, kind, site)
        try:
            sites = _checked_site(request, kind, site, active)
            params = params_of(request.POST, site, sites)
        except checks.Refused as exc:
            return _refuse(request, site, exc)
        return _start(request, kind, site, params)

    view.__name__ = kind
    return view


def _given(**params):
    return {key: value for key, value in params.items() if value}


deploy = _site_action("deploy", lambda post, site, sites: _given(ref=checks.ref(post.get("ref", ""))))
rollback = _site_action("rollback", lambda post, site, sites: _given(release=checks.release(post.get("release", ""))))
artisan = _site_action("artisan", lambda post, site, sites: {"cmd": checks.artisan_command(post.get("cmd", ""), site, sites)})


@login_required
@require_POST
def logs(request, site):
    """The last lines of the site's logs (logs.yml). With `follow`, the run's page reads them again
    CONSOLE_LOGS_FOLLOW_SECONDS after each reading ends (a new logs.yml run each time, while the page is
    open), at most CONSOLE_LOGS_FOLLOW_ROUNDS times: `follow` counts the rounds left."""
    roles.require(request.user, "logs", site)
    try:
        _checked_site(request, "logs", site, active=False)
        params = {"lines": checks.lines(request.POST.get("lines", "100"))}
        follow = checks.follow_rounds(request.POST.get("follow", ""), settings.CONSOLE_LOGS_FOLLOW_ROUNDS)
    except checks.Refused as exc:
        return _refuse(request, site, exc)
    return _start(request, "logs", site, params, f"?follow={follow}" if follow else "")


def _parse_env_form(text):
    values = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        if "=" not in line:
            raise checks.Refused(f"KEY=value expected / attendu : {line.strip()!r}")
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


@login_required
@require_POST
def env_preview(request, site):
    roles.require(request.user, "env", site)
    try:
        _checked_site(request, "env", site)
        set_values, unset = checks.env_change(site, _parse_env_form(request.POST.get("set", "")),
                                              (request.POST.get("unset", "") or "").replace(",", " ").split(),
                                              settings.CONSOLE_INVENTORY)
    except checks.Refused as exc:
        return _refuse(request, site, exc)
    before = _current_env(site)
    after = {k: v for k, v in {**before, **set_values}.items() if k not in unset}
    diff = list(difflib.unified_diff([f"{k}={v}" for k, v in sorted(before.items())],
                                     [f"{k}={v}" for k, v in sorted(after.items())],
                                     f"{site} .env (now / actuel)", f"{site} .env (after / après)", lineterm=""))
    return render(request, "web/env_preview.html", {"name": site, "diff": diff, "set_json": json.dumps(set_values),
                                                    "unset_json": json.dumps(unset)})


def _env_apply_params(post, site, _sites):
    """The change the preview showed (hidden fields), checked again: the form may have been forged."""
    try:
        set_values, unset = json.loads(post.get("set_json") or "{}"), json.loads(post.get("unset_json") or "[]")
    except ValueError:
        raise checks.Refused("Unreadable change / changement illisible") from None
    if not isinstance(set_values, dict) or not isinstance(unset, list):
        raise checks.Refused("Unreadable change / changement illisible")
    set_values, unset = checks.env_change(site, set_values, unset, settings.CONSOLE_INVENTORY)
    return {"set": set_values, "unset": unset}


env_apply = _site_action("env", _env_apply_params)


@login_required
def history(request):
    runs = Run.objects.all()
    site_q, actor_q, kind_q = (request.GET.get(k, "").strip() for k in ("site", "actor", "kind"))
    if site_q:
        runs = runs.filter(site__icontains=site_q)
    if actor_q:
        runs = runs.filter(actor__icontains=actor_q)
    if kind_q:
        runs = runs.filter(kind=kind_q)
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    return render(request, "web/history.html", {"page": page, "site_q": site_q, "actor_q": actor_q,
                                                "kind_q": kind_q, "kinds": sorted(runner.PLAYBOOKS)})


@login_required
def run_page(request, pk):
    run = get_object_or_404(Run, pk=pk)
    return render(request, "web/run.html", {"run": run, "plan": _plan_items(run), "follow": _follow(request, run),
                                            "follow_seconds": settings.CONSOLE_LOGS_FOLLOW_SECONDS})


def _follow(request, run):
    """Rounds of logs following left for this page (0: not following)."""
    if run.kind != "logs" or not roles.allowed(request.user, "logs", run.site):
        return 0
    try:
        return checks.follow_rounds(request.GET.get("follow", ""), settings.CONSOLE_LOGS_FOLLOW_ROUNDS)
    except checks.Refused:
        return 0


@login_required
def run_events(request, pk):
    """The events after `after` (htmx polling): appended to the log; 286 stops the polling when the run is over."""
    run = get_object_or_404(Run, pk=pk)
    try:
        after = int(request.GET.get("after", "-1"))
    except ValueError:
        after = -1
    events = list(run.events.filter(counter__gt=after).order_by("counter")[:500])
    last = events[-1].counter if events else after
    more = run.active or len(events) == 500
    response = render(request, "web/run_events.html", {
        "run": run, "events": events, "after": last, "more": more, "follow": _follow(request, run),
        "follow_seconds": settings.CONSOLE_LOGS_FOLLOW_SECONDS})
    if not more:
        response.status_code = 286
    return response


@login_required
def run_output(request, pk):
    run = get_object_or_404(Run, pk=pk)
    return HttpResponse(run.output(), content_type="text/plain; charset=utf-8")


def _plan_items(run):
    """The cleanup plan reports a plan run wrote in its data directory (JSON, one per host)."""
    if run.kind not in ("db_cleanup", "site_cleanup") or not run.data_dir:
        return []
    reports = []
    for path in sorted((Path(run.data_dir) / "reports").glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        reports.append({"host": data.get("host", path.stem), "items": data.get("items", []),
                        "summary": data.get("summary", "")})
    return reports


@login_required
def cleanup(request):
    roles.require(request.user, "db_cleanup")
    plans = {kind: Run.objects.filter(kind=kind, params__mode="plan").first() for kind in ("db_cleanup", "site_cleanup")}
    return render(request, "web/cleanup.html", {"plans": plans, "sites": sorted(model_sites())})


@login_required
@require_POST
def cleanup_plan(request, kind):
    roles.require(request.user, kind)
    if kind not in ("db_cleanup", "site_cleanup"):
        return _refuse(request, "", checks.Refused("Unknown plan"))
    return _start(request, kind, "", {"mode": "plan"})


@login_required
@require_POST
def retire(request):
    """Retire a site (site_cleanup.yml) or a database (db_cleanup.yml): admin only, the name typed twice."""
    roles.require(request.user, "retire")
    kind = request.POST.get("kind", "")
    name, confirm = request.POST.get("name", "").strip(), request.POST.get("confirm", "").strip()
    if kind not in ("db_cleanup", "site_cleanup") or not name or name != confirm:
        messages.error(request, "Type the exact name to confirm / tapez le nom exact pour confirmer")
        return redirect("cleanup")
    try:
        checks.cleanup_name(name)
    except checks.Refused as exc:
        messages.error(request, str(exc))
        return redirect("cleanup")
    if kind == "site_cleanup":
        return _start(request, kind, "", {"mode": "retire", "site": name, "confirm": name})
    return _start(request, kind, "", {"mode": "retire", "retire": name, "confirm": name})


def healthz(_request):
    return HttpResponse(f"ok {time.time():.0f}\n", content_type="text/plain")


__all__ = ["model"]
