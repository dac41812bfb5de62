"""Who may do what, checked on the server for every action (views call `allowed` / `require`).

viewer   sees everything, runs nothing
deployer deploy, rollback, artisan, non-secret env changes, logs, status refresh, on the sites granted
admin    everything: every site, users (Django admin), cleanup plans and retirements
"""

from django.core.exceptions import PermissionDenied

DEPLOYER_ACTIONS = {"deploy", "rollback", "artisan", "env", "logs", "status"}
ADMIN_ACTIONS = DEPLOYER_ACTIONS | {"db_cleanup", "site_cleanup", "retire", "users"}


def role_of(user):
    if not user or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return "admin"
    profile = getattr(user, "profile", None)
    return profile.role if profile else "viewer"


def allowed(user, action, site=""):
    """True when `user` may run `action` (on `site` for the per-site actions)."""
    role = role_of(user)
    if role == "admin":
        return action in ADMIN_ACTIONS
    if role == "deployer" and action in DEPLOYER_ACTIONS:
        granted = user.profile.site_list() if getattr(user, "profile", None) else []
        return "*" in granted or (bool(site) and site in granted)
    return False


def require(user, action, site=""):
    if not allowed(user, action, site):
        raise PermissionDenied(
            f"Your role may not {action} {site or ''} / votre rôle ne permet pas cette action".replace("  ", " "))


def context(request):
    """Template context: the person's role."""
    return {"console_role": role_of(getattr(request, "user", None))}
