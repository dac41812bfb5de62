"""forge_env (issue #17, point 4): the model's values merged into a Forge site's .env, every name the model
does not know kept in place and listed; malformed files refused naming the line; check mode writes nothing."""

import os
import stat
from pathlib import Path

from ansible_collections.infra.hosting.plugins.modules import forge_env
import pytest
from ansible_collections.infra.hosting.plugins.module_utils.forge_parse import env_merge, env_quote
from ansible_collections.infra.hosting.plugins.module_utils.site_parse import ParseError

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "forge"
SHOP = (FIXTURES / "shop.env").read_text()
MODEL = {"APP_NAME": "Shop (test)", "APP_ENV": "production", "DB_DATABASE": "shop_db", "QUEUE_CONNECTION": "redis",
         "LOG_CHANNEL": "single"}


def test_merge_keeps_unknown_names_in_place_and_lists_them():
    result = env_merge(SHOP, MODEL)
    assert result["changed"] == ["QUEUE_CONNECTION"] and result["added"] == ["LOG_CHANNEL"]
    assert result["kept"] == ["APP_KEY", "APP_DEBUG", "DB_CONNECTION", "DB_HOST", "DB_USERNAME", "DB_PASSWORD",
                              "CACHE_STORE", "SESSION_DRIVER", "MAIL_MAILER", "PRIVATE_CERT", "STRIPE_SECRET"]
    old, new = SHOP.splitlines(), result["content"].splitlines()
    # Same lines in the same place (comments, blanks, a multi-line value, export), one value changed, one added.
    assert [line for line in old if not line.startswith("QUEUE_CONNECTION=")] == \
           [line for line in new[:-1] if not line.startswith("QUEUE_CONNECTION=")]
    assert "QUEUE_CONNECTION=redis" in new and new[-1] == "LOG_CHANNEL=single"


def test_merge_is_a_no_op_when_the_values_are_there_even_quoted():
    once = env_merge(SHOP, MODEL)["content"]
    again = env_merge(once, MODEL)
    assert again["content"] == once and again["changed"] == again["added"] == []
    # APP_NAME was "Shop (test)" in double quotes: equal value, line kept byte for byte.
    assert 'APP_NAME="Shop (test)"' in once.splitlines()


def test_remove_and_quote():
    result = env_merge(SHOP, {"MAIL_FROM_NAME": 'Le "shop" $1'}, remove=["STRIPE_SECRET", "ABSENT"])
    assert result["removed"] == ["STRIPE_SECRET"] and "STRIPE_SECRET" not in result["content"]
    assert result["content"].splitlines()[-1] == 'MAIL_FROM_NAME="Le \\"shop\\" \\$1"'
    assert env_quote(True) == "true" and env_quote("a b") == '"a b"' and env_quote("base64:x/y+z=") == '"base64:x/y+z="'
    assert env_merge('A="Le \\"shop\\" \\$1"\n', {"A": 'Le "shop" $1'})["changed"] == []


@pytest.mark.parametrize("name,line", [("bad.env", 2), ("bad-quote.env", 1)])
def test_malformed_files_name_the_line_not_its_text(name, line):
    with pytest.raises(ParseError) as error:
        env_merge((FIXTURES / name).read_text(), MODEL, source=name)
    assert str(error.value).startswith("%s:%d:" % (name, line)) and "not a variable" not in str(error.value)


class FakeModule:
    def __init__(self, check=False, diff=False, **params):
        self.params = dict({"values": {}, "remove": []}, **params)
        self.check_mode, self._diff = check, diff

    def fail_json(self, **kwargs):
        raise RuntimeError(kwargs["msg"])


def test_module_check_mode_writes_nothing_then_writes_keeping_mode(tmp_path):
    env = tmp_path / ".env"
    env.write_text(SHOP)
    env.chmod(0o600)
    before = env.stat().st_mtime_ns
    check = forge_env.run(FakeModule(check=True, diff=True, path=str(env), values=MODEL))
    assert check["changed"] and env.read_text() == SHOP and env.stat().st_mtime_ns == before
    assert "QUEUE_CONNECTION <changed>" in check["diff"]["after"] and "redis" not in str(check["diff"])
    assert "p@ss" not in str(check) and "sk_test" not in str(check)
    done = forge_env.run(FakeModule(path=str(env), values=MODEL))
    assert done["changed"] and done["kept_keys"] == check["kept_keys"]
    assert stat.S_IMODE(env.stat().st_mode) == 0o600 and not [p for p in os.listdir(tmp_path) if p != ".env"]
    assert forge_env.run(FakeModule(path=str(env), values=MODEL))["changed"] is False


def test_module_refuses_a_missing_file_and_a_malformed_one(tmp_path):
    with pytest.raises(RuntimeError, match="not a Forge site of this host"):
        forge_env.run(FakeModule(path=str(tmp_path / "nope" / ".env"), values=MODEL))
    bad = tmp_path / ".env"
    bad.write_text((FIXTURES / "bad.env").read_text())
    with pytest.raises(RuntimeError, match=r"\.env:2: expected NAME=value"):
        forge_env.run(FakeModule(path=str(bad), values=MODEL))
    assert bad.read_text() == (FIXTURES / "bad.env").read_text()
