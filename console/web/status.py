"""The dashboard's cache: what playbooks/status.yml reported, turned into one reading per site."""

import datetime

from django.utils import timezone

from .models import StatusReading

CERT_FORMAT = "notAfter=%b %d %H:%M:%S %Y %Z"


def cert_days(end, now=None):
    """Days left from openssl's `notAfter=...` line; None when there is no certificate."""
    try:
        expires = datetime.datetime.strptime(" ".join((end or "").split()), CERT_FORMAT)
    except ValueError:
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return (expires - now).days


def rows(host, report, now=None):
    """{site: {host, release, commit, releases, cert_days, health}} from one host's console_status."""
    found = {}
    revisions = report.get("revisions") or {}
    for index, name in enumerate(report.get("sites") or []):
        def pick(key, default=None, i=index):
            values = report.get(key) or []
            return values[i] if i < len(values) else default
        found[name] = {"host": host, "release": pick("current", ""), "commit": (revisions.get(name) or "").strip(),
                       "releases": pick("releases", []), "cert_days": cert_days(pick("cert_end", ""), now),
                       "health": pick("health", -1)}
    return found


def store(run, events):
    """Write the readings of a status run (every host's report) into the cache."""
    per_site = {}
    for event in events:
        data = event.get("event_data") or {}
        if event.get("event") != "runner_on_ok" or data.get("task") != "Report the status of the sites":
            continue
        report = ((data.get("res") or {}).get("msg") or {}).get("console_status") or {}
        for name, row in rows(data.get("host", ""), report).items():
            per_site.setdefault(name, []).append(row)
    now = timezone.now()
    for name, hosts in per_site.items():
        StatusReading.objects.update_or_create(site=name, defaults={"data": {"hosts": sorted(hosts, key=lambda h: h["host"])},
                                                                    "read_at": now, "run": run})
    return per_site
