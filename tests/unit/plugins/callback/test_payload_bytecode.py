"""The payload_bytecode callback (plugins/callback/payload_bytecode.py) puts a .pyc beside every .py of a module's
payload; Python's zipimport runs that bytecode when its version matches, and the source when it does not.
The last test builds a real payload through ansible-playbook and runs the module from it."""

import base64
import importlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from unittest import mock


from ansible_collections.infra.hosting.plugins.callback import payload_bytecode as plugin


def _import_from(zip_path, name):
    sys.path.insert(0, str(zip_path))
    try:
        importlib.invalidate_caches()
        sys.modules.pop(name, None)
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(zip_path))
        sys.modules.pop(name, None)


def test_zipimport_runs_the_bytecode_written_beside_the_source(tmp_path):
    # The .pyc says X = 2, its source X = 1: importing X = 2 shows Python took the bytecode.
    path = tmp_path / "payload.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pb_probe_a.py", b"X = 1\n")
        zf.writestr("pb_probe_a.pyc", plugin.pyc_bytes(b"X = 2\n", "pb_probe_a.py"))
    assert _import_from(path, "pb_probe_a").X == 2


def test_bytecode_of_another_python_is_skipped_for_the_source(tmp_path):
    path = tmp_path / "payload.zip"
    other = bytearray(plugin.pyc_bytes(b"X = 2\n", "pb_probe_b.py"))
    other[0] ^= 0xFF  # another magic number: another Python version
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pb_probe_b.py", b"X = 1\n")
        zf.writestr("pb_probe_b.pyc", bytes(other))
    assert _import_from(path, "pb_probe_b").X == 1


def test_every_source_gets_its_bytecode_once_and_what_does_not_compile_keeps_its_source_alone():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/__init__.py", b"")
        zf.writestr("pkg/mod.py", b"def f():\n    return 1\n")
        zf.writestr("pkg/broken.py", b"def (:\n")
        zf.writestr("pkg/data.txt", b"not python")
        assert sorted(plugin.add_bytecode(zf)) == ["pkg/__init__.pyc", "pkg/mod.pyc"]
        assert plugin.add_bytecode(zf) == []
        assert zf.getinfo("pkg/mod.pyc").compress_type == zipfile.ZIP_DEFLATED
    names = zipfile.ZipFile(buffer).namelist()
    assert "pkg/broken.pyc" not in names and "pkg/data.txtc" not in names


def test_the_header_is_an_unchecked_hash_pyc_of_this_python():
    data = plugin.pyc_bytes(b"X = 1\n", "x.py")
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01
    assert data[8:16] == importlib.util.source_hash(b"X = 1\n")


def test_the_cache_is_read_instead_of_compiling_again(tmp_path):
    first = plugin.pyc_bytes(b"X = 1\n", "x.py", str(tmp_path))
    assert len(list(tmp_path.iterdir())) == 1
    with mock.patch("builtins.compile") as compiler:
        assert plugin.pyc_bytes(b"X = 1\n", "x.py", str(tmp_path)) == first
    compiler.assert_not_called()
    # Another source, or the same source under another name, is another entry.
    plugin.pyc_bytes(b"X = 2\n", "x.py", str(tmp_path))
    plugin.pyc_bytes(b"X = 1\n", "y.py", str(tmp_path))
    assert len(list(tmp_path.iterdir())) == 3


def test_the_cache_folder_is_private_and_a_damaged_entry_is_compiled_again(tmp_path):
    cache = tmp_path / "cache"
    good = plugin.pyc_bytes(b"X = 1\n", "x.py", str(cache))
    assert oct(cache.stat().st_mode & 0o777) == oct(0o700)
    [entry] = list(cache.iterdir())
    entry.write_bytes(b"not marshal data")
    assert plugin.pyc_bytes(b"X = 1\n", "x.py", str(cache)) == good
    assert entry.read_bytes() == good[16:]


def test_install_wraps_the_payloads_last_write_once():
    calls = []

    class Target:
        @staticmethod
        def _add_module_to_zip(zf, *args, **kwargs):
            calls.append(args)
            zf.writestr("ansible/modules/probe.py", b"X = 1\n")

    assert plugin.install(target=Target) is True
    wrapped = Target._add_module_to_zip
    assert plugin.install(target=Target) is True and Target._add_module_to_zip is wrapped
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        Target._add_module_to_zip(zf, "when", "fqn")
        assert "ansible/modules/probe.pyc" in zf.namelist()
    assert calls == [("when", "fqn")]


def test_without_the_function_nothing_is_patched_and_the_callback_warns():
    class Elsewhere:
        pass

    assert plugin.install(target=Elsewhere) is False
    callback = plugin.CallbackModule()
    with mock.patch.object(plugin, "install", return_value=False), \
            mock.patch.object(callback, "get_option", return_value=""), \
            mock.patch.object(callback, "_display") as display:
        callback.v2_playbook_on_start(None)
    assert callback.installed is False
    display.warning.assert_called_once()


def test_a_real_module_payload_carries_bytecode_and_runs_from_it(tmp_path, ansible_playbook):
    playbook = tmp_path / "probe.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - ansible.builtin.stat:
                path: /
    """))
    remote_tmp = tmp_path / "remote"
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=ansible_playbook.collections_root,
               ANSIBLE_CALLBACKS_ENABLED="infra.hosting.payload_bytecode", ANSIBLE_KEEP_REMOTE_FILES="1",
               ANSIBLE_PIPELINING="0", ANSIBLE_REMOTE_TMP=str(remote_tmp), ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"),
               INFRA_HOSTING_BYTECODE_CACHE=str(tmp_path / "cache"), ANSIBLE_NOCOLOR="1")
    run = subprocess.run([ansible_playbook.tool, "-i", "localhost,",
                          "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
                         env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    [wrapper] = list(remote_tmp.glob("*/AnsiballZ_stat.py"))
    zip_data = re.search(r"([A-Za-z0-9+/=]{10000,})", wrapper.read_text()).group(1)
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(zip_data))).namelist()
    assert "ansible/module_utils/basic.pyc" in names and "ansible/modules/stat.pyc" in names
    assert all(name + "c" in names for name in names if name.endswith(".py"))
    # The module runs from that payload (the wrapper as the host runs it).
    result = subprocess.run([sys.executable, str(wrapper)], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(result.stdout)["stat"]["isdir"] is True
