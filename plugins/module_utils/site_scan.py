# -*- coding: utf-8 -*-
"""Read-only inventory of what serves sites on a host (used by site_facts and site_retire).

``scan(paths, identities, run_command)`` returns a list of items: Nginx server blocks, PHP-FPM
pools and per-site FPM units, queue workers (systemd, Supervisor), cron entries, site
directories, certificates and their renewal configuration. Each item has ``kind``, ``name``,
``files`` (config files that make it), ``dirs`` (data directories), ``units`` (systemd units to
stop), ``claimed_by``/``claim_reason`` and ``size_bytes``. A file that does not parse raises
``ParseError``: the caller reports it and removes nothing.
"""

from __future__ import absolute_import, division, print_function

import glob
import gzip
import os
import pwd
import re
import shutil

from ansible_collections.infra.hosting.plugins.module_utils.site_parse import (
    ParseError, claim, count_requests, cron_entries, fpm_pools, nginx_server_blocks, paths_in,
    site_dir_of, supervisor_programs, systemd_unit)

DEFAULT_PATHS = {
    "nginx_dirs": ["/etc/nginx/sites-enabled", "/etc/nginx/sites-available", "/etc/nginx/conf.d"],
    "fpm_globs": ["/etc/php/*/fpm/pool.d/*.conf", "/etc/php/*/fpm/sites/*.conf"],
    "systemd_dir": "/etc/systemd/system",
    "supervisor_dir": "/etc/supervisor/conf.d",
    "cron_dir": "/etc/cron.d",
    "site_roots": ["/srv/www", "/home/forge"],
    "ssl_dir": "/etc/ssl/sites",
    "letsencrypt_dir": "/etc/letsencrypt",
    "nginx_log_dir": "/var/log/nginx",
}
SHARED_LOGS = ("/var/log/nginx/access.log",)
SHARED_POOLS = ("www",)


def read(path):
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        return handle.read()


def size_of(path):
    """Bytes used by a file or a directory tree (symlinks not followed)."""
    try:
        st = os.lstat(path)
    except OSError:
        return 0
    if not os.path.isdir(path) or os.path.islink(path):
        return st.st_size
    total = 0
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                pass
    return total


def _item(kind, name, **extra):
    item = {"kind": kind, "name": name, "files": [], "dirs": [], "units": [], "server_names": [],
            "domains": [], "site_names": [], "user": None, "paths": [], "shared": False}
    item.update(extra)
    return item


def scan_nginx(paths):
    items, seen = [], {}
    for directory in paths["nginx_dirs"]:
        for path in sorted(glob.glob(os.path.join(directory, "*"))):
            if os.path.isdir(path) or path.endswith((".bak", ".dpkg-old", "~")):
                continue
            real = os.path.realpath(path)
            if not os.path.exists(real):
                continue
            if real in seen:
                if path not in seen[real]["files"]:
                    seen[real]["files"].insert(0, path)
                continue
            servers = nginx_server_blocks(read(real), real)
            if not servers:
                continue
            names = sorted({n for s in servers for n in s["server_names"]})
            item = _item("vhost", os.path.basename(real), files=[real] if real == path else [path, real],
                         server_names=names, paths=sorted({r for s in servers for r in s["roots"]}),
                         access_logs=sorted({a for s in servers for a in s["access_logs"]} - set(SHARED_LOGS)),
                         certificates=sorted({c for s in servers for c in s["certificates"]}),
                         default_server=any("default_server" in lst for s in servers for lst in s["listen"]),
                         shared=not names)
            seen[real] = item
            items.append(item)
    for item in items:  # the enabled symlink points at the available file
        item["enabled"] = any("/sites-enabled/" in f or "/conf.d/" in f for f in item["files"])
    return items


def scan_fpm(paths):
    items = []
    for pattern in paths["fpm_globs"]:
        for path in sorted(glob.glob(pattern)):
            pools = fpm_pools(read(path), path)
            if not pools:
                continue
            per_site = "/fpm/sites/" in path
            base = os.path.basename(path)[:-5]
            units = ["php-fpm-site@%s.service" % base] if per_site else []
            found = re.search(r"/php/([0-9.]+)/fpm/", path)
            version = found.group(1) if found else None
            item = _item("fpm_site" if per_site else "pool", base if per_site else pools[0]["name"],
                         files=[path], units=units, user=pools[0]["user"],
                         paths=[p["chdir"] for p in pools if p["chdir"]], pools=pools, php_version=version,
                         sockets=[p["listen"] for p in pools if p["listen"]],
                         shared=(not per_site and pools[0]["name"] in SHARED_POOLS))
            if len({p["user"] for p in pools}) > 1:
                item["shared"] = True
            items.append(item)
    return items


def scan_systemd(paths):
    items = []
    directory = paths["systemd_dir"]
    for path in sorted(glob.glob(os.path.join(directory, "*.service"))):
        if os.path.islink(path):
            continue
        unit = systemd_unit(read(path), path)
        if not (unit["is_worker"] or unit["is_scheduler"]):
            continue
        name = os.path.basename(path)
        files = [path]
        timer = path[:-len(".service")] + ".timer"
        if os.path.exists(timer):
            files.append(timer)
        cmd_paths = paths_in(" ".join(unit["exec_start"]) + " " + (unit["working_directory"] or ""))
        items.append(_item("worker_unit", name, files=files, user=unit["user"], paths=cmd_paths,
                           units=[os.path.basename(f) for f in files], template=name.endswith("@.service")))
    return items


def scan_supervisor(paths):
    items = []
    for path in sorted(glob.glob(os.path.join(paths["supervisor_dir"], "*.conf"))):
        programs = list(supervisor_programs(read(path), path))
        if not any(p["is_worker"] for p in programs):
            continue
        users = {p["user"] for p in programs}
        cmd_paths = sorted({d for p in programs for d in paths_in(p["command"] + " " + (p["directory"] or ""))})
        items.append(_item("supervisor", os.path.basename(path), files=[path], programs=[p["name"] for p in programs],
                           user=users.pop() if len(users) == 1 else None, paths=cmd_paths))
    return items


def scan_cron(paths, run_command):
    items = []
    for path in sorted(glob.glob(os.path.join(paths["cron_dir"], "*"))):
        if os.path.isdir(path) or os.path.basename(path).startswith("."):
            continue
        entries = cron_entries(read(path), path, system=True)
        if not entries:
            continue
        users = {e["user"] for e in entries}
        items.append(_item("cron", os.path.basename(path), files=[path], entries=entries,
                           user=users.pop() if len(users) == 1 else None,
                           paths=sorted({d for e in entries for d in paths_in(e["command"])})))
    for entry in pwd.getpwall():
        if not any(entry.pw_dir == r or entry.pw_dir.startswith(r + "/") for r in paths["site_roots"]):
            continue
        if run_command is None or not shutil.which("crontab"):
            continue
        rc, out, _err = run_command(["crontab", "-l", "-u", entry.pw_name])
        if rc != 0:
            continue
        entries = cron_entries(out, "crontab of %s" % entry.pw_name, system=False)
        if entries:
            items.append(_item("crontab", entry.pw_name, user=entry.pw_name, entries=entries, crontab=out,
                               paths=sorted({d for e in entries for d in paths_in(e["command"])})))
    return items


def scan_dirs(paths):
    items = []
    for root in paths["site_roots"]:
        for path in sorted(glob.glob(os.path.join(root, "*"))):
            if not os.path.isdir(path) or os.path.islink(path):
                continue
            item = _item("directory", path, dirs=[path], paths=[path], size_bytes=size_of(path))
            releases_dir = os.path.join(path, "releases")
            if os.path.isdir(releases_dir):
                current = os.path.join(path, "current")
                target = os.path.basename(os.path.realpath(current)) if os.path.islink(current) else None
                item["current_release"] = target
                item["releases"] = [{"id": r, "path": os.path.join(releases_dir, r),
                                     "size_bytes": size_of(os.path.join(releases_dir, r))}
                                    for r in sorted(os.listdir(releases_dir))
                                    if os.path.isdir(os.path.join(releases_dir, r))]
            items.append(item)
    return items


def scan_certificates(paths):
    items = []
    for path in sorted(glob.glob(os.path.join(paths["ssl_dir"], "*"))):
        if os.path.isdir(path):
            items.append(_item("certificate", os.path.basename(path), dirs=[path], site_names=[os.path.basename(path)],
                               size_bytes=size_of(path)))
    le_dir = paths["letsencrypt_dir"]
    for path in sorted(glob.glob(os.path.join(le_dir, "renewal", "*.conf"))):
        domain = os.path.basename(path)[:-5]
        dirs = [d for d in (os.path.join(le_dir, "live", domain), os.path.join(le_dir, "archive", domain))
                if os.path.isdir(d)]
        items.append(_item("certificate_renewal", domain, files=[path], dirs=dirs, domains=[domain]))
    return items


def scan(paths=None, identities=None, run_command=None):
    """Every item on the host, each with claimed_by / claim_reason and size_bytes."""
    paths = dict(DEFAULT_PATHS, **(paths or {}))
    items = (scan_nginx(paths) + scan_fpm(paths) + scan_systemd(paths) + scan_supervisor(paths)
             + scan_cron(paths, run_command) + scan_dirs(paths) + scan_certificates(paths))
    for item in items:
        if "size_bytes" not in item:
            item["size_bytes"] = sum(size_of(p) for p in item["files"] + item["dirs"])
        site, reason = claim(item, identities or {})
        item["claimed_by"], item["claim_reason"] = site, reason
    return items


def log_files(bases):
    """Every rotation of the given logs: base, base.1, base.2.gz, ... (existing ones)."""
    found = []
    for base in bases:
        for path in sorted(glob.glob(base + "*")):
            if path == base or path[len(base):].lstrip(".").replace(".gz", "").isdigit():
                if path not in found:
                    found.append(path)
    return found


def read_log_lines(files):
    for path in files:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            yield from handle


def traffic(bases, now, window_days, ignore_paths, ignore_addresses):
    """Traffic evidence over every rotation of the logs ``bases``."""
    files = log_files(bases)
    evidence = count_requests(read_log_lines(files), now, window_days, ignore_paths, ignore_addresses)
    evidence["files"] = files
    return evidence


def site_log_bases(site, ident, items, log_dir):
    """Access logs of a site: its vhosts' access_log lines, ours and Forge's conventional names."""
    bases = ["%s/%s.access.log" % (log_dir, site)]
    for domain in ident.get("domains", []):
        bases.append("%s/%s-access.log" % (log_dir, domain))
    for item in items:
        if item["kind"] == "vhost" and item.get("claimed_by") == site:
            bases.extend(item.get("access_logs") or [])
    return list(dict.fromkeys(bases))


def orphan_log_bases(item, log_dir):
    """Access logs of a vhost no site claims."""
    base = item["name"][:-5] if item["name"].endswith(".conf") else item["name"]
    bases = list(item.get("access_logs") or []) + ["%s/%s.access.log" % (log_dir, base)]
    bases += ["%s/%s-access.log" % (log_dir, name) for name in item.get("server_names") or []]
    return list(dict.fromkeys(bases))


__all__ = ["ParseError", "scan", "traffic", "site_log_bases", "size_of", "site_dir_of", "DEFAULT_PATHS"]
