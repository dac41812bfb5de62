#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Everything the OS baseline (roles/os_hardening) reads before it acts, read in one module run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: baseline_state
short_description: Read the live kernel settings, file modes, password aging and pending security updates at once
description:
  - The reads of the OS baseline (roles/os_hardening) in one module run on the host instead of one per read (each
    run starts Python under sudo on the host, about 0.35 CPU-second; docs/benchmarks.md). The role's tasks then
    act only on what differs, as they did after their separate reads.
  - O(sysctl_keys) are read with one C(sysctl -n) (its output lines, in order, are returned as RV(sysctl_lines));
    an unknown key fails the task, as C(sysctl) does.
  - O(stat_paths) are read with one C(stat -c '%n|%U|%G|%a' --) (RV(stat_lines)); a missing path is left out
    (nothing to enforce there), any other error fails the task.
  - O(aging_exempt) are the accounts whose password must never expire; RV(aging_to_change) names those that exist
    and whose shadow entry has a maximum password age (what M(ansible.builtin.user) with C(password_expire_max=-1)
    would change; an account without a shadow entry is left alone by that module too).
  - With O(security_updates), one C(apt-get -s dist-upgrade) lists the packages whose pending upgrade comes from a
    C(-security) archive (RV(security_pending)).
  - O(exists) are paths whose existence is returned (RV(existing)), for tasks guarded by C(creates).
  - Reads only; check mode reads too.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  sysctl_keys:
    description: Kernel settings to read live (nothing is run when empty).
    type: list
    elements: str
    default: []
  stat_paths:
    description: Paths whose owner, group and mode are read (nothing is run when empty).
    type: list
    elements: path
    default: []
  aging_exempt:
    description: Accounts whose password must never expire.
    type: list
    elements: str
    default: []
  security_updates:
    description: List the pending security updates.
    type: bool
    default: false
  exists:
    description: Paths whose existence is reported.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Debian and derivatives (C(apt-get), C(/etc/shadow)).
"""

EXAMPLES = r"""
- name: Read what the baseline compares
  infra.hosting.baseline_state:
    sysctl_keys: [net.ipv4.ip_forward, kernel.kptr_restrict]
    stat_paths: [/etc/shadow, /etc/crontab]
    aging_exempt: [alice]
    security_updates: true
    exists: [/var/lib/aide/aide.db]
  register: baseline

- name: Keep the key-only accounts out of password aging
  ansible.builtin.user:
    name: "{{ item }}"
    password_expire_max: -1
  loop: "{{ baseline.aging_to_change }}"
"""

RETURN = r"""
sysctl_lines:
  description: The output lines of C(sysctl -n) for O(sysctl_keys), in their order.
  returned: always
  type: list
  elements: str
  sample: ["0", "2"]
stat_lines:
  description: C(<path>|<owner>|<group>|<octal mode>) for each path of O(stat_paths) that exists.
  returned: always
  type: list
  elements: str
  sample: ["/etc/shadow|root|shadow|640"]
aging_to_change:
  description: The accounts of O(aging_exempt) that exist and whose password has a maximum age.
  returned: always
  type: list
  elements: str
  sample: [alice]
security_pending:
  description: The packages with a pending upgrade from a C(-security) archive (empty without O(security_updates)).
  returned: always
  type: list
  elements: str
  sample: [openssl, libssl3]
existing:
  description: The paths of O(exists) that exist.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/aide/aide.db]
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule

STAT_FORMAT = "%n|%U|%G|%a"
MISSING = "No such file or directory"


def security_packages(simulation):
    """The packages of `apt-get -s dist-upgrade` output whose `Inst` line comes from a -security archive."""
    out = []
    for line in simulation.splitlines():
        if line.startswith("Inst ") and "-security" in line:
            fields = line.split()
            if len(fields) > 1:
                out.append(fields[1])
    return out


def stat_errors(stderr):
    """The lines of stat's stderr that are not about a missing path."""
    return [line for line in stderr.splitlines() if line.strip() and MISSING not in line]


def aging_to_change(accounts, shadow_text, getpwnam=pwd.getpwnam):
    """The `accounts` that exist and whose shadow entry has a maximum password age (field 5 not empty nor -1)."""
    max_age = {}
    for line in shadow_text.splitlines():
        fields = line.split(":")
        if len(fields) >= 5:
            max_age[fields[0]] = fields[4].strip()
    out = []
    for name in accounts:
        try:
            getpwnam(name)
        except KeyError:
            continue
        if name in max_age and max_age[name] not in ("", "-1"):
            out.append(name)
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sysctl_keys=dict(type="list", elements="str", default=[], no_log=False),
            stat_paths=dict(type="list", elements="path", default=[]),
            aging_exempt=dict(type="list", elements="str", default=[]),
            security_updates=dict(type="bool", default=False),
            exists=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    env = {"LC_ALL": "C"}
    result = dict(changed=False, sysctl_lines=[], stat_lines=[], aging_to_change=[], security_pending=[], existing=[])

    if params["sysctl_keys"]:
        rc, out, err = module.run_command([module.get_bin_path("sysctl", required=True), "-n"] + params["sysctl_keys"],
                                          environ_update=env)
        if rc != 0:
            module.fail_json(msg="sysctl -n failed: %s" % (err.strip() or out.strip()), rc=rc, **result)
        result["sysctl_lines"] = out.splitlines()

    if params["stat_paths"]:
        rc, out, err = module.run_command([module.get_bin_path("stat", required=True), "-c", STAT_FORMAT, "--"]
                                          + params["stat_paths"], environ_update=env)
        # A missing path makes stat exit 1 (nothing to enforce there); anything else is a failure.
        if rc not in (0, 1) or stat_errors(err):
            module.fail_json(msg="stat failed: %s" % err.strip(), rc=rc, **result)
        result["stat_lines"] = out.splitlines()

    if params["aging_exempt"]:
        rc, out, err = module.run_command([module.get_bin_path("getent", required=True), "shadow"], environ_update=env)
        # getent exits 2 when the database is empty: no account has an age to remove then.
        if rc not in (0, 2):
            module.fail_json(msg="getent shadow failed: %s" % err.strip(), rc=rc, **result)
        result["aging_to_change"] = aging_to_change(params["aging_exempt"], out)

    if params["security_updates"]:
        rc, out, err = module.run_command([module.get_bin_path("apt-get", required=True), "-s", "-o",
                                           "Debug::NoLocking=1", "dist-upgrade"], environ_update=env)
        if rc != 0:
            module.fail_json(msg="apt-get -s dist-upgrade failed: %s" % (err.strip() or out.strip()), rc=rc, **result)
        result["security_pending"] = security_packages(out)

    result["existing"] = [path for path in params["exists"] if os.path.exists(path)]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
