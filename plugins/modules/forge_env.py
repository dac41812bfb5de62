#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Merge the data model's values into the .env of a Forge site, keeping every other line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: forge_env
short_description: Merge values into a Laravel Forge site's .env, keeping the names the model does not know
description:
  - Reads O(path) (a Forge site's C(.env), which Forge's own editor reads from the server and writes back
    whole), sets each name of O(values) to its value, removes the names of O(remove), and keeps every other
    line (comments, blank lines, names unknown to the data model) where it is. A name whose value already
    equals the wanted one keeps its line byte for byte, so a second run changes nothing.
  - The file keeps its owner, group and mode (Forge's); the new text is written beside it and renamed over it.
  - Returns the names changed, added, removed and kept (present and unknown to the model), never a value.
  - Fails, writing nothing, when O(path) does not exist (the domain is not a Forge site of this host) or
    cannot be parsed (the line number is named, not its text).
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  path:
    description: The C(.env) to merge into, e.g. C(/home/forge/shop.test/.env).
    type: path
    required: true
  values:
    description: Names and values to set, secrets among them (the module's input is never logged).
    type: dict
    default: {}
  remove:
    description: Names to remove from the file (ignored for names also in O(values)).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Returns what would change, writes nothing.
  diff_mode:
    support: full
    details: The before and after list the names only, with C(<changed>) beside those whose value changes.
notes:
  - Used by roles/laravel_app (tasks/forge.yml) for sites of layout C(forge); docs/forge.md.
"""

EXAMPLES = r"""
- name: Merge the model's values into Forge's .env
  infra.hosting.forge_env:
    path: /home/forge/shop.test/.env
    values:
      APP_NAME: Shop
      QUEUE_CONNECTION: database
  no_log: true
  register: forge_env_result
"""

RETURN = r"""
changed_keys:
  description: Names present whose value changed.
  returned: always
  type: list
  elements: str
added_keys:
  description: Names appended at the end of the file.
  returned: always
  type: list
  elements: str
removed_keys:
  description: Names removed.
  returned: always
  type: list
  elements: str
kept_keys:
  description: Names present in the file and unknown to the model (not in O(values)), kept as they are.
  returned: always
  type: list
  elements: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.forge_parse import env_merge
from ansible_collections.infra.hosting.plugins.module_utils.site_parse import ParseError


def _names_diff(before_text, result):
    """Diff text of names only: values may be secrets."""
    marks = set(result["changed"])
    before = [line.split("=", 1)[0].strip() for line in before_text.splitlines()
              if "=" in line and not line.lstrip().startswith("#")]
    after = [n for n in before if n not in result["removed"]] + result["added"]
    return {"before": "\n".join(before) + "\n",
            "after": "\n".join(n + (" <changed>" if n in marks else "") for n in after) + "\n"}


def run(module):
    path = module.params["path"]
    if not os.path.isfile(path):
        module.fail_json(msg="%s: no such file: the domain is not a Forge site of this host / "
                             "ce domaine n'est pas un site Forge de cet hôte" % path)
    with open(path, encoding="utf-8") as handle:
        before = handle.read()
    try:
        result = env_merge(before, module.params["values"], module.params["remove"], source=path)
    except ParseError as error:
        module.fail_json(msg=str(error))
    changed = result["content"] != before
    if changed and not module.check_mode:
        info = os.stat(path)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".env.ansible-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(result["content"])
            os.chown(tmp, info.st_uid, info.st_gid)
            os.chmod(tmp, info.st_mode & 0o7777)
            os.rename(tmp, path)
        except OSError as error:
            if os.path.exists(tmp):
                os.unlink(tmp)
            module.fail_json(msg="%s: cannot write: %s" % (path, error.strerror))
    out = {"changed": changed, "changed_keys": result["changed"], "added_keys": result["added"],
           "removed_keys": result["removed"], "kept_keys": result["kept"]}
    if module._diff:
        out["diff"] = _names_diff(before, result)
    return out


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "values": {"type": "dict", "default": {}, "no_log": True},
            "remove": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
