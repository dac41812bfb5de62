"""The template_cache callback (plugins/callback/template_cache.py): a template compiled once is reused, from memory
and from its folder, only where every setting its compiled form depends on is the same, and renders the same."""

import os
import subprocess
import textwrap


from ansible._internal._templating import _jinja_bits
from ansible.template import Templar, trust_as_template

from ansible_collections.infra.hosting.plugins.callback import template_cache as plugin


def _env_class():
    """A fresh subclass of ansible-core's environment (same name each time: the same cache entries)."""
    class Env(_jinja_bits.AnsibleEnvironment):
        pass
    return Env


class Counting:
    """Counts the compilations that reach Jinja."""

    def __init__(self, env_class):
        self.calls = 0
        original = env_class.compile

        def compile(env, *args, **kwargs):
            self.calls += 1
            return original(env, *args, **kwargs)
        env_class.compile = compile


def test_a_template_is_compiled_once_then_reused(tmp_path):
    env_class = _env_class()
    counting = Counting(env_class)
    assert plugin.install(str(tmp_path), env_class=env_class)
    env = env_class()
    env.from_string("{{ a }}-{{ b | upper }}")
    env.from_string("{{ a }}-{{ b | upper }}")
    env_class().from_string("{{ a }}-{{ b | upper }}")  # another environment of the same settings
    assert counting.calls == 1
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".jinja")]) == 1


def test_install_wraps_once_and_says_when_there_is_nothing_to_wrap(tmp_path):
    env_class = _env_class()
    assert plugin.install(None, env_class=env_class)
    wrapped = env_class.compile
    assert plugin.install(None, env_class=env_class) and env_class.compile is wrapped
    assert getattr(wrapped, plugin.PATCHED)


def test_another_setting_or_escaping_is_another_compilation(tmp_path):
    env_class = _env_class()
    counting = Counting(env_class)
    plugin.install(None, env_class=env_class)
    env = env_class()
    text = "{% if x %}\n  yes\n{% endif %}\n"
    env.from_string(text)
    other = env_class()
    other.lstrip_blocks = True
    other.from_string(text)
    with _jinja_bits._TemplateCompileContext(escape_backslashes=True):
        env.from_string(text)
    with _jinja_bits._TemplateCompileContext(escape_backslashes=False):
        env.from_string(text)
    env.from_string(text)
    assert counting.calls == 4


def test_the_folder_serves_a_new_process_and_a_damaged_entry_is_compiled_again(tmp_path):
    first_class = _env_class()
    plugin.install(str(tmp_path), env_class=first_class)
    first_class().from_string("{{ 40 + n }}")
    [entry] = [p for p in tmp_path.iterdir() if p.name.endswith(".jinja")]
    # Another process: a new class with an empty memory, the same folder.
    second_class = _env_class()
    counting = Counting(second_class)
    plugin.install(str(tmp_path), env_class=second_class)
    second_class().from_string("{{ 40 + n }}")
    assert counting.calls == 0
    entry.write_bytes(b"not marshal data")
    third_class = _env_class()
    counting = Counting(third_class)
    plugin.install(str(tmp_path), env_class=third_class)
    third_class().from_string("{{ 40 + n }}")
    assert counting.calls == 1 and entry.read_bytes() != b"not marshal data"


def test_a_folder_others_can_write_to_is_not_used(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    env_class = _env_class()
    plugin.install(str(shared), env_class=env_class)
    env_class().from_string("{{ 1 }}")
    assert list(shared.iterdir()) == []


def test_old_entries_are_pruned(tmp_path):
    from ansible_collections.infra.hosting.plugins.plugin_utils import code_cache
    old, new = tmp_path / "old.jinja", tmp_path / "new.jinja"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    tmp_path.chmod(0o700)
    os.utime(old, (1_000_000, 1_000_000))
    assert code_cache.prune(str(tmp_path), 30) == 1
    assert not old.exists() and new.exists()


def test_ansible_core_templar_renders_the_same_with_the_cache(tmp_path):
    plugin.install(str(tmp_path))  # ansible-core's own environment, as a run has it
    templar = Templar(variables={"home": "/srv/www/shop", "shared": trust_as_template("{{ home }}/shared")})
    for dummy in range(3):
        assert templar.template(trust_as_template("{{ shared }}/.env")) == "/srv/www/shop/shared/.env"
    assert templar.template(trust_as_template("{{ [1, 2] | map('string') | join(',') }}")) == "1,2"


def test_a_run_with_the_callback_shows_the_same_and_fills_the_folder(tmp_path, ansible_playbook):
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          vars:
            base: /srv/www
            site: "{{ base }}/shop"
          tasks:
            - ansible.builtin.debug:
                msg: "{{ site }}/shared {{ range(3) | sum }}"
              loop: [1, 2]
    """))
    (tmp_path / "ansible.cfg").write_text("[defaults]\nstdout_callback = ansible.builtin.default\n")
    cache = tmp_path / "cache"
    outputs = []
    for enabled in ("", "infra.hosting.template_cache", "infra.hosting.template_cache"):
        env = dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=ansible_playbook.collections_root,
                   INFRA_HOSTING_TEMPLATE_CACHE=str(cache), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"))
        env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
        if enabled:
            env["ANSIBLE_CALLBACKS_ENABLED"] = enabled
        run = subprocess.run([ansible_playbook.tool, "-i", "localhost,", "-c", "local", str(playbook)], env=env,
                             cwd=str(tmp_path), capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode == 0, run.stdout + run.stderr
        outputs.append([line for line in run.stdout.splitlines() if "msg" in line])
        if enabled:
            entries = sorted(p.name for p in cache.iterdir())
            assert entries and all(name.endswith(".jinja") for name in entries)
    assert outputs[0] == outputs[1] == outputs[2] and '"msg": "/srv/www/shop/shared 3"' in outputs[0][0]
