#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Keep N releases of a site; never the current or the previous one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: release_prune
short_description: Delete a site's old releases, keeping N and always the current and the previous one
description:
  - Lists C(<path>/releases/*), finds the release C(<path>/current) points at, and removes the
    releases beyond the O(keep) newest (by name, as release ids are timestamps). The current release
    and the one before it are never removed, whatever O(keep) says; without a valid C(current)
    link the two newest stay.
  - Each removal goes to the audit log.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
  - infra.hosting.audit
options:
  path:
    description: The site directory (C(/srv/www/<site>)) holding C(releases/) and C(current).
    type: path
    required: true
  keep:
    description: Number of releases to keep (the current and the previous one stay in any case).
    type: int
    default: 5
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Keep five releases of the site
  infra.hosting.release_prune:
    path: /srv/www/aeroweb
    keep: 5
"""

RETURN = r"""
removed:
  description: Releases removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
kept:
  description: Releases kept.
  returned: always
  type: list
  elements: str
current:
  description: The current release id (or null).
  returned: always
  type: str
frees_bytes:
  description: Bytes freed.
  returned: always
  type: int
"""

import os
import shutil
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.cleanup_common import audit_append
from ansible_collections.infra.hosting.plugins.module_utils.site_parse import releases_to_prune
from ansible_collections.infra.hosting.plugins.module_utils.site_scan import size_of
from ansible_collections.infra.hosting.plugins.module_utils.common_args import AUDIT_ARGS


def main():
    module = AnsibleModule(
        argument_spec=dict({
            "path": {"type": "path", "required": True},
            "keep": {"type": "int", "default": 5},
        }, **AUDIT_ARGS),
        supports_check_mode=True,
    )
    path, keep = module.params["path"].rstrip("/"), module.params["keep"]
    if keep < 0:
        module.fail_json(msg="keep must be 0 or more")
    releases_dir = os.path.join(path, "releases")
    if not os.path.isdir(releases_dir):
        module.exit_json(changed=False, removed=[], kept=[], current=None, frees_bytes=0,
                         msg="%s has no releases/" % path)
    ids = sorted(r for r in os.listdir(releases_dir) if os.path.isdir(os.path.join(releases_dir, r))
                 and not os.path.islink(os.path.join(releases_dir, r)))
    current_link = os.path.join(path, "current")
    current = None
    if os.path.islink(current_link):
        target = os.path.realpath(current_link)
        if os.path.dirname(target) == os.path.realpath(releases_dir):
            current = os.path.basename(target)
    doomed = releases_to_prune(ids, current, keep)
    kept = [r for r in ids if r not in doomed]
    frees = sum(size_of(os.path.join(releases_dir, r)) for r in doomed)
    result = {"changed": bool(doomed), "removed": doomed, "kept": kept, "current": current, "frees_bytes": frees}
    if module._diff:
        result["diff"] = {"before": "\n".join(ids) + "\n", "after": "\n".join(kept) + "\n",
                          "before_header": releases_dir, "after_header": releases_dir}
    if doomed and not module.check_mode:
        for release in doomed:
            shutil.rmtree(os.path.join(releases_dir, release))
        audit_append(module.params["audit_log"], {
            "action": "release_prune.remove", "target": path, "host": socket.gethostname(),
            "details": {"removed": doomed, "kept": kept, "current": current, "frees_bytes": frees}})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
