"""What a user of the Typesense node sees, and the outcome of the migration from the Meilisearch STAND-IN."""

import json

import pytest

ADMIN = SEARCH = BACKEND = STANDIN = None  # set by the keys fixture, from the encrypted test fixture

API = "http://127.0.0.1:8108"
DOCS = 20000  # standin_documents in molecule.yml


@pytest.fixture(autouse=True, scope="module")
def keys(molecule_secrets):
    global ADMIN, SEARCH, BACKEND, STANDIN
    ADMIN = molecule_secrets["typesense_api_key"]
    SEARCH = molecule_secrets["typesense_search_key"]
    BACKEND = molecule_secrets["typesense_backend_key"]
    STANDIN = molecule_secrets["meilisearch_master_key"]


def curl(host, path, key=None, method="GET", data=None):
    """HTTP status and body of one request to the node (bounded: 10 s), in one command."""
    cmd = "curl -s --max-time 10 -w '\\n%{http_code}' -X " + method
    if key:
        cmd += " -H 'X-TYPESENSE-API-KEY: " + key + "'"
    if data is not None:
        cmd += " -H 'Content-Type: application/json' -d '" + json.dumps(data) + "'"
    body, _, status = host.check_output(cmd + " '" + API + path + "'").rpartition("\n")
    return int(status), body


def test_service_runs_and_listens(host):
    assert host.service("typesense-server").is_running
    assert host.service("typesense-server").is_enabled
    assert host.socket("tcp://0.0.0.0:8108").is_listening
    assert host.process.filter(comm="typesense-serve")[0].user == "typesense"


def test_health_answers_and_health_check_passes(host):
    assert curl(host, "/health") == (200, '{"ok":true}')
    assert host.run("/usr/local/bin/typesense-health").rc == 0


def test_admin_key_is_required(host):
    assert curl(host, "/collections", ADMIN)[0] == 200
    assert curl(host, "/collections")[0] == 401
    assert curl(host, "/collections", "wrong-key-wrong-key")[0] == 401


def test_config_keeps_the_key_private(host):
    config = host.file("/etc/typesense/typesense-server.ini")
    assert config.user == "root" and config.group == "typesense" and config.mode == 0o640
    assert host.file("/var/lib/typesense").user == "typesense"
    assert host.file("/var/lib/typesense").mode == 0o750


def test_alias_points_at_the_migrated_collection_with_every_document(host):
    status, body = curl(host, "/aliases/candidatures", ADMIN)
    assert status == 200
    collection = json.loads(body)["collection_name"]
    assert collection.startswith("candidatures__")
    status, body = curl(host, "/collections/candidatures", ADMIN)   # through the alias
    assert json.loads(body)["num_documents"] == DOCS
    standin = host.check_output("curl -s --max-time 10 -H 'Authorization: Bearer " + STANDIN + "' "
                                "http://127.0.0.1:7700/indexes/candidatures/stats")
    assert json.loads(standin)["numberOfDocuments"] == DOCS


def test_front_end_key_searches_but_cannot_write(host):
    status, body = curl(host, "/collections/candidatures/documents/search?q=Laravel&query_by=titre&per_page=3", SEARCH)
    assert status == 200 and json.loads(body)["found"] > 0
    assert curl(host, "/collections", SEARCH, "POST", {"name": "x", "fields": [{"name": "a", "type": "string"}]})[0] in (401, 403)
    assert curl(host, "/collections/candidatures/documents", SEARCH, "POST", {"id": "x", "titre": "y"})[0] in (401, 403)


def test_back_end_key_reads_documents_of_its_collection_only(host):
    assert curl(host, "/collections/candidatures/documents/1", BACKEND)[0] == 200
    assert curl(host, "/collections", BACKEND, "POST", {"name": "x", "fields": [{"name": "a", "type": "string"}]})[0] in (401, 403)


def test_site_env_points_at_typesense(host):
    env = host.file("/srv/www/aeroweb/shared/.env").content_string
    assert "SCOUT_DRIVER=typesense" in env
    assert "SCOUT_DRIVER=meilisearch" not in env
    assert "TYPESENSE_API_KEY=" + BACKEND in env
    assert "TYPESENSE_PORT=8108" in env


def test_snapshot_is_taken(host):
    assert host.service("typesense-snapshot.timer").is_enabled
    result = host.run("systemctl start typesense-snapshot.service")
    assert result.rc == 0, result.stderr
    snapshots = host.check_output("ls -1 /var/backups/infra/typesense").split()
    assert snapshots
    assert host.file("/var/backups/infra/typesense/" + snapshots[-1]).is_directory


@pytest.mark.parametrize("path", ["/var/log/search-migrate.log"])
def test_migration_logged_its_progress(host, path):
    assert "imported %d/%d" % (DOCS, DOCS) in host.file(path).content_string
