# -*- coding: utf-8 -*-
"""HTTP clients and the migration run (Meilisearch or a Meilisearch dump -> Typesense).

Stdlib only, so that the module runs on any host with python3 and the bench can import it.
Meilisearch endpoints used (documented API): GET /indexes/{uid}, GET /indexes/{uid}/settings,
GET /indexes/{uid}/documents?offset=&limit=, POST /indexes/{uid}/search.
Typesense endpoints used: /collections, /collections/{c}/documents/import, .../export,
.../search, /collections/{c}/synonyms/{id}, /aliases/{a}, and /collections/search_migrate_ledger/documents
(the ledger: one document per alias, what the last run published and from which state of the index).

The run (Migration) is a pipeline (threads, bounded queues): the next Meilisearch page is fetched
while the current one is fingerprinted and spooled; the next JSONL batch is converted while
Typesense imports the current one; Meilisearch's answers to the sample queries are fetched, on
their own connection, while Typesense imports; the ids are checked while Typesense's export
streams in. When the ledger does not say the index is unchanged, Typesense imports while the index
is still read (StreamedImport: a collection named before the read ends, a schema from the first
batch, checked against every later document); otherwise, and in check mode or from a dump, the
import waits for the end of the read, so that a run over an unchanged index writes nothing.
"""

import json
import marshal
import os
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
    check_import_lines, collection_form, document_line, ledger_says_unchanged, overlap, run_collection,
    settings_digest, settings_subset, target_collection)


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

    def done(self):
        return not self.thread.is_alive()

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
        self.args = (url, api_key, timeout)
        self.http = Http(url, {"X-TYPESENSE-API-KEY": api_key}, timeout)

    def fork(self):
        """The same API on its own connection (for a thread)."""
        return Typesense(*self.args)

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

    def document(self, collection, doc_id):
        """One document, or None when the collection or the document does not exist."""
        return self.http.request("GET", "/collections/%s/documents/%s" % (quote(collection), quote(doc_id, safe="")))

    def upsert(self, collection, doc):
        return self.http.request("POST", "/collections/%s/documents" % quote(collection), body=doc,
                                 params={"action": "upsert"})

    def delete_document(self, collection, doc_id):
        return self.http.request("DELETE", "/collections/%s/documents/%s" % (quote(collection), quote(doc_id, safe="")))


LEDGER_COLLECTION = "search_migrate_ledger"
LEDGER_SCHEMA = {"name": LEDGER_COLLECTION, "fields": [{"name": "alias", "type": "string"}]}


class Ledger(object):
    """What the last run published for each alias, kept in Typesense (collection search_migrate_ledger).

    One document per alias (id = alias name): the collection published, its fingerprint, and the
    state of the source it was made from (updatedAt, numberOfDocuments, settings digest). A source
    still in that state has nothing new (ledger_says_unchanged): the run reads and verifies only.
    The collection is created on the first write; site keys are not given access to it.
    """

    def __init__(self, typesense):
        self.typesense = typesense

    def get(self, alias):
        return self.typesense.document(LEDGER_COLLECTION, alias)

    def record(self, alias, collection, fingerprint, snapshot, digest):
        doc = {"id": alias, "alias": alias, "collection": collection, "fingerprint": fingerprint,
               "settings_digest": digest, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        doc.update((k, v) for k, v in (snapshot or {}).items() if v is not None)
        try:
            self.typesense.upsert(LEDGER_COLLECTION, doc)
        except SearchHTTPError as exc:
            if exc.status != 404:
                raise
            self.typesense.create(dict(LEDGER_SCHEMA))
            self.typesense.upsert(LEDGER_COLLECTION, doc)

    def forget(self, alias):
        """Remove the alias's entry (its next run streams a full import); no entry is not an error."""
        try:
            self.typesense.delete_document(LEDGER_COLLECTION, alias)
        except SearchHTTPError as exc:
            if exc.status != 404:
                raise


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


class Reading(object):
    """One read of the source: field types, fingerprint, ids and samples; the documents go to a spool.

    The spool (a binary temporary file) holds the documents as they were read, in marshal chunks of
    chunk_size documents (JSON values only: marshal.loads reads them back several times faster than
    json.loads). After each chunk is written, on_chunk(reading, (offset, size)) is called: the
    streamed path hands the chunk to its import thread there.
    """

    def __init__(self, primary_key, alias, spool, say, chunk_size=SPOOL_CHUNK):
        self.primary_key, self.alias, self.spool, self.say = primary_key, alias, spool, say
        self.chunk_size = max(1, chunk_size)
        self.types, self.finger = FieldTypes(), Fingerprint()
        self.ids, self.samples = [], []

    @property
    def count(self):
        return len(self.ids)

    def run(self, docs, on_chunk=None):
        """Consume the documents (closing the iterable, which stops a page prefetch, however it ends)."""
        primary_key, chunk_size, samples = self.primary_key, self.chunk_size, self.samples
        add_type, add_text, add_id = self.types.add, self.finger.add_canonical, self.ids.append
        chunk = []
        keep = chunk.append
        try:
            for n, doc in enumerate(docs):
                if primary_key not in doc:
                    raise ValueError("document #%d has no primary key %s" % (n, primary_key))
                add_text(canonical(doc))
                add_type(doc)
                add_id(str(doc[primary_key]))
                keep(doc)
                if len(chunk) >= chunk_size:
                    self._spool(chunk, on_chunk)
                    del chunk[:]
                if n % 997 == 0 and len(samples) < 50:
                    samples.append(doc)
                if (n + 1) % 20000 == 0:
                    self.say("%s: read %d documents" % (self.alias, n + 1))
        finally:
            close = getattr(docs, "close", None)
            if close is not None:
                close()
        if chunk:
            self._spool(chunk, on_chunk)
        return self

    def _spool(self, chunk, on_chunk):
        location = spool_chunk(self.spool, chunk)
        if on_chunk is not None:
            on_chunk(self, location)

    def fingerprint(self, settings):
        return self.finger.hexdigest(settings_subset(settings), self.primary_key)


def read_source(source, primary_key, alias, spool, say):
    """Read every document once (Reading); returns (FieldTypes, Fingerprint, source_ids, samples)."""
    reading = Reading(primary_key, alias, spool, say).run(source.documents())
    return reading.types, reading.finger, reading.ids, reading.samples


def spool_chunk(spool, docs):
    """Append a list of documents to the spool: 8-byte length, then marshal data.

    Returns (offset, size) of the data, flushed to the file: another thread can read it back with
    os.pread (fed_documents) while this one goes on writing.
    """
    data = marshal.dumps(docs)
    spool.write(struct.pack(">Q", len(data)))
    offset = spool.tell()
    spool.write(data)
    spool.flush()
    return offset, len(data)


def spooled_documents(spool):
    """The documents written by spool_chunk, in the order they were read."""
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


class Feed(object):
    """Spooled chunks handed from the reader to the import thread: put, then end (all sent) or abort (stop now).

    Unbounded: its items are (offset, size) pairs of chunks already in the spool file, so the
    read never waits for Typesense and the documents in flight are on disk, not in memory.
    """

    def __init__(self):
        self.queue = queue.Queue()
        self.aborted = threading.Event()

    def put(self, location):
        self.queue.put(location)

    def end(self):
        self.queue.put(None)

    def abort(self):
        self.aborted.set()
        self.queue.put(None)

    def __iter__(self):
        while not self.aborted.is_set():
            location = self.queue.get()
            if location is None or self.aborted.is_set():
                return
            yield location


def fed_documents(feed, spool):
    """The documents of the chunks put in a Feed, read back from the spool file (os.pread: no shared position)."""
    fd = spool.fileno()
    for offset, size in feed:
        data = os.pread(fd, size, offset)
        if len(data) != size:
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
            say("%s: imported %d/%s documents (%.0f docs/s)"
                % (alias, done, count if count is not None else "?", done / max(time.time() - t0, 1e-6)))
    return done, errors


def schema_changes(old, new):
    """Names of the fields declared differently in two schemas (for messages)."""
    before = dict((f["name"], f) for f in old["fields"])
    after = dict((f["name"], f) for f in new["fields"])
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


class StreamedImport(object):
    """Import into a new collection while the source is still read (the streamed path of migrate).

    The reader hands over each spooled chunk (add). Once batch_size documents are read, the schema
    is built from the settings and their field types, the collection is created and a background
    thread (on its own Typesense connection) converts and imports the chunks, read back from the
    spool. Before a chunk is handed over, the schema of every document read so far is compared with
    the collection's: if it differs (a field whose type changed, a field seen for the first time)
    the stream stops (`diverged` holds why) and no later document is sent; field types only ever
    widen, so the final schema would differ too. The caller then drops the collection (drop) and
    imports after the read. Nothing here points the alias.
    """

    def __init__(self, typesense, spool, name, settings, primary_key, batch_size, expected, alias, say):
        self.typesense = typesense.fork() if hasattr(typesense, "fork") else typesense
        self.spool, self.name, self.settings, self.primary_key = spool, name, settings, primary_key
        self.batch_size, self.expected, self.alias, self.say = batch_size, expected, alias, say
        self.feed, self.pending, self.importer = Feed(), [], None
        self.schema = self.query_by = self.types_seen = None
        self.created, self.diverged, self.seconds = False, None, 0.0

    def add(self, reading, location):
        """After each spooled chunk (reader's thread): start when the first batch is read, then hand it over."""
        if self.diverged:
            return
        if self.schema is None:
            self.pending.append(location)
            if reading.count >= self.batch_size:
                self.start(reading)
            return
        if self.importer.done():
            self.importer.result()  # the import stopped before the end: its error, now rather than after the read
        if self.check(reading):
            self.feed.put(location)

    def check(self, reading):
        """True while the documents read so far give the collection's schema; otherwise stop the stream."""
        types = reading.types.types
        if types == self.types_seen:
            return True
        self.types_seen = dict(types)
        schema, query_by, _ = build_schema(self.name, self.settings, types, reading.types.order, self.primary_key)
        if schema == self.schema and query_by == self.query_by:
            return True
        changed = schema_changes(self.schema, schema) or ["query_by"]
        self.diverged = "schema changed after %d documents (%s)" % (reading.count, ", ".join(changed))
        self.feed.abort()
        self.say("%s: stream into %s stopped: %s; importing after the read" % (self.alias, self.name, self.diverged))
        return False

    def start(self, reading):
        """Create the collection (schema of the documents read so far) and start the import thread."""
        types = reading.types
        self.schema, self.query_by, _ = build_schema(self.name, self.settings, types.types, types.order,
                                                     self.primary_key)
        self.types_seen = dict(types.types)
        self.say("%s: streaming into %s (schema from the first %d documents)" % (self.alias, self.name, reading.count))
        self.typesense.create(self.schema)
        self.created = True
        for synonym in build_synonyms(self.settings):
            self.typesense.synonym(self.name, synonym)
        self.importer = Background(self._import)
        for location in self.pending:
            self.feed.put(location)
        self.pending = []

    def _import(self):
        t0 = time.time()
        schema_types = dict((f["name"], f["type"]) for f in self.schema["fields"])
        batches = jsonl_batches(fed_documents(self.feed, self.spool), self.primary_key, schema_types, self.batch_size)
        try:
            return import_batches(self.typesense, self.name, batches, self.expected, self.alias, self.say)
        finally:
            self.seconds = round(time.time() - t0, 2)

    def finish(self, reading):
        """After the read: start now if fewer than batch_size documents were read, wait for the import.

        Returns (documents sent, errors), as import_batches.
        """
        if self.schema is None:
            self.start(reading)
        self.feed.end()
        return self.importer.result()

    def stop(self):
        """Stop the import after the batch in flight and wait for its thread (its outcome no longer matters)."""
        self.feed.abort()
        if self.importer is not None:
            self.importer.thread.join()

    def drop(self):
        """Stop, then drop the collection: it is never published."""
        self.stop()
        if self.created:
            self.typesense.drop(self.name)
            self.created = False
            self.say("%s: dropped %s" % (self.alias, self.name))

    def abort(self):
        """drop() on the way out of an error: a failed drop is reported (the next run's retention drops it)."""
        try:
            self.drop()
        except Exception as exc:  # the error being raised matters more
            self.say("%s: could not drop %s (%s); the next run drops it" % (self.alias, self.name, exc))


def migrate(source, typesense, alias, batch_size=5000, check_mode=False, sample_queries=None,
            sample_count=5, top_k=10, min_overlap=0.6, verify=True, progress=None):
    """Migrate one index; return a result dict (changed, counts, verification, unsupported, timings...).

    Re-runnable, and a run over an unchanged index writes nothing. Three paths (Migration):
    * the ledger (search_migrate_ledger in Typesense) says the alias's collection was made from the
      index as it is now (updatedAt, number of documents, settings): the index is read and
      fingerprinted, the alias's collection verified; nothing is written. Should the fingerprint
      differ all the same, the documents are imported after the read (as below);
    * check mode and dump sources read first, then import if needed (sequential path): the
      collection is named `<alias>__<12 hex of fingerprint>` and an alias that already points at a
      complete copy of this data is left alone;
    * otherwise (first run, index changed, no ledger) the streamed path imports while the index is
      read, into `<alias>__run<date>_<time>_<hex>` (StreamedImport). If the schema diverges the
      collection is dropped and the documents imported after the read; if the content proves to
      be the alias's already (same fingerprint), the new collection is dropped and nothing changes
      (the ledger entry is refreshed).
    The source's snapshot (updatedAt and number of documents) must be the same before and after the
    read: otherwise the run fails and nothing is published (a streamed collection is dropped). The
    alias is switched, atomically, only to a collection whose counts, ids and sample queries are
    verified; the previous collection is kept for rollback, older versions are dropped.
    """
    return Migration(source, typesense, alias, batch_size=batch_size, check_mode=check_mode,
                     sample_queries=sample_queries, sample_count=sample_count, top_k=top_k,
                     min_overlap=min_overlap, verify=verify, progress=progress).run()


def serialized(progress):
    """progress(msg), one line at a time (the reader and the import thread both report)."""
    lock = threading.Lock()

    def say(msg):
        if progress is not None:
            with lock:
                progress(msg)
    return say


class Migration(object):
    """One run of migrate() (see there for its paths)."""

    def __init__(self, source, typesense, alias, batch_size, check_mode, sample_queries, sample_count, top_k,
                 min_overlap, verify, progress):
        self.source, self.typesense, self.alias = source, typesense, alias
        self.batch_size, self.check_mode, self.verify = batch_size, check_mode, verify
        self.sample_queries, self.sample_count = sample_queries, sample_count
        self.top_k, self.min_overlap = top_k, min_overlap
        self.say = serialized(progress)
        self.ledger = Ledger(typesense)
        self.timings, self.discarded, self.refresh_ledger = {}, None, False

    def run(self):
        self.started = time.time()
        self.settings, self.primary_key = self.source.info()
        self.before_read = self.snapshot()
        self.digest = settings_digest(self.settings, self.primary_key)
        self.before_target = self.typesense.alias(self.alias)
        self.before_info = self.typesense.collection(self.before_target) if self.before_target else None
        entry = self.ledger.get(self.alias)
        # An entry about another collection than the alias's (alias moved by hand: a rollback) says nothing.
        self.entry = entry if entry and entry.get("collection") == self.before_target else None
        unchanged = ledger_says_unchanged(self.entry, self.before_target, self.before_read, self.digest)
        spool = tempfile.TemporaryFile(mode="w+b")
        try:
            if self.check_mode or self.before_read is None or unchanged:
                if unchanged:
                    self.say("%s: ledger: %s was made from the index as it is now; reading to verify"
                             % (self.alias, self.before_target))
                return self.sequential(spool, self.read(spool))
            return self.streamed(spool)
        finally:
            # Searches still running after an early return (refused documents, error) are not waited
            # for: they only read from Meilisearch, in daemon threads, on their own connection.
            spool.close()

    def snapshot(self):
        return getattr(self.source, "snapshot", lambda: None)()

    def read(self, spool, on_chunk=None):
        """Read every document into the spool, then check that the index did not change meanwhile."""
        reading = Reading(self.primary_key, self.alias, spool, self.say, min(SPOOL_CHUNK, self.batch_size))
        reading.run(self.source.documents(), on_chunk)
        after = self.snapshot()
        if self.before_read != after or (after is not None and after.get("numberOfDocuments") != reading.count):
            raise ValueError("index %s changed while it was read (before %s, after %s, %d documents read); "
                             "nothing was published, run again"
                             % (getattr(self.source, "uid", "?"), self.before_read, after, reading.count))
        self.timings["read"] = round(time.time() - self.started, 2)
        return reading

    def current_copy(self, fingerprint, count):
        """The alias's collection when it already holds exactly this data (complete), else None.

        It holds it when named after this fingerprint, or when the ledger recorded this fingerprint for it.
        """
        target = self.before_target
        if target is None or (self.before_info or {}).get("num_documents") != count:
            return None
        if target == target_collection(self.alias, fingerprint):
            return target
        if self.entry is not None and self.entry.get("fingerprint") == fingerprint:
            return target
        return None

    def streamed(self, spool):
        """Import while reading (StreamedImport); see migrate()."""
        expected = (self.before_read or {}).get("numberOfDocuments")
        stream = StreamedImport(self.typesense, spool, run_collection(self.alias), self.settings, self.primary_key,
                                self.batch_size, expected, self.alias, self.say)
        try:
            reading = self.read(spool, on_chunk=stream.add)
            fingerprint = reading.fingerprint(self.settings)
            same = not stream.diverged and self.current_copy(fingerprint, reading.count) is not None
            if stream.diverged or same:
                stream.drop()
            else:
                schema, query_by, unsupported = build_schema(stream.name, self.settings, reading.types.types,
                                                             reading.types.order, self.primary_key)
                result = self.result(stream.name, fingerprint, reading, schema, query_by, unsupported, True,
                                     "streamed")
                queries, answers = self.ask_source(reading.samples, query_by)  # while Typesense imports the rest
                t0 = time.time()
                done, errors = stream.finish(reading)
        except BaseException:
            stream.abort()
            raise
        if stream.diverged or same:
            if same:
                self.say("%s: same documents and settings as %s: nothing to publish" % (self.alias, self.before_target))
                self.refresh_ledger = True  # updatedAt moved without a change: recorded, the next run writes nothing
            self.discarded = {"collection": stream.name, "reason": stream.diverged or "content unchanged"}
            return self.sequential(spool, reading)
        self.timings["import_wait"] = round(time.time() - t0, 2)
        result["imported"] = done
        result["import_seconds"] = self.timings["import"] = stream.seconds
        if errors:
            stream.drop()
            return self.refused(result, errors, "; %s dropped" % stream.name)
        return self.verify_and_publish(result, reading, stream.name, query_by, queries, answers, fingerprint, True)

    def sequential(self, spool, reading):
        """Import after the read, from the spool, into `<alias>__<fingerprint>` (or nothing to do)."""
        fingerprint = reading.fingerprint(self.settings)
        count = reading.count
        current = self.current_copy(fingerprint, count)
        target = current or target_collection(self.alias, fingerprint)
        schema, query_by, unsupported = build_schema(target, self.settings, reading.types.types,
                                                     reading.types.order, self.primary_key)
        result = self.result(target, fingerprint, reading, schema, query_by, unsupported, current is None,
                             "sequential")
        if current is None and self.check_mode:
            result["would_import"] = count
            return result
        queries, answers = self.ask_source(reading.samples, query_by)  # while Typesense imports
        if current is None:
            existing = self.typesense.collection(target)
            # A collection named after this fingerprint and complete holds exactly this data (a run that
            # stopped after the import, before the switch): it is verified and published, not imported again.
            if existing is None or existing.get("num_documents") != count:
                if existing is not None:
                    self.say("%s: dropping incomplete collection %s" % (self.alias, target))
                    self.typesense.drop(target)
                self.typesense.create(schema)
                for synonym in build_synonyms(self.settings):
                    self.typesense.synonym(target, synonym)
                t0 = time.time()
                schema_types = dict((f["name"], f["type"]) for f in schema["fields"])
                batches = jsonl_batches(spooled_documents(spool), self.primary_key, schema_types, self.batch_size)
                done, errors = import_batches(self.typesense, target, batches, count, self.alias, self.say)
                result["imported"] = done
                result["import_seconds"] = self.timings["import"] = round(time.time() - t0, 2)
                if errors:
                    return self.refused(result, errors, "")
        return self.verify_and_publish(result, reading, target, query_by, queries, answers, fingerprint,
                                       current is None)

    def result(self, collection, fingerprint, reading, schema, query_by, unsupported, changed, path):
        before_docs = self.before_info.get("num_documents") if self.before_info else None
        result = {
            "alias": self.alias, "collection": collection, "previous_collection": self.before_target,
            "fingerprint": fingerprint, "primary_key": self.primary_key, "source_documents": reading.count,
            "schema": schema, "query_by": query_by, "synonyms": len(build_synonyms(self.settings)),
            "unsupported": unsupported, "changed": changed, "imported": 0, "deleted_collections": [],
            "timings": self.timings, "path": path,
            "diff": {"before": {"alias": self.alias, "collection": self.before_target, "documents": before_docs},
                     "after": {"alias": self.alias, "collection": collection, "documents": reading.count}},
        }
        if self.discarded:
            result["discarded"] = self.discarded
        return result

    def refused(self, result, errors, note):
        result["failed"] = True
        result["msg"] = "%d document(s) were refused by Typesense%s; alias %s left on %s" % (
            len(errors), note, self.alias, self.before_target)
        result["import_errors"] = [e for e in errors if e][:10]
        return result

    def ask_source(self, samples, query_by):
        """The sample queries, and Meilisearch's answers to them started in the background (or None)."""
        queries = self.sample_queries or auto_queries(samples, query_by, self.sample_count)
        answers = None
        if self.verify and self.source.searchable and query_by and queries:
            # Meilisearch's answers do not depend on Typesense: asked now, on their own connection, while
            # Typesense imports (not during the read: Meilisearch would serve pages and searches at once).
            answers = SourceAnswers(self.source, self.top_k, self.primary_key)
            answers.start(queries)
        return queries, answers

    def verify_and_publish(self, result, reading, collection, query_by, queries, answers, fingerprint, publish):
        """Verify the collection; when publish, point the alias at it, apply retention and record it in the ledger."""
        if self.verify:
            t0 = time.time()
            self.say("%s: verifying %s (counts, every id, %d sample queries)" % (self.alias, collection, len(queries)))
            # The export streams from Typesense while the last Meilisearch answers may still be coming.
            source_top = (lambda: answers.results(queries)) if answers is not None else None
            result["verification"] = verify_collection(self.source, self.typesense, collection, reading.ids,
                                                       self.primary_key, query_by, queries, self.top_k,
                                                       self.min_overlap, source_top=source_top)
            self.timings["verify"] = round(time.time() - t0, 2)
            if not result["verification"]["ok"]:
                result["failed"] = True
                result["msg"] = "verification of %s failed; alias %s left on %s" % (
                    collection, self.alias, self.before_target)
                return result
        if publish:
            t0 = time.time()
            self.typesense.point_alias(self.alias, collection)
            self.say("%s: alias now points at %s" % (self.alias, collection))
            result["deleted_collections"] = self.retire_versions(collection)
            self.ledger.record(self.alias, collection, fingerprint, self.before_read, self.digest)
            self.timings["publish"] = round(time.time() - t0, 2)
        elif self.refresh_ledger:
            self.ledger.record(self.alias, collection, fingerprint, self.before_read, self.digest)
        result["seconds"] = round(time.time() - self.started, 2)
        return result

    def retire_versions(self, published):
        """Drop the alias's versions (both name forms) but the one published and the previous one."""
        dropped = []
        for coll in self.typesense.collections():
            name = coll.get("name", "")
            if collection_form(self.alias, name) and name not in (published, self.before_target):
                self.typesense.drop(name)
                dropped.append(name)
        return dropped


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
