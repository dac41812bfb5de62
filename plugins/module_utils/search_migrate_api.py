# -*- coding: utf-8 -*-
"""The HTTP APIs the search migration reads and writes (stdlib only; the bench imports them too).

Meilisearch (documented API): GET /indexes/{uid}, /indexes/{uid}/settings, /indexes/{uid}/documents?offset&limit,
POST /indexes/{uid}/search. Typesense: /collections[/{c}], /collections/{c}/documents/import|export|search,
/multi_search (searches filtered by id), /collections/{c}/synonyms|overrides[/{id}], /aliases/{a}, and the
ledger's documents. A source is a Meilisearch index (MeiliSource) or another Typesense's collection
(TypesenseSource: the legacy node); both give info(), snapshot(), documents() and search().
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import typesense_settings


class SearchHTTPError(Exception):
    """An HTTP answer that is not 2xx."""

    def __init__(self, method, path, status, body):
        Exception.__init__(self, "%s %s -> HTTP %s: %s" % (method, path, status, body[:300]))
        self.status = status


class Http(object):
    """A keep-alive JSON client for one base URL: one connection per thread, reconnected once if it broke."""

    def __init__(self, base_url, headers, timeout=300):  # seconds: a batch of 5,000 documents, an export
        parts = urlsplit(base_url)
        self.connection = HTTPSConnection if parts.scheme == "https" else HTTPConnection
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self.headers, self.timeout, self.local = headers, timeout, threading.local()

    def _send(self, method, path, params, body=None, content_type="application/json"):
        url = self.prefix + path + ("?" + urlencode(params) if params else "")
        headers = dict(self.headers, **({"Content-Type": content_type} if body is not None else {}))
        for attempt in (1, 2):
            if getattr(self.local, "conn", None) is None:
                self.local.conn = self.connection(self.host, self.port, timeout=self.timeout)
            try:
                self.local.conn.request(method, url, body=body, headers=headers)
                return self.local.conn.getresponse()
            except (HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise

    def close(self):
        if getattr(self.local, "conn", None) is not None:
            self.local.conn.close()
            self.local.conn = None

    def request(self, method, path, body=None, params=None, raw=False):
        """The JSON answer (or its text when raw); None for a GET answered 404."""
        if body is not None and not isinstance(body, str):
            body = json.dumps(body)
        resp = self._send(method, path, params, None if body is None else body.encode("utf-8"),
                          "text/plain" if raw else "application/json")
        data = resp.read().decode("utf-8")
        if resp.status == 404 and method == "GET":
            return None
        if resp.status >= 300:
            raise SearchHTTPError(method, path, resp.status, data)
        return data if raw else (json.loads(data) if data else None)

    def lines(self, path, params=None):
        """The lines (bytes) of a GET answer as they arrive; an abandoned answer closes its connection."""
        resp = self._send("GET", path, params)
        if resp.status >= 300:
            raise SearchHTTPError("GET", path, resp.status, resp.read().decode("utf-8", "replace"))
        finished, rest = False, b""
        try:
            for chunk in iter(lambda: resp.read1(65536), b""):
                parts = (rest + chunk).split(b"\n")
                rest = parts.pop()
                yield from parts
            yield rest
            finished = True
        finally:
            if not finished:
                self.close()


def jsonl(lines):
    """The documents of JSONL lines (bytes), blank lines skipped."""
    return (json.loads(line) for line in lines if line.strip())


class MeiliSource(object):
    """One Meilisearch index, read in pages (the next page fetched while this one is used)."""

    def __init__(self, url, api_key, uid, page_size=1000):
        self.http = Http(url, {"Authorization": "Bearer %s" % api_key} if api_key else {})
        self.uid, self.page_size, self.path = uid, page_size, "/indexes/%s" % quote(uid)

    def info(self):
        """(settings, primary key)."""
        index = self.http.request("GET", self.path)
        if index is None:
            raise ValueError("Meilisearch has no index %s" % self.uid)
        return self.http.request("GET", self.path + "/settings"), index.get("primaryKey") or "id"

    def snapshot(self):
        """updatedAt and number of documents: taken before and after the read, a write in between stops the run."""
        index = self.http.request("GET", self.path)
        page = self.page(0, 1)
        if index is None or page is None:
            raise ValueError("Meilisearch has no index %s" % self.uid)
        return {"updatedAt": index.get("updatedAt"), "numberOfDocuments": page.get("total")}

    def page(self, offset, limit):
        return self.http.request("GET", self.path + "/documents", params={"offset": offset, "limit": limit})

    def documents(self):
        with ThreadPoolExecutor(1) as pool:
            offset, coming = 0, pool.submit(self.page, 0, self.page_size)
            while coming is not None:
                page = coming.result()
                results = page.get("results") or []
                offset += len(results)
                more = results and offset < page.get("total", 0)
                coming = pool.submit(self.page, offset, self.page_size) if more else None
                yield from results

    def search(self, query, limit, primary_key):
        answer = self.http.request("POST", self.path + "/search", body={
            "q": query, "limit": limit, "matchingStrategy": "all", "attributesToRetrieve": [primary_key]})
        return [str(hit[primary_key]) for hit in answer.get("hits", [])]


class TypesenseSource(object):
    """One collection (or alias) of another Typesense server, the legacy node: copied as it is.

    Typesense keeps no update time: snapshot() is the number of documents only, so the run always reads
    before it imports. search() asks what the target is asked (the run sets query_by to the target's).
    """

    def __init__(self, url, api_key, name):
        self.api, self.uid = Typesense(url, api_key), name
        self.collection_name, self.query_by = None, []

    def _info(self):
        self.collection_name = self.api.alias(self.uid) or self.uid
        info = self.api.collection(self.collection_name)
        if info is None:
            raise ValueError("the source Typesense has no collection or alias %s" % self.uid)
        return info

    def info(self):
        info = self._info()
        return typesense_settings(info, self.api.rules(self.collection_name, "synonyms"),
                                  self.api.rules(self.collection_name, "overrides")), "id"

    def snapshot(self):
        return {"numberOfDocuments": self._info().get("num_documents")}

    def documents(self):
        return jsonl(self.api.http.lines("/collections/%s/documents/export" % quote(self.collection_name)))

    def search(self, query, limit, primary_key):
        return self.api.search(self.collection_name, query, self.query_by, limit)


class Typesense(object):
    """The Typesense calls of the migration (the target, or a source's server)."""

    def __init__(self, url, api_key):
        self.http = Http(url, {"X-TYPESENSE-API-KEY": api_key})

    def alias(self, name):
        answer = self.http.request("GET", "/aliases/%s" % quote(name))
        return answer.get("collection_name") if answer else None

    def point_alias(self, alias, collection):
        return self.http.request("PUT", "/aliases/%s" % quote(alias), body={"collection_name": collection})

    def collection(self, name):
        return self.http.request("GET", "/collections/%s" % quote(name))

    def collections(self):
        return self.http.request("GET", "/collections") or []

    def create(self, schema):
        return self.http.request("POST", "/collections", body=schema)

    def drop(self, name):
        return self.http.request("DELETE", "/collections/%s" % quote(name))

    def rules(self, collection, kind):
        """The synonyms or overrides (kind) of a collection."""
        return (self.http.request("GET", "/collections/%s/%s" % (quote(collection), kind)) or {}).get(kind) or []

    def put_rule(self, collection, kind, rule):
        """Create a synonym or an override (kind) under its id."""
        body = dict((k, v) for k, v in rule.items() if k != "id")
        path = "/collections/%s/%s/%s" % (quote(collection), kind, quote(rule["id"]))
        return self.http.request("PUT", path, body=body)

    def import_jsonl(self, collection, text):
        return self.http.request("POST", "/collections/%s/documents/import" % quote(collection), body=text, raw=True,
                                 params={"action": "create", "dirty_values": "coerce_or_reject"})

    def export_ids(self, collection):
        """The id of every document, parsed as the export streams in."""
        path = "/collections/%s/documents/export" % quote(collection)
        return (doc["id"] for doc in jsonl(self.http.lines(path, {"include_fields": "id"})))

    def count_ids(self, collection, ids):
        """How many of these ids (ids_filterable) the collection holds: one search filtered by id."""
        body = {"searches": [{"collection": collection, "q": "*", "per_page": 0,
                              "filter_by": "id:=[%s]" % ",".join("`%s`" % i for i in ids)}]}
        answer = self.http.request("POST", "/multi_search", body=body)["results"][0]
        if "found" not in answer:
            raise SearchHTTPError("POST", "/multi_search", answer.get("code", 200), json.dumps(answer))
        return answer["found"]

    def search(self, collection, query, query_by, limit):
        answer = self.http.request("GET", "/collections/%s/documents/search" % quote(collection), params={
            "q": query, "query_by": ",".join(query_by), "per_page": limit, "num_typos": 0,
            "drop_tokens_threshold": 0, "typo_tokens_threshold": 0, "include_fields": "id"})
        return [hit["document"]["id"] for hit in answer.get("hits", [])]

    def document(self, collection, doc_id):
        """One document, or None when the collection or the document does not exist."""
        return self.http.request("GET", "/collections/%s/documents/%s" % (quote(collection), quote(doc_id, safe="")))

    def upsert(self, collection, doc):
        return self.http.request("POST", "/collections/%s/documents" % quote(collection), body=doc,
                                 params={"action": "upsert"})
