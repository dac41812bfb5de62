"""The house rules on modules that `ansible-test sanity` does not check (scripts/ansible_test.sh).

validate-modules already checks that DOCUMENTATION (with its fragments) says what the argument_spec does
(names, types, defaults, choices, required, elements) and that EXAMPLES and RETURN are valid. What is left
here is ours:
- every module supports check mode and says how (check_mode and diff_mode support; their meaning is written
  once, in the doc fragment infra.hosting.attributes);
- an option several modules share (audit log, dumps and .env globs, the site scan's paths) is written once:
  documented by its fragment (plugins/doc_fragments) and specified by module_utils/common_args.py, never
  again in a module;
- EXAMPLES call the module by its collection name.

The module's main() is run with AnsibleModule replaced by a stub that keeps its arguments and stops there.
"""

import importlib
import os

import pytest
import yaml

from ansible_collections.infra.hosting.plugins.module_utils import common_args

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
FRAGMENTS = {"audit": common_args.AUDIT_ARGS, "databases": common_args.DB_ARGS, "site_scan": common_args.SITE_SCAN_ARGS}
# Same name and spec as a shared option, another meaning.
OWN = {("host_discover", "paths"): "the places Forge's files are read from, not the site scan's directories"}
SHARED = {option: fragment for fragment, spec in FRAGMENTS.items() for option in spec}


class Stop(Exception):
    pass


def module_kwargs(module):
    seen = {}

    def stub(**kwargs):
        seen.update(kwargs)
        raise Stop()

    original = module.AnsibleModule
    module.AnsibleModule = stub
    try:
        with pytest.raises(Stop):
            module.main()
    finally:
        module.AnsibleModule = original
    return seen


def _load(name):
    module = importlib.import_module("ansible_collections.infra.hosting.plugins.modules." + name)
    return module, yaml.safe_load(module.DOCUMENTATION)


def test_modules_are_found():
    assert "db_retire" in MODULES and "site_retire" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_check_mode_supported_and_described_once(name):
    module, doc = _load(name)
    assert module_kwargs(module).get("supports_check_mode") is True, name + ": supports_check_mode=True"
    assert "infra.hosting.attributes" in (doc.get("extends_documentation_fragment") or []), name
    attributes = doc.get("attributes") or {}
    for attribute in ("check_mode", "diff_mode"):
        assert attributes.get(attribute, {}).get("support") in ("full", "partial", "none"), name + ": " + attribute


@pytest.mark.parametrize("name", MODULES)
def test_shared_options_come_from_their_fragment(name):
    module, doc = _load(name)
    spec = module_kwargs(module)["argument_spec"]
    fragments = doc.get("extends_documentation_fragment") or []
    for option, fragment in SHARED.items():
        if spec.get(option) != FRAGMENTS[fragment][option] or (name, option) in OWN:
            continue
        assert option not in (doc.get("options") or {}), "%s documents %s again: use infra.hosting.%s" % (name, option, fragment)
        assert "infra.hosting." + fragment in fragments, "%s takes %s without its fragment" % (name, option)


@pytest.mark.parametrize("name", MODULES)
def test_examples_use_the_collection_name(name):
    module, _ = _load(name)
    tasks = yaml.safe_load(module.EXAMPLES)
    assert tasks and all("infra.hosting." + name in task for task in tasks if name in str(task)), name


@pytest.mark.parametrize("name", sorted(FRAGMENTS))
def test_fragment_documents_exactly_the_shared_spec(name):
    fragment = importlib.import_module("ansible_collections.infra.hosting.plugins.doc_fragments." + name)
    options = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    spec = FRAGMENTS[name]
    assert sorted(options) == sorted(spec)
    for option, rules in spec.items():
        assert options[option]["type"] == rules["type"] and options[option].get("default") == rules.get("default"), option
        assert options[option].get("elements") == rules.get("elements"), option
