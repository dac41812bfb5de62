# -*- coding: utf-8 -*-
"""Action side of infra.hosting.config_files: render the files given as templates on the controller.

A file entry may name a role template (``template``, with optional ``template_vars``) instead of
passing its text (``content``). The template is rendered here, the way ansible.builtin.template renders
its source (the task's variables, ``ansible_managed`` and ``template_*``, the role's ``templates/`` search
path), then the module runs with the text. A file marked ``secret`` has its text moved to the module's
``secret_contents`` option, which is no_log: it never appears in the result, the invocation or the host's log.
A ``lookup('ansible.builtin.template', ...)`` in the task's arguments gives the same text but deep-copies every
variable of the host for each file: on a converge that writes tens of files per host that copy was a fifth of the
controller's CPU (docs/benchmarks.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

try:  # ansible-core 2.19+: the variables templates get (ansible_managed, template_path, ...)
    from ansible._internal._templating import _template_vars  # pylint: disable=ansible-bad-import-from
except ImportError:  # pragma: no cover - older cores are not supported by this collection
    _template_vars = None


class ActionModule(ActionBase):
    """Render ``files[].template`` entries, then run the module with every file's content."""

    TRANSFERS_FILES = False
    _requires_connection = True

    def _render(self, name, task_vars, extra_vars):
        try:
            source = self._find_needle("templates", name)
        except AnsibleError as exc:
            raise AnsibleActionFail("config_files: template %s not found: %s" % (name, to_text(exc)))
        template_data = trust_as_template(self._loader.get_text_file_contents(source))
        searchpath = []
        for path in list(task_vars.get("ansible_search_path", [])) + [self._loader._basedir, os.path.dirname(source)]:
            searchpath.extend([os.path.join(path, "templates"), path])
        # A shallow copy, as ansible.builtin.template takes: the values themselves are never modified.
        variables = task_vars.copy()
        if _template_vars is not None:
            variables.update(_template_vars.generate_ansible_template_vars(
                path=name, fullpath=source, include_ansible_managed="ansible_managed" not in variables))
        variables.update(extra_vars or {})
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        rendered = templar.template(template_data, escape_backslashes=False, overrides=dict(trim_blocks=True))
        return "" if rendered is None else to_text(rendered)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        files = []
        secret_contents = {}
        for entry in args.get("files") or []:
            if not isinstance(entry, dict):
                raise AnsibleActionFail("config_files: each entry of files must be a dict, got %r" % (entry,))
            entry = dict(entry)
            if "template" in entry:
                if entry.get("content") is not None:
                    raise AnsibleActionFail("config_files: %s has both content and template; give one"
                                            % entry.get("dest", entry["template"]))
                entry["content"] = self._render(entry.pop("template"), task_vars, entry.pop("template_vars", None))
            entry.pop("template_vars", None)
            if boolean(entry.get("secret", False), strict=False) and entry.get("content") is not None:
                # Into the module's no_log option: never in the invocation, the result or the host's log.
                secret_contents[entry["dest"]] = entry.pop("content")
            files.append(entry)
        args["files"] = files
        if secret_contents:
            args["secret_contents"] = secret_contents
        result.update(self._execute_module(module_name="infra.hosting.config_files", module_args=args,
                                           task_vars=task_vars))
        return result
