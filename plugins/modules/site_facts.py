#!/usr/bin/python
# -*- coding: utf-8 -*-
"""List everything that serves a site on a host, who claims it, its size and its traffic."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: site_facts
short_description: List the Nginx vhosts, FPM pools, workers, cron entries, directories and certificates of a host
description:
  - Reads (never writes) the host's Nginx server blocks, PHP-FPM pools and per-site FPM units,
    queue-worker units (systemd and Supervisor), cron entries running artisan (C(/etc/cron.d) and
    user crontabs), site directories (C(/srv/www/<site>) and Forge's C(/home/forge/<domain>)),
    certificates (C(/etc/ssl/sites/<site>)) and certbot renewal configurations.
  - For each item, the site of the data model that claims it (or none), the disk it uses and, for
    sites and unclaimed vhosts, traffic evidence from the access logs (every rotation, C(.1) and
    C(.gz) included) with the window the logs actually cover.
  - A file that does not parse (for example unbalanced braces) fails the module with the file
    and line; nothing is ever removed by this module.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
  - infra.hosting.site_scan
options:
  sites:
    description: The data model's sites (name to site dict with C(domains) and C(status)).
    type: dict
    required: true
  window_days:
    description: Days of access logs that count as recent traffic.
    type: int
    default: 14
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Inventory the sites of this host
  infra.hosting.site_facts:
    sites: "{{ datamodel_sites }}"
    window_days: 14
"""

RETURN = r"""
ansible_facts:
  description: C(site_cleanup_facts) with C(items), C(traffic) (per claimed site) and C(window).
  returned: always
  type: dict
  contains:
    site_cleanup_facts:
      description: The inventory.
      type: dict
      sample:
        window: {days: 14}
        items:
          - {kind: vhost, name: shop.conf, server_names: [shop.example.com], claimed_by: null, size_bytes: 512}
        traffic:
          shop: {requests: 0, ignored: 3, window: {covered_from: "2026-11-10T00:00:00+00:00"}}
"""

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.site_parse import ParseError, site_identities
from ansible_collections.infra.hosting.plugins.module_utils.site_scan import DEFAULT_PATHS, orphan_log_bases, scan, site_log_bases, traffic
from ansible_collections.infra.hosting.plugins.module_utils.common_args import SITE_SCAN_ARGS


def gather(sites, window_days, ignore_paths, ignore_addresses, paths, run_command, now=None):
    """The facts: items with claims and sizes, traffic per site and per unclaimed vhost."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    paths = dict(DEFAULT_PATHS, **(paths or {}))
    identities = site_identities(sites)
    items = scan(paths, identities, run_command)
    per_site = {}
    for site, ident in identities.items():
        if any(i["claimed_by"] == site for i in items):
            per_site[site] = traffic(site_log_bases(site, ident, items, paths["nginx_log_dir"]),
                                     now, window_days, ignore_paths, ignore_addresses)
    for item in items:
        if item["kind"] == "vhost" and not item["claimed_by"]:
            item["traffic"] = traffic(orphan_log_bases(item, paths["nginx_log_dir"]),
                                      now, window_days, ignore_paths, ignore_addresses)
    return {"generated_at": now.replace(microsecond=0).isoformat(), "window": {"days": window_days},
            "items": items, "traffic": per_site,
            "statuses": {site: ident["status"] for site, ident in identities.items()}}


def main():
    module = AnsibleModule(
        argument_spec=dict({
            "sites": {"type": "dict", "required": True},
            "window_days": {"type": "int", "default": 14},
        }, **SITE_SCAN_ARGS),
        supports_check_mode=True,
    )
    p = module.params
    try:
        facts = gather(p["sites"], p["window_days"], p["ignore_paths"], p["ignore_addresses"], p["paths"],
                       module.run_command)
    except ParseError as exc:
        module.fail_json(msg="Cannot parse a configuration file, nothing is removed: %s" % exc)
    module.exit_json(changed=False, ansible_facts={"site_cleanup_facts": facts})


if __name__ == "__main__":
    main()
