"""Parameters checked before any run: a bad one gets a clear message and no run is queued.

The rules are the repository's: site names from the data model, refs with `git check-ref-format`,
.env key names and secrets with plugins/filter/datamodel.py's env_bad_names / env_secret_names,
artisan commands with plugins/filter/artisan.py's artisan_refusal.
"""

import re
import subprocess
import sys

from django.conf import settings

sys.path.insert(0, str(settings.REPO_ROOT / "plugins" / "filter"))
import artisan as _artisan  # noqa: E402  (plugins/filter/artisan.py)
import datamodel as _datamodel  # noqa: E402  (plugins/filter/datamodel.py)

RELEASE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,80}$")
SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")


class Refused(ValueError):
    """A parameter the console refuses; str() is the message shown."""


def site(name, sites):
    if not isinstance(name, str) or name not in sites:
        raise Refused(f"Unknown site / site inconnu : {name!r}")
    return name


def active_site(name, sites):
    site(name, sites)
    if sites[name].get("status", "active") != "active":
        raise Refused(f"Site {name} is retired / est retiré")
    return name


def ref(value):
    """A branch, tag or commit: empty (the site's branch), a hex sha, or a name git accepts as a branch."""
    value = (value or "").strip()
    if not value or SHA_RE.match(value):
        return value
    # Outside any repository (cwd /): `@{-1}` and the like are then refused instead of expanded.
    proc = subprocess.run(["git", "check-ref-format", "--branch", value], capture_output=True, text=True,
                          timeout=10, check=False, cwd="/")
    if proc.returncode != 0 or value.startswith("-") or value == "@":
        raise Refused(f"Not a valid git ref / référence git invalide : {value!r} (git check-ref-format)")
    return value


def release(value):
    value = (value or "").strip()
    if value and not RELEASE_RE.match(value):
        raise Refused(f"Not a release id / identifiant de version invalide : {value!r}")
    return value


def vault_procedure(site_name, inventory):
    return (f"ansible-vault edit {inventory}/group_vars/all/vault.yml, add vault_sites.{site_name}.env.KEY, "
            f"then deploy / puis déployez")


def env_change(site_name, set_values, unset, inventory):
    """Check an env change: names valid and not secrets. Returns (set, unset)."""
    set_values = {str(k).strip(): str(v) for k, v in (set_values or {}).items() if str(k).strip()}
    unset = [str(k).strip() for k in (unset or []) if str(k).strip()]
    if not set_values and not unset:
        raise Refused("Nothing to change / rien à changer")
    secrets = _datamodel.env_secret_names(list(set_values) + unset)
    if secrets:
        raise Refused("Secrets go to the vault, not here / les secrets vont dans la voûte — refused / refusé : "
                      + ", ".join(secrets) + ". " + vault_procedure(site_name, inventory))
    bad = _datamodel.env_bad_names(list(set_values) + unset)
    if bad:
        raise Refused("Names are upper case letters, digits and _ / noms en majuscules, chiffres et _ — "
                      "refused / refusé : " + ", ".join(bad))
    for key, value in set_values.items():
        if "\n" in value or "\r" in value:
            raise Refused(f"{key}: one line only / une seule ligne")
    return set_values, unset


def artisan_command(cmd, site_name, sites):
    cmd = " ".join((cmd or "").split())
    if cmd not in settings.CONSOLE_ARTISAN_ALLOWED:
        raise Refused(f"Not in the console's allow-list / hors de la liste autorisée : {cmd!r}")
    refusal = _artisan.artisan_refusal(cmd, site_name, sites[site_name].get("environment", "prod"), False)
    if refusal:
        raise Refused(refusal)
    return cmd


def lines(value):
    try:
        number = int(value or 100)
    except (TypeError, ValueError):
        raise Refused("Lines: a number / un nombre") from None
    if not 1 <= number <= 5000:
        raise Refused("Lines: 1 to 5000 / de 1 à 5000")
    return number


def cleanup_name(name):
    """A site or database to retire: a name the data model could hold (SITE_NAME_RE, the model's own rule)."""
    if not _datamodel.SITE_NAME_RE.match(name or ""):
        raise Refused(f"Not a site or database name / nom invalide : {name!r}")
    return name


def follow_rounds(value, most):
    """How many more times logs are read again (0 or empty: not following), at most `most`."""
    if value in ("", None, "0"):
        return 0
    if value == "on":
        return most
    try:
        rounds = int(value)
    except (TypeError, ValueError):
        raise Refused("Follow: a number of rounds / un nombre de lectures") from None
    if rounds < 0:
        raise Refused("Follow: a number of rounds / un nombre de lectures")
    return min(rounds, most)
