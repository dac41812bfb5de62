"""Mark the runs a stopped worker left `running` as errors (scripts/console.sh runs it before the worker starts)."""

from django.core.management.base import BaseCommand

from console.web.runner import recover


class Command(BaseCommand):
    help = "Mark runs left running by a stopped worker as errors."

    def handle(self, *args, **opts):
        count = recover()
        if count:
            self.stdout.write(f"{count} run(s) left running by a stopped worker marked as errors")
