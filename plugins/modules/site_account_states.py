#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Which sites' system groups and users the php_fpm and laravel_app tasks would change, read in one module run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: site_account_states
short_description: Say which sites' group or user the group and user tasks would create or change
description:
  - Reads C(/etc/group), C(/etc/passwd) and C(/etc/shadow) once and returns, for the sites given, which group
    M(ansible.builtin.group) would create and which account M(ansible.builtin.user) would create or change, as
    the php_fpm role (every site of the host) and the laravel_app role (one site) call them. The roles then run
    those modules only where there is work, instead of two module runs per site when nothing differs.
  - A site's group needs work when it does not exist.
  - A site's user needs work when it does not exist, its primary group is not the site's group (or that group
    does not exist), its home is not O(accounts[].home), its login shell is not O(accounts[].shell), its password
    field in C(/etc/shadow) is not O(accounts[].password) (or C(/etc/shadow) cannot be read), or, with
    O(accounts[].only_own_group), it is a listed member of any group (the user task's C(groups=[]) without
    C(append)).
  - With O(member), also says of which sites' groups that account is not a listed member (the php_fpm task that
    adds the web server to every site's group, with C(append=true)).
  - The checks are never looser than those of these modules; a state this module does not know counts as work.
  - Reads only; check mode reads too.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  accounts:
    description: The sites' accounts, each named after its site (the group and the user share the name).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The site, its group and its user.
        type: str
        required: true
      home:
        description: The home directory the user task gives the account.
        type: path
        required: true
      shell:
        description: The login shell the user task gives the account.
        type: str
        default: /usr/sbin/nologin
      password:
        description: The password field the user task writes (C(!) locks the password).
        type: str
        default: "!"
      only_own_group:
        description: Whether the user task removes every supplementary group (C(groups=[]), C(append=false)).
        type: bool
        default: false
  member:
    description: An account that must be a listed member of every site's group (the web server's user).
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - The options mirror the arguments of the group and user tasks in roles/php_fpm/tasks/configure.yml and
    roles/laravel_app/tasks/install.yml; change both together.
"""

EXAMPLES = r"""
- name: Read the groups and users of every site
  infra.hosting.site_account_states:
    accounts:
      - {name: blcpa, home: /srv/www/blcpa, only_own_group: true}
      - {name: aeroweb, home: /srv/www/aeroweb, only_own_group: true}
    member: www-data
  register: accounts

- name: Create the group of every site that has none
  ansible.builtin.group:
    name: "{{ item }}"
  loop: "{{ accounts.groups_to_create }}"
"""

RETURN = r"""
groups_to_create:
  description: The sites whose group does not exist.
  returned: always
  type: list
  elements: str
  sample: [blcpa]
users_to_change:
  description: The sites whose user the user task would create or change.
  returned: always
  type: list
  elements: str
  sample: [blcpa]
member_missing:
  description: The sites whose group does not list O(member) (empty without O(member)).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule


def read_table(path):
    """The lines of a colon-separated account file, split; None when it cannot be read."""
    try:
        with open(path) as handle:
            return [line.rstrip("\n").split(":") for line in handle if line.strip() and not line.startswith("#")]
    except (IOError, OSError, UnicodeDecodeError):
        return None


def states(accounts, member=None, group_rows=None, passwd_rows=None, shadow_rows=None):
    """The module's result from the rows of /etc/group, /etc/passwd and /etc/shadow (None: unreadable)."""
    groups = {}
    for row in group_rows or []:
        if len(row) >= 4:
            groups[row[0]] = {"gid": row[2], "members": [m for m in row[3].split(",") if m]}
    users = {row[0]: row for row in passwd_rows or [] if len(row) >= 7}
    shadow = None if shadow_rows is None else {row[0]: row for row in shadow_rows if len(row) >= 2}
    to_create, to_change, missing = [], [], []
    for account in accounts:
        name = account["name"]
        group = groups.get(name)
        if group is None:
            to_create.append(name)
        if user_needs_work(account, group, users.get(name), shadow, groups):
            to_change.append(name)
        if member and (group is None or member not in group["members"]):
            missing.append(name)
    return {"groups_to_create": to_create, "users_to_change": to_change, "member_missing": missing}


def user_needs_work(account, group, user, shadow, groups):
    """Whether ansible.builtin.user (group, home, shell, password, [groups=[]]) would change the account."""
    if user is None or group is None:
        return True
    if user[3] != group["gid"] or user[5] != account["home"] or user[6] != account.get("shell", "/usr/sbin/nologin"):
        return True
    if shadow is None or account["name"] not in shadow or shadow[account["name"]][1] != account.get("password", "!"):
        return True
    if account.get("only_own_group"):
        return any(account["name"] in entry["members"] for entry in groups.values())
    return False


def main():
    module = AnsibleModule(
        argument_spec=dict(
            accounts=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                home=dict(type="path", required=True),
                shell=dict(type="str", default="/usr/sbin/nologin"),
                password=dict(type="str", default="!", no_log=False),
                only_own_group=dict(type="bool", default=False),
            )),
            member=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    result = states(module.params["accounts"], module.params["member"], read_table("/etc/group"),
                    read_table("/etc/passwd"), read_table("/etc/shadow"))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
