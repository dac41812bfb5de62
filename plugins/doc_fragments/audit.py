# -*- coding: utf-8 -*-
"""The audit log option of the modules that act on a host (argument spec: module_utils/common_args.py AUDIT_ARGS)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  audit_log:
    description: The audit log, one JSON object per line (module_utils C(cleanup_common), C(AUDIT_LOG)).
    type: path
    default: /var/log/infra-audit.log
"""
