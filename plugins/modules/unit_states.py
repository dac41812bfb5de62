#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Bring several systemd units to their wanted state (started/stopped, enabled/disabled, masked) in one run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: unit_states
short_description: Start, stop, enable, disable or mask several systemd units in one call
description:
  - Reads every listed unit with one C(systemctl show), then acts only on those that differ from what
    is asked, in one module run on the host instead of one M(ansible.builtin.systemd_service) run per
    unit (each costs a round trip to the host, even when nothing changes; docs/benchmarks.md).
  - Runs C(systemctl daemon-reload) first when systemd says a listed unit's file changed on disk
    (C(NeedDaemonReload)), or when a listed unit is not loaded yet.
  - A unit asked C(started) that systemd does not know fails the task, naming the unit; a unit asked
    C(stopped) that systemd does not know is already as asked.
  - A unit asked C(stopped) that has failed is not running, but its failure is kept by systemd and leaves the
    host C(degraded); its failure is forgotten (C(systemctl reset-failed)), which reports a change.
  - In check mode nothing is done; the actions that would be taken are returned.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  units:
    description: The units and their wanted state.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Unit name; C(.service) is assumed when no type is given.
        type: str
        required: true
      state:
        description: Running or not; omitted, the running state is left alone.
        type: str
        choices: [started, stopped]
      enabled:
        description: Started at boot or not; omitted, left alone.
        type: bool
      masked:
        description: Masked (cannot be started at all) or not; omitted, left alone.
        type: bool
  prune:
    description:
      - Unit name patterns (shell globs, as C(systemctl list-units) takes them); every loaded unit matching
        one of them and not listed in O(units) is stopped and disabled (for example the instances of a
        template unit that the data model no longer lists).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Restarts and reloads stay with M(ansible.builtin.systemd_service) in handlers.
"""

EXAMPLES = r"""
- name: Start and enable sshd and fail2ban
  infra.hosting.unit_states:
    units:
      - {name: ssh, state: started, enabled: true}
      - {name: fail2ban, state: started, enabled: true}

- name: Stop and mask Debian's shared FPM service
  infra.hosting.unit_states:
    units:
      - {name: php8.2-fpm, state: stopped, enabled: false, masked: true}

- name: Run the workers the data model lists, stop the others
  infra.hosting.unit_states:
    units:
      - {name: shop-worker@default-1, state: started, enabled: true}
    prune: ["shop-worker@*"]
"""

RETURN = r"""
actions:
  description: For each unit acted on (or that would be, in check mode), the systemctl verbs, in order.
  returned: always
  type: dict
  sample: {"nginx.service": ["enable", "start"]}
daemon_reloaded:
  description: Whether systemd re-read its unit files first (or would have, in check mode).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

PROPERTIES = ["Id", "LoadState", "ActiveState", "UnitFileState", "NeedDaemonReload"]
RUNNING = ("active", "activating", "reloading", "deactivating")
# Off before on: stop (or forget a failure), then disable, then mask; unmask, then enable, then start.
ORDER = ["stop", "reset-failed", "disable", "mask", "unmask", "enable", "start"]
ENABLED = ("enabled", "enabled-runtime", "static", "indirect", "generated", "alias", "linked", "linked-runtime")


def unit_name(name):
    """The full unit name systemd reports (nginx -> nginx.service)."""
    known = (".service", ".timer", ".socket", ".target", ".mount", ".path", ".slice", ".scope", ".swap",
             ".automount", ".device")
    return name if name.endswith(known) else name + ".service"


def parse_show(text, names):
    """Map each name to the properties of `systemctl show -p ... name...` (blocks in the order asked)."""
    blocks = text.strip().split("\n\n") if text.strip() else []
    states = {}
    for name, block in zip(names, blocks):
        props = {}
        for line in block.splitlines():
            key, _unused, value = line.partition("=")
            props[key] = value
        states[name] = props
    return states


def plan(units, states):
    """([(unit, [verbs])], reload_needed, [errors]) for the wanted units against their read states."""
    actions, errors, reload_needed = [], [], False
    for unit in units:
        name = unit_name(unit["name"])
        props = states.get(name, {})
        load = props.get("LoadState", "not-found")
        active = props.get("ActiveState", "inactive")
        file_state = props.get("UnitFileState", "")
        if props.get("NeedDaemonReload") == "yes":
            reload_needed = True
        verbs = []
        if load == "not-found":
            if unit.get("state") == "started" or unit.get("enabled") or unit.get("masked") is False:
                errors.append("unit %s: systemd does not know it (not installed?)" % name)
            elif unit.get("masked"):
                verbs.append("mask")
            if verbs:
                actions.append((name, verbs))
            continue
        if unit.get("masked") is True and load != "masked":
            verbs.append("mask")
        if unit.get("masked") is False and load == "masked":
            verbs.append("unmask")
            load = "loaded"
        if unit.get("enabled") is True and load != "masked" and file_state not in ENABLED:
            verbs.append("enable")
        if unit.get("enabled") is False and file_state in ("enabled", "enabled-runtime", "linked", "linked-runtime"):
            verbs.append("disable")
        if unit.get("state") == "started" and active not in RUNNING:
            if load == "masked" or unit.get("masked"):
                errors.append("unit %s: asked started but masked" % name)
            else:
                verbs.append("start")
        if unit.get("state") == "stopped" and active in RUNNING:
            verbs.append("stop")
        if unit.get("state") == "stopped" and active == "failed":
            # Stopped already, but its failure keeps the host "degraded" (systemctl is-system-running).
            verbs.append("reset-failed")
        if verbs:
            actions.append((name, sorted(verbs, key=ORDER.index)))
    return actions, reload_needed, errors


def pruned(list_units_output, wanted):
    """Units named by `systemctl list-units --plain --no-legend` output that are not wanted."""
    found = [line.split()[0] for line in list_units_output.splitlines() if line.strip()]
    return [name for name in found if name not in wanted]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            units=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                state=dict(type="str", choices=["started", "stopped"]),
                enabled=dict(type="bool"),
                masked=dict(type="bool"),
            )),
            prune=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    systemctl = module.get_bin_path("systemctl", required=True)
    units = list(module.params["units"])
    if module.params["prune"]:
        rc, out, err = module.run_command([systemctl, "list-units", "--all", "--plain", "--no-legend", "--full", "--"]
                                          + module.params["prune"])
        if rc != 0:
            module.fail_json(msg="systemctl list-units failed: %s" % err.strip(), rc=rc)
        units += [dict(name=name, state="stopped", enabled=False, masked=None)
                  for name in pruned(out, [unit_name(u["name"]) for u in units])]
    names = [unit_name(u["name"]) for u in units]

    def read():
        rc, out, err = module.run_command([systemctl, "show", "--property=" + ",".join(PROPERTIES), "--"] + names)
        if rc != 0:
            module.fail_json(msg="systemctl show failed: %s" % err.strip(), rc=rc)
        return parse_show(out, names)

    states = read()
    not_loaded = any(states.get(n, {}).get("LoadState") == "not-found" for n in names)
    actions, reload_needed, errors = plan(units, states)
    reloaded = False
    if (reload_needed or (not_loaded and errors)) and not module.check_mode:
        # A unit installed or changed in this run: systemd learns of it before anything is decided.
        rc, _unused, err = module.run_command([systemctl, "daemon-reload"])
        if rc != 0:
            module.fail_json(msg="systemctl daemon-reload failed: %s" % err.strip(), rc=rc)
        reloaded = True
        states = read()
        actions, _unused, errors = plan(units, states)
    elif reload_needed:
        reloaded = True
    if errors:
        module.fail_json(msg="; ".join(errors), actions=dict(actions), daemon_reloaded=reloaded)
    if not module.check_mode:
        for name, verbs in actions:
            for verb in verbs:
                rc, out, err = module.run_command([systemctl, verb, name])
                if rc != 0:
                    module.fail_json(msg="systemctl %s %s failed: %s" % (verb, name, (err or out).strip()), rc=rc,
                                     actions=dict(actions), daemon_reloaded=reloaded)
    module.exit_json(changed=bool(actions), actions=dict(actions), daemon_reloaded=reloaded)


if __name__ == "__main__":
    main()
