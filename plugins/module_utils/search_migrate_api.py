# -*- coding: utf-8 -*-
"""The two engines' HTTP APIs as the migration uses them, the ledger, and the thread helpers.

Stdlib only (the module runs on any host with python3; the bench imports it too).
Meilisearch endpoints used (documented API): GET /indexes/{uid}, GET /indexes/{uid}/settings,
GET /indexes/{uid}/documents?offset=&limit=, POST /indexes/{uid}/search; or a dump file (DumpSource).
Typesense endpoints used: /collections, /collections/{c}/documents/import, .../export,
.../search, /multi_search (searches filtered by id), /collections/{c}/synonyms[/{id}],
/collections/{c}/overrides[/{id}], /aliases/{a}, and /collections/search_migrate_ledger/documents (the Ledger).
A source can also be another Typesense (TypesenseSource: the legacy node), read with the same calls.
"""

import json
import queue
import threading
import time

try:
    from urllib.parse import quote, urlencode, urlsplit
    import http.client as httplib
except ImportError:  # pragma: no cover (python 2 is not supported)
    raise

from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import DumpReader, typesense_settings


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
                yield from parts
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
                yield from results

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


class TypesenseSource(object):
    """One collection (or alias) of another Typesense server - the legacy node - read through its API.

    The same interface as MeiliSource: info() gives the collection's schema, synonyms and overrides
    as the settings of a Typesense source (typesense_settings: copied as is, nothing mapped) and the
    primary key `id`; documents() streams the export (JSONL); search() asks the same search as the
    target is asked (Typesense.search with the target's query_by, which the run sets in `query_by`),
    so the sample queries compare like with like.
    Typesense keeps no update time: snapshot() gives the number of documents only, so a write during
    the read that changes the count stops the run, and the run always reads before it imports
    (a source that cannot say it is unchanged; see migrate()).
    """

    def __init__(self, url, api_key, name, timeout=300):
        self.args = (url, api_key, name, timeout)
        self.api = Typesense(url, api_key, timeout)
        self.uid = name
        self.searchable = True
        self.collection_name, self.query_by = None, []

    def fork(self):
        """The same source on its own connection (for a thread)."""
        other = TypesenseSource(*self.args)
        other.collection_name, other.query_by = self.collection_name, self.query_by
        return other

    def _info(self):
        name = self.api.alias(self.uid) or self.uid
        info = self.api.collection(name)
        if info is None:
            raise ValueError("the source Typesense has no collection or alias %s" % self.uid)
        self.collection_name = name
        return info

    def info(self):
        info = self._info()
        settings = typesense_settings(info, self.api.rules(self.collection_name, "synonyms"),
                                      self.api.rules(self.collection_name, "overrides"))
        return settings, "id"

    def snapshot(self):
        return {"numberOfDocuments": self._info().get("num_documents")}

    def documents(self):
        for line in self.api.http.lines("GET", "/collections/%s/documents/export" % quote(self.collection_name)):
            if line.strip():
                yield json.loads(line.decode("utf-8"))

    def search(self, query, limit, primary_key):
        return self.api.search(self.collection_name, query, self.query_by, limit)


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

    def override(self, collection, override):
        body = dict((k, v) for k, v in override.items() if k != "id")
        return self.http.request("PUT", "/collections/%s/overrides/%s" % (quote(collection), quote(override["id"])), body=body)

    def rules(self, collection, kind):
        """The synonyms or overrides (kind) of a collection, as Typesense lists them."""
        answer = self.http.request("GET", "/collections/%s/%s" % (quote(collection), kind)) or {}
        return answer.get(kind) or []

    def import_jsonl(self, collection, text):
        return self.http.request("POST", "/collections/%s/documents/import" % quote(collection), body=text,
                                 params={"action": "create", "dirty_values": "coerce_or_reject"}, raw=True,
                                 content_type="text/plain")

    def export_ids(self, collection):
        return list(self.iter_export_ids(collection))

    def iter_export_ids(self, collection):
        """The id of every document of the collection, parsed while the export streams in."""
        for line in self.http.lines("GET", "/collections/%s/documents/export" % quote(collection),
                                    params={"include_fields": "id"}):
            if line.strip():
                yield json.loads(line.decode("utf-8"))["id"]

    def count_ids(self, collection, ids):
        """How many of these ids the collection holds: one search filtered by id (ids: see ids_filterable)."""
        body = {"searches": [{"collection": collection, "q": "*", "per_page": 0,
                              "filter_by": "id:=[%s]" % ",".join("`%s`" % i for i in ids)}]}
        answer = self.http.request("POST", "/multi_search", body=body)["results"][0]
        if "found" not in answer:
            raise SearchHTTPError("POST", "/multi_search", answer.get("code", 200), json.dumps(answer)[:500])
        return answer["found"]

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
