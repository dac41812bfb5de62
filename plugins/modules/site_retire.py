#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Archive then remove a retired (or orphan) site from a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: site_retire
short_description: Archive, then remove, everything a retired or orphan site leaves on a host
description:
  - For a site marked C(status=retired) in the data model, or an orphan the operator names
    explicitly (claimed by no site), finds its Nginx vhosts, FPM pool or per-site FPM unit,
    queue workers (systemd, Supervisor), cron entries, directories, certificates and renewal
    configuration, access logs and Unix user.
  - Refuses, with a clear message, when the site is still claimed by the data model (not marked
    retired), when its access logs show traffic in the observation window, or when an item it
    would touch is claimed by another site.
  - Archives code, C(storage/), C(.env) and every config file into C(<archive_dir>/<site>-<time>.tar.gz)
    with a C(.sha256), a manifest and C(restore.sh) (inside the archive under C(_retire/) and next to
    it). The archive is verified (checksum re-read, listing and file checksums compared with the
    manifest) before anything is removed.
  - Then removes the vhost (the remaining Nginx configuration tested with C(nginx -t) before the
    reload; the files are put back if the test fails), the pool or unit, the workers, cron
    entries, certificates and renewal, directories, logs and the Unix user. Databases are not
    touched, they are returned in C(databases_handed_over) for the database cleanup's plan.
  - Each action is appended to the audit log (one JSON object per line).
  - On Forge-managed hosts it only reports, unless C(forge_override) is set; the site must also be
    deleted in Forge.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
  - infra.hosting.site_scan
  - infra.hosting.audit
options:
  site:
    description: Name of the site (data model key), or of the orphan (its Unix user / directory name).
    type: str
    required: true
  sites:
    description: The data model's sites (a site to retire must be there with C(status=retired), or absent).
    type: dict
    required: true
  domains:
    description: Domains of an orphan (its server names); ignored for a site of the data model.
    type: list
    elements: str
    default: []
  confirm:
    description: Must equal O(site) for anything to be removed (check mode needs no confirmation).
    type: str
  window_days:
    description: Days of access logs in which any request refuses the retirement.
    type: int
    default: 14
  archive_dir:
    description: Where archives are written.
    type: path
    default: /var/backups/infra
  databases:
    description: Databases of the site, handed to the database cleanup's plan (never dropped here).
    type: list
    elements: str
    default: []
  forge_managed:
    description: The host is managed by Laravel Forge (report only unless O(forge_override)).
    type: bool
    default: false
  forge_override:
    description: Act on a Forge-managed host anyway.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Predicts the full list of removals (changed when anything of the site is present).
  diff_mode:
    support: full
    details: Before is the list of paths, units and user of the site; after is empty.
"""

EXAMPLES = r"""
- name: Retire the quiet site
  infra.hosting.site_retire:
    site: oldsite
    sites: "{{ datamodel_sites }}"
    confirm: "{{ confirm | default(omit) }}"
    databases: "{{ datamodel_sites.oldsite.databases }}"
"""

RETURN = r"""
refused:
  description:
    - True when the module refused (the site is still claimed by the data model, an item belongs to another
      site, traffic in the window, or no confirmation); C(msg) says why. A failure has C(failed) without it.
  returned: always
  type: bool
archive:
  description: Path of the verified archive.
  returned: when something was retired
  type: str
restore:
  description: Command that brings the site back.
  returned: when something was retired
  type: str
plan:
  description: What is (or would be) archived and removed.
  returned: always
  type: dict
evidence:
  description: Traffic evidence over the window.
  returned: when something of the site is present
  type: dict
databases_handed_over:
  description: Databases left for the database cleanup.
  returned: always
  type: list
actions:
  description: The actions done, as written to the audit log.
  returned: always
  type: list
"""

import datetime
import grp
import os
import pwd
import shutil
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.cleanup_common import audit_append
from ansible_collections.infra.hosting.plugins.module_utils.site_archive import collect, restore_script, verify_archive, write_archive
from ansible_collections.infra.hosting.plugins.module_utils.site_parse import ParseError, claim, site_identities
from ansible_collections.infra.hosting.plugins.module_utils.site_scan import DEFAULT_PATHS, log_files, orphan_log_bases, scan, site_log_bases, traffic
from ansible_collections.infra.hosting.plugins.module_utils.common_args import SITE_SCAN_ARGS, AUDIT_ARGS


def target_identity(site, sites, domains):
    """(identity, error): the site's identity; an error when the data model still claims it."""
    identities = site_identities(sites)
    if site in identities:
        status = identities[site]["status"]
        if status != "retired":
            return None, ("Refused: site '%s' is still claimed by the data model (status: %s). "
                          "Mark it 'status: retired' first." % (site, status))
        return identities[site], None
    ident = site_identities({site: {"domains": domains, "status": "orphan"}})[site]
    return ident, None


def select(items, site, ident, in_model):
    """(mine, conflicts): the items of the target, and those that match it but belong to another site."""
    mine, conflicts = [], []
    for item in items:
        if item.get("shared"):
            continue
        if in_model:
            if item["claimed_by"] == site:
                mine.append(item)
            continue
        owner, _reason = claim(item, {site: ident})
        if owner and item["claimed_by"] is None:
            mine.append(item)
        elif owner:
            conflicts.append(item)
    return mine, conflicts


def plan_for(items, user_entry, logs):
    """Paths to archive and remove, units to stop, grouped by action."""
    plan = {"vhosts": [], "fpm": [], "workers": [], "cron": [], "crontab": None, "certificates": [],
            "directories": [], "logs": list(logs), "units": [], "templates": [], "user": None,
            "fpm_reload": [], "supervisor": False}
    for item in items:
        kind = item["kind"]
        if kind == "vhost":
            plan["vhosts"].extend(item["files"])
        elif kind in ("pool", "fpm_site"):
            plan["fpm"].extend(item["files"])
            plan["units"].extend(item["units"])
            if kind == "pool":
                plan["fpm_reload"].append(item["php_version"])
        elif kind == "worker_unit":
            plan["workers"].extend(item["files"])
            if item.get("template"):
                plan["templates"].append(item["name"])
            else:
                plan["units"].extend(item["units"])
        elif kind == "supervisor":
            plan["workers"].extend(item["files"])
            plan["supervisor"] = True
        elif kind == "cron":
            plan["cron"].extend(item["files"])
        elif kind == "crontab":
            plan["crontab"] = item["user"]
        elif kind in ("certificate", "certificate_renewal"):
            plan["certificates"].extend(item["files"] + item["dirs"])
        elif kind == "directory":
            plan["directories"].extend(item["dirs"])
    if user_entry:
        plan["user"] = user_entry.pw_name
    return plan


def plan_paths(plan):
    return (plan["vhosts"] + plan["fpm"] + plan["workers"] + plan["cron"] + plan["certificates"]
            + plan["directories"] + plan["logs"])


def diff_text(plan):
    lines = ["%s" % p for p in plan_paths(plan)]
    lines += ["unit %s" % u for u in plan["units"]]
    if plan["crontab"]:
        lines.append("crontab of %s" % plan["crontab"])
    if plan["user"]:
        lines.append("user %s" % plan["user"])
    return "\n".join(lines) + "\n"


class Retirer(object):
    """Runs the steps, each to the audit log."""

    def __init__(self, module, site):
        self.module, self.site, self.actions = module, site, []
        self.host = socket.gethostname()

    def audit(self, action, details, result="ok"):
        record = {"action": "site_retire." + action, "target": self.site, "host": self.host,
                  "details": details, "result": result}
        self.actions.append(audit_append(self.module.params["audit_log"], record))

    def run(self, cmd, check=True):
        rc, out, err = self.module.run_command(cmd)
        if check and rc != 0:
            self.audit("error", {"command": cmd, "rc": rc, "stderr": err}, "failed")
            self.module.fail_json(msg="'%s' failed (rc %d): %s" % (" ".join(cmd), rc, err or out),
                                  actions=self.actions)
        return rc, out

    def systemctl_units(self, plan):
        units = list(plan["units"])
        for template in plan["templates"]:
            prefix = template[:-len(".service")]
            _rc, out = self.run(["systemctl", "list-units", "--all", "--plain", "--no-legend", prefix + "*"],
                                check=False)
            units.extend(line.split()[0] for line in out.splitlines() if line.strip())
        enabled, active = [], []
        for unit in units:
            if self.run(["systemctl", "is-enabled", "--quiet", unit], check=False)[0] == 0:
                enabled.append(unit)
            if self.run(["systemctl", "is-active", "--quiet", unit], check=False)[0] == 0:
                active.append(unit)
        return list(dict.fromkeys(units)), enabled, active


def remove_paths(paths):
    for path in paths:
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)


def main():
    """Plan (what of the site is on this host), refuse (identity, traffic, Forge, confirmation), act."""
    module = AnsibleModule(
        argument_spec=dict({
            "site": {"type": "str", "required": True},
            "sites": {"type": "dict", "required": True},
            "domains": {"type": "list", "elements": "str", "default": []},
            "confirm": {"type": "str"},
            "window_days": {"type": "int", "default": 14},
            "archive_dir": {"type": "path", "default": "/var/backups/infra"},
            "databases": {"type": "list", "elements": "str", "default": []},
            "forge_managed": {"type": "bool", "default": False},
            "forge_override": {"type": "bool", "default": False},
        }, **SITE_SCAN_ARGS, **AUDIT_ARGS),
        supports_check_mode=True,
    )
    p = module.params
    result = {"changed": False, "refused": False, "site": p["site"], "databases_handed_over": p["databases"],
              "actions": []}
    mine, user_entry, bases, plan = plan_site(module, p, result)
    now = datetime.datetime.now(datetime.timezone.utc)
    retirer = Retirer(module, p["site"])
    evidence = refuse_or_confirm(module, p, result, retirer, plan, bases, now)
    archive, units = archive_site(module, p, result, retirer, mine, user_entry, plan, evidence, now)
    remove_site(module, p, retirer, plan, archive, units)
    result["actions"] = retirer.actions
    result["msg"] = "Retired '%s': archive %s (restore: %s)." % (p["site"], archive, result["restore"])
    module.exit_json(**result)


def plan_site(module, p, result):
    """What of the site is on this host (exits when nothing is, fails on an identity or ownership refusal)."""
    site = p["site"]
    paths = dict(DEFAULT_PATHS, **p["paths"])

    ident, refusal = target_identity(site, p["sites"], p["domains"])
    if refusal:
        module.fail_json(msg=refusal, **dict(result, refused=True))
    in_model = site in p["sites"]
    try:
        items = scan(paths, site_identities(p["sites"]), module.run_command)
    except ParseError as exc:
        module.fail_json(msg="Cannot parse a configuration file, nothing is removed: %s" % exc, **result)
    mine, conflicts = select(items, site, ident, in_model)
    if conflicts:
        module.fail_json(msg="Refused: %s also match(es) '%s' but belong(s) to another site of the data model"
                         % (", ".join(c["name"] for c in conflicts), site), **dict(result, refused=True))
    try:
        user_entry = pwd.getpwnam(site)
        if not any(user_entry.pw_dir == r or user_entry.pw_dir.startswith(r + "/") for r in paths["site_roots"]):
            user_entry = None  # not a site user: never deleted here
    except KeyError:
        user_entry = None
    bases = site_log_bases(site, ident, mine, paths["nginx_log_dir"])
    for item in mine:
        if item["kind"] == "vhost":
            bases.extend(orphan_log_bases(item, paths["nginx_log_dir"]))
    bases = list(dict.fromkeys(bases))
    logs = log_files(bases)
    plan = plan_for(mine, user_entry, logs)
    result["plan"] = plan
    if not mine and not user_entry and not logs:
        result["msg"] = "Nothing of '%s' is left on this host." % site
        module.exit_json(**result)
    return mine, user_entry, bases, plan


def refuse_or_confirm(module, p, result, retirer, plan, bases, now):
    """Refuse a site with traffic in the window; report only on Forge; stop in check mode; need confirm=site."""
    site = p["site"]
    evidence = traffic(bases, now, p["window_days"], p["ignore_paths"], p["ignore_addresses"])
    result["evidence"] = evidence
    if evidence["requests"]:
        msg = ("Refused: '%s' served %d request(s) in the last %d day(s) (last at %s; %s ignored: %s). "
               "Retire it only once it is quiet." % (site, evidence["requests"], p["window_days"],
                                                     evidence["last_request"], evidence["ignored"],
                                                     evidence["ignoring"]))
        if not module.check_mode:
            retirer.audit("refused", {"reason": "traffic", "requests": evidence["requests"],
                                      "window_days": p["window_days"]}, "refused")
        result["actions"] = retirer.actions
        module.fail_json(msg=msg, **dict(result, refused=True))

    if p["forge_managed"] and not p["forge_override"]:
        result["msg"] = ("Report only: this host is managed by Laravel Forge. Delete the site '%s' in Forge too, "
                         "or pass forge_override=true to act here." % site)
        module.exit_json(**result)

    result["changed"] = True
    if module._diff:
        result["diff"] = {"before": diff_text(plan), "after": "", "before_header": site, "after_header": site}
    if module.check_mode:
        result["msg"] = "Would archive and remove %d path(s) of '%s'." % (len(plan_paths(plan)), site)
        module.exit_json(**result)
    if p["confirm"] != site:
        module.fail_json(msg="Not confirmed: pass confirm=%s (-e confirm=%s) to archive and remove it." % (site, site),
                         **dict(result, changed=False, refused=True))
    return evidence


def archive_site(module, p, result, retirer, mine, user_entry, plan, evidence, now):
    """Archive everything the plan removes, with a restore script, and verify it (nothing removed otherwise)."""
    site = p["site"]
    units, enabled, active = retirer.systemctl_units(plan)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    archive = os.path.join(p["archive_dir"], "%s-%s.tar.gz" % (site, stamp))
    entries = collect(plan_paths(plan))
    manifest = {"site": site, "host": retirer.host, "retired_at": now.isoformat(), "archive": archive,
                "entries": entries, "units": units, "units_enabled": enabled, "units_active": active,
                "fpm_reload": sorted(set(plan["fpm_reload"])), "supervisor": plan["supervisor"],
                "nginx": bool(plan["vhosts"]), "databases_handed_over": p["databases"], "evidence": evidence,
                "crontab": None, "user": None}
    if plan["crontab"]:
        manifest["crontab"] = next(i["crontab"] for i in mine if i["kind"] == "crontab")
    if user_entry:
        group = grp.getgrgid(user_entry.pw_gid)
        manifest["user"] = {"name": user_entry.pw_name, "uid": user_entry.pw_uid, "gid": user_entry.pw_gid,
                            "group": group.gr_name, "home": user_entry.pw_dir, "shell": user_entry.pw_shell,
                            "group_members": list(group.gr_mem)}
    script = restore_script(manifest)
    manifest["restore_commands"] = ["sh %s.restore.sh %s" % (archive, archive)]
    extra = {"restore.sh": script}
    if manifest["crontab"]:
        extra["crontab"] = manifest["crontab"]
    digest = write_archive(archive, entries, manifest, extra)
    with open(archive + ".restore.sh", "w", encoding="utf-8") as handle:
        handle.write(script)
    problems = verify_archive(archive, manifest)
    retirer.audit("archive", {"archive": archive, "sha256": digest, "entries": len(entries),
                              "problems": problems}, "failed" if problems else "ok")
    if problems:
        module.fail_json(msg="Archive not verified, nothing removed: %s" % "; ".join(problems),
                         actions=retirer.actions, archive=archive)
    result.update({"archive": archive, "sha256": digest, "restore": manifest["restore_commands"][0]})
    return archive, units


def remove_site(module, p, retirer, plan, archive, units):
    """Remove what the verified archive holds, in an order that keeps every other site serving."""
    # 2. Nginx: remove the vhosts, test what remains, put them back if the test fails.
    if plan["vhosts"]:
        saved = {}
        for path in plan["vhosts"]:
            saved[path] = ("link", os.readlink(path)) if os.path.islink(path) else ("file", open(path, "rb").read())
        remove_paths(plan["vhosts"])
        rc, out = retirer.run(["nginx", "-t"], check=False)
        if rc != 0:
            for path, (kind, data) in saved.items():
                if kind == "link":
                    os.symlink(data, path)
                else:
                    with open(path, "wb") as handle:
                        handle.write(data)
            retirer.audit("remove_vhost", {"files": plan["vhosts"], "nginx_test": out}, "failed")
            module.fail_json(msg="nginx -t fails without the vhost; files put back, nothing else removed",
                             actions=retirer.actions, archive=archive)
        retirer.run(["systemctl", "reload", "nginx"])
        retirer.audit("remove_vhost", {"files": plan["vhosts"]})

    # 3. Workers, per-site FPM units, timers: stop and disable, then remove their files.
    for unit in units:
        retirer.run(["systemctl", "disable", "--now", unit], check=False)
    if units:
        retirer.audit("stop_units", {"units": units})
    if plan["workers"]:
        remove_paths(plan["workers"])
        retirer.run(["systemctl", "daemon-reload"])
        if plan["supervisor"] and shutil.which("supervisorctl"):
            retirer.run(["supervisorctl", "reread"], check=False)
            retirer.run(["supervisorctl", "update"], check=False)
        retirer.audit("remove_workers", {"files": plan["workers"]})

    # 4. FPM pools (shared masters are tested, then reloaded).
    if plan["fpm"]:
        remove_paths(plan["fpm"])
        for version in sorted(set(plan["fpm_reload"])):
            retirer.run(["php-fpm%s" % version, "-t"])
            retirer.run(["systemctl", "reload", "php%s-fpm" % version])
        retirer.audit("remove_fpm", {"files": plan["fpm"], "reloaded": sorted(set(plan["fpm_reload"]))})

    # 5. Cron.
    if plan["cron"]:
        remove_paths(plan["cron"])
        retirer.audit("remove_cron", {"files": plan["cron"]})
    if plan["crontab"]:
        retirer.run(["crontab", "-r", "-u", plan["crontab"]])
        retirer.audit("remove_crontab", {"user": plan["crontab"]})

    # 6. Certificates and renewal, directories, logs.
    if plan["certificates"]:
        remove_paths(plan["certificates"])
        retirer.audit("remove_certificates", {"paths": plan["certificates"]})
    if plan["directories"]:
        remove_paths(plan["directories"])
        retirer.audit("remove_directories", {"paths": plan["directories"]})
    if plan["logs"]:
        remove_paths(plan["logs"])
        retirer.audit("remove_logs", {"paths": plan["logs"]})

    # 7. The Unix user (and its group), then the databases' hand-over.
    if plan["user"]:
        retirer.run(["userdel", plan["user"]])
        try:
            grp.getgrnam(plan["user"])
            retirer.run(["groupdel", plan["user"]])
        except KeyError:
            pass
        retirer.audit("remove_user", {"user": plan["user"]})
    if p["databases"]:
        retirer.audit("handover_databases", {"databases": p["databases"],
                                             "note": "left for the database cleanup's plan, not dropped"})


if __name__ == "__main__":
    main()
