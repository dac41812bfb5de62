# -*- coding: utf-8 -*-
"""Options of the database modules that read dumps and .env files (argument spec: module_utils/common_args.py DB_ARGS)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  backup_root:
    description: Root of the dumps, C(<root>/<engine>/<db>/<timestamp>.{sql.gz,dump}).
    type: path
    default: /var/backups/infra/databases
  env_globs:
    description: Glob patterns of the Laravel C(.env) files searched for C(DB_DATABASE) and friends
      (module_utils C(db_engine), C(DEFAULT_ENV_GLOBS)).
    type: list
    elements: str
    default: ['/srv/www/*/shared/.env', '/home/forge/*/.env']
"""
