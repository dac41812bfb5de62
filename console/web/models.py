"""What the console keeps: who may do what (Profile), every run with its events, status readings, notification targets."""

from django.conf import settings
from django.db import models

ROLES = (("viewer", "viewer"), ("deployer", "deployer"), ("admin", "admin"))


class Profile(models.Model):
    """A person's role. A deployer acts on the sites listed in `sites` (comma separated, `*` for all)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=16, choices=ROLES, default="viewer")
    sites = models.CharField(max_length=1000, blank=True, default="*",
                             help_text="Sites a deployer may act on, comma separated; * for every site")

    def site_list(self):
        return [s.strip() for s in self.sites.split(",") if s.strip()]

    def __str__(self):
        return f"{self.user.username} ({self.role})"


class Run(models.Model):
    """One ansible-runner run of one of the repository's playbooks."""

    ACTIVE = ("queued", "running")
    STATES = [(s, s) for s in ("queued", "running", "successful", "failed", "error", "canceled")]

    kind = models.CharField(max_length=32, db_index=True)
    site = models.CharField(max_length=64, db_index=True, blank=True)
    params = models.JSONField(default=dict)
    actor = models.CharField(max_length=150, db_index=True)
    inventory = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=STATES, default="queued", db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    rc = models.IntegerField(null=True, blank=True)
    summary = models.TextField(blank=True)
    tasks_done = models.IntegerField(default=0)
    tasks_expected = models.IntegerField(default=0)
    current_task = models.CharField(max_length=300, blank=True)
    hosts = models.JSONField(default=dict)
    data_dir = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def active(self):
        return self.state in self.ACTIVE

    @property
    def duration(self):
        if self.started and self.finished:
            return (self.finished - self.started).total_seconds()
        return None

    def output(self):
        return "".join(e.stdout + ("\n" if e.stdout else "") for e in self.events.order_by("counter"))

    def __str__(self):
        return f"#{self.pk} {self.kind} {self.site} by {self.actor}: {self.state}"


class RunEvent(models.Model):
    """One ansible-runner event, stored as it arrives."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    counter = models.IntegerField()
    event = models.CharField(max_length=64)
    host = models.CharField(max_length=200, blank=True)
    task = models.CharField(max_length=300, blank=True)
    stdout = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["counter"]
        indexes = [models.Index(fields=["run", "counter"])]


class SiteLock(models.Model):
    """One row per site: a run is queued only while holding it (one run per site at a time)."""

    site = models.CharField(max_length=64, primary_key=True)


class StatusReading(models.Model):
    """What playbooks/status.yml read on the hosts for a site (cached for the dashboard)."""

    site = models.CharField(max_length=64, primary_key=True)
    data = models.JSONField(default=dict)
    read_at = models.DateTimeField()
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL)


class NotifyTarget(models.Model):
    """Where deploy results go: an e-mail address or a Slack-compatible webhook, for one site or all ('')."""

    KINDS = (("email", "e-mail (SMTP)"), ("webhook", "Slack-compatible webhook"))
    site = models.CharField(max_length=64, blank=True, help_text="empty: every site")
    kind = models.CharField(max_length=16, choices=KINDS)
    address = models.CharField(max_length=500)

    def __str__(self):
        return f"{self.kind} {self.address} ({self.site or 'all sites'})"
