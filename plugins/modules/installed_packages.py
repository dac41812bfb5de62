#!/usr/bin/python
# -*- coding: utf-8 -*-
"""The names of the Debian packages installed on the host, and nothing else about them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: installed_packages
short_description: List the names of the installed Debian packages
description:
  - Runs C(dpkg-query -W) once and returns the sorted names of the packages dpkg has fully installed (state
    C(ii), that is wanted for install, installed, no error flag). A package half-installed, unpacked only,
    removed with its configuration kept, or in error is left out, so that apt is asked for it again.
  - Names only, without versions or architectures. M(ansible.builtin.package_facts) returns each package's
    versions, architecture, source and origin as facts (about 68 KB of a Debian host's 97 KB of facts), which
    are cached and decoded again on every later task of the host; the roles only ask whether a name is
    installed (the C(infra.hosting.packages_missing) filter).
  - Reads only; check mode reads too.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Debian and derivatives only (dpkg).
  - Returns no facts. Register the result; playbooks/tasks/installed_packages.yml keeps the names as the run's
    C(installed_packages).
"""

EXAMPLES = r"""
- name: Read the names of the installed packages
  infra.hosting.installed_packages:
  register: installed

- name: Install nginx only where it is missing
  ansible.builtin.apt:
    name: nginx
  when: "['nginx'] | infra.hosting.packages_missing(installed.names, true) | length > 0"
"""

RETURN = r"""
names:
  description: The names of the packages in state C(ii), sorted, each once.
  returned: always
  type: list
  elements: str
  sample: [ca-certificates, nginx, openssl]
"""

from ansible.module_utils.basic import AnsibleModule

# dpkg's abbreviated state (desired, status, error flag: "ii " when all is well), then the name.
QUERY_FORMAT = "${db:Status-Abbrev} ${Package}\\n"


def parse_installed(text):
    """The sorted names of the lines whose state is exactly ``ii`` (its third character, the error flag, blank)."""
    return sorted({line[3:].strip() for line in text.splitlines() if line[:3] == "ii " and line[3:].strip()})


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    dpkg_query = module.get_bin_path("dpkg-query", required=True)
    rc, out, err = module.run_command([dpkg_query, "-W", "-f", QUERY_FORMAT], environ_update={"LC_ALL": "C"})
    if rc != 0:
        module.fail_json(msg="dpkg-query -W failed: %s" % (err.strip() or out.strip()), rc=rc)
    module.exit_json(changed=False, names=parse_installed(out))


if __name__ == "__main__":
    main()
