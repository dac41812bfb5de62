"""A collection of the legacy Typesense moved to the cluster by playbooks/search_migrate.yml (issue 19).

The node of the scenario is also the legacy host (group typesense_legacy): this test runs a second real
Typesense there (port 8109, its own data directory, the binary search.yml installed), seeds a collection
with a schema of its own (facet, int32 default sorting field, token separators), a synonym and an
override, then, through ansible-playbook with a data model where a `search: typesense` site names that
collection in `search_indexes`:
1. --check shows what would move and changes nothing;
2. the move: same number of documents and ids on the cluster, the same hits for the same searches
   (the synonym and the pinned override included), the alias on the new collection, the schema as it was;
3. a second run is a no-op.
The legacy server is stopped and its data removed at the end. Runs after test_typesense.py (name order).
"""

import json

import pytest
from lab_playbook import playbook, task_output

LEGACY, CLUSTER = "http://127.0.0.1:8109", "http://127.0.0.1:8108"
NAME = "legacy_jobs"
DOCS = 600
SEED = r'''
import json, sys, urllib.request
key, count = sys.argv[1], int(sys.argv[2])
def call(method, path, body=None, ctype="application/json"):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request("http://127.0.0.1:8109" + path, data=data, method=method,
                                 headers={"X-TYPESENSE-API-KEY": key, "Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=30) as answer:
        return answer.read().decode()
call("POST", "/collections", {"name": "legacy_jobs", "default_sorting_field": "salary", "token_separators": ["-"],
     "fields": [{"name": "title", "type": "string"}, {"name": "city", "type": "string", "facet": True},
                {"name": "salary", "type": "int32"}, {"name": "tags", "type": "string[]", "optional": True}]})
roles = ["pilot", "mechanic", "developer", "dispatcher", "engineer", "agent", "instructor"]
levels = ["junior", "senior", "lead", "chief", "trainee", "regional", "night", "line", "base", "cargo", "charter"]
cities = ["Montreal", "Quebec", "Saguenay", "Mirabel", "Gatineau"]
docs = []
for n in range(count):
    doc = {"id": "job-%d" % n, "title": "%s %s %s-%d" % (levels[n % 11], roles[n % 7], cities[n % 5].lower(), n),
           "city": cities[n % 5], "salary": 30000 + 7 * n}
    if n % 3:
        doc["tags"] = [roles[(n + 1) % 7], levels[(n + 2) % 11]]
    docs.append(json.dumps(doc))
answer = call("POST", "/collections/legacy_jobs/documents/import?action=create", "\n".join(docs).encode(), "text/plain")
assert answer.count('"success":true') == count, answer[:500]
call("PUT", "/collections/legacy_jobs/synonyms/coders", {"synonyms": ["developer", "coder", "programmer"]})
call("PUT", "/collections/legacy_jobs/overrides/pin-chief-pilot",
     {"rule": {"query": "pilot", "match": "exact"}, "includes": [{"id": "job-500", "position": 1}]})
print(json.loads(call("GET", "/collections/legacy_jobs"))["num_documents"])
'''
KEY = None


def curl(host, base, path, key):
    out = host.check_output("curl -s --max-time 10 -H 'X-TYPESENSE-API-KEY: %s' '%s%s'" % (key, base, path))
    return json.loads(out)


def export_ids(host, base, key):
    out = host.check_output("curl -s --max-time 30 -H 'X-TYPESENSE-API-KEY: %s' '%s/collections/%s/documents/export"
                            "?include_fields=id'" % (key, base, NAME))
    return sorted(json.loads(line)["id"] for line in out.splitlines() if line.strip())


def hits(host, base, key, query):
    answer = curl(host, base, "/collections/%s/documents/search?q=%s&query_by=title,tags&per_page=10" % (NAME, query), key)
    return [hit["document"]["id"] for hit in answer["hits"]], answer["found"]


def move(*extra):
    """search_migrate.yml, legacy collections only, with a data model whose search: typesense site names NAME."""
    model = {"sites": {
        "aeroweb": {"domains": ["aeroweb.lab.test"], "hosts": ["mol-typesense"], "repo": "git://10.77.0.5/testapp.git",
                    "search": "meilisearch", "search_indexes": ["candidatures"]},
        "aerotalent": {"domains": ["aerotalent.lab.test"], "hosts": ["mol-typesense"],
                       "repo": "git://10.77.0.5/testapp.git", "search": "typesense", "search_indexes": [NAME]}}}
    return playbook("search_migrate.yml", "-e", "private_ip=127.0.0.1", "-e", "source=typesense",
                    "-e", json.dumps(model), *extra)


@pytest.fixture(scope="module")
def legacy(host, molecule_secrets):
    global KEY
    KEY = molecule_secrets["typesense_cluster_api_key"]
    admin = molecule_secrets["typesense_api_key"]
    host.check_output("mkdir -p /var/lib/typesense-legacy")
    host.check_output("systemd-run --unit typesense-legacy /usr/bin/typesense-server --data-dir /var/lib/typesense-legacy"
                      " --api-key '%s' --api-address 127.0.0.1 --api-port 8109 --peering-address 127.0.0.1"
                      " --peering-port 8110" % KEY)
    try:
        host.check_output("for i in $(seq 1 60); do curl -sf --max-time 2 %s/health | grep -q true && exit 0;"
                          " sleep 1; done; exit 1" % LEGACY)
        host.check_output("cat > /tmp/seed_legacy.py <<'EOF'\n%s\nEOF" % SEED)
        assert host.check_output("python3 /tmp/seed_legacy.py '%s' %d" % (KEY, DOCS)).strip() == str(DOCS)
        yield admin
    finally:
        host.run("systemctl stop typesense-legacy; rm -rf /var/lib/typesense-legacy /tmp/seed_legacy.py")


@pytest.fixture(scope="module")
def checked(legacy):
    return move("--check")


@pytest.fixture(scope="module")
def moved(legacy, checked):
    return move()


def test_check_mode_shows_what_would_move_and_changes_nothing(host, legacy, checked):
    rc, out = checked
    assert rc == 0, out[-3000:]
    shown = task_output(out, "Show the outcome of each index")
    assert "typesense %s: alias -> %s__" % (NAME, NAME) in shown and "(%d documents" % DOCS in shown, out[-3000:]
    assert host.run("curl -sf --max-time 10 -H 'X-TYPESENSE-API-KEY: %s' %s/aliases/%s" % (legacy, CLUSTER, NAME)).rc != 0


def test_the_move_runs_and_points_the_alias_at_a_new_collection(host, legacy, moved):
    rc, out = moved
    assert rc == 0, out[-3000:]
    collection = curl(host, CLUSTER, "/aliases/%s" % NAME, legacy)["collection_name"]
    assert collection.startswith(NAME + "__"), collection


def test_same_documents_and_ids_on_the_cluster(host, legacy, moved):
    assert curl(host, CLUSTER, "/collections/%s" % NAME, legacy)["num_documents"] == DOCS
    source_ids = export_ids(host, LEGACY, KEY)
    assert len(source_ids) == DOCS and export_ids(host, CLUSTER, legacy) == source_ids


def test_the_schema_synonyms_and_overrides_came_as_they_were(host, legacy, moved):
    source = curl(host, LEGACY, "/collections/%s" % NAME, KEY)
    target = curl(host, CLUSTER, "/collections/%s" % NAME, legacy)
    for key in ("fields", "default_sorting_field", "token_separators"):
        assert target[key] == source[key], key
    assert [s["id"] for s in curl(host, CLUSTER, "/collections/%s/synonyms" % NAME, legacy)["synonyms"]] == ["coders"]
    assert [o["id"] for o in curl(host, CLUSTER, "/collections/%s/overrides" % NAME, legacy)["overrides"]] == ["pin-chief-pilot"]


@pytest.mark.parametrize("query", ["pilot", "coder", "senior+mechanic", "mirabel"])
def test_a_search_returns_the_same_hits(host, legacy, moved, query):
    before = hits(host, LEGACY, KEY, query)
    assert before[1] > 0
    assert hits(host, CLUSTER, legacy, query) == before
    if query == "pilot":  # the override pins job-500 first
        assert before[0][0] == "job-500"


def test_a_second_run_is_a_no_op(host, legacy, moved):
    collection = curl(host, CLUSTER, "/aliases/%s" % NAME, legacy)["collection_name"]
    rc, out = move()
    assert rc == 0, out[-3000:]
    assert "changed=0" in out and "failed=0" in out, out[-2000:]
    assert "(%d documents, 0 imported, verified: True)" % DOCS in task_output(out, "Show the outcome of each index"), out[-2000:]
    assert curl(host, CLUSTER, "/aliases/%s" % NAME, legacy)["collection_name"] == collection
