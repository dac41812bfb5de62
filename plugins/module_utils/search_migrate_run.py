# -*- coding: utf-8 -*-
"""HTTP clients and the migration run (Meilisearch or a Meilisearch dump -> Typesense).

Stdlib only, so that the module runs on any host with python3 and the bench can import it.
Meilisearch endpoints used (documented API): GET /indexes/{uid}, GET /indexes/{uid}/settings,
GET /indexes/{uid}/documents?offset=&limit=, POST /indexes/{uid}/search.
Typesense endpoints used: /collections, /collections/{c}/documents/import, .../export,
.../search, /collections/{c}/synonyms/{id}, /aliases/{a}.

The run is a pipeline (threads, bounded queues): the next Meilisearch page is fetched while the
current one is fingerprinted and spooled; the next JSONL batch is converted while Typesense imports
the current one; Meilisearch's answers to the sample queries are fetched, on their own connection,
while Typesense imports; the ids are checked while Typesense's export streams in. The import itself waits for the end of the read: the schema
and the collection's name (the fingerprint) depend on every document, and a run over an unchanged
index must write nothing.
"""

import json
import marshal
import queue
import struct
import tempfile
import threading
import time

try:
    from urllib.parse import quote, urlencode, urlsplit
    import http.client as httplib
except ImportError:  # pragma: no cover (python 2 is not supported)
    raise

from ansible.module_utils.search_migrate_lib import (
    DocumentConverter, DumpReader, FieldTypes, Fingerprint, IdCheck, build_schema, build_synonyms, canonical,
    check_import_lines, document_line, overlap, settings_subset, target_collection)


class SearchHTTPError(Exception):
    """An HTTP answer that is not 2xx."""

    def __init__(self, method, path, status, body):
        Exception.__init__(self, "%s %s -> HTTP %s: %s" % (method, path, status, body[:300]))
        self.status = status


class Http(object):
    """A small keep-alive JSON client for one base URL."""

    def __init__(self, base_url, headers, timeout=120):
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.headers = headers
        self.timeout = timeout
        self.conn = None

    def _connect(self):
        cls = httplib.HTTPSConnection if self.scheme == "https" else httplib.HTTPConnection
        self.conn = cls(self.host, self.port, timeout=self.timeout)

    def _send(self, method, url, body=None, headers=None):
        """Send one request on the kept-alive connection (reconnecting once) and return the response."""
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, url, body=body, headers=headers or dict(self.headers))
                return self.conn.getresponse()
            except (httplib.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def request(self, method, path, body=None, params=None, raw=False, content_type="application/json"):
        url = self.prefix + path
        if params:
            url += "?" + urlencode(params)
        headers = dict(self.headers)
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode("utf-8")
            headers["Content-Type"] = content_type
        resp = self._send(method, url, body, headers)
        data = resp.read().decode("utf-8")
        if resp.status == 404 and method == "GET":
            return None
        if resp.status >= 300:
            raise SearchHTTPError(method, path, resp.status, data)
        return data if raw else (json.loads(data) if data else None)

    def lines(self, method, path, params=None, chunk_size=65536):
        """Yield the lines (bytes) of an answer as they arrive, without holding the whole answer."""
        url = self.prefix + path
        if params:
            url += "?" + urlencode(params)
        resp = self._send(method, url)
        if resp.status >= 300:
            raise SearchHTTPError(method, path, resp.status, resp.read().decode("utf-8", "replace"))
        finished = False
        try:
            rest = b""
            while True:
                chunk = resp.read1(chunk_size)
                if not chunk:
                    break
                parts = (rest + chunk).split(b"\n")
                rest = parts.pop()
                for part in parts:
                    yield part
            if rest:
                yield rest
            finished = True
        finally:
            if not finished:  # abandoned or broken: the rest of the answer is still on the connection
                self.conn.close()
                self.conn = None


class Prefetch(object):
    """Iterate over an iterable in a background thread, at most `depth` items ahead (bounded queue).

    Items come out in order; an exception raised by the iterable is raised again in the consumer;
    close() (or leaving the with block) stops the producer and waits for it.
    """

    def __init__(self, iterable, depth=2):
        self.queue = queue.Queue(max(1, depth))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(iterable,))
        self.thread.daemon = True
        self.thread.start()

    def _put(self, item):
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, iterable):
        try:
            for item in iterable:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the consumer
            self._put(("error", exc))

    def __iter__(self):
        while True:
            kind, value = self.queue.get()
            if kind == "item":
                yield value
            elif kind == "end":
                return
            else:
                raise value

    def close(self):
        self.stop.set()
        self.thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Background(object):
    """Run one call in a thread; result() waits for it and returns its value or raises its exception."""

    def __init__(self, func, *args):
        self.value, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(func, args))
        self.thread.daemon = True
        self.thread.start()

    def _run(self, func, args):
        try:
            self.value = func(*args)
        except BaseException as exc:  # handed to result()
            self.error = exc

    def result(self):
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value


class MeiliSource(object):
    """One Meilisearch index read through its documented API, in pages."""

    def __init__(self, url, api_key, uid, page_size=1000, timeout=120):
        headers = {"Authorization": "Bearer %s" % api_key} if api_key else {}
        self.args = (url, api_key, uid, page_size, timeout)
        self.http = Http(url, headers, timeout)
        self.uid = uid
        self.page_size = page_size
        self.searchable = True

    def fork(self):
        """The same source on its own connection (for a thread)."""
        return MeiliSource(*self.args)

    def snapshot(self):
        """What tells whether the index changed: its updatedAt and its number of documents.

        Compared before and after the read: a write during the read (which could make offset
        pages skip or repeat documents) changes one of them, and the run stops.
        """
        index = self.http.request("GET", "/indexes/%s" % quote(self.uid))
        page = self.http.request("GET", "/indexes/%s/documents" % quote(self.uid), params={"offset": 0, "limit": 1})
        if index is None or page is None:
            raise ValueError("Meilisearch has no index %s" % self.uid)
        return {"updatedAt": index.get("updatedAt"), "numberOfDocuments": page.get("total")}

    def info(self):
        index = self.http.request("GET", "/indexes/%s" % quote(self.uid))
        if index is None:
            raise ValueError("Meilisearch has no index %s" % self.uid)
        settings = self.http.request("GET", "/indexes/%s/settings" % quote(self.uid))
        return settings, index.get("primaryKey") or "id"

    def pages(self):
        offset = 0
        while True:
            page = self.http.request("GET", "/indexes/%s/documents" % quote(self.uid),
                                     params={"offset": offset, "limit": self.page_size})
            results = page.get("results", [])
            yield results
            offset += len(results)
            if not results or offset >= page.get("total", 0):
                return

    def documents(self):
        """Every document, page after page; the next page is fetched while this one is consumed."""
        with Prefetch(self.pages(), depth=2) as pages:
            for results in pages:
                for doc in results:
                    yield doc

    def search(self, query, limit, primary_key):
        answer = self.http.request("POST", "/indexes/%s/search" % quote(self.uid),
                                   body={"q": query, "limit": limit, "matchingStrategy": "all",
                                         "attributesToRetrieve": [primary_key]})
        return [str(hit[primary_key]) for hit in answer.get("hits", [])]


class DumpSource(object):
    """One index of a Meilisearch dump file (tar.gz): no search, so no sample-query check."""

    def __init__(self, path, uid):
        self.reader = DumpReader(path, uid)
        self.searchable = False

    def info(self):
        return self.reader.info()

    def snapshot(self):  # a file does not change under the reader
        return None

    def documents(self):
        return self.reader.documents()

    def search(self, query, limit, primary_key):  # pragma: no cover (never called)
        raise NotImplementedError


class Typesense(object):
    """The Typesense API calls the migration needs."""

    def __init__(self, url, api_key, timeout=300):
        self.http = Http(url, {"X-TYPESENSE-API-KEY": api_key}, timeout)

    def alias(self, name):
        answer = self.http.request("GET", "/aliases/%s" % quote(name))
        return answer.get("collection_name") if answer else None

    def collection(self, name):
        return self.http.request("GET", "/collections/%s" % quote(name))

    def collections(self):
        return self.http.request("GET", "/collections") or []

    def create(self, schema):
        return self.http.request("POST", "/collections", body=schema)

    def drop(self, name):
        return self.http.request("DELETE", "/collections/%s" % quote(name))

    def synonym(self, collection, synonym):
        body = dict((k, v) for k, v in synonym.items() if k != "id")
        return self.http.request("PUT", "/collections/%s/synonyms/%s" % (quote(collection), quote(synonym["id"])), body=body)

    def import_jsonl(self, collection, text):
        return self.http.request("POST", "/collections/%s/documents/import" % quote(collection), body=text,
                                 params={"action": "create"}, raw=True, content_type="text/plain")

    def export_ids(self, collection):
        return list(self.iter_export_ids(collection))

    def iter_export_ids(self, collection):
        """The id of every document of the collection, parsed while the export streams in."""
        for line in self.http.lines("GET", "/collections/%s/documents/export" % quote(collection),
                                    params={"include_fields": "id"}):
            if line.strip():
                yield json.loads(line.decode("utf-8"))["id"]

    def search(self, collection, query, query_by, limit):
        answer = self.http.request("GET", "/collections/%s/documents/search" % quote(collection), params={
            "q": query, "query_by": ",".join(query_by), "per_page": limit, "num_typos": 0,
            "drop_tokens_threshold": 0, "typo_tokens_threshold": 0, "include_fields": "id"})
        return [hit["document"]["id"] for hit in answer.get("hits", [])]

    def point_alias(self, alias, collection):
        return self.http.request("PUT", "/aliases/%s" % quote(alias), body={"collection_name": collection})


def auto_queries(samples, query_by, count=5, words=4):
    """Sample queries taken from documents: the first words of their wordiest searchable field.

    Queries come from one field because Typesense 0.24 matches all the words of a query within
    one field; the wordiest field gives selective queries, whose top results are comparable.
    """
    queries = []
    for doc in samples:
        best = []
        for fname in query_by:
            value = doc.get(fname)
            if isinstance(value, list):
                value = " ".join(str(v) for v in value)
            text = str(value).split() if value else []
            if len(text) > len(best):
                best = text
        if best:
            queries.append(" ".join(best[:words]))
        if len(queries) >= count:
            break
    return queries


class SourceAnswers(object):
    """Meilisearch's top results for the sample queries, fetched in the background on its own connection.

    Each start() fetches, after the previous ones, the queries not asked yet. results() waits for
    them and asks the source, in the caller's thread, any query that was not started.
    """

    def __init__(self, source, top_k, primary_key):
        self.searcher = source.fork() if hasattr(source, "fork") else source
        self.top_k, self.primary_key = top_k, primary_key
        self.jobs, self.requested = [], set()

    def _fetch(self, queries, previous):
        if previous is not None:
            previous.thread.join()  # one connection: one request at a time
        return dict((q, self.searcher.search(q, self.top_k, self.primary_key)) for q in queries)

    def start(self, queries):
        todo = []
        for query in queries:
            if query not in self.requested and query not in todo:
                todo.append(query)
        if todo:
            self.requested.update(todo)
            self.jobs.append(Background(self._fetch, todo, self.jobs[-1] if self.jobs else None))

    def results(self, queries):
        got = {}
        for job in self.jobs:
            got.update(job.result())
        for query in queries:
            if query not in got:
                got[query] = self.searcher.search(query, self.top_k, self.primary_key)
        return [got[q] for q in queries]



SPOOL_CHUNK = 1000


def read_source(source, primary_key, alias, spool, say):
    """Read every document once: field types, fingerprint, ids, samples; the documents are spooled.

    The spool (a binary temporary file) holds the documents as they were read, in marshal chunks of
    SPOOL_CHUNK documents (JSON values only: marshal.loads reads them back several times faster than
    json.loads).
    Returns (FieldTypes, Fingerprint, source_ids, samples).
    """
    types, finger = FieldTypes(), Fingerprint()
    source_ids, samples, chunk = [], [], []
    add_type, add_text, add_id, keep = types.add, finger.add_canonical, source_ids.append, chunk.append
    docs = source.documents()
    try:
        for n, doc in enumerate(docs):
            if primary_key not in doc:
                raise ValueError("document #%d has no primary key %s" % (n, primary_key))
            add_text(canonical(doc))
            add_type(doc)
            add_id(str(doc[primary_key]))
            keep(doc)
            if len(chunk) >= SPOOL_CHUNK:
                spool_chunk(spool, chunk)
                del chunk[:]
            if n % 997 == 0 and len(samples) < 50:
                samples.append(doc)
            if (n + 1) % 20000 == 0:
                say("%s: read %d documents" % (alias, n + 1))
    finally:
        close = getattr(docs, "close", None)
        if close is not None:
            close()  # stops the page prefetch when the read ends early
    if chunk:
        spool_chunk(spool, chunk)
    return types, finger, source_ids, samples


def spool_chunk(spool, docs):
    """Append a list of documents to the spool: 8-byte length, then marshal data."""
    data = marshal.dumps(docs)
    spool.write(struct.pack(">Q", len(data)))
    spool.write(data)


def spooled_documents(spool):
    """The documents written by read_source (spool_chunk), in the order they were read."""
    spool.seek(0)
    while True:
        head = spool.read(8)
        if not head:
            return
        size = struct.unpack(">Q", head)[0]
        data = spool.read(size)
        if len(head) != 8 or len(data) != size:
            raise ValueError("the spool file is truncated")
        for doc in marshal.loads(data):
            yield doc


def jsonl_batches(docs, primary_key, schema_types, batch_size):
    """Typesense JSONL lines (document_line), in lists of batch_size."""
    batch, converter = [], DocumentConverter(primary_key, schema_types)
    for doc in docs:
        batch.append(document_line(doc, converter))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_batches(typesense, collection, batches, count, alias, say):
    """POST each batch (converted in a background thread, one batch ahead) and check every answer line.

    Returns (documents sent, errors): an answer with fewer lines than the batch is an error too.
    """
    done, errors, t0 = 0, [], time.time()
    with Prefetch(batches, depth=2) as pending:
        for lines in pending:
            answer = typesense.import_jsonl(collection, "\n".join(lines))
            ok, errs = check_import_lines(answer, done)
            if ok + len(errs) != len(lines):
                errs.append({"line": done,
                             "error": "answer has %d lines for %d documents" % (ok + len(errs), len(lines))})
            errors.extend(errs)
            done += len(lines)
            say("%s: imported %d/%d documents (%.0f docs/s)" % (alias, done, count, done / max(time.time() - t0, 1e-6)))
    return done, errors


def migrate(source, typesense, alias, batch_size=5000, check_mode=False, sample_queries=None,
            sample_count=5, top_k=10, min_overlap=0.6, verify=True, progress=None):
    """Migrate one index; return a result dict (changed, counts, verification, unsupported...).

    Re-runnable: the target collection is named after a fingerprint of the documents and
    settings, so an unchanged source whose alias already points at a complete collection is a
    no-op; a changed one is imported into a new collection and the alias is switched atomically
    after the new collection is verified.

    The source is read once (its snapshot, updatedAt and number of documents, must be the same
    before and after the read); the schema and the collection name depend on every document, so
    the import starts when the read ends, and nothing is written to Typesense before. Meilisearch's
    answers to the sample queries are fetched in the background while Typesense imports; the ids
    are compared while Typesense's export streams in.
    """
    started = time.time()
    say = progress or (lambda msg: None)
    settings, primary_key = source.info()
    snapshot = getattr(source, "snapshot", lambda: None)
    before_read = snapshot()
    spool = tempfile.TemporaryFile(mode="w+b")
    try:
        types, finger, source_ids, samples = read_source(source, primary_key, alias, spool, say)
        count = len(source_ids)
        after_read = snapshot()
        if before_read != after_read or (after_read is not None and after_read.get("numberOfDocuments") != count):
            raise ValueError("index %s changed while it was read (before %s, after %s, %d documents read); "
                             "nothing was written, run again"
                             % (getattr(source, "uid", "?"), before_read, after_read, count))
        timings = {"read": round(time.time() - started, 2)}
        fingerprint = finger.hexdigest(settings_subset(settings), primary_key)
        target = target_collection(alias, fingerprint)
        schema, query_by, unsupported = build_schema(target, settings, types.types, types.order, primary_key)
        synonyms = build_synonyms(settings)
        before_target = typesense.alias(alias)
        before_info = typesense.collection(before_target) if before_target else None
        existing = typesense.collection(target)
        # A collection named after this fingerprint and complete holds exactly this data (a run that
        # stopped after the import, before the switch): it is verified and published, not imported again.
        complete = existing is not None and existing.get("num_documents") == count
        up_to_date = before_target == target and complete
        result = {
            "alias": alias, "collection": target, "previous_collection": before_target, "fingerprint": fingerprint,
            "primary_key": primary_key, "source_documents": count, "schema": schema, "query_by": query_by,
            "synonyms": len(synonyms), "unsupported": unsupported, "changed": not up_to_date, "imported": 0,
            "deleted_collections": [], "timings": timings,
            "diff": {"before": {"alias": alias, "collection": before_target,
                                "documents": before_info.get("num_documents") if before_info else None},
                     "after": {"alias": alias, "collection": target, "documents": count}},
        }
        if not up_to_date and check_mode:
            result["would_import"] = count
            return result
        queries = sample_queries or auto_queries(samples, query_by, sample_count)
        answers = None
        if verify and source.searchable and query_by and queries:
            # Meilisearch's answers do not depend on Typesense: asked now, on their own connection, while
            # Typesense imports (not during the read: Meilisearch would serve pages and searches at once).
            answers = SourceAnswers(source, top_k, primary_key)
            answers.start(queries)
        if not up_to_date and not complete:
            if existing is not None:
                say("%s: dropping incomplete collection %s" % (alias, target))
                typesense.drop(target)
            typesense.create(schema)
            for synonym in synonyms:
                typesense.synonym(target, synonym)
            t0 = time.time()
            schema_types = dict((f["name"], f["type"]) for f in schema["fields"])
            batches = jsonl_batches(spooled_documents(spool), primary_key, schema_types, batch_size)
            done, errors = import_batches(typesense, target, batches, count, alias, say)
            result["imported"] = done
            result["import_seconds"] = timings["import"] = round(time.time() - t0, 2)
            if errors:
                result["failed"] = True
                result["msg"] = "%d document(s) were refused by Typesense; alias %s left on %s" % (len(errors), alias, before_target)
                result["import_errors"] = [e for e in errors if e][:10]
                return result
        spool.close()
        if verify:
            t0 = time.time()
            say("%s: verifying %s (counts, every id, %d sample queries)" % (alias, target, len(queries)))
            # The export streams from Typesense while the last Meilisearch answers may still be coming.
            source_top = (lambda: answers.results(queries)) if answers is not None else None
            result["verification"] = verify_collection(source, typesense, target, source_ids, primary_key, query_by,
                                                       queries, top_k, min_overlap, source_top=source_top)
            timings["verify"] = round(time.time() - t0, 2)
            if not result["verification"]["ok"]:
                result["failed"] = True
                result["msg"] = "verification of %s failed; alias %s left on %s" % (target, alias, before_target)
                return result
        if not up_to_date:
            t0 = time.time()
            typesense.point_alias(alias, target)
            say("%s: alias now points at %s" % (alias, target))
            for coll in typesense.collections():
                name = coll.get("name", "")
                if name.startswith(alias + "__") and name not in (target, before_target):
                    typesense.drop(name)
                    result["deleted_collections"].append(name)
            timings["publish"] = round(time.time() - t0, 2)
        result["seconds"] = round(time.time() - started, 2)
        return result
    finally:
        # Searches still running after an early return (refused documents, error) are not waited
        # for: they only read from Meilisearch, in daemon threads, on their own connection.
        spool.close()


def verify_collection(source, typesense, collection, source_ids, primary_key, query_by, queries, top_k, min_overlap,
                      source_top=None):
    """Counts, ids and sample-query overlap between the source and a Typesense collection.

    Every id of the collection is streamed from Typesense's export and compared with the ids read
    from the source (missing, unexpected, repeated). source_top, when given, is a callable returning
    the source's top results for each query (fetched in the background); otherwise the source is
    queried here.
    """
    info = typesense.collection(collection) or {}
    check = IdCheck(source_ids)
    for target_id in typesense.iter_export_ids(collection):
        check.add(target_id)
    ids = check.result()
    out = {"source_count": len(source_ids), "target_count": info.get("num_documents"), "exported": ids["received"],
           "ids": ids, "queries": [], "min_overlap": min_overlap}
    ok = (info.get("num_documents") == len(source_ids) and ids["received"] == len(source_ids)
          and ids["missing_count"] == 0 and ids["unexpected_count"] == 0 and ids["duplicates"] == 0)
    if source.searchable and query_by:
        tops = source_top() if source_top is not None else [source.search(q, top_k, primary_key) for q in queries]
        for query, expected in zip(queries, tops):
            got = typesense.search(collection, query, query_by, top_k)
            share = overlap(expected, got)
            out["queries"].append({"q": query, "source_top": expected, "typesense_top": got, "overlap": round(share, 3)})
            ok = ok and share >= min_overlap
    else:
        out["queries_skipped"] = "source is a dump file (no search API)" if not source.searchable else "no searchable field"
    out["ok"] = ok
    return out
