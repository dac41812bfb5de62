#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Which administrators' accounts or SSH keys the common role's tasks would change, read in one module run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: account_states
short_description: Say which administrators' account, group membership or SSH keys the admin tasks would change
description:
  - Reads, in one module run, the group, the accounts and the C(authorized_keys) files that the common role's
    admin tasks (roles/common/tasks/admins.yml) manage, and returns what those tasks would change. The role then
    runs M(ansible.builtin.group), M(ansible.builtin.user) and M(ansible.posix.authorized_key) only where there
    is work, instead of one module run for the group and two per administrator when nothing differs.
  - The group needs work when it does not exist (what M(ansible.builtin.group) would create).
  - A present administrator's account needs work when it does not exist, its login shell is not O(shell), it is
    not a listed member of O(group) (the check of M(ansible.builtin.user) with O(group) in C(groups) and
    C(append=true)), or its home directory is missing (which M(ansible.builtin.user) creates). An absent
    administrator's account needs work when it exists (what M(ansible.builtin.user) would remove).
  - A present administrator's keys need work unless its C(~/.ssh/authorized_keys) holds exactly its keys, in
    order, as M(ansible.posix.authorized_key) with C(exclusive=true) writes them (C(<type> <key> <comment>) per
    line). A key with options, of a type this module does not know, given twice, or an empty list, always counts
    as work, and M(ansible.posix.authorized_key) then decides as before.
  - The checks are never looser than those of these modules; a state they would accept that this module does not
    know counts as work.
  - Reads only; check mode reads too.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  group:
    description: The administrators' group (the common role's C(common_admin_group)).
    type: str
    required: true
  shell:
    description: The login shell the admin task gives every administrator.
    type: str
    required: true
  admins:
    description:
      - The administrators, shaped like the common role's C(common_admins) (other keys are ignored).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Unix login.
        type: str
        required: true
      ssh_keys:
        description: Public keys, one per element, that must be the only ones in its C(authorized_keys).
        type: list
        elements: str
        default: []
      state:
        description: C(absent) when the account must not exist.
        type: str
        choices: [present, absent]
        default: present
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - The options mirror the arguments of the tasks in roles/common/tasks/admins.yml; change both together.
"""

EXAMPLES = r"""
- name: Read the administrators' group, accounts and keys
  infra.hosting.account_states:
    group: admins
    shell: /bin/bash
    admins:
      - name: alice
        ssh_keys: ["ssh-ed25519 AAAAC3Nza... alice@laptop"]
  register: states

- name: Create the administrators that need it
  ansible.builtin.user:
    name: "{{ item.name }}"
    groups: [admins]
    append: true
    shell: /bin/bash
  loop: "{{ admins | selectattr('name', 'in', states.users_to_change) | list }}"
"""

RETURN = r"""
group_exists:
  description: Whether O(group) exists.
  returned: always
  type: bool
  sample: true
users_to_change:
  description: The administrators whose account the user task would create, change or remove.
  returned: always
  type: list
  elements: str
  sample: [alice]
keys_to_change:
  description: The present administrators whose C(authorized_keys) the authorized_key task would write.
  returned: always
  type: list
  elements: str
  sample: []
"""

import grp
import os
import pwd
import shlex

from ansible.module_utils.basic import AnsibleModule

# The key types ansible.posix.authorized_key knows. A line of another shape counts as work.
KEY_TYPES = frozenset([
    "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", "ssh-dss", "ssh-rsa", "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com", "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com", "ssh-dss-cert-v01@openssh.com",
])


def expected_keys_file(keys):
    """The text authorized_key (exclusive) writes for `keys`, or None when this module cannot tell it.

    Each key is written `<type> <key> <comment>` (the comment empty but the space kept). Keys with options, of an
    unknown type, given twice, or no key at all: None (counted as work).
    """
    # As the role's task hands them over (joined by newlines) and as authorized_key splits and parses them.
    lines = [k for k in "\n".join(keys or []).splitlines() if k and not k.startswith("#")]
    if not lines:
        return None
    out, seen = [], set()
    for line in lines:
        parts = _split(line)
        if len(parts) < 2 or parts[0] not in KEY_TYPES or parts[1] in seen:
            return None
        seen.add(parts[1])
        out.append("%s %s %s\n" % (parts[0], parts[1], " ".join(parts[2:])))
    return "".join(out)


def _split(line):
    """A key line split as ansible.posix.authorized_key splits it (shlex on whitespace, no quotes)."""
    lex = shlex.shlex(line.replace("\\#", "#"))
    lex.quotes = []
    lex.commenters = ""
    lex.whitespace_split = True
    return list(lex)


def user_needs_work(admin, group_entry, shell, getpwnam=pwd.getpwnam, exists=os.path.exists):
    """Whether ansible.builtin.user (groups [group], append, shell, state) would change the account."""
    try:
        entry = getpwnam(admin["name"])
    except KeyError:
        return admin.get("state", "present") != "absent"
    if admin.get("state", "present") == "absent":
        return True
    return (entry.pw_shell != shell or group_entry is None or admin["name"] not in group_entry.gr_mem
            or not exists(entry.pw_dir))


def keys_need_work(admin, getpwnam=pwd.getpwnam, read=None):
    """Whether ansible.posix.authorized_key (exclusive, present) would write the admin's authorized_keys."""
    wanted = expected_keys_file(admin.get("ssh_keys") or [])
    if wanted is None:
        return True
    try:
        home = getpwnam(admin["name"]).pw_dir
    except KeyError:
        return True
    path = os.path.join(home, ".ssh", "authorized_keys")
    text = (read or _read)(path)
    return text != wanted


def _read(path):
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def states(group, shell, admins, getgrnam=grp.getgrnam, getpwnam=pwd.getpwnam, exists=os.path.exists, read=None):
    """The module's result: group_exists, users_to_change, keys_to_change."""
    try:
        group_entry = getgrnam(group)
    except KeyError:
        group_entry = None
    users, keys = [], []
    for admin in admins or []:
        if user_needs_work(admin, group_entry, shell, getpwnam, exists):
            users.append(admin["name"])
        if admin.get("state", "present") == "present" and keys_need_work(admin, getpwnam, read):
            keys.append(admin["name"])
    return {"group_exists": group_entry is not None, "users_to_change": users, "keys_to_change": keys}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            group=dict(type="str", required=True),
            shell=dict(type="str", required=True),
            admins=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                ssh_keys=dict(type="list", elements="str", default=[], no_log=False),
                state=dict(type="str", choices=["present", "absent"], default="present"),
            )),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **states(module.params["group"], module.params["shell"], module.params["admins"]))


if __name__ == "__main__":
    main()
