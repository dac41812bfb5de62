#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Write several small configuration files (and their directories) in one module run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: config_files
short_description: Write a set of configuration files and directories in one call
description:
  - Makes each listed directory exist, then each listed file hold exactly O(files[].content) with its
    owner, group and mode, in one module run on the host instead of one run per file (a looped
    M(ansible.builtin.template) costs one round trip to the host per file, even when nothing changes;
    docs/benchmarks.md).
  - A file is given by its text (O(files[].content)) or by a role template (O(files[].template)), which the
    action plugin renders on the controller before the module runs.
  - A file whose content differs is written to a temporary file beside it, checked by O(files[].validate)
    when given, then moved into place atomically; owner, group and mode are corrected where they differ.
  - In check mode nothing is written; the files and directories that would change are returned, and with
    C(--diff) each file's before and after.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  files:
    description: The files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description:
          - The whole content of the file. Give either this or O(files[].template).
        type: str
      template:
        description:
          - A template of the role (its C(templates/) directory), rendered on the controller by this
            module's action plugin the way M(ansible.builtin.template) renders its source; the module then
            receives its text as O(files[].content). Cheaper on the controller than a
            C(lookup('ansible.builtin.template')) in the task's arguments, which copies every variable of
            the host for each file.
        type: str
      template_vars:
        description: Extra variables for O(files[].template) only (for example the C(item) of a site).
        type: dict
      owner:
        description: Owner of the file.
        type: str
        default: root
      group:
        description: Group of the file.
        type: str
        default: root
      mode:
        description: Mode of the file, as an octal string such as C("0644").
        type: raw
        default: "0644"
      validate:
        description: Command checking the new file before it replaces the old one; C(%s) is its path.
        type: str
      secret:
        description:
          - The file holds secrets (a site's C(.env)). The action plugin hands its text to the module in
            O(secret_contents), which is C(no_log), so the text never appears in the task's result, its
            invocation or the host's log. With C(--diff) the file's diff shows each C(NAME=value) line as
            C(NAME=<hidden>), marked C((old)) or C((new)) where the line differs, and any other non-blank line
            as C(<hidden line>); it tells which names are added, removed or changed, never a value.
        type: bool
        default: false
  secret_contents:
    description:
      - The text of the files marked O(files[].secret), keyed by their O(files[].dest). Filled by the action
        plugin from those files' O(files[].content) or O(files[].template); not meant to be set in a task.
    type: dict
    default: {}
  directories:
    description: Directories that must exist before the files are written (created with their parents).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner:
        description: Owner of the directory.
        type: str
        default: root
      group:
        description: Group of the directory.
        type: str
        default: root
      mode:
        description: Mode of the directory.
        type: raw
        default: "0755"
  links:
    description:
      - Symbolic links that must exist and point to O(links[].src), made after the files are written (a link
        pointing elsewhere is replaced; a file or directory in its place fails the task).
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description: What the link points to (it need not exist yet).
        type: path
        required: true
      dest:
        description: Absolute path of the link.
        type: path
        required: true
  absent:
    description:
      - Files (or symbolic links) that must not exist, removed after the files are written; a directory
        listed here fails the task.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - A file holding secrets is marked O(files[].secret); without it, C(--diff) shows the file's content.
"""

EXAMPLES = r"""
- name: Write the banners and the login shell settings
  infra.hosting.config_files:
    directories:
      - {path: /etc/security/pwquality.conf.d, mode: "0755"}
    files:
      - dest: /etc/issue
        template: etc/issue.j2
      - dest: /usr/local/sbin/check
        content: "#!/bin/sh\nexit 0\n"
        mode: "0750"
      - dest: /etc/ssh/sshd_config.d/90-site.conf
        content: "PermitRootLogin no\n"
        validate: /usr/sbin/sshd -t -f %s

- name: Write a site's units and its .env (values never shown)
  infra.hosting.config_files:
    files:
      - dest: /etc/systemd/system/shop-worker@.service
        template: etc/systemd/system/site-worker@.service.j2
      - dest: /srv/www/shop/shared/.env
        template: srv/www/site/shared/env.j2
        owner: shop
        group: shop
        mode: "0600"
        secret: true
"""

RETURN = r"""
changed_files:
  description: Files whose content, owner, group or mode changed (or would, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/issue]
changed_directories:
  description: Directories created or whose owner, group or mode changed.
  returned: always
  type: list
  elements: str
  sample: [/etc/aide]
changed_links:
  description: Links of O(links) created or pointed elsewhere (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/nginx/sites-enabled/shop.conf]
removed:
  description: Paths of O(absent) that existed and were removed (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/shop-scheduler.timer]
"""

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=")


def secret_view(text, other, mark):
    """A secret file's text as its diff shows it: names, never values.

    Each NAME=value line becomes ``NAME=<hidden>``, any other non-blank line ``<hidden line>``; a line that
    is not in ``other`` (the file's other version) gets ``mark`` ("old" on the before side, "new" on the
    after side), so a changed value shows as one line removed and one added. With no other version (a new
    file), nothing is marked.
    """
    if text is None:
        return ""
    others = set(other.splitlines()) if other is not None else None
    shown = []
    for line in text.splitlines():
        if not line.strip():
            shown.append("")
            continue
        match = _ASSIGNMENT.match(line)
        view = "%s=<hidden>" % match.group(1) if match else "<hidden line>"
        if others is not None and line not in others:
            view += " (%s)" % mark
        shown.append(view)
    return "\n".join(shown) + ("\n" if shown else "")


def file_diff(spec, current):
    """The diff entry of one file (``current`` is its text now, None when it does not exist)."""
    dest = spec["dest"]
    before_header = dest if current is not None else "%s (absent)" % dest
    if spec.get("secret"):
        return {"before_header": before_header + " (secret: values hidden)",
                "after_header": dest + " (secret: values hidden)",
                "before": secret_view(current, spec["content"], "old"),
                "after": secret_view(spec["content"], current, "new")}
    return {"before_header": before_header, "after_header": dest,
            "before": current if current is not None else "", "after": spec["content"]}


def _attributes(module, path, spec):
    """The file-attribute arguments of AnsibleModule for one path."""
    params = {"path": path, "owner": spec.get("owner"), "group": spec.get("group"), "mode": spec.get("mode")}
    return module.load_file_common_arguments(params, path=path)


def ensure_directory(module, spec):
    """Create a directory (with its parents) and set its attributes; True when something changed."""
    path = spec["path"]
    changed = False
    if not os.path.isdir(path):
        if os.path.exists(path):
            module.fail_json(msg="%s exists and is not a directory" % path)
        changed = True
        if not module.check_mode:
            os.makedirs(path)
    if os.path.isdir(path):
        changed = module.set_fs_attributes_if_different(_attributes(module, path, spec), changed)
    return changed


def ensure_file(module, spec, diffs):
    """Make one file hold its content and attributes; True when something changed."""
    dest = spec["dest"]
    wanted = to_bytes(spec["content"], errors="surrogate_or_strict")
    current = _read(dest)
    changed = False
    if current != wanted:
        changed = True
        if module._diff:
            diffs.append(file_diff(spec, to_native(current, errors="surrogate_or_replace") if current is not None else None))
        if module.check_mode:
            return True
        directory = os.path.dirname(dest)
        if not os.path.isdir(directory):
            module.fail_json(msg="the directory of %s does not exist (list it under directories)" % dest)
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(dest))
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(wanted)
            if spec.get("validate"):
                if "%s" not in spec["validate"]:
                    module.fail_json(msg="validate of %s must contain %%s" % dest)
                rc, out, err = module.run_command(spec["validate"] % tmp)
                if rc != 0:
                    module.fail_json(msg="%s failed validation, not written: %s" % (dest, (err or out).strip()),
                                     rc=rc, stdout=out, stderr=err)
            module.set_fs_attributes_if_different(_attributes(module, tmp, spec), True)
            module.atomic_move(tmp, dest, unsafe_writes=False)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    if current is not None or not module.check_mode:
        changed = module.set_fs_attributes_if_different(_attributes(module, dest, spec), changed)
    return changed


def ensure_link(module, spec, diffs):
    """Make dest a symbolic link to src; True when it was created or changed."""
    src, dest = spec["src"], spec["dest"]
    if os.path.islink(dest):
        current = os.readlink(dest)
        if current == src:
            return False
    elif os.path.lexists(dest):
        module.fail_json(msg="%s exists and is not a symbolic link" % dest)
    else:
        current = None
    if module._diff:
        diffs.append({"before_header": dest, "after_header": dest,
                      "before": "-> %s\n" % current if current else "", "after": "-> %s\n" % src})
    if not module.check_mode:
        directory = os.path.dirname(dest)
        tmp = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(dest), os.getpid()))
        os.symlink(src, tmp)
        os.rename(tmp, dest)  # atomic: the old link is replaced, never missing
    return True


def ensure_absent(module, path, diffs):
    """Remove a file or symbolic link; True when it existed."""
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.path.islink(path):
        module.fail_json(msg="%s is a directory: absent removes files and links only" % path)
    if module._diff:
        diffs.append({"before_header": path, "after_header": "%s (absent)" % path, "before": "", "after": ""})
    if not module.check_mode:
        os.unlink(path)
    return True


def main():
    file_spec = dict(
        dest=dict(type="path", required=True),
        content=dict(type="str"),
        template=dict(type="str"),
        template_vars=dict(type="dict"),
        owner=dict(type="str", default="root"),
        group=dict(type="str", default="root"),
        mode=dict(type="raw", default="0644"),
        validate=dict(type="str"),
        secret=dict(type="bool", default=False),
    )
    directory_spec = dict(
        path=dict(type="path", required=True),
        owner=dict(type="str", default="root"),
        group=dict(type="str", default="root"),
        mode=dict(type="raw", default="0755"),
    )
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", default=[], options=file_spec),
            directories=dict(type="list", elements="dict", default=[], options=directory_spec),
            links=dict(type="list", elements="dict", default=[], options=dict(
                src=dict(type="path", required=True), dest=dict(type="path", required=True))),
            absent=dict(type="list", elements="path", default=[]),
            secret_contents=dict(type="dict", default={}, no_log=True),
        ),
        supports_check_mode=True,
    )
    for spec in module.params["files"]:
        if spec["secret"]:
            if spec["content"] is not None:
                # Its text would be in the invocation and the host's log: only secret_contents is no_log.
                module.fail_json(msg="%s: a secret file's text goes in secret_contents (the action plugin "
                                     "infra.hosting.config_files moves it there; call the module by that name)" % spec["dest"])
            spec["content"] = module.params["secret_contents"].get(spec["dest"])
        if spec["content"] is None:
            # Only the action plugin renders templates: reached when the module runs without it.
            module.fail_json(msg="%s: no content (a template is rendered by the action plugin "
                                 "infra.hosting.config_files; call the module by that name)" % spec["dest"])
    changed_directories = [d["path"] for d in module.params["directories"] if ensure_directory(module, d)]
    diffs = []
    changed_files = []
    for spec in module.params["files"]:
        if module.check_mode and not os.path.isdir(os.path.dirname(spec["dest"])):
            changed_files.append(spec["dest"])  # its directory is created by the real run
            if module._diff:
                diffs.append(file_diff(spec, None))
            continue
        if ensure_file(module, spec, diffs):
            changed_files.append(spec["dest"])
    changed_links = [link["dest"] for link in module.params["links"] if ensure_link(module, link, diffs)]
    removed = [path for path in module.params["absent"] if ensure_absent(module, path, diffs)]
    module.exit_json(changed=bool(changed_files or changed_directories or changed_links or removed),
                     changed_files=changed_files, changed_directories=changed_directories,
                     changed_links=changed_links, removed=removed, diff=diffs)


if __name__ == "__main__":
    main()
