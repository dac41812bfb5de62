"""Classification of a host's inventory into the plan, the shared report/audit helpers,
the archive's verification and the scan of a whole (temporary) host tree."""

import datetime
import json
import os
import tarfile

import pytest
from ansible_collections.infra.hosting.plugins.filter import site_cleanup
from ansible_collections.infra.hosting.plugins.modules import site_facts
from ansible_collections.infra.hosting.plugins.modules import site_retire

from ansible_collections.infra.hosting.plugins.module_utils import cleanup_common, site_archive
from ansible_collections.infra.hosting.plugins.module_utils.site_parse import ParseError

SITES = {
    "alpha": {"domains": ["alpha.test"], "status": "active", "keep_releases": 2},
    "charlie": {"domains": ["charlie.test"], "status": "retired"},
}


def _facts():
    quiet = {"requests": 0, "ignored": 3, "ignoring": "x", "window": {"days": 14, "covered_from": "2026-11-01",
                                                                      "covers_whole_window": True}}
    return {
        "generated_at": "2026-11-24T12:00:00+00:00", "window": {"days": 14},
        "traffic": {"charlie": quiet},
        "items": [
            {"kind": "vhost", "name": "alpha.conf", "claimed_by": "alpha", "size_bytes": 10, "files": ["/a"]},
            {"kind": "directory", "name": "/srv/www/alpha", "claimed_by": "alpha", "size_bytes": 999,
             "current_release": "r4", "releases": [{"id": "r%d" % i, "path": "/srv/www/alpha/releases/r%d" % i,
                                                    "size_bytes": 100} for i in range(1, 5)]},
            {"kind": "vhost", "name": "old.conf", "claimed_by": None, "size_bytes": 20, "files": ["/o"],
             "server_names": ["old.test"], "traffic": quiet},
            {"kind": "pool", "name": "www", "claimed_by": None, "shared": True, "size_bytes": 5},
            {"kind": "cron", "name": "charlie", "claimed_by": "charlie", "claim_reason": "user charlie",
             "size_bytes": 30, "files": ["/etc/cron.d/charlie"]},
        ],
    }


def test_plan_classifies_orphans_retired_and_releases():
    report = site_cleanup.site_cleanup_plan(_facts(), "whc", SITES)
    got = [(i["name"], i["kind"], i["classification"]) for i in report["items"]]
    assert got == [("alpha", "release", "prune"), ("alpha", "release", "prune"),
                   ("old.conf", "vhost", "orphan"), ("charlie", "cron", "retired_present")]
    assert [i["evidence"] for i in report["items"][:2]] == ["/srv/www/alpha/releases/r1", "/srv/www/alpha/releases/r2"]
    assert report["summary"] == {"kept": 3, "orphan": 1, "retired_present": 1, "prune": 2, "frees_bytes": 250}
    assert "0 request(s)" in report["items"][2]["evidence"]
    assert not report["forge_managed"]


def test_plan_flags_retired_site_with_traffic_and_forge():
    facts = _facts()
    facts["traffic"]["charlie"] = dict(facts["traffic"]["charlie"], requests=5)
    report = site_cleanup.site_cleanup_plan(facts, "whc", SITES, forge_managed=True)
    assert "refused" in report["items"][-1]["reason"]
    assert any("deleted in Forge" in n for n in report["notes"])


def test_markdown_and_json_report(tmp_path):
    report = site_cleanup.site_cleanup_plan(_facts(), "whc", SITES)
    json_path, md_path = cleanup_common.write_report(str(tmp_path / "r.json"), str(tmp_path / "r.md"), report)
    assert json.load(open(json_path))["items"][2]["classification"] == "orphan"
    text = open(md_path).read()
    assert "| old.conf | vhost | orphan |" in text and "Host: `whc`" in text
    with pytest.raises(ValueError):
        cleanup_common.write_report(json_path, md_path, {"items": []})


def test_audit_append_one_json_object_per_line(tmp_path):
    log = str(tmp_path / "sub" / "audit.log")
    cleanup_common.audit_append(log, {"action": "a", "target": "t", "host": "h"})
    cleanup_common.audit_append(log, {"action": "b", "target": "t", "result": "refused"})
    lines = [json.loads(line) for line in open(log)]
    assert [set(line) for line in lines] == [set(cleanup_common.AUDIT_FIELDS)] * 2
    assert lines[1]["result"] == "refused"
    with pytest.raises(ValueError):
        cleanup_common.audit_append(log, {"action": "a", "target": "t", "extra": 1})


def test_archive_written_verified_and_tamper_detected(tmp_path):
    site = tmp_path / "srv" / "site"
    (site / "shared").mkdir(parents=True)
    (site / "shared" / ".env").write_text("APP_KEY=x\n")
    os.symlink("shared", str(site / "current"))
    entries = site_archive.collect([str(site)])
    manifest = {"site": "site", "host": "h", "retired_at": "now", "archive": str(tmp_path / "a.tar.gz"),
                "entries": entries, "user": {"name": "site", "uid": 1001, "gid": 1001, "group": "site",
                                             "home": str(site), "shell": "/usr/sbin/nologin",
                                             "group_members": ["www-data"]},
                "units_enabled": ["php-fpm-site@site.service"], "units_active": ["php-fpm-site@site.service"],
                "nginx": True, "crontab": "* * * * * php artisan schedule:run\n"}
    script = site_archive.restore_script(manifest)
    assert "useradd -M -u 1001 -g 1001" in script and "usermod -a -G site www-data" in script
    assert "nginx -t && systemctl reload nginx" in script and "crontab -u site -" in script
    site_archive.write_archive(manifest["archive"], entries, manifest, {"restore.sh": script})
    assert site_archive.verify_archive(manifest["archive"], manifest) == []
    manifest["entries"].append({"path": "/not/archived", "type": "file", "sha256": "0"})
    assert site_archive.verify_archive(manifest["archive"], manifest) == ["missing from the archive: /not/archived"]
    with open(manifest["archive"], "ab") as handle:
        handle.write(b"x")
    assert "checksum" in site_archive.verify_archive(manifest["archive"], manifest)[0]
    with tarfile.open(str(tmp_path / "a.tar.gz.partial"), "w:gz"):
        pass


def _tree(tmp_path):
    """A small host: one live site, one orphan vhost + pool, one retired site's cron entry."""
    paths = {"nginx_dirs": [str(tmp_path / "nginx")], "fpm_globs": [str(tmp_path / "php/8.2/fpm/pool.d/*.conf")],
             "systemd_dir": str(tmp_path / "systemd"), "supervisor_dir": str(tmp_path / "sup"),
             "cron_dir": str(tmp_path / "cron"), "site_roots": [str(tmp_path / "www")],
             "ssl_dir": str(tmp_path / "ssl"), "letsencrypt_dir": str(tmp_path / "le"),
             "nginx_log_dir": str(tmp_path / "log")}
    for key in ("nginx", "php/8.2/fpm/pool.d", "systemd", "sup", "cron", "www/alpha", "log"):
        (tmp_path / key).mkdir(parents=True)
    (tmp_path / "nginx" / "alpha.conf").write_text("server { server_name alpha.test; root /srv/www/alpha/current/public; }")
    (tmp_path / "nginx" / "old.conf").write_text(
        "server { server_name old.test; access_log %s/old.access.log; }" % (tmp_path / "log"))
    (tmp_path / "php/8.2/fpm/pool.d/old.conf").write_text("[old]\nuser = old\nlisten = /run/old.sock\n")
    (tmp_path / "cron" / "charlie").write_text("* * * * * charlie php /srv/www/charlie/current/artisan schedule:run\n")
    now = datetime.datetime.now(datetime.timezone.utc)
    (tmp_path / "log" / "old.access.log").write_text(
        '203.0.113.1 - - [%s] "GET / HTTP/1.1" 200 1 "-" "x"\n' % now.strftime("%d/%b/%Y:%H:%M:%S +0000"))
    return paths


def test_gather_on_a_host_tree(tmp_path):
    paths = _tree(tmp_path)
    facts = site_facts.gather(SITES, 14, ["/up"], ["127.0.0.1"], paths, None)
    owners = {(i["kind"], i["name"]): i["claimed_by"] for i in facts["items"]}
    assert owners[("vhost", "alpha.conf")] == "alpha"
    assert owners[("vhost", "old.conf")] is None
    assert owners[("pool", "old")] is None
    assert owners[("cron", "charlie")] == "charlie"
    old = [i for i in facts["items"] if i["name"] == "old.conf"][0]
    assert old["traffic"]["requests"] == 1


def test_malformed_file_stops_everything(tmp_path):
    paths = _tree(tmp_path)
    (tmp_path / "nginx" / "broken.conf").write_text("server { server_name broken.test;\n")
    with pytest.raises(ParseError, match="broken.conf.*unbalanced"):
        site_facts.gather(SITES, 14, ["/up"], ["127.0.0.1"], paths, None)
    assert (tmp_path / "nginx" / "old.conf").exists()


def test_retire_refuses_a_site_still_claimed():
    ident, error = site_retire.target_identity("alpha", SITES, [])
    assert ident is None and "still claimed by the data model" in error
    ident, error = site_retire.target_identity("charlie", SITES, [])
    assert error is None and ident["dirs"][0] == "/srv/www/charlie"
    ident, error = site_retire.target_identity("old", SITES, ["old.test"])
    assert error is None and ident["domains"] == ["old.test"]


def test_retire_selects_only_the_orphan_and_flags_conflicts():
    ident = site_retire.target_identity("old", SITES, ["old.test"])[0]
    items = [
        {"kind": "vhost", "name": "old.conf", "server_names": ["old.test"], "claimed_by": None, "files": ["/o"]},
        {"kind": "pool", "name": "old", "user": "old", "claimed_by": None, "files": ["/p"], "units": [],
         "php_version": "8.2"},
        {"kind": "vhost", "name": "alpha.conf", "server_names": ["alpha.test"], "claimed_by": "alpha"},
        {"kind": "cron", "name": "mixed", "paths": ["/srv/www/old"], "claimed_by": "alpha"},
    ]
    mine, conflicts = site_retire.select(items, "old", ident, in_model=False)
    assert [i["name"] for i in mine] == ["old.conf", "old"]
    assert [i["name"] for i in conflicts] == ["mixed"]
    plan = site_retire.plan_for(mine, None, ["/var/log/nginx/old.access.log"])
    assert plan["vhosts"] == ["/o"] and plan["fpm"] == ["/p"] and plan["fpm_reload"] == ["8.2"]
    assert site_retire.diff_text(plan).splitlines() == ["/o", "/p", "/var/log/nginx/old.access.log"]
