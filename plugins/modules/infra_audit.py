#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Append one line to the host's audit log: who did what to which site (the console's actor)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: infra_audit
short_description: Record an operator action in the host's audit log
description:
  - Appends one JSON object to the audit log (fields ts, actor, action, target, host, details, result),
    the format the cleanup modules write (module_utils cleanup_common's audit_append).
  - The web console passes the person's user name as O(actor); from the command line pass C(-e actor=NAME).
  - In check mode nothing is written and the line that would be written is returned.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
  - infra.hosting.audit
options:
  actor:
    description: Who acted (the console's user name).
    type: str
    required: true
  action:
    description: What was done (deploy, rollback, env, artisan, ...).
    type: str
    required: true
  target:
    description: What it was done to (the site).
    type: str
    required: true
  details:
    description: Parameters of the action (no secret).
    type: dict
    default: {}
  result:
    description: Outcome recorded.
    type: str
    default: ok
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Record the deploy in the audit log
  infra.hosting.infra_audit:
    actor: "{{ actor }}"
    action: deploy
    target: "{{ site }}"
    details:
      ref: "{{ ref | default('') }}"
"""

RETURN = r"""
record:
  description: The line written (or that would be written in check mode).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.cleanup_common import audit_append
from ansible_collections.infra.hosting.plugins.module_utils.common_args import AUDIT_ARGS


def record_action(params, check_mode):
    """(changed, record) for the module's parameters; writes nothing in check mode."""
    record = {key: params[key] for key in ("actor", "action", "target", "details", "result")}
    if check_mode:
        # What would be written (ts and host are filled in when it is).
        return False, record
    return True, audit_append(params["audit_log"], record)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            actor=dict(type="str", required=True),
            action=dict(type="str", required=True),
            target=dict(type="str", required=True),
            details=dict(type="dict", default={}),
            result=dict(type="str", default="ok"),
            **AUDIT_ARGS,
        ),
        supports_check_mode=True,
    )
    try:
        changed, record = record_action(module.params, module.check_mode)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="audit log %s: %s" % (module.params["audit_log"], exc))
    module.exit_json(changed=changed, record=record)


if __name__ == "__main__":
    main()
