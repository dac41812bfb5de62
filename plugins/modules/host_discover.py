#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Read what really runs on a host (Forge's layout or ours); never writes anything."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_discover
short_description: Read the sites, apps, workers, cron entries, search engines, disk and OS of a host (read-only)
description:
  - Reads, and never writes, what serves sites on a host in Laravel Forge's layout (or any other),
    namely Nginx server blocks (C(server_name)s, roots, listen and TLS, certificate paths, the PHP-FPM socket
    each passes to and so its PHP version), PHP-FPM pools, Laravel apps under C(/home/forge/<domain>)
    (the names of their C(.env) variables, and the values of the non-secret names in I(env_value_keys)
    only), Supervisor programs, cron entries running artisan (C(/etc/cron.d) and user crontabs),
    Typesense and Meilisearch (listening ports, and their collections or indexes when they answer on
    loopback), disk use and the OS release.
  - The Nginx, PHP-FPM, Supervisor and cron parsers are the site cleanup's (module_utils/site_parse.py);
    the others are module_utils/forge_parse.py.
  - A file that cannot be read or parsed does not stop the module; it is listed in C(errors) with its
    path and reason, and playbooks/discover.yml fails the host naming it.
  - Databases and certificate expiry are read by the playbook with community.mysql.mysql_info,
    community.postgresql.postgresql_info and community.crypto.x509_certificate_info.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  env_value_keys:
    description:
      - The C(.env) names whose values are returned; every other name is returned without its value.
        Names that look like secrets (plugins/filter/datamodel.py's rule) are refused by the playbook.
    type: list
    elements: str
    default: [DB_CONNECTION, DB_HOST, DB_DATABASE, QUEUE_CONNECTION, CACHE_DRIVER, CACHE_STORE, SESSION_DRIVER, SCOUT_DRIVER]
  app_sizes:
    description: Measure the disk used by each app directory (walks the tree).
    type: bool
    default: true
  paths:
    description: Overrides of the places read (keys of C(DEFAULT_PATHS) in this module).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Discover what runs on this Forge host
  infra.hosting.host_discover:
  become: true
  register: discovered

- name: Discover, without measuring the apps' directories
  infra.hosting.host_discover:
    app_sizes: false
"""

RETURN = r"""
discovery:
  description: What the host runs.
  returned: always
  type: dict
  sample:
    os: {id: ubuntu, version_id: "22.04", pretty_name: Ubuntu 22.04.4 LTS}
    disk: [{mount: /, total_bytes: 85899345920, used_bytes: 42949672960, free_bytes: 42949672960}]
    sites:
      - file: /etc/nginx/sites-available/shop.example.com
        enabled: true
        line: 9
        server_names: [shop.example.com]
        roots: [/home/forge/shop.example.com/public]
        listen: ["443 ssl http2"]
        tls: true
        certificates: [/etc/nginx/ssl/shop.example.com/123/server.crt]
        php_versions: ["8.2"]
        includes: [forge-conf/shop.example.com/before/*]
    fpm_pools: [{file: /etc/php/8.2/fpm/pool.d/www.conf, php_version: "8.2", name: www, user: forge,
                 listen: /run/php/php8.2-fpm.sock}]
    apps: [{domain: shop.example.com, path: /home/forge/shop.example.com, laravel: true,
            env_file: /home/forge/shop.example.com/.env, env_keys: [APP_KEY, DB_DATABASE],
            env_values: {DB_DATABASE: shop}, size_bytes: 1048576}]
    workers: [{file: /etc/supervisor/conf.d/worker-101.conf, name: worker-101, user: forge, numprocs: 1,
               queue: default, command: php8.2 /home/forge/shop.example.com/artisan queue:work, directory: null}]
    cron: [{source: crontab of forge, user: forge, schedule: "* * * * *", is_scheduler: true,
            command: php8.2 /home/forge/shop.example.com/artisan schedule:run}]
    search: [{engine: typesense, port: 8108, process: typesense-server, reachable: true,
              collections: [{name: jobs, documents: 120}]}]
    errors: [{file: /home/forge/broken.example.com/.env, error: "line 3: expected NAME=value"}]
"""

import glob
import json
import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.forge_parse import (
    ENV_VALUE_KEYS, env_file, forge_site, os_release, php_version_of, pool_php_version, server_directive_lines,
    supervisor_workers)
from ansible_collections.infra.hosting.plugins.module_utils.site_parse import ParseError, cron_entries, fpm_pools, nginx_server_blocks
from ansible_collections.infra.hosting.plugins.module_utils.site_scan import read, size_of
from ansible.module_utils.urls import open_url

DEFAULT_PATHS = {
    "os_release": "/etc/os-release",
    "nginx_dirs": ["/etc/nginx/sites-available", "/etc/nginx/conf.d"],
    "nginx_enabled_dir": "/etc/nginx/sites-enabled",
    "fpm_glob": "/etc/php/*/fpm/pool.d/*.conf",
    "forge_home": "/home/forge",
    "supervisor_glob": "/etc/supervisor/conf.d/*.conf",
    "cron_dir": "/etc/cron.d",
    "crontab_dir": "/var/spool/cron/crontabs",
    "disk_paths": ["/", "/home", "/var/lib/mysql", "/var/lib/postgresql"],
    "typesense_config": "/etc/typesense/typesense-server.ini",
    "meilisearch_config": "/etc/meilisearch/meilisearch.toml",
}
# Process names as ss shows them (the kernel keeps 15 characters: "typesense-serve").
SEARCH_PROCESSES = (("typesense", "typesense"), ("meilisearch", "meilisearch"))
_SS_PROCESS = re.compile(r'users:\(\("([^"]+)"')


class Reader(object):
    """Reads files and records, instead of raising, what cannot be read or parsed."""

    def __init__(self):
        self.errors = []

    def parse(self, path, parser, *args):
        try:
            return parser(read(path), *args)
        except (OSError, IOError, UnicodeError) as exc:
            self.errors.append({"file": path, "error": "cannot read: %s" % (exc.strerror or exc)})
        except ParseError as exc:
            self.errors.append({"file": path, "error": "cannot parse: %s" % exc})
        return None


def _files(pattern_or_dir):
    if any(ch in pattern_or_dir for ch in "*?["):
        return sorted(p for p in glob.glob(pattern_or_dir) if os.path.isfile(p))
    if not os.path.isdir(pattern_or_dir):
        return []
    return sorted(os.path.join(pattern_or_dir, n) for n in os.listdir(pattern_or_dir)
                  if not n.startswith(".") and not n.endswith((".bak", "~", ".dpkg-old"))
                  and os.path.isfile(os.path.join(pattern_or_dir, n)))


def discover_sites(paths, reader):
    enabled_dir = paths["nginx_enabled_dir"]
    enabled = set()
    if os.path.isdir(enabled_dir):
        enabled = {os.path.realpath(os.path.join(enabled_dir, n)) for n in os.listdir(enabled_dir)}
    sites = []
    for directory in paths["nginx_dirs"]:
        for path in _files(directory):
            servers = reader.parse(path, nginx_server_blocks, path) or []
            lines = (reader.parse(path, server_directive_lines, path) or []) if servers else []
            for index, server in enumerate(servers):
                site = forge_site(server, path, lines[index] if index < len(lines) else {})
                # sites-available (the first directory) serves only what sites-enabled links; conf.d serves all.
                site["enabled"] = os.path.realpath(path) in enabled or directory != paths["nginx_dirs"][0]
                sites.append(site)
    return sites


def _records(pattern, reader, parser, *args):
    """Every record ``parser`` finds in the files of ``pattern`` (a glob or a directory), with its file."""
    for path in _files(pattern):
        for record in reader.parse(path, parser, path, *args) or []:
            record["file"] = path
            yield record


def discover_pools(paths, reader):
    pools = list(_records(paths["fpm_glob"], reader, fpm_pools))
    for pool in pools:
        pool["php_version"] = php_version_of(pool.get("listen")) or pool_php_version(pool["file"])
    return pools


def discover_apps(paths, reader, value_keys, sizes):
    apps = []
    home = paths["forge_home"]
    if not os.path.isdir(home):
        return apps
    for name in sorted(os.listdir(home)):
        path = os.path.join(home, name)
        if name.startswith(".") or not os.path.isdir(path) or os.path.islink(path):
            continue
        app = {"domain": name, "path": path, "env_file": None, "env_keys": [], "env_values": {},
               "laravel": any(os.path.isfile(os.path.join(path, sub, "artisan")) for sub in ("", "current"))}
        for candidate in (os.path.join(path, ".env"), os.path.join(path, "current", ".env")):
            if os.path.lexists(candidate):
                app["env_file"] = candidate
                env = reader.parse(candidate, env_file, value_keys, candidate)
                if env:
                    app["env_keys"], app["env_values"] = env["keys"], env["values"]
                break
        if sizes:
            app["size_bytes"] = size_of(path)
        apps.append(app)
    return apps


def discover_workers(paths, reader):
    return list(_records(paths["supervisor_glob"], reader, supervisor_workers))


def discover_cron(paths, reader):
    entries = list(_records(paths["cron_dir"], reader, cron_entries, True))
    crontabs = paths["crontab_dir"]
    if os.path.isdir(crontabs):
        for entry in _records(crontabs, reader, cron_entries, False):
            entry["user"] = os.path.basename(entry["file"])
            entries.append(entry)
    elif os.path.exists(crontabs):
        reader.errors.append({"file": crontabs, "error": "cannot read: not a directory"})
    for entry in entries:
        entry["source"] = entry["file"]
    return entries


def discover_disk(paths):
    disks, seen = [], set()
    for path in paths["disk_paths"]:
        try:
            st = os.stat(path)
            vfs = os.statvfs(path)
        except OSError:
            continue
        if st.st_dev in seen:
            continue
        seen.add(st.st_dev)
        total = vfs.f_blocks * vfs.f_frsize
        free = vfs.f_bavail * vfs.f_frsize
        disks.append({"mount": path, "total_bytes": total, "free_bytes": free,
                      "used_bytes": total - vfs.f_bfree * vfs.f_frsize})
    return disks


def listening(ss_output):
    """[(port, process)] of `ss -H -ltnp` lines (IPv4 and IPv6, loopback or not)."""
    found = []
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        port = fields[3].rsplit(":", 1)[-1]
        match = _SS_PROCESS.search(line)
        if port.isdigit():
            found.append((int(port), match.group(1) if match else None))
    return found


def _search_key(engine, paths):
    """The admin key of a local engine, read from its config (kept in memory, never returned)."""
    try:
        text = read(paths["typesense_config"] if engine == "typesense" else paths["meilisearch_config"])
    except (OSError, IOError):
        return None
    pattern = r"^\s*api-key\s*=\s*(\S+)" if engine == "typesense" else r'^\s*master_key\s*=\s*"?([^"\s]+)'
    match = re.search(pattern, text, re.M)
    return match.group(1) if match else None


def _get(url, headers):
    return json.loads(open_url(url, headers=headers, timeout=5, validate_certs=False).read())


def discover_search(paths, run_command, get=_get):
    """Typesense and Meilisearch listening on this host; their collections/indexes through loopback."""
    rc, out, _err = run_command(["ss", "-H", "-ltnp"])
    if rc != 0:
        return [], [{"file": "ss -H -ltnp", "error": "cannot list the listening ports"}]
    found, seen = [], set()
    for port, process in listening(out):
        engine = next((e for prefix, e in SEARCH_PROCESSES if (process or "").startswith(prefix)), None)
        if not engine or (engine, port) in seen:
            continue
        seen.add((engine, port))
        item = {"engine": engine, "port": port, "process": process, "reachable": False, "collections": []}
        key = _search_key(engine, paths)
        try:
            if engine == "typesense":
                body = get("http://127.0.0.1:%d/collections" % port, {"X-TYPESENSE-API-KEY": key or ""})
                item["collections"] = [{"name": c.get("name"), "documents": c.get("num_documents")} for c in body]
            else:
                body = get("http://127.0.0.1:%d/indexes?limit=1000" % port,
                           {"Authorization": "Bearer %s" % key} if key else {})
                item["collections"] = [{"name": i.get("uid"), "documents": None} for i in body.get("results", [])]
            item["reachable"] = True
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is reported, not raised
            # The status or the reason only: an exception's text could carry the key.
            item["error"] = ("HTTP %s" % exc.code if hasattr(exc, "code") else
                             str(getattr(exc, "reason", "")) or type(exc).__name__)
        found.append(item)
    # An engine listens on more than one port (Typesense's peering port): keep the ports that answered.
    answered = {item["engine"] for item in found if item["reachable"]}
    return [item for item in found if item["reachable"] or item["engine"] not in answered], []


def discover(params, run_command):
    paths = dict(DEFAULT_PATHS, **(params.get("paths") or {}))
    reader = Reader()
    result = {
        "os": reader.parse(paths["os_release"], os_release) or {},
        "disk": discover_disk(paths),
        "sites": discover_sites(paths, reader),
        "fpm_pools": discover_pools(paths, reader),
        "apps": discover_apps(paths, reader, params.get("env_value_keys") or ENV_VALUE_KEYS,
                              params.get("app_sizes", True)),
        "workers": discover_workers(paths, reader),
        "cron": discover_cron(paths, reader),
        "users": sorted(e.pw_name for e in pwd.getpwall() if e.pw_dir.startswith(paths["forge_home"])),
    }
    result["search"], errors = discover_search(paths, run_command)
    result["errors"] = reader.errors + errors
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "env_value_keys": {"type": "list", "elements": "str", "default": list(ENV_VALUE_KEYS), "no_log": False},
            "app_sizes": {"type": "bool", "default": True},
            "paths": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    module.exit_json(changed=False, discovery=discover(module.params, module.run_command))


if __name__ == "__main__":
    main()
