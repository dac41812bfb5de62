"""The migration run against in-memory fakes: check mode, first run, no-op re-run, changed source, refused lines."""

import json

from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_api import SearchHTTPError
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_run import auto_queries, migrate


class FakeSource(object):
    """A source without an update time (as a Typesense source): the run reads before it imports."""
    uid = "cand"

    def __init__(self, docs, settings=None):
        self.docs = docs
        self.settings = settings or {"searchableAttributes": ["titre"]}

    def info(self):
        return self.settings, "cid"

    def snapshot(self):
        return None

    def documents(self):
        return iter(self.docs)

    def search(self, query, limit, pk):
        words = query.lower().split()
        return [str(d[pk]) for d in self.docs if all(w in d["titre"].lower() for w in words)][:limit]


FIELD_CHECKS = {"string": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
                "int64": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "int32": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}


def refusal(schema, doc):
    """Typesense's answer to a document that does not fit the declared types (None when it fits)."""
    for field in schema.get("fields", []):
        value, ftype = doc.get(field["name"]), field["type"]
        if value is None:
            continue
        check = FIELD_CHECKS[ftype.rstrip("[]")]
        values = value if ftype.endswith("[]") and isinstance(value, list) else [value]
        if ftype.endswith("[]") != isinstance(value, list) or not all(check(v) for v in values):
            return "Field `%s` must be of type %s." % (field["name"], ftype)
    return None


class FakeTypesense(object):
    """Collections, aliases and documents in memory; every write is recorded in calls."""

    def __init__(self, refuse=None):
        self.colls, self.schemas, self.aliases, self.calls, self.refuse = {}, {}, {}, [], refuse

    def alias(self, name):
        return self.aliases.get(name)

    def collection(self, name):
        if name not in self.colls:
            return None
        return {"name": name, "num_documents": len(self.colls[name])}

    def collections(self):
        return [{"name": n} for n in self.colls]

    def create(self, schema):
        self.calls.append(("create", schema["name"]))
        self.colls[schema["name"]] = {}
        self.schemas[schema["name"]] = schema

    def drop(self, name):
        self.calls.append(("drop", name))
        del self.colls[name]

    def put_rule(self, coll, kind, rule):
        self.calls.append((kind, rule["id"]))

    def import_jsonl(self, coll, text):
        out = []
        for line in text.split("\n"):
            doc = json.loads(line)
            error = "refused" if doc["id"] == self.refuse else refusal(self.schemas[coll], doc)
            if error:
                out.append(json.dumps({"success": False, "error": error, "document": line}))
            else:
                self.colls[coll][doc["id"]] = doc
                out.append('{"success":true}')
        return "\n".join(out)

    def export_ids(self, coll):
        self.calls.append(("export", coll))
        return iter(list(self.colls[coll]))

    def count_ids(self, coll, ids):
        return sum(1 for i in ids if i in self.colls[coll])

    def search(self, coll, query, query_by, limit):
        words = query.lower().split()
        return [i for i, d in sorted(self.colls[coll].items(), key=lambda x: int(x[0].split()[-1]))
                if all(w in d["titre"].lower() for w in words)][:limit]

    def point_alias(self, alias, coll):
        self.calls.append(("alias", coll))
        self.aliases[alias] = coll

    def document(self, coll, doc_id):
        return self.colls.get(coll, {}).get(doc_id)

    def upsert(self, coll, doc):
        if coll not in self.colls:
            raise SearchHTTPError("POST", "/collections/%s/documents" % coll, 404, "Not Found")
        self.calls.append(("upsert", coll, doc["id"]))
        self.colls[coll][doc["id"]] = dict(doc)

    def versions(self, alias):
        """The alias's collections (the ledger and other aliases' collections left out)."""
        return sorted(n for n in self.colls if n.startswith(alias + "__"))


DOCS = [{"cid": n, "titre": "poste %d %s" % (n, "php" if n % 2 else "vue")} for n in range(1, 26)]


def test_check_mode_writes_nothing():
    ts = FakeTypesense()
    result = migrate(FakeSource(DOCS), ts, "cand", batch_size=10, check_mode=True)
    assert result["changed"] is True and result["would_import"] == 25
    assert ts.calls == [] and ts.colls == {}


def test_first_run_imports_verifies_publishes_then_rerun_is_noop():
    ts = FakeTypesense()
    lines = []
    first = migrate(FakeSource(DOCS), ts, "cand", batch_size=10, progress=lines.append, sample_queries=["php", "poste 3"])
    assert first["changed"] and first["imported"] == 25 and first["verification"]["ok"]
    assert ts.aliases["cand"] == first["collection"]
    assert any("imported 20/25" in line for line in lines)
    calls = len(ts.calls)
    second = migrate(FakeSource(DOCS), ts, "cand", batch_size=10)
    assert second["changed"] is False and second["imported"] == 0
    assert len(ts.calls) == calls                  # nothing written
    assert second["verification"]["ok"]


def test_changed_source_switches_alias_and_keeps_previous_only():
    ts = FakeTypesense()
    v1 = migrate(FakeSource(DOCS), ts, "cand")
    v2 = migrate(FakeSource(DOCS[:-1]), ts, "cand")
    v3 = migrate(FakeSource(DOCS[:-2]), ts, "cand")
    assert ts.aliases["cand"] == v3["collection"]
    assert v3["previous_collection"] == v2["collection"]
    assert v3["deleted_collections"] == [v1["collection"]]
    assert ts.versions("cand") == sorted([v2["collection"], v3["collection"]])
    assert ts.document("search_migrate_ledger", "cand")["collection"] == v3["collection"]   # recorded at each publish


def test_refused_line_fails_and_leaves_the_alias():
    ts = FakeTypesense(refuse="7")
    result = migrate(FakeSource(DOCS), ts, "cand")
    assert result["failed"] and result["import_errors"][0]["line"] == 7
    assert "cand" not in ts.aliases


def test_auto_queries_take_the_wordiest_searchable_field():
    docs = [{"a": "one", "b": "two three four five six"}, {"a": ["x", "y"], "b": None}]
    assert auto_queries(docs, ["a", "b"], words=3) == ["two three four", "x y"]


# --- pipeline, streaming verification, consistency of the read -------------------------------------------

import contextlib  # noqa: E402
import http.server  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402

import pytest  # noqa: E402

from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import Fingerprint, canonical  # noqa: E402
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_api import Http, MeiliSource, Typesense  # noqa: E402
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_run import Reading, import_batches  # noqa: E402


def test_a_reading_spools_every_document_and_fingerprints_them():
    docs = [{"cid": n, "titre": "t %d" % n, "n": n * 1.5, "tags": ["a", "b"], "o": {"x": [n]}} for n in range(2500)]
    chunks = []
    with tempfile.TemporaryFile(mode="w+b") as spool:
        reading = Reading("cid", "a", spool, lambda m: None).run(iter(docs), lambda r, d, t: chunks.append(len(d)))
        assert list(reading.documents()) == docs and chunks == [1000, 1000, 500]
    reference = Fingerprint()
    for doc in docs:
        reference.add_canonical(canonical(doc))
    assert reading.finger.hexdigest({}, "cid") == reference.hexdigest({}, "cid")
    assert reading.ids == [str(n) for n in range(2500)]
    assert reading.types.types == {"cid": "int64", "titre": "string", "n": "float", "tags": "string[]", "o": "object"}
    assert [d["cid"] for d in reading.samples] == [0, 997, 1994]


def test_a_reading_refuses_a_document_without_primary_key():
    with tempfile.TemporaryFile(mode="w+b") as spool:
        with pytest.raises(ValueError, match="no primary key"):
            Reading("cid", "a", spool, lambda m: None).run(iter([{"cid": 1}, {"x": 2}]))


class ChangingSource(FakeSource):
    """A source whose snapshot (updatedAt, numberOfDocuments) moves during the read."""

    def __init__(self, docs, snapshots):
        FakeSource.__init__(self, docs)
        self.snapshots = list(snapshots)

    def snapshot(self):
        return self.snapshots.pop(0)


def test_a_source_written_during_the_read_stops_the_run_before_any_write():
    ts = FakeTypesense()
    before = {"updatedAt": "t1", "numberOfDocuments": 25}
    with pytest.raises(ValueError, match="changed while it was read"):
        migrate(ChangingSource(DOCS, [before, dict(before, updatedAt="t2")]), ts, "cand")
    with pytest.raises(ValueError, match="changed while it was read"):   # same snapshot, but 24 documents read
        migrate(ChangingSource(DOCS[:-1], [before, before]), ts, "cand")
    assert ts.calls == [] and ts.colls == {}
    result = migrate(ChangingSource(DOCS, [before, before]), ts, "cand")
    assert result["verification"]["ok"] and ts.aliases["cand"] == result["collection"]


class CountingSource(FakeSource):
    def __init__(self, docs):
        FakeSource.__init__(self, docs)
        self.asked, self.lock = [], threading.Lock()

    def search(self, query, limit, pk):
        with self.lock:
            self.asked.append(query)
        return FakeSource.search(self, query, limit, pk)


def test_sample_queries_are_asked_once_each_and_compared():
    docs = [{"cid": n, "titre": "poste numero %d %s" % (n, "php" if n % 2 else "vue")} for n in range(1, 6001)]
    source = CountingSource(docs)
    result = migrate(source, FakeTypesense(), "cand", batch_size=1000)
    queries = [q["q"] for q in result["verification"]["queries"]]
    assert len(queries) == 5 and sorted(source.asked) == sorted(queries)   # asked once each
    assert all(q["source_top"] == q["typesense_top"] for q in result["verification"]["queries"])
    given = CountingSource(docs)
    migrate(given, FakeTypesense(), "cand", sample_queries=["php", "vue", "php"])
    assert sorted(given.asked) == ["php", "vue"]


class TamperedTypesense(FakeTypesense):
    """A collection whose content is changed after each import (as by another writer), or whose export lies."""

    def __init__(self, tamper=None, export=None):
        FakeTypesense.__init__(self)
        self.tamper, self.export = tamper, export

    def import_jsonl(self, coll, text):
        answer = FakeTypesense.import_jsonl(self, coll, text)
        if self.tamper and coll != LEDGER:
            self.tamper(self.colls[coll])
        return answer

    def export_ids(self, coll):
        ids = list(FakeTypesense.export_ids(self, coll))
        return iter(self.export(ids) if self.export else ids)


def lose(docs):
    docs.pop("25", None)


def add(docs):
    docs["999"] = {"id": "999", "titre": "intrus"}


def rename(docs):
    if "25" in docs:
        docs["998"] = dict(docs.pop("25"), id="998")


@pytest.mark.parametrize("tamper,counts", [
    (lose, {"missing_count": 1, "unexpected_count": 0}),
    (add, {"missing_count": 0, "unexpected_count": 1}),
    (rename, {"missing_count": 1, "unexpected_count": 1}),    # same count: only the ids tell
])
def test_verification_fails_and_the_export_names_the_ids_when_the_collection_differs(tamper, counts):
    ts = TamperedTypesense(tamper)
    result = migrate(FakeSource(DOCS), ts, "cand")
    ids = result["verification"]["ids"]
    assert result["failed"] and not result["verification"]["ok"] and ids["method"] == "export"
    assert dict((k, ids[k]) for k in counts) == counts
    assert "cand" not in ts.aliases


def test_a_repeated_id_in_the_export_fails_the_verification():
    ts = TamperedTypesense(tamper=lose, export=lambda ids: ids + ids[:1])
    result = migrate(FakeSource(DOCS), ts, "cand")
    assert result["failed"] and result["verification"]["ids"]["duplicates"] == 1


@pytest.mark.parametrize("streamed", [False, True])
def test_ids_are_checked_by_filtered_searches_without_an_export(streamed):
    ts = FakeTypesense()
    source = SnapshotSource(DOCS) if streamed else FakeSource(DOCS)
    result = migrate(source, ts, "cand", batch_size=10)
    assert result["path"] == ("streamed" if streamed else "sequential") and result["verification"]["ok"]
    assert result["verification"]["ids"]["method"] == "id filter" and result["verification"]["ids"]["found"] == 25
    assert not [c for c in ts.calls if c[0] == "export"]


def test_ids_outside_meilisearchs_rule_are_checked_by_the_export():
    docs = [dict(d, cid="n %d" % d["cid"]) for d in DOCS]      # a space: not a Meilisearch id, not filtered
    ts = FakeTypesense()
    result = migrate(FakeSource(docs), ts, "cand")
    assert result["verification"]["ok"] and result["verification"]["ids"]["method"] == "export"


def test_a_presence_check_that_ran_ahead_of_a_lagging_node_is_done_again():
    class Lagging(FakeTypesense):
        """Answers the first filtered searches as a node that has not applied the writes yet."""
        lag = 2

        def count_ids(self, coll, ids):
            if self.lag:
                self.lag -= 1
                return 0
            return FakeTypesense.count_ids(self, coll, ids)

    ts = Lagging()
    result = migrate(SnapshotSource(DOCS), ts, "cand", batch_size=10)
    assert result["path"] == "streamed" and result["verification"]["ok"]
    assert result["verification"]["ids"]["method"] == "id filter" and not ts.lag


def test_a_failing_presence_search_falls_back_to_the_export():
    class NoFilter(FakeTypesense):
        def count_ids(self, coll, ids):
            raise SearchHTTPError("POST", "/multi_search", 400, "bad filter")

    ts = NoFilter()
    with pytest.raises(SearchHTTPError):   # checked again at the end: the error shows
        migrate(SnapshotSource(DOCS), ts, "cand", batch_size=10)


def test_a_reader_ahead_of_a_slow_import_waits_for_room(monkeypatch):
    import time as _time
    from ansible_collections.infra.hosting.plugins.module_utils import search_migrate_run
    monkeypatch.setattr(search_migrate_run, "QUEUE_CHUNKS", 1)    # one chunk of lines held at a time

    class Slow(FakeTypesense):
        def import_jsonl(self, coll, text):
            _time.sleep(0.05)
            return FakeTypesense.import_jsonl(self, coll, text)

    ts = Slow()
    result = migrate(SnapshotSource(DOCS), ts, "cand", batch_size=5)
    assert result["path"] == "streamed" and result["imported"] == 25 and result["verification"]["ok"]
    assert sorted(ts.colls[result["collection"]], key=int) == [str(n) for n in range(1, 26)]


def test_import_batches_flags_a_short_answer():
    class Short(object):
        def import_jsonl(self, coll, text):
            return '{"success":true}'

    done, errors = import_batches(Short(), "c", iter([["{}", "{}"], ["{}"]]), lambda m: None, "a", 3)
    assert done == 3 and errors == [{"line": 0, "error": "answer has 1 lines for 2 documents"}]


def test_import_batches_keeps_two_requests_under_way_and_handles_answers_in_order():
    import time as _time

    class Concurrent(object):
        """Answers slowly, the first batch slowest; records how many requests were under way at once."""
        lock, under_way, most, sent = threading.Lock(), [0], [0], []

        def import_jsonl(self, coll, text):
            lines = text.split("\n")
            with self.lock:
                self.under_way[0] += 1
                self.most[0] = max(self.most[0], self.under_way[0])
                self.sent.append(lines[0])
            _time.sleep(0.05 if lines[0] == "a0" else 0.01)
            with self.lock:
                self.under_way[0] -= 1
            return "\n".join('{"success":true}' if line != "b1" else '{"success":false,"error":"no"}' for line in lines)

    seen = []
    batches = iter([["a0", "a1"], ["b0", "b1"], ["c0"]])
    done, errors = import_batches(Concurrent(), "c", batches, lambda m: None, "a", 5, on_batch=seen.append)
    assert done == 5 and Concurrent.most[0] == 2 and Concurrent.sent == ["a0", "b0", "c0"]
    assert seen == [2]                                   # in order; none after the batch with an error
    assert errors == [{"line": 4, "error": "no", "document": ""}]


def test_an_import_error_waits_for_the_other_request_before_it_is_raised():
    import time as _time
    finished = []

    class Failing(object):
        def import_jsonl(self, coll, text):
            if text == "a":
                raise SearchHTTPError("POST", "/import", 503, "busy")
            _time.sleep(0.05)
            finished.append(text)
            return '{"success":true}'

    with pytest.raises(SearchHTTPError):
        import_batches(Failing(), "c", iter([["a"], ["b"], ["c"]]), lambda m: None, "a", 3)
    assert finished == ["b"]          # the request under way ended before the error came out; "c" never sent


class ExportHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, chunked answer like Typesense's export

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/collections/c/documents/export"):
            assert "include_fields=id" in self.path
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            body = "\n".join('{"id":"%d"}' % n for n in range(5000)).encode()
            for start in range(0, len(body), 777):     # chunks that cut lines anywhere
                part = body[start:start + 777]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            data = b'{"name":"c","num_documents":5000}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


@contextlib.contextmanager
def serving(handler):
    """A loopback HTTP server answering with handler, for the length of the block: yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_export_ids_stream_over_a_kept_alive_connection():
    with serving(ExportHandler) as url:
        ts = Typesense(url, "key")
        assert list(ts.export_ids("c")) == [str(n) for n in range(5000)]
        conn = ts.http.local.conn
        assert ts.collection("c")["num_documents"] == 5000 and ts.http.local.conn is conn   # same connection
        lines = ts.http.lines("/collections/c/documents/export", params={"include_fields": "id"})
        assert next(lines) == b'{"id":"0"}'
        lines.close()                                   # abandoned: the connection is dropped, not reused
        assert ts.http.local.conn is None
        assert list(ts.export_ids("c"))[-1] == "4999"
        other = []                                      # another thread: its own connection
        thread = threading.Thread(target=lambda: other.append((ts.collection("c"), ts.http.local.conn)))
        thread.start()
        thread.join()
        assert other[0][0]["num_documents"] == 5000 and other[0][1] is not ts.http.local.conn
        other[0][1].close()
        ts.http.close()


class MultiSearchHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append((self.path, body))
        search = body["searches"][0]
        ids = search["filter_by"][len("id:=["):-1].split(",")
        result = {"found": sum(1 for i in ids if i in ("`1`", "`a-b`"))} if search["collection"] == "c" else {
            "code": 404, "error": "Not found."}
        data = json.dumps({"results": [result]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_count_ids_is_one_filtered_search_with_every_id_quoted():
    with serving(MultiSearchHandler) as url:
        ts = Typesense(url, "key")
        assert ts.count_ids("c", ["1", "a-b", "zz"]) == 2
        path, body = MultiSearchHandler.bodies[-1]
        assert path == "/multi_search" and body == {"searches": [
            {"collection": "c", "q": "*", "per_page": 0, "filter_by": "id:=[`1`,`a-b`,`zz`]"}]}
        with pytest.raises(SearchHTTPError, match="Not found"):   # multi_search answers 200 with the error inside
            ts.count_ids("gone", ["1"])
        ts.http.close()


def test_http_lines_raises_on_an_error_status():
    class NotFound(ExportHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no")

    with serving(NotFound) as url:
        with pytest.raises(Exception, match="HTTP 404"):
            list(Http(url, {}).lines("/x"))


class MeiliHandler(http.server.BaseHTTPRequestHandler):
    """Meilisearch's index, settings and document pages (2,500 documents), and a page that fails on demand."""
    protocol_version = "HTTP/1.1"
    fail_at = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        path, _unused, query = self.path.partition("?")
        params = dict(p.split("=") for p in query.split("&") if p)
        if path == "/indexes/cand":
            data = {"uid": "cand", "primaryKey": "cid", "updatedAt": "t1"}
        elif path == "/indexes/cand/settings":
            data = {"searchableAttributes": ["titre"]}
        elif path == "/indexes/cand/documents" and params.get("offset") != self.fail_at:
            offset, limit = int(params["offset"]), int(params["limit"])
            data = {"results": [{"cid": n} for n in range(offset, min(offset + limit, 2500))], "total": 2500}
        else:
            data = {"message": "failed" if path.endswith("/documents") else "not found"}
        raw = json.dumps(data).encode()
        self.send_response(200 if "message" not in data else 500 if data["message"] == "failed" else 404)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def test_a_meilisearch_index_is_read_page_after_page_with_its_state():
    with serving(MeiliHandler) as url:
        source = MeiliSource(url, "key", "cand", page_size=1000)
        assert source.info() == ({"searchableAttributes": ["titre"]}, "cid")
        assert source.snapshot() == {"updatedAt": "t1", "numberOfDocuments": 2500}
        assert [d["cid"] for d in source.documents()] == list(range(2500))
        MeiliHandler.fail_at = "2000"                      # a page that fails: its error, after the pages before
        got = []
        with pytest.raises(SearchHTTPError, match="HTTP 500"):
            for doc in source.documents():
                got.append(doc)
        assert len(got) == 2000
        with pytest.raises(ValueError, match="no index other"):
            MeiliSource(url, "key", "other").info()


# --- ledger and streamed path ------------------------------------------------------------------------------

from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import collection_form  # noqa: E402

LEDGER = "search_migrate_ledger"


class SnapshotSource(FakeSource):
    """A source with Meilisearch's snapshot (updatedAt, numberOfDocuments): runs may take the streamed path."""

    def __init__(self, docs, updated="t1", settings=None):
        FakeSource.__init__(self, docs, settings)
        self.updated = updated

    def snapshot(self):
        return {"updatedAt": self.updated, "numberOfDocuments": len(self.docs)}


def writes(ts, since=0):
    return ts.calls[since:]


def test_streamed_run_imports_while_reading_then_the_ledger_makes_the_rerun_write_nothing():
    imported = threading.Event()

    class WatchedTypesense(FakeTypesense):
        def import_jsonl(self, coll, text):
            answer = FakeTypesense.import_jsonl(self, coll, text)
            imported.set()
            return answer

    class SlowTail(SnapshotSource):
        def documents(self):
            for doc in self.docs:
                if doc["cid"] == 25:       # the last document waits for the first batches to be imported
                    self.seen_import = imported.wait(10)
                yield doc

    ts, lines = WatchedTypesense(), []
    source = SlowTail(DOCS)
    first = migrate(source, ts, "cand", batch_size=10, progress=lines.append, sample_queries=["php", "poste 3"])
    assert source.seen_import                                    # Typesense imported before the read ended
    assert first["path"] == "streamed" and first["changed"] and first["imported"] == 25
    assert collection_form("cand", first["collection"]) == "run" and first["verification"]["ok"]
    assert ts.aliases["cand"] == first["collection"] and first["previous_collection"] is None
    assert any("streaming into" in line for line in lines) and any("imported 20/25" in line for line in lines)
    assert set(first["timings"]) >= {"read", "import", "verify", "publish"}
    entry = ts.document(LEDGER, "cand")
    assert (entry["collection"], entry["fingerprint"], entry["updatedAt"], entry["numberOfDocuments"]) == (
        first["collection"], first["fingerprint"], "t1", 25)
    calls = len(ts.calls)
    second = migrate(SnapshotSource(DOCS), ts, "cand", batch_size=10)
    assert second["changed"] is False and second["imported"] == 0 and second["verification"]["ok"]
    assert second["collection"] == first["collection"] and second["path"] == "sequential"
    assert writes(ts, calls) == []                              # no write at all, not even the ledger


def test_a_changed_index_streams_a_new_version_keeps_the_previous_and_updates_the_ledger():
    ts = FakeTypesense()
    v1 = migrate(SnapshotSource(DOCS, "t1"), ts, "cand", batch_size=10)
    v2 = migrate(SnapshotSource(DOCS[:-1], "t2"), ts, "cand", batch_size=10)
    assert v2["path"] == "streamed" and v2["changed"] and v2["collection"] != v1["collection"]
    assert ts.aliases["cand"] == v2["collection"] and v2["previous_collection"] == v1["collection"]
    assert v2["diff"]["before"] == {"alias": "cand", "collection": v1["collection"], "documents": 25}
    entry = ts.document(LEDGER, "cand")
    assert (entry["collection"], entry["updatedAt"], entry["numberOfDocuments"]) == (v2["collection"], "t2", 24)
    v3 = migrate(SnapshotSource(DOCS[:-2], "t3"), ts, "cand", batch_size=10)
    assert v3["deleted_collections"] == [v1["collection"]]
    assert ts.versions("cand") == sorted([v2["collection"], v3["collection"]])


def test_check_mode_knows_a_streamed_version_from_the_ledger_and_writes_nothing():
    ts = FakeTypesense()
    first = migrate(SnapshotSource(DOCS), ts, "cand", batch_size=10)
    calls = len(ts.calls)
    same = migrate(SnapshotSource(DOCS, "t2"), ts, "cand", batch_size=10, check_mode=True)
    assert same["changed"] is False and same["collection"] == first["collection"] and same["verification"]["ok"]
    changed = migrate(SnapshotSource(DOCS[:-1], "t2"), ts, "cand", batch_size=10, check_mode=True)
    assert changed["changed"] is True and changed["would_import"] == 24 and changed["path"] == "sequential"
    assert writes(ts, calls) == []


def test_a_schema_that_diverges_mid_stream_drops_the_partial_collection_and_imports_after_the_read():
    docs = [{"cid": n, "titre": "poste %d" % n, "score": n if n <= 20 else n + 0.5} for n in range(1, 26)]
    settings = {"searchableAttributes": ["titre"], "sortableAttributes": ["score"]}
    ts, lines = FakeTypesense(), []
    result = migrate(SnapshotSource(docs, settings=settings), ts, "cand", batch_size=10, progress=lines.append)
    partial = result["discarded"]["collection"]
    assert collection_form("cand", partial) == "run" and "score" in result["discarded"]["reason"]
    assert ("create", partial) in ts.calls and ("drop", partial) in ts.calls and ("alias", partial) not in ts.calls
    # Nothing that misfits the first schema (score int64) was sent: the fake would have refused it.
    assert result["path"] == "sequential" and "import_errors" not in result and result["verification"]["ok"]
    assert collection_form("cand", result["collection"]) == "fingerprint"
    assert {"name": "score", "type": "float"} in result["schema"]["fields"]
    assert ts.aliases["cand"] == result["collection"] and ts.versions("cand") == [result["collection"]]
    assert any("stream into %s stopped" % partial in line for line in lines)


def test_a_refused_document_mid_stream_drops_the_partial_collection_and_leaves_the_alias():
    ts = FakeTypesense()
    v1 = migrate(SnapshotSource(DOCS[:-1], "t1"), ts, "cand", batch_size=10)
    ts.refuse = "17"
    result = migrate(SnapshotSource(DOCS, "t2"), ts, "cand", batch_size=10)
    assert result["failed"] and result["import_errors"][0]["line"] == 17 and result["path"] == "streamed"
    assert "%s dropped" % result["collection"] in result["msg"]
    assert ts.aliases["cand"] == v1["collection"] and ts.versions("cand") == [v1["collection"]]
    assert ts.document(LEDGER, "cand")["updatedAt"] == "t1"


def test_a_typesense_error_mid_stream_drops_the_partial_collection():
    class Failing(FakeTypesense):
        def import_jsonl(self, coll, text):
            if self.colls[coll]:
                raise SearchHTTPError("POST", "/collections/%s/documents/import" % coll, 503, "busy")
            return FakeTypesense.import_jsonl(self, coll, text)

    ts = Failing()
    with pytest.raises(SearchHTTPError, match="503"):
        migrate(SnapshotSource(DOCS), ts, "cand", batch_size=10)
    created = [c[1] for c in ts.calls if c[0] == "create"]
    assert len(created) == 1 and ("drop", created[0]) in ts.calls
    assert ts.versions("cand") == [] and "cand" not in ts.aliases


def test_an_index_written_during_a_streamed_read_fails_and_publishes_nothing():
    ts = FakeTypesense()
    v1 = migrate(SnapshotSource(DOCS[:-1], "t1"), ts, "cand", batch_size=10)
    calls = len(ts.calls)
    before = {"updatedAt": "t2", "numberOfDocuments": 25}
    with pytest.raises(ValueError, match="changed while it was read"):
        migrate(ChangingSource(DOCS, [before, dict(before, updatedAt="t3")]), ts, "cand", batch_size=10)
    created = [c[1] for c in writes(ts, calls) if c[0] == "create"]
    assert len(created) == 1 and writes(ts, calls)[-1] == ("drop", created[0])   # streamed, then dropped
    assert ts.aliases["cand"] == v1["collection"] and ts.versions("cand") == [v1["collection"]]
    assert ts.document(LEDGER, "cand")["updatedAt"] == "t1"


def test_same_content_with_a_new_updated_at_publishes_nothing_and_refreshes_the_ledger():
    ts, lines = FakeTypesense(), []
    first = migrate(SnapshotSource(DOCS, "t1"), ts, "cand", batch_size=10)
    calls = len(ts.calls)
    second = migrate(SnapshotSource(DOCS, "t2"), ts, "cand", batch_size=10, progress=lines.append)
    assert second["changed"] is False and second["collection"] == first["collection"]
    assert second["discarded"]["reason"] == "content unchanged" and second["verification"]["ok"]
    assert ts.aliases["cand"] == first["collection"] and ts.versions("cand") == [first["collection"]]
    assert [c[0] for c in writes(ts, calls) if c[0] != "synonyms"] == ["create", "drop", "upsert"]   # no alias write
    assert ts.document(LEDGER, "cand")["updatedAt"] == "t2"
    calls = len(ts.calls)
    third = migrate(SnapshotSource(DOCS, "t2"), ts, "cand", batch_size=10)
    assert third["changed"] is False and writes(ts, calls) == []


def test_an_alias_moved_by_hand_is_not_taken_for_up_to_date():
    ts = FakeTypesense()
    v1 = migrate(SnapshotSource(DOCS, "t1"), ts, "cand", batch_size=10)
    v2 = migrate(SnapshotSource(DOCS[:-1], "t2"), ts, "cand", batch_size=10)
    ts.aliases["cand"] = v1["collection"]                     # rollback: the ledger still names v2
    v3 = migrate(SnapshotSource(DOCS[:-1], "t2"), ts, "cand", batch_size=10)
    assert v3["changed"] and v3["path"] == "streamed" and ts.aliases["cand"] == v3["collection"]
    assert v3["previous_collection"] == v1["collection"] and v3["deleted_collections"] == [v2["collection"]]


def test_retention_drops_both_name_forms_and_nothing_else():
    ts = FakeTypesense()
    for name in ("cand__0123456789ab", "cand__run20250101_000000_abcd", "cand__run20250102_000000_beef",
                 "cand__x__0123456789ab", "cand__notes", "candidates__0123456789ab"):
        ts.create({"name": name, "fields": []})
    ts.aliases["cand"] = "cand__run20250102_000000_beef"
    result = migrate(SnapshotSource(DOCS), ts, "cand", batch_size=10)
    assert result["path"] == "streamed" and result["previous_collection"] == "cand__run20250102_000000_beef"
    assert sorted(result["deleted_collections"]) == ["cand__0123456789ab", "cand__run20250101_000000_abcd"]
    assert sorted(ts.colls) == sorted([result["collection"], "cand__run20250102_000000_beef", "cand__x__0123456789ab",
                                       "cand__notes", "candidates__0123456789ab", LEDGER])


# A Typesense source (the legacy node) through the same run: copied schema, synonyms and overrides, same checks.
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_api import TypesenseSource  # noqa: E402
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import typesense_settings  # noqa: E402

LEGACY_SCHEMA = {"name": "jobs", "num_documents": 25, "default_sorting_field": "rang",
                 "fields": [{"name": "titre", "type": "string", "facet": False, "index": True, "optional": False},
                            {"name": "rang", "type": "int32", "facet": False, "index": True, "optional": False}]}
LEGACY_DOCS = [{"id": "job-%d" % d["cid"], "titre": d["titre"], "rang": d["cid"]} for d in DOCS]


class FakeTypesenseSource(FakeSource):
    """What TypesenseSource hands the run: settings of a Typesense source, primary key id, a count-only snapshot."""

    def __init__(self, docs, overrides=None):
        FakeSource.__init__(self, docs, typesense_settings(LEGACY_SCHEMA, [{"id": "s1", "root": "", "synonyms": ["php", "laravel"]}],
                                                           overrides or [{"id": "pin", "rule": {"query": "php", "match": "exact"},
                                                                          "includes": [{"id": "job-3", "position": 1}]}]))
        self.count = len(docs)

    def info(self):
        return self.settings, "id"

    def snapshot(self):
        return {"numberOfDocuments": self.count}

    def search(self, query, limit, pk):
        words = query.lower().split()
        return sorted((d["id"] for d in self.docs if all(w in d["titre"].lower() for w in words)),
                      key=lambda i: int(i.split("-")[1]))[:limit]


class RuleTypesense(FakeTypesense):
    def put_rule(self, coll, kind, rule):
        self.calls.append((kind, coll, dict(rule)))

    def search(self, coll, query, query_by, limit):
        assert query_by == ["titre"]
        words = query.lower().split()
        return sorted((i for i, d in self.colls[coll].items() if all(w in d["titre"].lower() for w in words)),
                      key=lambda i: int(i.split("-")[1]))[:limit]


def test_a_typesense_source_is_copied_verified_and_published_then_the_rerun_writes_nothing():
    ts = RuleTypesense()
    first = migrate(FakeTypesenseSource(LEGACY_DOCS), ts, "jobs", batch_size=10, sample_queries=["php", "poste 3"])
    assert first["changed"] and first["path"] == "sequential" and first["imported"] == 25
    assert first["verification"]["ok"] and [q["overlap"] for q in first["verification"]["queries"]] == [1.0, 1.0]
    target = first["collection"]
    assert target.startswith("jobs__") and ts.aliases["jobs"] == target
    assert ts.schemas[target] == {"name": target, "fields": LEGACY_SCHEMA["fields"], "default_sorting_field": "rang"}
    assert ("synonyms", target, {"id": "s1", "synonyms": ["php", "laravel"]}) in ts.calls
    assert ("overrides", target, {"id": "pin", "rule": {"query": "php", "match": "exact"},
                                  "includes": [{"id": "job-3", "position": 1}]}) in ts.calls
    assert first["synonyms"] == 1 and first["overrides"] == 1 and first["unsupported"] == []
    assert ts.colls[target]["job-4"] == LEGACY_DOCS[3]           # documents as they were, nothing converted
    calls = len(ts.calls)
    second = migrate(FakeTypesenseSource(LEGACY_DOCS), ts, "jobs", batch_size=10)
    assert second["changed"] is False and second["imported"] == 0 and second["verification"]["ok"]
    assert second["collection"] == target and len(ts.calls) == calls   # no create, no drop, no write


def test_a_changed_override_on_the_source_publishes_a_new_version():
    ts = RuleTypesense()
    first = migrate(FakeTypesenseSource(LEGACY_DOCS), ts, "jobs", batch_size=10)
    second = migrate(FakeTypesenseSource(LEGACY_DOCS, overrides=[{"id": "pin2", "rule": {"query": "vue", "match": "exact"}}]),
                     ts, "jobs", batch_size=10)
    assert second["changed"] and second["collection"] != first["collection"]
    assert second["previous_collection"] == first["collection"] and ts.aliases["jobs"] == second["collection"]


def test_check_mode_on_a_typesense_source_writes_nothing():
    ts = RuleTypesense()
    result = migrate(FakeTypesenseSource(LEGACY_DOCS), ts, "jobs", batch_size=10, check_mode=True)
    assert result["changed"] and result["would_import"] == 25 and ts.calls == []


def test_a_typesense_source_whose_count_moves_during_the_read_publishes_nothing():
    class Growing(FakeTypesenseSource):
        def documents(self):
            self.count += 1
            return iter(self.docs)

    ts = RuleTypesense()
    with pytest.raises(ValueError, match="changed while it was read"):
        migrate(Growing(LEGACY_DOCS), ts, "jobs", batch_size=10)
    assert ts.calls == [] and ts.aliases == {}


class LegacyHandler(http.server.BaseHTTPRequestHandler):
    """The legacy Typesense's answers: an alias, a collection, its synonyms and overrides, its export, a search."""
    protocol_version = "HTTP/1.1"
    seen = []

    def log_message(self, *args):
        pass

    def answer(self, status, data):
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("X-TYPESENSE-API-KEY")))
        path = self.path.split("?")[0]
        if path == "/aliases/jobs":
            return self.answer(200, b'{"name":"jobs","collection_name":"jobs_v1"}')
        if path == "/collections/jobs_v1":
            return self.answer(200, json.dumps(dict(LEGACY_SCHEMA, name="jobs_v1", created_at=1)).encode())
        if path == "/collections/jobs_v1/synonyms":
            return self.answer(200, b'{"synonyms":[{"id":"s1","root":"","synonyms":["a","b"]}]}')
        if path == "/collections/jobs_v1/overrides":
            return self.answer(200, b'{"overrides":[]}')
        if path == "/collections/jobs_v1/documents/export":
            return self.answer(200, "\n".join(json.dumps(d) for d in LEGACY_DOCS).encode())
        if path == "/collections/jobs_v1/documents/search":
            return self.answer(200, b'{"hits":[{"document":{"id":"job-3"}}]}')
        return self.answer(404, b'{"message":"Not Found"}')


def test_typesense_source_reads_the_collection_behind_an_alias_over_http():
    with serving(LegacyHandler) as url:
        source = TypesenseSource(url, "legacy-key", "jobs")
        settings, primary_key = source.info()
        assert primary_key == "id" and source.collection_name == "jobs_v1"
        assert settings["typesense"]["schema"] == {"fields": LEGACY_SCHEMA["fields"], "default_sorting_field": "rang"}
        assert settings["typesense"]["synonyms"] == [{"id": "s1", "synonyms": ["a", "b"]}]
        assert source.snapshot() == {"numberOfDocuments": 25}
        assert list(source.documents()) == LEGACY_DOCS
        source.query_by = ["titre"]                   # set by the run: the target's query_by
        assert source.search("php", 10, "id") == ["job-3"]
        assert "query_by=titre" in LegacyHandler.seen[-1][0]
        assert set(key for _unused, key in LegacyHandler.seen) == {"legacy-key"}
        with pytest.raises(ValueError, match="no collection or alias gone"):
            TypesenseSource(url, "legacy-key", "gone").info()
