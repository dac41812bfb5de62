"""host_discover on a whole Forge-shaped tree (built in tmp_path from tests/fixtures/forge/): what it
reads, what it never returns (secret values), and the unreadable or malformed files it lists by name."""

import json
import shutil
from pathlib import Path

from ansible_collections.infra.hosting.plugins.modules import host_discover

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "forge"
SS = (FIXTURES / "ss.txt").read_text()


def build(root):
    def put(rel, name=None, content=None):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if name:
            shutil.copy(FIXTURES / name, path)
        else:
            path.write_text(content)
        return path

    put("etc/os-release", content='PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nVERSION_ID="22.04"\n')
    put("etc/nginx/sites-available/shop.test", "shop.test.nginx")
    put("etc/nginx/sites-available/000-catch-all", content="server { listen 80 default_server; server_name _; return 444; }\n")
    (root / "etc/nginx/sites-enabled").mkdir(parents=True)
    (root / "etc/nginx/sites-enabled/shop.test").symlink_to(root / "etc/nginx/sites-available/shop.test")
    put("etc/php/8.2/fpm/pool.d/www.conf", content="[www]\nuser = forge\nlisten = /run/php/php8.2-fpm.sock\n")
    put("home/forge/shop.test/.env", "shop.env")
    put("home/forge/shop.test/artisan", content="#!/usr/bin/env php\n")
    put("home/forge/.forge/worker-101.log", content="")
    put("etc/supervisor/conf.d/worker-101.conf", "worker-101.conf")
    put("var/spool/cron/crontabs/forge", "forge.crontab")
    (root / "etc/cron.d").mkdir(parents=True)
    return {
        "os_release": str(root / "etc/os-release"),
        "nginx_dirs": [str(root / "etc/nginx/sites-available")],
        "nginx_enabled_dir": str(root / "etc/nginx/sites-enabled"),
        "fpm_glob": str(root / "etc/php/*/fpm/pool.d/*.conf"),
        "forge_home": str(root / "home/forge"),
        "supervisor_glob": str(root / "etc/supervisor/conf.d/*.conf"),
        "cron_dir": str(root / "etc/cron.d"),
        "crontab_dir": str(root / "var/spool/cron/crontabs"),
        "disk_paths": [str(root)],
        "typesense_config": str(root / "nothing"),
        "meilisearch_config": str(root / "nothing"),
    }


def run(paths, ss=""):
    return host_discover.discover({"paths": paths, "app_sizes": True}, lambda cmd: (0, ss, ""))


def test_whole_forge_host(tmp_path):
    found = run(build(tmp_path))
    assert found["errors"] == []
    assert found["os"]["id"] == "ubuntu"
    shop = [s for s in found["sites"] if s["server_names"]]
    assert [(s["server_names"][0], s["php_versions"], s["enabled"]) for s in shop] == [("shop.test", ["8.2"], True)]
    catch_all = [s for s in found["sites"] if not s["server_names"]]
    assert catch_all and catch_all[0]["enabled"] is False
    assert found["fpm_pools"][0]["php_version"] == "8.2" and found["fpm_pools"][0]["user"] == "forge"
    (app,) = found["apps"]
    assert app["domain"] == "shop.test" and app["laravel"] and "APP_KEY" in app["env_keys"]
    assert app["env_values"]["DB_DATABASE"] == "shop_db" and "APP_KEY" not in app["env_values"]
    assert found["workers"][0]["numprocs"] == 2 and found["workers"][0]["file"].endswith("worker-101.conf")
    assert found["cron"][0]["user"] == "forge" and found["cron"][0]["is_scheduler"]
    assert found["disk"][0]["total_bytes"] > 0
    text = json.dumps(found)
    for secret in ("c2VjcmV0", "p@ss", "sk_test_never", "BEGIN"):
        assert secret not in text


def test_unreadable_and_malformed_files_are_listed_by_name(tmp_path):
    paths = build(tmp_path)
    shutil.copy(FIXTURES / "broken.nginx", tmp_path / "etc/nginx/sites-available/broken.test")
    shutil.copy(FIXTURES / "bad.env", tmp_path / "home/forge/shop.test/.env")
    shutil.copy(FIXTURES / "worker-bad.conf", tmp_path / "etc/supervisor/conf.d/worker-102.conf")
    (tmp_path / "home/forge/gone.test").mkdir()
    (tmp_path / "home/forge/gone.test/.env").symlink_to(tmp_path / "missing")
    found = run(paths)
    errors = {Path(e["file"]).relative_to(tmp_path).as_posix(): e["error"] for e in found["errors"]}
    assert set(errors) == {"etc/nginx/sites-available/broken.test", "home/forge/shop.test/.env",
                           "etc/supervisor/conf.d/worker-102.conf", "home/forge/gone.test/.env"}
    assert errors["home/forge/gone.test/.env"].startswith("cannot read")
    assert "unclosed block" in errors["etc/nginx/sites-available/broken.test"]
    assert "this line" not in json.dumps(found)  # a malformed line's text is not echoed past its name


def test_search_engines_on_loopback(tmp_path):
    paths = build(tmp_path)
    (tmp_path / "ts.ini").write_text("[server]\napi-key = k3y\napi-port = 8108\n")
    paths["typesense_config"] = str(tmp_path / "ts.ini")
    asked = []

    def get(url, headers):
        asked.append((url, headers))
        if "8108" in url:
            return [{"name": "jobs", "num_documents": 12}]
        raise OSError("401 Unauthorized k3y")

    found, errors = host_discover.discover_search(paths, lambda cmd: (0, SS, ""), get=get)
    assert errors == []
    assert [(s["engine"], s["port"], s["reachable"]) for s in found] == [("typesense", 8108, True), ("meilisearch", 7700, False)]
    assert found[0]["collections"] == [{"name": "jobs", "documents": 12}]
    assert "k3y" not in json.dumps(found) and all(u.startswith("http://127.0.0.1:") for u, _unused in asked)


def test_listening_ports():
    assert host_discover.listening(SS) == [(8108, "typesense-serve"), (7700, "meilisearch"), (443, "nginx")]
