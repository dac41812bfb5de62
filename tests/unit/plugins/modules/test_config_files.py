"""plugins/modules/config_files.py, run as Ansible runs it (a JSON args file): files and directories
written in one call, atomic and validated, check mode writes nothing, diff shows before/after."""

import grp
import json
import os
import pwd
import stat
import subprocess
import sys

import pytest

MODULE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules", "config_files.py")
USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def run(tmp_path, check=False, diff=False, **args):
    params = dict(args, _ansible_check_mode=check, _ansible_diff=diff, _ansible_tmpdir=str(tmp_path))
    argsfile = tmp_path / "args.json"
    argsfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    out = subprocess.run([sys.executable, MODULE, str(argsfile)], capture_output=True, text=True, check=False)
    return json.loads(out.stdout)


def spec(path, content, mode="0644", **extra):
    return dict(dest=str(path), content=content, mode=mode, owner=USER, group=GROUP, **extra)


def test_writes_every_file_and_directory_then_changes_nothing(tmp_path):
    conf = tmp_path / "etc" / "app.conf.d"
    files = [spec(tmp_path / "issue", "Authorized use only\n"), spec(conf / "90.conf", "a = 1\n", mode="0600")]
    dirs = [dict(path=str(conf), mode="0750", owner=USER, group=GROUP)]
    first = run(tmp_path, files=files, directories=dirs)
    assert first["changed"] and first["changed_files"] == [f["dest"] for f in files]
    assert first["changed_directories"] == [str(conf)]
    assert (conf / "90.conf").read_text() == "a = 1\n"
    assert stat.S_IMODE((conf / "90.conf").stat().st_mode) == 0o600
    assert stat.S_IMODE(conf.stat().st_mode) == 0o750
    again = run(tmp_path, files=files, directories=dirs)
    assert not again["changed"] and again["changed_files"] == [] and again["changed_directories"] == []


def test_only_the_mode_differs(tmp_path):
    target = tmp_path / "script"
    target.write_text("#!/bin/sh\n")
    target.chmod(0o644)
    result = run(tmp_path, files=[spec(target, "#!/bin/sh\n", mode="0750")])
    assert result["changed_files"] == [str(target)]
    assert stat.S_IMODE(target.stat().st_mode) == 0o750


def test_check_mode_writes_nothing_and_diff_shows_the_change(tmp_path):
    target = tmp_path / "issue"
    target.write_text("old\n")
    missing_dir = tmp_path / "new.d"
    result = run(tmp_path, check=True, diff=True,
                 files=[spec(target, "new\n"), spec(missing_dir / "x.conf", "x\n")],
                 directories=[dict(path=str(missing_dir), owner=USER, group=GROUP)])
    assert result["changed"] and result["changed_files"] == [str(target), str(missing_dir / "x.conf")]
    assert target.read_text() == "old\n" and not missing_dir.exists()
    assert {"before": "old\n", "after": "new\n"}.items() <= result["diff"][0].items()
    assert result["diff"][1]["after"] == "x\n"


def test_a_file_failing_validation_is_not_written(tmp_path):
    target = tmp_path / "rules"
    target.write_text("good\n")
    result = run(tmp_path, files=[spec(target, "bad\n", validate="grep -q good %s")])
    assert result.get("failed") and "failed validation, not written" in result["msg"] and str(target) in result["msg"]
    assert target.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".rules.")] == []


@pytest.mark.parametrize("validate", ["true", "grep -q x"])
def test_validate_needs_the_placeholder(tmp_path, validate):
    result = run(tmp_path, files=[spec(tmp_path / "f", "x\n", validate=validate)])
    assert result.get("failed") and "%s" in result["msg"]


def test_a_missing_directory_not_listed_is_a_clear_error(tmp_path):
    result = run(tmp_path, files=[spec(tmp_path / "nowhere" / "f", "x\n")])
    assert result.get("failed") and "list it under directories" in result["msg"]


def test_absent_removes_files_and_links_only_where_they_exist(tmp_path):
    old_unit = tmp_path / "shop-scheduler.timer"
    old_unit.write_text("[Timer]\n")
    link = tmp_path / "enabled.conf"
    link.symlink_to(tmp_path / "nowhere")
    never = tmp_path / "never-there"
    checked = run(tmp_path, check=True, diff=True, absent=[str(old_unit), str(link), str(never)])
    assert checked["changed"] and checked["removed"] == [str(old_unit), str(link)]
    assert old_unit.exists() and os.path.lexists(link)
    done = run(tmp_path, absent=[str(old_unit), str(link), str(never)])
    assert done["removed"] == [str(old_unit), str(link)]
    assert not old_unit.exists() and not os.path.lexists(link)
    assert not run(tmp_path, absent=[str(old_unit)])["changed"]


def test_absent_refuses_a_directory(tmp_path):
    result = run(tmp_path, absent=[str(tmp_path)])
    assert result.get("failed") and "is a directory" in result["msg"]


def test_links_are_made_then_repointed_atomically(tmp_path):
    available = tmp_path / "available.conf"
    available.write_text("server {}\n")
    link = tmp_path / "enabled.conf"
    checked = run(tmp_path, check=True, diff=True, links=[dict(src=str(available), dest=str(link))])
    assert checked["changed_links"] == [str(link)] and not os.path.lexists(link)
    assert run(tmp_path, links=[dict(src=str(available), dest=str(link))])["changed_links"] == [str(link)]
    assert os.readlink(link) == str(available)
    assert not run(tmp_path, links=[dict(src=str(available), dest=str(link))])["changed"]
    other = tmp_path / "other.conf"
    assert run(tmp_path, links=[dict(src=str(other), dest=str(link))])["changed_links"] == [str(link)]
    assert os.readlink(link) == str(other)


def test_a_file_where_a_link_goes_is_an_error(tmp_path):
    plain = tmp_path / "enabled.conf"
    plain.write_text("x\n")
    result = run(tmp_path, links=[dict(src="/nowhere", dest=str(plain))])
    assert result.get("failed") and "not a symbolic link" in result["msg"]


def test_a_secret_file_is_written_and_its_text_is_in_no_part_of_the_result(tmp_path):
    env = tmp_path / ".env"
    env.write_text("# managed\nAPP_NAME=shop\nDB_PASSWORD=old-s3cret-value\nOLD_KEY=gone-value\n")
    text = "# managed\nAPP_NAME=shop\nDB_PASSWORD=new-s3cret-value\nMAIL_PASSWORD=added-s3cret\n"
    files = [dict(dest=str(env), mode="0600", owner=USER, group=GROUP, secret=True),
             spec(tmp_path / "unit.service", "[Unit]\n")]
    checked = run(tmp_path, check=True, diff=True, files=files, secret_contents={str(env): text})
    assert checked["changed_files"] == [str(env), str(tmp_path / "unit.service")]
    assert "new-s3cret" not in env.read_text()
    dumped = json.dumps(checked)
    for value in ("old-s3cret-value", "new-s3cret-value", "added-s3cret", "gone-value"):
        assert value not in dumped
    diff = checked["diff"][0]
    assert diff["before_header"].endswith("(secret: values hidden)")
    assert diff["before"] == "<hidden line>\nAPP_NAME=<hidden>\nDB_PASSWORD=<hidden> (old)\nOLD_KEY=<hidden> (old)\n"
    assert diff["after"] == "<hidden line>\nAPP_NAME=<hidden>\nDB_PASSWORD=<hidden> (new)\nMAIL_PASSWORD=<hidden> (new)\n"
    assert checked["diff"][1]["after"] == "[Unit]\n"  # the other files' diffs are shown whole
    written = run(tmp_path, files=files, secret_contents={str(env): text})
    assert written["changed"] and env.read_text() == text
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert "new-s3cret-value" not in json.dumps(written)
    again = run(tmp_path, diff=True, files=files, secret_contents={str(env): text})
    assert not again["changed"] and again["diff"] == []


def test_a_new_secret_file_shows_its_names_unmarked(tmp_path):
    env = tmp_path / "new" / ".env"
    result = run(tmp_path, check=True, diff=True, files=[dict(dest=str(env), owner=USER, group=GROUP, secret=True)],
                 secret_contents={str(env): "APP_KEY=base64:abc\n\nexport TOKEN = t0ken\n"})
    assert result["diff"][0]["after"] == "APP_KEY=<hidden>\n\nTOKEN=<hidden>\n"
    assert result["diff"][0]["before_header"] == "%s (absent) (secret: values hidden)" % env


def test_a_secret_file_given_its_text_in_files_is_refused(tmp_path):
    env = tmp_path / ".env"
    result = run(tmp_path, files=[spec(env, "DB_PASSWORD=x\n", secret=True)])
    assert result["failed"] and "secret_contents" in result["msg"] and not env.exists()
