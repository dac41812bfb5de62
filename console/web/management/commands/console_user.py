"""Create or update a console user with a role: python console/manage.py console_user NAME ROLE [--sites a,b].

The password comes from the environment variable named by --password-env (never from the command line);
without it, a password is generated and printed once.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from console.web.models import ROLES, Profile


class Command(BaseCommand):
    help = "Create or update a console user with a role (viewer, deployer, admin)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[r for r, _ in ROLES])
        parser.add_argument("--sites", default="*", help="sites a deployer acts on, comma separated (* for all)")
        parser.add_argument("--password-env", default="", help="environment variable holding the password")
        parser.add_argument("--if-missing", action="store_true", help="do nothing when the user exists")

    def handle(self, *args, **opts):
        users = get_user_model()
        user = users.objects.filter(username=opts["username"]).first()
        if user and opts["if_missing"]:
            return
        password = os.environ.get(opts["password_env"], "") if opts["password_env"] else ""
        printed = not password
        password = password or secrets.token_urlsafe(12)
        if len(password) < 10:
            raise CommandError("password: 10 characters at least")
        if not user:
            user = users(username=opts["username"])
        user.set_password(password)
        user.is_staff = user.is_superuser = opts["role"] == "admin"
        user.save()
        Profile.objects.update_or_create(user=user, defaults={"role": opts["role"], "sites": opts["sites"]})
        if printed:
            self.stdout.write(f"console user {user.username} ({opts['role']}): password {password} "
                              f"(shown once / affiché une seule fois)")
        else:
            self.stdout.write(f"console user {user.username} ({opts['role']}) ready")
