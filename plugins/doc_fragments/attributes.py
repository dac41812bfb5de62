# -*- coding: utf-8 -*-
"""What check mode and diff mode mean for every module of infra.hosting (each module states its support level)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Runs in check mode (C(--check)) and reports what it would change, without changing it.
  diff_mode:
    description: In diff mode (C(--diff)), returns what changed, or would change in check mode.
"""
