# -*- coding: utf-8 -*-
"""Compile each Jinja template the controller renders once, and keep its compiled code between runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: template_cache
type: aggregate
short_description: Jinja templates compiled once and kept between runs
description:
  - ansible-core 2.19 compiles a template string (Jinja's parse, then Python code generation and C(compile())) each
    time it renders it. A variable whose value is a template (C(__laravel_app_shared) is C("{{ __laravel_app_home
    }}/shared")) is rendered again for every task that reads it, in a worker process that ends with its task, so
    the same few thousand templates were compiled again and again (19 % of the controller's CPU in a no-op
    converge of the Laravel sites, C(py-spy), docs/benchmarks.md).
  - This callback, once ansible-playbook starts, makes ansible-core's Jinja environment keep the compiled code of
    each template it compiles, in memory for the process (each forked worker inherits what the main process
    compiled before the fork) and in O(cache_dir) between runs and between workers. Rendering is unchanged, each
    template is still rendered with the variables of its task and host; only the compiled code is reused.
  - The code is kept under a hash of the template's text and of everything its compiled form depends on, the
    environment's class, delimiters and whitespace settings (trim_blocks, lstrip_blocks, newline sequence,
    trailing newline), extensions, optimizer, autoescape and async settings, ansible-core's backslash escaping of
    the template being compiled, and the versions of Python, Jinja and ansible-core. A template with its own
    settings in a C(#jinja2:) header is compiled by an overlay environment with those settings, hence another key.
  - O(cache_dir) is created private to the controller's user (mode 0700) and not used when it is not private (the
    code kept there is executed by ansible-playbook); an entry that does not load is compiled again; entries older
    than O(max_age_days) are removed when a run starts. Deleting the folder is always safe.
  - Nothing a task does, returns or shows changes; the callback prints nothing. It wraps one method of
    ansible-core's Jinja environment (C(AnsibleEnvironment.compile), Jinja's C(Environment.compile)); with another
    ansible-core that has no such class, it warns once and templates are compiled as before.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
requirements:
  - enabled in C(callbacks_enabled) (ansible.cfg, and the Molecule scenarios' settings)
options:
  cache_dir:
    description: Where compiled templates are kept between runs; empty to keep them in memory only (per process).
    type: path
    default: ~/.ansible/template_code
    ini:
      - section: callback_template_cache
        key: cache_dir
    env:
      - name: INFRA_HOSTING_TEMPLATE_CACHE
  max_age_days:
    description: Entries older than this many days are removed when a run starts (0 keeps them).
    type: int
    default: 30
    ini:
      - section: callback_template_cache
        key: max_age_days
    env:
      - name: INFRA_HOSTING_TEMPLATE_CACHE_MAX_AGE
"""

import hashlib
import sys

import jinja2

from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ansible_version
from ansible_collections.infra.hosting.plugins.plugin_utils import code_cache

try:  # ansible-core 2.19+
    from ansible._internal._templating import _jinja_bits  # pylint: disable=ansible-bad-import-from
except ImportError:  # pragma: no cover - older cores are not supported by this collection
    _jinja_bits = None

PATCHED = "_infra_hosting_template_cache"
# What any compiled template depends on besides its own settings.
VERSIONS = "python %s, jinja %s, ansible-core %s" % (sys.version, jinja2.__version__, ansible_version)
# Settings Jinja's lexer, parser and code generator read, beyond the delimiters and whitespace options ansible-core
# lists (_TEMPLATE_OVERRIDE_FIELD_NAMES).
_MORE_SETTINGS = ("optimized", "is_async", "line_statement_prefix", "line_comment_prefix")


def compile_key(env, source, name, filename, defer_init):
    """The text every cache entry of this compilation is named by, or None when it must not be cached."""
    if _jinja_bits is None or getattr(env, "_debuggable_template_source", False):
        return None
    context = _jinja_bits._TemplateCompileContext.current(optional=True)
    settings = [getattr(env, field, None) for field in _jinja_bits._TEMPLATE_OVERRIDE_FIELD_NAMES]
    settings += [getattr(env, field, None) for field in _MORE_SETTINGS]
    settings += [sorted(env.extensions), bool(env.autoescape), callable(env.autoescape),
                 "%s.%s" % (type(env).__module__, type(env).__qualname__),
                 "%s.%s" % (env.code_generator_class.__module__, env.code_generator_class.__qualname__),
                 None if context is None else bool(context.escape_backslashes)]
    return repr((VERSIONS, settings, name, filename, bool(defer_init), str(source)))


def install(cache_dir=None, env_class=None):
    """Wrap `env_class.compile` (default: ansible-core's AnsibleEnvironment) so that compiled code is reused.

    Returns True if templates are now cached, False if there is no such class."""
    if env_class is None:
        env_class = getattr(_jinja_bits, "AnsibleEnvironment", None)
    if env_class is None:
        return False
    original = env_class.compile
    if getattr(original, PATCHED, False):
        return True
    memory = {}

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):  # pylint: disable=redefined-builtin
        # Only template text: a node tree (compile_expression) or raw Python source is compiled as before.
        key = None if raw or not isinstance(source, str) else compile_key(self, source, name, filename, defer_init)
        if key is None:
            return original(self, source, name, filename, raw, defer_init)
        code = memory.get(key)
        if code is not None:
            return code
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest() + ".jinja"
        if cache_dir:
            dummy, code = code_cache.load(cache_dir, digest)
        if code is None:
            code = original(self, source, name, filename, raw, defer_init)
            if cache_dir:
                code_cache.store(cache_dir, digest, code)
        memory[key] = code
        return code

    setattr(compile, PATCHED, True)
    compile.__wrapped__ = original
    env_class.compile = compile
    return True


class CallbackModule(CallbackBase):
    """Makes ansible-core's Jinja environment reuse compiled templates from the playbook's start; shows nothing."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "infra.hosting.template_cache"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.installed = False

    def v2_playbook_on_start(self, playbook):
        cache_dir = self.get_option("cache_dir") or None
        if cache_dir:
            code_cache.prune(cache_dir, self.get_option("max_age_days"))
        self.installed = install(cache_dir)
        if not self.installed:
            self._display.warning("infra.hosting.template_cache: this ansible-core has no AnsibleEnvironment; "
                                  "templates are compiled as before")
