# -*- coding: utf-8 -*-
"""Argument specs of the options several modules share, written once (their documentation: plugins/doc_fragments,
same names). A module adds them to its own: ``argument_spec=dict(own_options, **AUDIT_ARGS)``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.infra.hosting.plugins.module_utils.cleanup_common import AUDIT_LOG
from ansible_collections.infra.hosting.plugins.module_utils.db_engine import DEFAULT_ENV_GLOBS

# doc fragment infra.hosting.audit
AUDIT_ARGS = dict(
    audit_log=dict(type="path", default=AUDIT_LOG),
)

# doc fragment infra.hosting.databases
DB_ARGS = dict(
    backup_root=dict(type="path", default="/var/backups/infra/databases"),
    env_globs=dict(type="list", elements="str", default=list(DEFAULT_ENV_GLOBS)),
)

# doc fragment infra.hosting.site_scan
SITE_SCAN_ARGS = dict(
    paths=dict(type="dict", default={}),
    ignore_paths=dict(type="list", elements="str", default=["/up"]),
    ignore_addresses=dict(type="list", elements="str", default=["127.0.0.1", "::1"]),
)
