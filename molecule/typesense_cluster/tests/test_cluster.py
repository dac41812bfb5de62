"""A three-node cluster keeps answering with one node stopped, and the node rejoins.

Runs its steps from node 3 (which it stops and starts), talking to the nodes at the addresses
of the nodes file; every wait is bounded (at most 60 tries of 2 s).
"""

import json

import pytest
from lab_playbook import wait_for

KEY = None  # set by the key fixture, from the encrypted test fixture


@pytest.fixture(autouse=True, scope="module")
def key(molecule_secrets):
    global KEY
    KEY = molecule_secrets["typesense_cluster_api_key"]


def nodes(host):
    line = [l for l in host.file("/etc/typesense/nodes").content_string.splitlines() if l and not l.startswith("#")][0]
    return [n.split(":")[0] for n in line.split(",")]


def call(host, ip, path, method="GET", data=None, ctype="application/json"):
    cmd = "curl -s --max-time 5 -H 'X-TYPESENSE-API-KEY: %s' -X %s" % (KEY, method)
    if data is not None:
        cmd += " -H 'Content-Type: %s' --data-binary '%s'" % (ctype, data)
    out = host.run(cmd + " 'http://%s:8108%s'" % (ip, path))
    return out.stdout


def found(host, ip, collection="probe"):
    try:
        return json.loads(call(host, ip, "/collections/%s/documents/search?q=*&per_page=1" % collection)).get("found")
    except ValueError:
        return None


def test_every_node_is_healthy_with_a_nodes_file(host):
    if host.backend.get_hostname().endswith("-web"):
        pytest.skip("the web node is no Typesense node (tests/test_search_site.py)")
    assert len(nodes(host)) == 3
    assert host.service("typesense-server").is_running
    assert wait_for(lambda: '"ok":true' in host.run("curl -s --max-time 5 http://127.0.0.1:8108/health").stdout)


@pytest.mark.parametrize("unused", [None])
def test_cluster_survives_one_node_down_and_the_node_rejoins(host, unused):
    if not host.backend.get_hostname().endswith("-3"):
        pytest.skip("driven from node 3")
    ips = nodes(host)
    me = host.check_output("hostname -I").split()[0]
    others = [ip for ip in ips if ip != me]
    # A collection written through one node is readable on every node (replicated).
    call(host, others[0], "/collections/probe", "DELETE")
    call(host, others[0], "/collections", "POST", json.dumps({"name": "probe", "fields": [{"name": "t", "type": "string"}]}))
    docs = "\n".join(json.dumps({"id": str(n), "t": "doc %d" % n}) for n in range(50))
    call(host, others[0], "/collections/probe/documents/import?action=create", "POST", docs, "text/plain")
    assert all(wait_for(lambda ip=ip: found(host, ip) == 50) for ip in ips)
    # One node down: the two others still answer searches and take writes.
    host.run("systemctl stop typesense-server")
    try:
        for ip in others:
            assert wait_for(lambda ip=ip: found(host, ip) == 50), ip
        call(host, others[1], "/collections/probe/documents", "POST", json.dumps({"id": "50", "t": "written with a node down"}))
        assert wait_for(lambda: found(host, others[0]) == 51)
    finally:
        host.run("systemctl start typesense-server")
    # The node rejoins and catches up with the write it missed.
    assert wait_for(lambda: '"ok":true' in host.run("curl -s --max-time 5 http://127.0.0.1:8108/health").stdout)
    assert wait_for(lambda: found(host, "127.0.0.1") == 51)
