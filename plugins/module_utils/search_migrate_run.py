# -*- coding: utf-8 -*-
"""HTTP clients and the migration run (Meilisearch or a Meilisearch dump -> Typesense).

Stdlib only, so that the module runs on any host with python3 and the bench can import it.
Meilisearch endpoints used (documented API): GET /indexes/{uid}, GET /indexes/{uid}/settings,
GET /indexes/{uid}/documents?offset=&limit=, POST /indexes/{uid}/search.
Typesense endpoints used: /collections, /collections/{c}/documents/import, .../export,
.../search, /collections/{c}/synonyms/{id}, /aliases/{a}.
"""

import json
import tempfile
import time

try:
    from urllib.parse import quote, urlencode, urlsplit
    import http.client as httplib
except ImportError:  # pragma: no cover (python 2 is not supported)
    raise

from ansible.module_utils.search_migrate_lib import (
    DumpReader, FieldTypes, Fingerprint, build_schema, build_synonyms, canonical, check_import_lines,
    compare_ids, convert_document, overlap, settings_subset, target_collection)


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
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, url, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read().decode("utf-8")
                break
            except (httplib.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if resp.status == 404 and method == "GET":
            return None
        if resp.status >= 300:
            raise SearchHTTPError(method, path, resp.status, data)
        return data if raw else (json.loads(data) if data else None)


class MeiliSource(object):
    """One Meilisearch index read through its documented API, in pages."""

    def __init__(self, url, api_key, uid, page_size=1000, timeout=120):
        headers = {"Authorization": "Bearer %s" % api_key} if api_key else {}
        self.http = Http(url, headers, timeout)
        self.uid = uid
        self.page_size = page_size
        self.searchable = True

    def info(self):
        index = self.http.request("GET", "/indexes/%s" % quote(self.uid))
        if index is None:
            raise ValueError("Meilisearch has no index %s" % self.uid)
        settings = self.http.request("GET", "/indexes/%s/settings" % quote(self.uid))
        return settings, index.get("primaryKey") or "id"

    def documents(self):
        offset = 0
        while True:
            page = self.http.request("GET", "/indexes/%s/documents" % quote(self.uid),
                                     params={"offset": offset, "limit": self.page_size})
            results = page.get("results", [])
            for doc in results:
                yield doc
            offset += len(results)
            if not results or offset >= page.get("total", 0):
                return

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
        text = self.http.request("GET", "/collections/%s/documents/export" % quote(collection),
                                 params={"include_fields": "id"}, raw=True)
        return [json.loads(line)["id"] for line in (text or "").splitlines() if line.strip()]

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


def migrate(source, typesense, alias, batch_size=5000, check_mode=False, sample_queries=None,
            sample_count=5, top_k=10, min_overlap=0.6, verify=True, progress=None):
    """Migrate one index; return a result dict (changed, counts, verification, unsupported...).

    Re-runnable: the target collection is named after a fingerprint of the documents and
    settings, so an unchanged source whose alias already points at a complete collection is a
    no-op; a changed one is imported into a new collection and the alias is switched atomically
    after the new collection is verified.
    """
    started = time.time()
    say = progress or (lambda msg: None)
    settings, primary_key = source.info()
    types, finger = FieldTypes(), Fingerprint()
    source_ids = []
    samples = []
    spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    for n, doc in enumerate(source.documents()):
        if primary_key not in doc:
            raise ValueError("document #%d has no primary key %s" % (n, primary_key))
        types.add(doc)
        finger.add(doc)
        source_ids.append(str(doc[primary_key]))
        spool.write(canonical(doc) + "\n")
        if n % 997 == 0 and len(samples) < 50:
            samples.append(doc)
        if (n + 1) % 20000 == 0:
            say("%s: read %d documents" % (alias, n + 1))
    count = len(source_ids)
    t_read = time.time() - started
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
        "deleted_collections": [],
        "diff": {"before": {"alias": alias, "collection": before_target,
                            "documents": before_info.get("num_documents") if before_info else None},
                 "after": {"alias": alias, "collection": target, "documents": count}},
    }
    if not up_to_date and check_mode:
        result["would_import"] = count
        spool.close()
        return result
    if not up_to_date and not complete:
        if existing is not None:
            say("%s: dropping incomplete collection %s" % (alias, target))
            typesense.drop(target)
        typesense.create(schema)
        for synonym in synonyms:
            typesense.synonym(target, synonym)
        schema_types = dict((f["name"], f["type"]) for f in schema["fields"])
        spool.seek(0)
        batch, done, errors = [], 0, []
        t0 = time.time()

        def flush(lines, offset):
            answer = typesense.import_jsonl(target, "\n".join(lines))
            ok, errs = check_import_lines(answer, offset)
            if ok + len(errs) != len(lines):
                errs.append({"line": offset, "error": "answer has %d lines for %d documents" % (ok + len(errs), len(lines))})
            return ok, errs

        for line in spool:
            batch.append(canonical(convert_document(json.loads(line), primary_key, schema_types)))
            if len(batch) >= batch_size:
                ok, errs = flush(batch, done)
                errors.extend(errs)
                done += len(batch)
                batch = []
                rate = done / max(time.time() - t0, 1e-6)
                say("%s: imported %d/%d documents (%.0f docs/s)" % (alias, done, count, rate))
        if batch:
            ok, errs = flush(batch, done)
            errors.extend(errs)
            done += len(batch)
        result["imported"] = done
        result["import_seconds"] = round(time.time() - t0, 2)
        if errors:
            result["failed"] = True
            result["msg"] = "%d document(s) were refused by Typesense; alias %s left on %s" % (len(errors), alias, before_target)
            result["import_errors"] = [e for e in errors if e][:10]
            spool.close()
            return result
    spool.close()
    t_v = time.time()
    if verify:
        result["verification"] = verify_collection(source, typesense, target, source_ids, primary_key, query_by,
                                                   sample_queries or auto_queries(samples, query_by, sample_count),
                                                   top_k, min_overlap)
        if not result["verification"]["ok"]:
            result["failed"] = True
            result["msg"] = "verification of %s failed; alias %s left on %s" % (target, alias, before_target)
            return result
    result["timings"] = {"read": round(t_read, 2), "verify": round(time.time() - t_v, 2)}
    if not up_to_date:
        typesense.point_alias(alias, target)
        say("%s: alias now points at %s" % (alias, target))
        for coll in typesense.collections():
            name = coll.get("name", "")
            if name.startswith(alias + "__") and name not in (target, before_target):
                typesense.drop(name)
                result["deleted_collections"].append(name)
    result["seconds"] = round(time.time() - started, 2)
    return result


def verify_collection(source, typesense, collection, source_ids, primary_key, query_by, queries, top_k, min_overlap):
    """Counts, ids and sample-query overlap between the source and a Typesense collection."""
    info = typesense.collection(collection) or {}
    target_ids = typesense.export_ids(collection)
    ids = compare_ids(source_ids, target_ids)
    out = {"source_count": len(source_ids), "target_count": info.get("num_documents"),
           "ids": ids, "queries": [], "min_overlap": min_overlap}
    ok = (info.get("num_documents") == len(source_ids) and len(target_ids) == len(source_ids)
          and ids["missing_count"] == 0 and ids["unexpected_count"] == 0)
    if source.searchable and query_by:
        for query in queries:
            expected = source.search(query, top_k, primary_key)
            got = typesense.search(collection, query, query_by, top_k)
            share = overlap(expected, got)
            out["queries"].append({"q": query, "source_top": expected, "typesense_top": got, "overlap": round(share, 3)})
            ok = ok and share >= min_overlap
    else:
        out["queries_skipped"] = "source is a dump file (no search API)" if not source.searchable else "no searchable field"
    out["ok"] = ok
    return out
