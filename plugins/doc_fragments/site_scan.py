# -*- coding: utf-8 -*-
"""Options of the modules that scan a host's sites and their traffic (argument spec: module_utils/common_args.py
SITE_SCAN_ARGS)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  paths:
    description: Overrides of the directories scanned (keys of C(DEFAULT_PATHS) in module_utils C(site_scan)).
    type: dict
    default: {}
  ignore_paths:
    description: Request paths that are health checks and never count as traffic.
    type: list
    elements: str
    default: ['/up']
  ignore_addresses:
    description: Client addresses of the local monitoring; their requests never count as traffic.
    type: list
    elements: str
    default: ['127.0.0.1', '::1']
"""
