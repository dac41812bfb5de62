"""Discovery of a host in Forge's layout (prepare.yml) against the scenario's data model (molecule.yml),
which differs from the host once in each way: the reports say exactly those, the to-confirm list has the
matching lines, no secret value appears, nothing on the host changes (also under --check), and the drift
mode names a changed Nginx line and ends non-zero. Tests run in file order: the last ones change one file
and put it back byte for byte and mtime for mtime."""

import json
import os

import pytest
from lab_playbook import playbook, task_output

HOST = "mol-forge"
REPORTS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"), "discovery")
NGINX = "/etc/nginx/sites-available/shop.test"
DRIFT_TASK = "Fail naming each drift of Forge's files (drift mode)"
EXPECTED = [
    ("database", "old_reports", "model_lacks"),
    ("domain", "docs.test", "host_lacks"),
    ("php_version", "shop.test", "differs"),
    ("site", "legacy.test", "model_lacks"),
    ("worker", "queue default", "model_lacks"),
]


def read(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8") as handle:
        return handle.read()


def host_report(directory=REPORTS):
    (report,) = [r for r in json.loads(read(directory, "report.json"))["hosts"] if r["host"] == HOST]
    return report


def open_findings(report):
    return sorted((f["kind"], f["subject"], f["status"]) for f in report["findings"] if f["status"] != "match")


def assert_host_unchanged(host):
    before = host.file("/root/forge-snapshot.before").content_string
    after = host.check_output("/usr/local/sbin/forge-snapshot")
    assert before.strip() == after.strip()


def test_json_report_says_exactly_the_deliberate_differences():
    report = host_report()
    assert open_findings(report) == EXPECTED
    assert report["errors"] == []
    matches = {(f["kind"], f["subject"]) for f in report["findings"] if f["status"] == "match"}
    assert {("domain", "shop.test"), ("domain", "www.shop.test"), ("database", "shop_db"), ("env", "APP_NAME"),
            ("env", "DB_DATABASE"), ("env", "QUEUE_CONNECTION"), ("scheduler", "schedule:run")} <= matches
    # Untouched, Forge's Nginx file and root are as the model says (no finding): the drift test changes the root line.
    assert not [f for f in report["findings"] if f["kind"] in ("root", "nginx_file")]
    php = next(f for f in report["findings"] if f["kind"] == "php_version")
    assert (php["model"], php["host"], php["file"]) == ("8.1", "8.2", NGINX)
    worker = next(f for f in report["findings"] if f["kind"] == "worker")
    assert worker["file"] == "/etc/supervisor/conf.d/worker-101.conf" and worker["site"] == "shop"


def test_report_holds_the_facts_of_the_host():
    report = host_report()
    assert report["os"]["id"] == "debian" and report["disk"] and report["disk"][0]["total_bytes"] > 0
    names = {d["name"]: d for d in report["databases"]}
    assert {"shop_db", "old_reports"} <= set(names) and isinstance(names["old_reports"]["size_bytes"], int)
    (cert,) = report["certificates"]
    assert cert["path"] == "/etc/nginx/ssl/shop.test/1001/server.crt" and cert["not_after"] and not cert["expired"]
    assert [c["schedule"] for c in report["cron"] if c["is_scheduler"]] == ["* * * * *"]
    shop = next(a for a in report["apps"] if a["domain"] == "shop.test")
    assert shop["laravel"] and shop["env_values"]["DB_DATABASE"] == "shop_db"
    assert report["secret_env"] == {"shop": ["APP_KEY", "DB_PASSWORD"]}


def test_markdown_report_and_to_confirm_list():
    text = read(REPORTS, "report.md")
    assert "## mol-forge" in text and "Matches" in text
    assert "| php_version | shop.test | shop | 8.1 | 8.2 | /etc/nginx/sites-available/shop.test:" in text
    for kind, subject, _status in EXPECTED:
        assert "| %s | %s |" % (kind, subject) in text
    lines = [line for line in read(REPORTS, "to-confirm.md").splitlines() if line.startswith("- [ ]")]
    assert len(lines) == len(EXPECTED)
    assert all(line.index("FR :") < line.index("EN:") for line in lines)
    joined = "\n".join(lines)
    for needle in ("docs.test", "legacy.test", "PHP 8.2", "worker-101",
                   "old_reports", "la base de données old_reports", "which site owns it"):
        assert needle in joined, needle
    assert lines == [line for line in text.splitlines() if line.startswith("- [ ]")]


def test_no_secret_value_in_any_report(host):
    env = host.file("/home/forge/shop.test/.env").content_string
    values = dict(line.split("=", 1) for line in env.splitlines() if "=" in line)
    # The names the report calls secrets (datamodel.py's rule): their values must appear nowhere.
    secrets = [values[name] for name in host_report()["secret_env"]["shop"]]
    assert len(secrets) == 2 and all(len(s) > 16 for s in secrets)
    for name in ("report.json", "report.md", "to-confirm.md"):
        text = read(REPORTS, name)
        assert not any(secret in text for secret in secrets), name


def test_converge_changed_nothing_on_the_host(host):
    assert_host_unchanged(host)


def test_check_mode_run_writes_the_report_and_nothing_on_the_host(host, tmp_path):
    rc, out = playbook("discover.yml", "--check", "-e", "discover_report_dir=%s" % tmp_path)
    assert rc == 0, out[-3000:]
    assert open_findings(host_report(str(tmp_path))) == EXPECTED
    assert_host_unchanged(host)


@pytest.fixture
def changed_root_line(host):
    """Line 9 of shop.test's Nginx file points elsewhere; put back byte for byte, mtime included, after."""
    host.check_output("cp -p %s /root/shop.test.orig" % NGINX)
    # Rewritten in place (not sed -i, which renames and so changes the directory's mtime).
    host.check_output("sed 's#root /home/forge/shop.test/public;#root /home/forge/shop.test/old/public;#' "
                      "/root/shop.test.orig > %s" % NGINX)
    yield
    host.check_output("cat /root/shop.test.orig > %s && touch -r /root/shop.test.orig %s && rm /root/shop.test.orig"
                      % (NGINX, NGINX))


def test_drift_mode_is_loud_and_names_a_changed_nginx_line(host, tmp_path, changed_root_line):
    rc, out = playbook("discover.yml", "-e", "discover_fail_on_drift=true", "-e", "discover_report_dir=%s" % tmp_path)
    assert rc != 0, out[-3000:]
    message = task_output(out, DRIFT_TASK)
    line = ("mol-forge: /etc/nginx/sites-available/shop.test:9: root shop.test (site shop) differs: "
            "model '/home/forge/shop.test/public', host '/home/forge/shop.test/old/public'")
    assert line in message, out[-3000:]
    assert "mol-forge: /etc/nginx/sites-available/shop.test:" in message and "php_version shop.test" in message
    assert line in json.loads(read(str(tmp_path), "report.json"))["drift"]


def test_nothing_changed_on_the_host_in_the_end(host):
    assert_host_unchanged(host)
