"""A search site keeps answering searches with the first Typesense node stopped (issue 19).

The web node serves the test application (tests/app) as site `finder` (`search: typesense`): its .env,
written by deploy.yml from the data model, lists every node in TYPESENSE_NODES; GET /search asks them
in order and skips one that does not answer. Driven from the web node: seeds the collection `products`
through node 1, searches through nginx, stops node 1 (the first node of TYPESENSE_NODES), searches
again, then starts node 1 and waits until it answers again. Every wait is bounded (60 tries of 2 s).
"""

import json

import pytest
import testinfra
from lab_playbook import wait_for

SITE = "finder.lab.test"
NODES = ["mol-typesense_cluster-1", "mol-typesense_cluster-2", "mol-typesense_cluster-3"]
# Python on the web node (no curl there): GET through nginx, prints the status then the body.
GET = ("import sys, urllib.request, urllib.error\n"
       "req = urllib.request.Request('http://127.0.0.1' + sys.argv[1], headers={'Host': sys.argv[2]})\n"
       "try:\n"
       "    answer = urllib.request.urlopen(req, timeout=20)\n"
       "except urllib.error.HTTPError as exc:\n"
       "    answer = exc\n"
       "print(answer.status if hasattr(answer, 'status') else answer.code)\n"
       "print(answer.read().decode())\n")


@pytest.fixture(scope="module")
def web(host):
    if not host.backend.get_hostname().endswith("-web"):
        pytest.skip("driven from the web node")
    return host


def env_of(web):
    lines = web.check_output("cat /srv/www/finder/shared/.env").splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return dict((name, value.strip('"')) for name, value in pairs)  # laravel_app quotes the values


def search(web, query):
    """(status, JSON body or None) of GET /search?q=query through nginx."""
    out = web.run("python3 -c %s '/search?q=%s' %s" % (_quote(GET), query, SITE))
    status, _, body = out.stdout.partition("\n")
    try:
        return int(status), json.loads(body)
    except ValueError:
        return None, out.stdout + out.stderr


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


@pytest.fixture(scope="module")
def seeded(web, molecule_secrets):
    """Collection products (12 documents) through node 1, replicated to every node."""
    node = testinfra.get_host("podman://" + NODES[0])
    key = molecule_secrets["typesense_cluster_api_key"]

    def call(path, method="GET", data=None, ctype="application/json"):
        cmd = "curl -s --max-time 5 -H 'X-TYPESENSE-API-KEY: %s' -X %s" % (key, method)
        if data is not None:
            cmd += " -H 'Content-Type: %s' --data-binary '%s'" % (ctype, data)
        return node.run(cmd + " 'http://127.0.0.1:8108%s'" % path).stdout

    call("/collections/products", "DELETE")
    call("/collections", "POST", json.dumps({"name": "products", "fields": [{"name": "title", "type": "string"}]}))
    docs = [{"id": str(n), "title": "%s wing part %d" % ("titanium" if n % 3 == 0 else "aluminium", n)} for n in range(12)]
    call("/collections/products/documents/import?action=create", "POST", "\n".join(json.dumps(d) for d in docs), "text/plain")
    return node


def test_the_sites_env_lists_every_node_first_one_first(web):
    env = env_of(web)
    assert env["SCOUT_DRIVER"] == "typesense"
    nodes = env["TYPESENSE_NODES"].split(",")
    assert len(nodes) == 3 and env["TYPESENSE_HOST"] == nodes[0]
    for name, ip in zip(NODES, nodes):
        assert testinfra.get_host("podman://" + name).check_output("hostname -I").split()[0] == ip, name


def found(web, query):
    status, body = search(web, query)
    return body.get("found") if status == 200 else None


def test_search_answers_through_nginx(web, seeded):
    assert wait_for(lambda: found(web, "titanium") == 4), search(web, "titanium")
    status, body = search(web, "titanium")
    assert status == 200 and body["found"] == 4 and sorted(h["id"] for h in body["hits"]) == ["0", "3", "6", "9"]
    assert body["node"] == env_of(web)["TYPESENSE_NODES"].split(",")[0] and body["skipped"] == []


def test_search_still_answers_with_the_first_node_stopped(web, seeded):
    first = env_of(web)["TYPESENSE_NODES"].split(",")[0]
    seeded.check_output("systemctl stop typesense-server")
    try:
        # The first answer is awaited (bounded): with the Raft leader stopped, the two others may answer
        # 503 until they have elected a new one; the app then has no node to give the search to.
        assert wait_for(lambda: found(web, "titanium") == 4, tries=30), search(web, "titanium")
        status, body = search(web, "titanium")
        assert status == 200, body
        assert body["found"] == 4 and sorted(h["id"] for h in body["hits"]) == ["0", "3", "6", "9"]
        assert body["node"] != first and body["skipped"] == [{"node": first, "reason": "unreachable"}]
    finally:
        seeded.run("systemctl start typesense-server")
    # Node 1 back: it rejoins and answers again (the next tests and runs find the cluster whole).
    assert wait_for(lambda: '"ok":true' in seeded.run("curl -s --max-time 5 http://127.0.0.1:8108/health").stdout)
