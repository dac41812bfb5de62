"""The action side of config_files (plugins/action/config_files.py), through a real ansible-playbook run on
localhost: a secret file's rendered text reaches the host (the file is written) but no part of the run's output,
in check mode with --diff, in a real run, or at -vvv; the other files' diffs are shown whole."""

import grp
import json
import os
import pwd
import subprocess
import sys
import textwrap


SECRET = "s3cret-Value-that-must-not-show"


def _play(ansible_playbook, tmp_path, *options):
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "env.j2").write_text("# {{ ansible_managed }}\nAPP_NAME={{ app }}\nDB_PASSWORD={{ password }}\n")
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          vars:
            app: shop
          tasks:
            - infra.hosting.config_files:
                files:
                  - {dest: "{{ out }}/.env", template: env.j2, mode: "0600", owner: "{{ me }}", group: "{{ me_group }}", secret: true}
                  - {dest: "{{ out }}/app.conf", content: "listen 80\\n", owner: "{{ me }}", group: "{{ me_group }}"}
    """))
    (tmp_path / "ansible.cfg").write_text("[defaults]\nstdout_callback = ansible.builtin.default\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=ansible_playbook.collections_root,
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"), ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    extra = {"out": str(tmp_path), "password": SECRET, "me": pwd.getpwuid(os.getuid()).pw_name,
             "me_group": grp.getgrgid(os.getgid()).gr_name, "ansible_python_interpreter": sys.executable}
    return subprocess.run([ansible_playbook.tool, "-i", "localhost,", "-c", "local", "-e", json.dumps(extra), *options,
                           str(playbook)], env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_secret_template_is_written_and_never_shown(tmp_path, ansible_playbook):
    checked = _play(ansible_playbook, tmp_path, "--check", "--diff", "-vvv")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert SECRET not in checked.stdout + checked.stderr
    assert "DB_PASSWORD=<hidden> (new)" not in checked.stdout  # a new file: names, unmarked
    assert "+DB_PASSWORD=<hidden>" in checked.stdout and "+listen 80" in checked.stdout
    assert not (tmp_path / ".env").exists()
    written = _play(ansible_playbook, tmp_path, "--diff", "-vvv")
    assert written.returncode == 0, written.stdout + written.stderr
    assert SECRET not in written.stdout + written.stderr
    assert (tmp_path / ".env").read_text().endswith("DB_PASSWORD=%s\n" % SECRET)
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    again = _play(ansible_playbook, tmp_path, "--diff")
    assert "changed=0" in again.stdout, again.stdout
