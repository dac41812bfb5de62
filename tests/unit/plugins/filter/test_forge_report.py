"""The comparison of a discovered host with the data model (plugins/filter/forge_report.py): one deliberate
difference of each kind is reported as such, nothing else; drift lines name host, file and line; the
to-confirm list has one French and English line per open question; the model-only list needs no host."""

from ansible_collections.infra.hosting.plugins.filter import forge_report
import pytest

HOST = "mol-forge"
SITES = {
    "shop": {"domains": ["shop.test", "www.shop.test"], "hosts": [HOST], "php_version": "8.1", "status": "active",
             "databases": ["shop_db"], "workers": [], "scheduler": True, "env": {"APP_NAME": "Shop"},
             "queue_connection": "database", "session_driver": "file", "cache_driver": "file", "web_root": "public"},
    "docs": {"domains": ["docs.test"], "hosts": [HOST], "php_version": "8.2", "status": "active",
             "databases": [], "workers": [], "scheduler": False, "env": {}},
    "elsewhere": {"domains": ["elsewhere.test"], "hosts": ["other"], "php_version": "8.2", "workers": []},
}
DATABASES = {"shop_db": {"engine": "mysql", "host": HOST, "site": "shop"},
             "remote_db": {"engine": "postgresql", "host": HOST, "site": None}}
SERVER = {"file": "/etc/nginx/sites-available/shop.test", "line": 4, "server_names": ["shop.test", "www.shop.test"],
          "roots": ["/home/forge/shop.test/public"], "listen": ["443 ssl"], "tls": True, "php_versions": ["8.2"],
          "fastcgi_pass": ["unix:/var/run/php/php8.2-fpm.sock"], "directive_lines": {"root": 9, "fastcgi_pass": 42}}
DISCOVERY = {
    "os": {"pretty_name": "Debian GNU/Linux 12 (bookworm)"},
    "sites": [SERVER,
              {"file": "/etc/nginx/sites-available/legacy.test", "line": 1, "server_names": ["legacy.test"],
               "roots": ["/home/forge/legacy.test/public"], "php_versions": ["8.2"], "directive_lines": {}},
              {"file": "/etc/nginx/sites-available/000-catch-all", "line": 1, "server_names": [], "roots": []}],
    "fpm_pools": [{"file": "/etc/php/8.2/fpm/pool.d/www.conf", "php_version": "8.2", "name": "www"}],
    "apps": [{"domain": "shop.test", "path": "/home/forge/shop.test", "laravel": True,
              "env_file": "/home/forge/shop.test/.env",
              "env_keys": ["APP_NAME", "APP_KEY", "DB_DATABASE", "DB_PASSWORD", "QUEUE_CONNECTION"],
              "env_values": {"DB_DATABASE": "shop_db", "QUEUE_CONNECTION": "database", "SESSION_DRIVER": "file",
                             "CACHE_STORE": "file"}},
             {"domain": "legacy.test", "path": "/home/forge/legacy.test", "laravel": True, "env_file": None,
              "env_keys": [], "env_values": {}}],
    "workers": [{"file": "/etc/supervisor/conf.d/worker-101.conf", "line": 1, "name": "worker-101", "is_worker": True,
                 "command": "php8.2 /home/forge/shop.test/artisan queue:work --queue=default", "directory": None,
                 "numprocs": 1, "queue": "default"}],
    "cron": [{"source": "/var/spool/cron/crontabs/forge", "line": 4, "schedule": "* * * * *", "is_scheduler": True,
              "command": "php8.2 /home/forge/shop.test/artisan schedule:run"}],
    "errors": [],
}
FOUND_DBS = [{"engine": "mysql", "name": n, "size_bytes": 16384} for n in ("mysql", "sys", "shop_db", "old_reports")]


def report(discovery=None):
    return forge_report.forge_compare(DISCOVERY if discovery is None else discovery, HOST, SITES, DATABASES, FOUND_DBS, [])


def open_findings(rep):
    return sorted((f["kind"], f["subject"], f["status"]) for f in rep["findings"] if f["status"] != "match")


def test_one_difference_of_each_kind_and_nothing_else():
    rep = report()
    assert open_findings(rep) == [
        ("database", "old_reports", "model_lacks"),
        ("domain", "docs.test", "host_lacks"),
        ("php_version", "shop.test", "differs"),
        ("site", "legacy.test", "model_lacks"),
        ("worker", "queue default", "model_lacks"),
    ]
    matches = {(f["kind"], f["subject"]) for f in rep["findings"] if f["status"] == "match"}
    assert {("domain", "shop.test"), ("domain", "www.shop.test"), ("database", "shop_db"), ("env", "APP_NAME"),
            ("env", "DB_DATABASE"), ("env", "QUEUE_CONNECTION"), ("scheduler", "schedule:run")} <= matches
    assert rep["counts"]["model_lacks"] == 3 and rep["counts"]["host_lacks"] == 1 and rep["counts"]["differs"] == 1
    # remote_db is postgresql: that engine was not read here, so it is not said to be missing.
    assert not any(f["subject"] == "remote_db" for f in rep["findings"])
    assert rep["secret_env"] == {"shop": ["APP_KEY", "DB_PASSWORD"]}


def test_to_confirm_has_one_french_and_english_line_per_open_finding():
    rep = report()
    assert len(rep["to_confirm"]) == 5
    by_subject = {i["subject"]: i for i in rep["to_confirm"]}
    assert "tourne en PHP 8.2" in by_subject["shop.test"]["fr"] and "the model says PHP 8.1" in by_subject["shop.test"]["en"]
    assert "old_reports" in by_subject["old_reports"]["fr"] and "which site owns it" in by_subject["old_reports"]["en"]
    text = forge_report.forge_to_confirm_markdown(rep["to_confirm"])
    lines = [line for line in text.splitlines() if line.startswith("- [ ]")]
    assert len(lines) == 5 and all(line.index("FR :") < line.index("EN:") for line in lines)


def test_drift_names_host_file_and_line_of_a_changed_root():
    changed = dict(DISCOVERY, sites=[dict(SERVER, roots=["/home/forge/shop.test/old/public"])] + DISCOVERY["sites"][1:])
    lines = forge_report.forge_drift(report(changed))
    assert "mol-forge: /etc/nginx/sites-available/shop.test:9: root shop.test (site shop) differs: " \
           "model '/home/forge/shop.test/public', host '/home/forge/shop.test/old/public'" in lines
    assert not any("/etc/nginx/sites-available/shop.test:9" in line for line in forge_report.forge_drift(report()))
    # A zero-downtime Forge site (current/public) is not drift.
    current = dict(DISCOVERY, sites=[dict(SERVER, roots=["/home/forge/shop.test/current/public"])])
    assert not any(":9:" in line for line in forge_report.forge_drift(report(current)))


def test_drift_and_to_confirm_name_unreadable_files():
    broken = dict(DISCOVERY, errors=[{"file": "/home/forge/shop.test/.env", "error": "cannot read: Permission denied"}])
    rep = report(broken)
    assert "mol-forge: /home/forge/shop.test/.env: cannot read: Permission denied" in forge_report.forge_drift(rep)
    assert any(i["kind"] == "unreadable" and "n'a pas pu être lu" in i["fr"] for i in rep["to_confirm"])


def test_worker_counts_and_missing_workers():
    sites = dict(SITES, shop=dict(SITES["shop"], workers=[{"queue": "default", "processes": 2},
                                                          {"queue": "mail", "processes": 1}]))
    rep = forge_report.forge_compare(DISCOVERY, HOST, sites, DATABASES, FOUND_DBS, [])
    workers = sorted((f["subject"], f["status"]) for f in rep["findings"] if f["kind"] == "worker")
    assert workers == [("queue default", "differs"), ("queue mail", "host_lacks")]


def test_markdown_report_sections():
    text = forge_report.forge_report_markdown([report()])
    assert "## mol-forge" in text and "### What the model lacks" in text and "### What the host lacks" in text
    assert "| php_version | shop.test | shop | 8.1 | 8.2 | /etc/nginx/sites-available/shop.test:42 |" in text
    assert "## À confirmer / To confirm" in text


@pytest.fixture
def production_like():
    sites = {"blog": {"repo": "TO-CONFIRM blog git URL", "domains": ["blog.to-confirm.invalid"],
                      "unconfirmed": ["branch", "php_version"], "branch": "main", "php_version": "8.2"}}
    databases = {"old": {"engine": "mysql", "host": "whc", "site": None}, "blog": {"engine": "mysql", "site": "blog"}}
    hosts = {"whc": {"ansible_host": "TO-FILL", "private_ip": "10.0.0.1", "ansible_user": "deploy"}}
    dns = {"blog.to-confirm.invalid": {"registrar": "godaddy", "dns_provider": "unknown", "confirmed": False}}
    return forge_report.forge_model_to_confirm(sites, databases, hosts, dns, ["whc"])


def test_model_only_list(production_like):
    en = [i["en"] for i in production_like]
    assert en == [
        "address of whc (ansible_host) to fill in",
        "which SSH user and sudo rules did Forge set up on whc (forge?): the model says deploy",
        "Forge sites of whc: which have a deploy script changed in Forge (not Forge's default)? give its text",
        "site blog: git repository URL?",
        "site blog: real domain name (instead of blog.to-confirm.invalid)?",
        "site blog: branch is 'main' by default, is that right?",
        "site blog: php_version is '8.2' by default, is that right?",
        "database old (mysql, whc): which site owns it, is it still used?",
        "domain blog.to-confirm.invalid: registrar (godaddy) and DNS provider (unknown) to confirm",
    ]
    assert all(i["fr"] and i["fr"] != i["en"] for i in production_like)


def test_model_only_list_when_the_inventory_connects_as_forge():
    # Production connects to Forge hosts as forge (issue #17, point 5): what is left to ask is the key and the password.
    hosts = {"whc": {"ansible_host": "192.0.2.10", "private_ip": "10.0.0.1", "ansible_user": "forge"}}
    item, script = forge_report.forge_model_to_confirm({}, {}, hosts, {}, ["whc"])
    assert item["en"] == ("connecting to whc as forge: is our public SSH key added to the server in Forge, and who keeps "
                          "the forge sudo password Forge showed when it created the server?")
    assert item["fr"].startswith("connexion à whc en tant que forge : ")
    # Forge's deploy script of each site is not on the server (deploy.yml runs Forge's default): asked per host.
    assert script["en"].startswith("Forge sites of whc: which have a deploy script changed in Forge")


def test_drift_of_one_site_as_a_role_asks_for_it():
    # A role handles one site: the model it passes holds only that site; other sites' things are left out.
    rep = forge_report.forge_compare(DISCOVERY, HOST, {"shop": SITES["shop"]})
    lines = forge_report.forge_drift(rep, site="shop")
    assert [line.split(": ", 2)[2].split(" (")[0] for line in lines] == ["php_version shop.test", "worker queue default"]
    assert forge_report.forge_drift(rep, site="docs") == []


def test_worker_logs_follow_forge_naming():
    assert forge_report.forge_worker_logs(["/etc/supervisor/conf.d/worker-101.conf", "/etc/supervisor/conf.d/notes.txt"]) == [
        {"name": "worker worker-101", "path": "/home/forge/.forge/worker-101.log"}]
    assert forge_report.forge_worker_logs(None) == []


def test_databases_of_both_engines_as_their_info_modules_return_them():
    # discover.yml hands forge_compare what community.mysql.mysql_info and community.postgresql.postgresql_info
    # return (sizes as numbers or strings); system databases are left out, each engine read is compared.
    found = {"mysql": {"mysql": {"size": 1024}, "shop_db": {"size": 49152}, "old_reports": {"size": 16384}},
             "postgresql": {"postgres": {"size": "7484207", "owner": "postgres"},
                            "remote_db": {"size": "8741423", "owner": "remote"},
                            "stats": {"size": "7600000", "owner": "stats"}}}
    rep = forge_report.forge_compare(DISCOVERY, HOST, SITES, DATABASES, found, [])
    dbs = {(d["engine"], d["name"]): d["size_bytes"] for d in rep["databases"]}
    assert dbs == {("mysql", "old_reports"): 16384, ("mysql", "shop_db"): 49152,
                   ("postgresql", "remote_db"): 8741423, ("postgresql", "stats"): 7600000}
    found_dbs = sorted((f["subject"], f["status"], f["host"]) for f in rep["findings"] if f["kind"] == "database")
    assert found_dbs == [("old_reports", "model_lacks", "mysql, 16384 bytes"),
                         ("remote_db", "match", "postgresql, 8741423 bytes"),
                         ("shop_db", "match", "mysql, 49152 bytes"),
                         ("stats", "model_lacks", "postgresql, 7600000 bytes")]
