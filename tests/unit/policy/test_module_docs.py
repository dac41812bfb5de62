"""Each module's DOCUMENTATION says what its argument_spec does (names, types, defaults, choices, required).

The module's main() is run with AnsibleModule replaced by a stub that keeps the argument_spec and
stops there (nothing else of the module runs). EXAMPLES and RETURN must be YAML as well.
"""

import importlib
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))


class Stop(Exception):
    pass


def argument_spec(module):
    seen = {}

    def stub(argument_spec, **kwargs):
        seen.update(argument_spec)
        raise Stop()

    original = module.AnsibleModule
    module.AnsibleModule = stub
    try:
        with pytest.raises(Stop):
            module.main()
    finally:
        module.AnsibleModule = original
    return seen


def test_every_module_is_checked():
    assert MODULES == ["config_files", "db_facts", "db_retire", "forge_env", "host_discover", "infra_audit", "release_prune", "search_migrate", "site_facts", "site_retire", "unit_states"]


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_argument_spec(name):
    module = importlib.import_module(name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == name
    documented = doc.get("options") or {}
    spec = argument_spec(module)
    assert sorted(documented) == sorted(spec), "options documented vs accepted"
    for option, rules in spec.items():
        described = documented[option]
        where = "%s: option %s" % (name, option)
        assert described.get("description"), where + " has no description"
        assert described.get("type", "str") == rules.get("type", "str"), where + ": type"
        assert described.get("default") == rules.get("default"), where + ": default"
        assert described.get("choices") == rules.get("choices"), where + ": choices"
        assert bool(described.get("required")) == bool(rules.get("required")), where + ": required"
        if rules.get("type") == "list":
            assert described.get("elements") == rules.get("elements"), where + ": elements"


@pytest.mark.parametrize("name", MODULES)
def test_examples_and_return_are_yaml(name):
    module = importlib.import_module(name)
    assert yaml.safe_load(module.EXAMPLES)
    returned = yaml.safe_load(module.RETURN)
    assert returned and all("description" in v and "returned" in v for v in returned.values())
