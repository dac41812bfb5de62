#!/usr/bin/env python3
"""STAND-IN for Meilisearch: NOT Meilisearch. A small HTTP server for tests only.

Meilisearch itself cannot be installed in this lab (no server binary in the reachable package
registries), so the Meilisearch side of the migration is tested against this stand-in. It
implements only the documented Meilisearch endpoints that plugins/modules/search_migrate.py uses,
with the same request and answer shapes:

  GET  /health                                  -> {"status": "available"}
  GET  /indexes/{uid}                           -> {"uid", "primaryKey", "createdAt", "updatedAt"}
  GET  /indexes/{uid}/settings                  -> the index settings
  GET  /indexes/{uid}/stats                     -> {"numberOfDocuments", "isIndexing", "fieldDistribution"}
  GET  /indexes/{uid}/documents?offset=&limit=  -> {"results", "offset", "limit", "total"}
  POST /indexes/{uid}/search {"q", "limit", "matchingStrategy", "attributesToRetrieve"}

Authorization: `Authorization: Bearer <master key>` when --master-key is set (401 without a key,
403 with a wrong one, as Meilisearch does).

Search is deliberately simple and documented here: words are lower-cased with accents removed;
with matchingStrategy "all" (the one the migration's checks use) every query word must appear in
one searchable attribute (the last word as a prefix); hits are ordered by the rank of the first
searchable attribute that matches (Meilisearch's attribute ranking rule), then by document order.
No typo tolerance, no synonyms, no stop words: it is a stand-in, not a search engine.

Data: --generate UID:COUNT builds a deterministic "banque de candidatures" index (seeded), or
--load UID:FILE.jsonl[:PRIMARY_KEY] loads documents; --settings FILE.json overrides settings.
--data-dir DIR keeps the documents on disk as Meilisearch keeps its data directory: at start, each
index given by --generate or --load is written to DIR/indexes/UID.jsonl (primary key in
DIR/indexes/UID.primary-key), and any other index found there is loaded from it. Retiring archives DIR; `--data-dir` on the extracted copy
serves the same documents again (how the retirement test shows its archive restores).
"""

import argparse
import bisect
import json
import os
import random
import re
import sys
import threading
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

ROLES = ["Analyste", "Developpeuse", "Developpeur", "Programmeur", "Architecte", "Technicienne", "Chef de projet",
         "Integrateur", "Administratrice", "Conseiller", "Testeuse", "Designer"]
TECHS = ["PHP", "Laravel", "Vue", "React", "MySQL", "PostgreSQL", "Python", "Linux", "Docker", "Typesense"]
LEVELS = ["junior", "intermediaire", "senior", "principal"]
CITIES = ["Montreal", "Quebec", "Laval", "Gatineau", "Sherbrooke", "Levis", "Mirabel", "Trois-Rivieres"]
FIRST = ["Marie", "Jean", "Sophie", "Louis", "Camille", "Gabriel", "Lea", "Olivier", "Chloe", "Thomas",
         "Emma", "Felix", "Alice", "William", "Rosalie", "Samuel", "Juliette", "Nathan", "Zoe", "Antoine"]
LAST = ["Tremblay", "Gagnon", "Roy", "Cote", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagne",
        "Ouellet", "Pelletier", "Belanger", "Levesque", "Bergeron", "Leblanc", "Paquette", "Girard", "Simard", "Boucher"]
SYLLABLES = ["ka", "li", "mo", "ta", "re", "vu", "ni", "so", "pe", "da", "gu", "fo", "ze", "bi", "lu", "ra"]

DEFAULT_SETTINGS = {
    "displayedAttributes": ["*"],
    "searchableAttributes": ["titre", "resume", "competences", "prenom", "nom", "ville"],
    "filterableAttributes": ["ville", "disponible", "competences", "annees_experience"],
    "sortableAttributes": ["date_depot", "salaire_vise", "nom"],
    "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness", "date_depot:desc"],
    "stopWords": ["le", "la", "les", "de", "des"],
    "synonyms": {"dev": ["developpeur", "developpeuse"], "bd": ["mysql", "postgresql"]},
    "distinctAttribute": None,
    "typoTolerance": {"enabled": True},
    "faceting": {"maxValuesPerFacet": 100},
    "pagination": {"maxTotalHits": 1000},
}


def vocabulary(rng, size=3000):
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def generate(count, seed=20260101):
    """Deterministic candidature documents (primary key candidature_id)."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    docs = []
    for n in range(1, count + 1):
        doc = {
            "candidature_id": n,
            "titre": "%s %s %s" % (rng.choice(ROLES), rng.choice(TECHS), rng.choice(LEVELS)),
            "resume": " ".join(rng.choice(vocab) for _ in range(12)),
            "competences": rng.sample(TECHS, 3),
            "prenom": rng.choice(FIRST),
            "nom": rng.choice(LAST),
            "ville": rng.choice(CITIES),
            "annees_experience": rng.randint(0, 30),
            "salaire_vise": rng.choice([rng.randint(45, 140) * 1000, round(rng.uniform(45000, 140000), 2)]),
            "disponible": rng.random() < 0.5,
            "date_depot": 1700000000 + rng.randint(0, 60000000),
            "profil": {"langues": rng.sample(["fr", "en", "es"], 2)},
        }
        docs.append(doc)
    return docs


def normalize(text):
    text = unicodedata.normalize("NFKD", str(text).lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.findall(r"[a-z0-9]+", text)


class Index(object):
    def __init__(self, uid, docs, primary_key, settings):
        self.uid = uid
        self.docs = docs
        self.primary_key = primary_key
        self.settings = settings
        self._tokens = None
        self._encoded = None
        self.lock = threading.Lock()

    def encoded(self):
        """Each document's JSON, encoded once (documents never change here): pages are joined from it."""
        with self.lock:
            if self._encoded is None:
                self._encoded = [json.dumps(doc).encode("utf-8") for doc in self.docs]
            return self._encoded

    def page(self, offset, limit):
        """The body of GET /indexes/{uid}/documents, as _send would encode it, without encoding the documents again."""
        return b'{"results": [%s], "offset": %d, "limit": %d, "total": %d}' % (
            b", ".join(self.encoded()[offset:offset + limit]), offset, limit, len(self.docs))

    def searchable(self):
        attrs = self.settings.get("searchableAttributes") or ["*"]
        if "*" in attrs:
            attrs = sorted(set(k for d in self.docs[:100] for k in d))
        return attrs

    def postings(self):
        """Per searchable attribute (in rank order): token -> sorted doc numbers, and the sorted
        tokens (for the last word's prefix). Built once, like Meilisearch indexes at ingestion."""
        with self.lock:
            if self._tokens is None:
                attrs = self.searchable()
                postings = [dict() for _ in attrs]
                for n, doc in enumerate(self.docs):
                    for rank, attr in enumerate(attrs):
                        value = doc.get(attr)
                        if value is None:
                            continue
                        if isinstance(value, list):
                            value = " ".join(str(v) for v in value)
                        for token in set(normalize(value)):
                            postings[rank].setdefault(token, []).append(n)
                self._tokens = [(table, sorted(table)) for table in postings]
            return self._tokens

    def search(self, q, limit):
        words = normalize(q)
        if not words:
            return self.docs[:limit], len(self.docs)
        best = {}  # doc number -> rank of the first attribute holding every word
        for rank, (table, vocabulary_sorted) in enumerate(self.postings()):
            docs = None
            for word in words[:-1]:
                found = set(table.get(word, ()))
                docs = found if docs is None else docs & found
                if not docs:
                    break
            if docs is not None and not docs:
                continue
            last, prefixed = words[-1], set()
            i = bisect.bisect_left(vocabulary_sorted, last)
            while i < len(vocabulary_sorted) and vocabulary_sorted[i].startswith(last):
                prefixed.update(table[vocabulary_sorted[i]])
                i += 1
            docs = prefixed if docs is None else docs & prefixed
            for n in docs:
                best.setdefault(n, rank)
        hits = sorted((rank, n) for n, rank in best.items())
        return [self.docs[n] for _, n in hits[:limit]], len(hits)


class Handler(BaseHTTPRequestHandler):
    server_version = "MeilisearchStandIn/0.1"
    protocol_version = "HTTP/1.1"   # keep-alive, as Meilisearch: every answer has a Content-Length
    indexes = {}
    master_key = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _auth(self):
        if not self.master_key:
            return True
        header = self.headers.get("Authorization", "")
        if not header:
            self._send(401, {"message": "The Authorization header is missing.", "code": "missing_authorization_header"})
            return False
        if header != "Bearer %s" % self.master_key:
            self._send(403, {"message": "The provided API key is invalid.", "code": "invalid_api_key"})
            return False
        return True

    def _index(self, uid):
        index = self.indexes.get(uid)
        if index is None:
            self._send(404, {"message": "Index `%s` not found." % uid, "code": "index_not_found"})
        return index

    def do_GET(self):
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        if parts == ["health"]:
            return self._send(200, {"status": "available"})
        if not self._auth():
            return None
        if len(parts) >= 2 and parts[0] == "indexes":
            index = self._index(parts[1])
            if index is None:
                return None
            if len(parts) == 2:
                return self._send(200, {"uid": index.uid, "primaryKey": index.primary_key,
                                        "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z"})
            if parts[2:] == ["settings"]:
                return self._send(200, index.settings)
            if parts[2:] == ["stats"]:
                return self._send(200, {"numberOfDocuments": len(index.docs), "isIndexing": False, "fieldDistribution": {}})
            if parts[2:] == ["documents"]:
                qs = parse_qs(url.query)
                offset = int(qs.get("offset", ["0"])[0])
                limit = int(qs.get("limit", ["20"])[0])
                return self._send(200, index.page(offset, limit))
        return self._send(404, {"message": "not implemented by the stand-in", "code": "not_found"})

    def do_POST(self):
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
        if not self._auth():
            return None
        if len(parts) == 3 and parts[0] == "indexes" and parts[2] == "search":
            index = self._index(parts[1])
            if index is None:
                return None
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            hits, total = index.search(body.get("q") or "", int(body.get("limit", 20)))
            keep = body.get("attributesToRetrieve")
            if keep and "*" not in keep:
                hits = [dict((k, h[k]) for k in keep if k in h) for h in hits]
            return self._send(200, {"hits": hits, "query": body.get("q") or "", "limit": body.get("limit", 20),
                                    "offset": 0, "estimatedTotalHits": total, "processingTimeMs": 0})
        return self._send(404, {"message": "not implemented by the stand-in", "code": "not_found"})


def main(argv=None):
    parser = argparse.ArgumentParser(description="STAND-IN for Meilisearch (tests only; not Meilisearch).")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7700)
    parser.add_argument("--master-key", default=None)
    parser.add_argument("--generate", action="append", default=[], help="UID:COUNT")
    parser.add_argument("--load", action="append", default=[], help="UID:FILE.jsonl[:PRIMARY_KEY]")
    parser.add_argument("--settings", default=None, help="settings JSON for every index")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--data-dir", default=None, help="keep the indexes on disk (DIR/indexes/UID.jsonl)")
    args = parser.parse_args(argv)
    settings = dict(DEFAULT_SETTINGS)
    if args.settings:
        with open(args.settings) as handle:
            settings = json.load(handle)
    indexes = {}
    for spec in args.generate:
        uid, count = spec.split(":")
        indexes[uid] = Index(uid, generate(int(count), args.seed), "candidature_id", settings)
    for spec in args.load:
        uid, path = spec.split(":")[:2]
        pk = spec.split(":")[2] if spec.count(":") >= 2 else "id"
        with open(path) as handle:
            indexes[uid] = Index(uid, [json.loads(line) for line in handle if line.strip()], pk, settings)
    if args.data_dir:
        store = os.path.join(args.data_dir, "indexes")
        os.makedirs(store, exist_ok=True)
        from_disk = set()
        for name in sorted(os.listdir(store)):
            uid = name[:-len(".jsonl")] if name.endswith(".jsonl") else None
            if uid and uid not in indexes:
                with open(os.path.join(store, uid + ".primary-key")) as handle:
                    pk = handle.read().strip()
                with open(os.path.join(store, name)) as handle:
                    indexes[uid] = Index(uid, [json.loads(line) for line in handle if line.strip()], pk, settings)
                from_disk.add(uid)
        for uid, index in indexes.items():  # generated or loaded: the data directory follows
            if uid not in from_disk:
                with open(os.path.join(store, uid + ".jsonl"), "w") as handle:
                    handle.writelines(json.dumps(doc) + "\n" for doc in index.docs)
                with open(os.path.join(store, uid + ".primary-key"), "w") as handle:
                    handle.write(index.primary_key + "\n")
    for index in indexes.values():  # Meilisearch indexes and stores documents when they are added
        index.postings()
        index.encoded()
    Handler.indexes = indexes
    Handler.master_key = args.master_key
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    sys.stderr.write("Meilisearch STAND-IN on %s:%d, indexes %s\n" % (args.bind, args.port, sorted(indexes)))
    server.serve_forever()


if __name__ == "__main__":
    main()
