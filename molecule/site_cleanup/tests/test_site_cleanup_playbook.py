"""playbooks/site_cleanup.yml through ansible-playbook, as an operator runs it (issue 15, "Loud").

A refused retirement ends the run non-zero with the module's reason printed at default verbosity by the
final task, and the site is still served, its files in place. The refusals are real on this host
(prepare.yml): alpha is live in the data model, delta is retired but its access log shows traffic two days
ago, oldshop is an orphan that only loopback requests reached (so only its confirmation stops it). None of
these tests changes what another test reads: they run in any order.
"""

import json

import pytest
from lab_playbook import playbook, status, task_output

SUMMARY = "Fail with the refusal or failure of the site"
ORPHAN_DOMAINS = '{"domains": ["oldshop.test"]}'


def kept(host, site, domain, paths):
    assert status(host, "/", name=domain) == "200"
    for path in paths:
        assert host.file(path).exists, path


def test_plan_exits_zero_and_lists_the_host(host, tmp_path):
    rc, out = playbook("site_cleanup.yml", "-e", "report_dir=%s" % tmp_path)
    assert rc == 0, out[-3000:]
    report = json.loads((tmp_path / "mol-site_cleanup.json").read_text())
    assert any(i["name"] == "oldshop.conf" and i["classification"] == "orphan" for i in report["items"])
    assert "mol-site_cleanup.md" in task_output(out, "Show the plan")
    kept(host, "alpha", "alpha.test", ["/srv/www/alpha/current"])


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_live_site_is_refused_loudly_and_still_served(host, tmp_path, check):
    rc, out = playbook("site_cleanup.yml", "-e", "mode=retire", "-e", "site=alpha", "-e", "confirm=alpha",
                       "-e", "report_dir=%s" % tmp_path, *(["--check", "--diff"] if check else []))
    assert rc != 0, out[-3000:]
    summary = task_output(out, SUMMARY)
    assert "mol-site_cleanup: site alpha: refused / refusé: Refused: site" in summary, out[-3000:]
    assert "is still claimed by the data model (status: active)" in summary, summary
    kept(host, "alpha", "alpha.test", ["/srv/www/alpha/current", "/etc/nginx/sites-enabled/alpha.conf"])


def test_retired_site_with_traffic_is_refused_loudly_and_still_served(host, tmp_path):
    rc, out = playbook("site_cleanup.yml", "-e", "mode=retire", "-e", "site=delta", "-e", "confirm=delta",
                       "-e", "report_dir=%s" % tmp_path)
    assert rc != 0, out[-3000:]
    summary = task_output(out, SUMMARY)
    assert "mol-site_cleanup: site delta: refused / refusé: Refused:" in summary, out[-3000:]
    assert "served 2 request(s) in the last 14 day(s)" in summary and "Retire it only once it is quiet." in summary, summary
    kept(host, "delta", "delta.test", ["/srv/www/delta/current/public/index.php", "/var/log/nginx/delta.access.log"])
    assert host.service("php-fpm-site@delta").is_running


@pytest.mark.parametrize("confirm", [["-e", "confirm=oldshopp"], ["-e", "confirm=alpha"], []],
                         ids=["wrong", "another-site", "missing"])
def test_orphan_without_its_confirmation_is_refused_loudly_and_kept(host, tmp_path, confirm):
    rc, out = playbook("site_cleanup.yml", "-e", "mode=retire", "-e", "site=oldshop", "-e", ORPHAN_DOMAINS,
                       *confirm, "-e", "report_dir=%s" % tmp_path)
    assert rc != 0, out[-3000:]
    summary = task_output(out, SUMMARY)
    assert ("mol-site_cleanup: site oldshop: refused / refusé: Not confirmed: pass confirm=oldshop "
            "(-e confirm=oldshop) to archive and remove it.") in summary, out[-3000:]
    kept(host, "oldshop", "oldshop.test", ["/srv/www/oldshop/public/index.php", "/etc/nginx/sites-enabled/oldshop.conf",
                                           "/etc/php/8.2/fpm/pool.d/oldshop.conf"])
    assert host.user("oldshop").exists
    assert not host.run("ls /var/backups/infra/oldshop-* 2>/dev/null").stdout.strip()
