"""Deploy and rollback results by e-mail (Django's SMTP mail) and to Slack-compatible webhooks (JSON {"text": ...})."""

import json
import logging
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q

from .models import NotifyTarget

log = logging.getLogger(__name__)


def targets(site):
    """(emails, webhooks) for a site: the global settings plus the targets of this site and of every site."""
    emails, hooks = list(settings.CONSOLE_NOTIFY_EMAILS), [settings.CONSOLE_WEBHOOK_URL] if settings.CONSOLE_WEBHOOK_URL else []
    for target in NotifyTarget.objects.filter(Q(site="") | Q(site=site)):
        (emails if target.kind == "email" else hooks).append(target.address)
    return sorted(set(emails)), sorted(set(hooks))


def message(run):
    result = "OK" if run.state == "successful" else "FAILED"
    return (f"[{result}] {run.kind} {run.site} by {run.actor} (run #{run.pk})", run.summary)


def send(run):
    """Send the run's result everywhere configured; a failing target is logged, never raised."""
    emails, hooks = targets(run.site)
    subject, body = message(run)
    if emails:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)
        except Exception:  # pylint: disable=broad-except
            log.exception("mail for run %s", run.pk)
    for url in hooks:
        if not url.startswith(("http://", "https://")):
            continue
        payload = json.dumps({"text": f"{subject}\n{body}"}).encode()
        request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http(s) only, checked above)
                response.read()
        except Exception:  # pylint: disable=broad-except
            log.exception("webhook for run %s", run.pk)
