"""The Meilisearch STAND-IN's search (tests/standins): the documented, simple semantics the
migration's sample-query checks compare against (every word in one searchable attribute, the
last one as a prefix, hits ordered by the rank of that attribute, then by document order)."""

import importlib.util
from pathlib import Path

PATH = Path(__file__).resolve().parents[3] / "tests" / "standins" / "meilisearch_standin.py"
spec = importlib.util.spec_from_file_location("meilisearch_standin", PATH)
standin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(standin)

DOCS = [
    {"id": 1, "titre": "Développeur Laravel", "resume": "PHP et Vue"},
    {"id": 2, "titre": "Analyste", "resume": "Laravel senior, développeur PHP"},
    {"id": 3, "titre": "Développeuse Python", "resume": "Django"},
    {"id": 4, "titre": None, "resume": ["laravel", "devops"]},
]
SETTINGS = {"searchableAttributes": ["titre", "resume"]}


def ids(result):
    return [doc["id"] for doc in result[0]], result[1]


def test_words_in_one_attribute_last_as_prefix_ranked_by_attribute():
    index = standin.Index("c", DOCS, "id", SETTINGS)
    assert ids(index.search("developpeur lar", 10)) == ([1, 2], 2)   # accents removed; "lar" prefix
    assert ids(index.search("laravel", 10)) == ([1, 2, 4], 3)        # titre before resume, then order
    assert ids(index.search("python django", 10)) == ([], 0)         # not in the same attribute
    assert ids(index.search("dev", 2)) == ([1, 3], 4)                # limit, total of every hit


def test_empty_query_returns_documents_in_order():
    index = standin.Index("c", DOCS, "id", SETTINGS)
    assert ids(index.search("", 2)) == ([1, 2], 4)


def test_a_page_of_documents_is_the_documented_answer_and_keeps_the_connection():
    import http.client
    import json
    import threading

    index = standin.Index("c", DOCS, "id", SETTINGS)
    assert json.loads(index.page(1, 2)) == {"results": DOCS[1:3], "offset": 1, "limit": 2, "total": 4}
    assert json.loads(index.page(3, 20))["results"] == DOCS[3:]
    standin.Handler.indexes = {"c": index}
    server = standin.ThreadingHTTPServer(("127.0.0.1", 0), standin.Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
        for offset in (0, 2):                           # two answers on one connection (keep-alive)
            conn.request("GET", "/indexes/c/documents?offset=%d&limit=2" % offset)
            answer = conn.getresponse()
            assert answer.status == 200 and json.loads(answer.read())["results"] == DOCS[offset:offset + 2]
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
