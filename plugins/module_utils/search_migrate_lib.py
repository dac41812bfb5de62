# -*- coding: utf-8 -*-
"""Pure logic of the migration to the Typesense cluster (no Ansible, stdlib only).

Sources: a Meilisearch index (or a Meilisearch dump), or a collection of another Typesense (the
legacy node; see "Typesense source" below).

Shared by plugins/modules/search_migrate.py, tests/bench/search_migrate.py and the unit tests
in tests/unit/plugins/module_utils/test_search_migrate_lib.py. Mapping rules (also in docs/search.md):

* Field types are inferred from the documents: str -> string, bool -> bool, int -> int64,
  float (or int and float mixed) -> float, list of those -> string[] / int64[] / float[] / bool[].
  Objects and lists of objects are stored but not indexed (Typesense 0.24 needs
  enable_nested_fields for them; the migration keeps schemas flat). A field whose values mix
  incompatible types is declared `string` and its values are converted with str().
* searchableAttributes -> the string fields get `index: true` and are listed, in Meilisearch's
  order, in `query_by` (Meilisearch's attribute order is its ranking order; so is query_by's).
  `["*"]` means every string field, in order of first appearance.
* filterableAttributes -> `facet: true` (string fields) or indexed numeric fields.
* sortableAttributes -> `sort: true` (numbers and bools sort by default; strings need it).
* Fields named in none of the three lists are not declared: Typesense still stores and returns
  them (like displayedAttributes `["*"]`), but does not index them.
* The primary key becomes Typesense's `id` (a string). When it is not called `id`, the original
  field is kept too, and `id` holds str(value).
* synonyms {"word": ["a", "b"]} (one-way in Meilisearch) -> one-way Typesense synonyms
  {"root": "word", "synonyms": ["a", "b"]}, id `meili-<n>`.
* stopWords, distinctAttribute, custom rankingRules (`field:asc|desc`), typoTolerance,
  faceting and pagination settings have no equivalent in Typesense 0.24's collection: reported
  in `unsupported`, never silently dropped.

Typesense source (a collection of the legacy Typesense): nothing is mapped. Its settings are
{"typesense": {"schema": ..., "synonyms": [...], "overrides": [...]}} (typesense_settings): the
collection's schema is copied as is (typesense_source_schema keeps what POST /collections takes),
its synonyms and overrides are copied with their ids, and query_by lists its indexed string fields.
The documents, counts, ids, fingerprint and sample queries go through the same code as Meilisearch's.
"""

import hashlib
import io
import json
import os
import re
import tarfile
import time

TYPE_ORDER = {"bool": 0, "int64": 1, "float": 2, "string": 3}
# Exact Python classes of the scalars whose type is known at once (FieldTypes' fast path).
SCALAR_TYPES = {str: "string", bool: "bool", int: "int64", float: "float"}
MISSING = object()


def scalar_type(value):
    """Typesense type of one scalar value, or None for null/objects."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return None


def value_type(value):
    """Typesense type of one document value: scalar, array of scalars, 'object' or None."""
    if value is None:
        return None
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        types = set()
        for item in value:
            t = scalar_type(item)
            if t is None:
                return "object" if item is not None else None
            types.add(t)
        if not types:
            return None
        return merge_types(*types) + "[]"
    return scalar_type(value)


def merge_types(*types):
    """Common type of several scalar types: int64+float -> float; anything else mixed -> string."""
    types = set(t for t in types if t)
    if not types:
        return None
    if len(types) == 1:
        return types.pop()
    if types <= {"int64", "float"}:
        return "float"
    return "string"


def merge_field_type(current, new):
    """Merge a field's known type with a new document value's type."""
    if new is None:
        return current
    if current is None:
        return new
    if current == new:
        return current
    if "object" in (current, new):
        return "object"
    current_array, new_array = current.endswith("[]"), new.endswith("[]")
    base = merge_types(current.rstrip("[]"), new.rstrip("[]"))
    if current_array != new_array:
        return "string[]" if base == "string" else base + "[]"
    return base + "[]" if current_array else base


class FieldTypes(object):
    """Accumulates the type of every top-level field over a stream of documents."""

    def __init__(self):
        self.types = {}
        self.order = []

    def add(self, doc):
        types, memo = self.types, self._memo
        for key, value in doc.items():
            current = types.get(key, MISSING)
            if current is MISSING:
                current = types[key] = None
                self.order.append(key)
            if value is None or current == "object":
                continue  # null changes nothing; object absorbs every other type
            scalar = SCALAR_TYPES.get(value.__class__)
            if scalar is not None:  # fast path for scalars: the merge of (known type, scalar type) is memoized
                if scalar != current:
                    merged = memo.get((current, scalar), MISSING)
                    if merged is MISSING:
                        merged = memo[(current, scalar)] = merge_field_type(current, scalar)
                    types[key] = merged
                continue
            if value.__class__ is list and current is not None and current.endswith("[]"):
                base = current[:-2]
                if all(SCALAR_TYPES.get(item.__class__) == base for item in value):
                    continue  # fast path: an array of the element type already known
            types[key] = merge_field_type(current, value_type(value))

    _memo = {}


def build_schema(name, settings, field_types, field_order, primary_key):
    """Typesense collection schema from Meilisearch settings and inferred field types.

    Returns (schema, query_by, unsupported): schema is the body of POST /collections,
    query_by the ordered list of searchable fields, unsupported a list of human-readable notes.
    Settings of a Typesense source (typesense_settings) give their schema as is (copied_schema).
    """
    settings = settings or {}
    if "typesense" in settings:
        return copied_schema(name, settings["typesense"]["schema"], field_types, field_order)
    searchable = settings.get("searchableAttributes") or ["*"]
    filterable = settings.get("filterableAttributes") or []
    sortable = settings.get("sortableAttributes") or []
    unsupported = []

    if "*" in searchable:
        searchable = [f for f in field_order if field_types.get(f) in ("string", "string[]")]
    fields = {}
    ordered = []

    def declare(fname):
        ftype = field_types.get(fname)
        if ftype is None:
            unsupported.append("field %s: no value in any document, not declared" % fname)
            return None
        if ftype == "object":
            unsupported.append("field %s: objects are stored but not indexed" % fname)
            return None
        if fname not in fields:
            fields[fname] = {"name": fname, "type": ftype}
            ordered.append(fname)
        return fields[fname]

    query_by = []
    for fname in searchable:
        if fname == primary_key and primary_key == "id":
            continue
        field = declare(fname)
        if field is None:
            continue
        if field["type"] in ("string", "string[]"):
            query_by.append(fname)
        else:
            unsupported.append("field %s: searchable but not text, Typesense searches only strings" % fname)
    for fname in filterable:
        if fname == "id":
            continue
        field = declare(fname)
        if field is not None and field["type"] in ("string", "string[]", "bool", "bool[]"):
            field["facet"] = True
    for fname in sortable:
        if fname == "id":
            continue
        field = declare(fname)
        if field is None:
            continue
        if field["type"].endswith("[]"):
            unsupported.append("field %s: arrays cannot be sorted in Typesense" % fname)
        elif field["type"] == "string":
            field["sort"] = True
    for key in ("stopWords", "distinctAttribute", "typoTolerance", "faceting", "pagination"):
        value = settings.get(key)
        if value and key == "stopWords":
            unsupported.append("stopWords (%d words): Typesense 0.24 has no stop words; not migrated" % len(value))
        elif value and key == "distinctAttribute":
            unsupported.append("distinctAttribute %s: use group_by=%s in Typesense queries" % (value, value))
    for rule in settings.get("rankingRules") or []:
        if ":" in rule:
            unsupported.append("ranking rule %s: pass it as sort_by in Typesense queries" % rule)
    schema = {"name": name, "fields": [fields[f] for f in ordered]}
    if not query_by:
        unsupported.append("no string field is searchable: searches need query_by on a declared field")
    return schema, query_by, unsupported


def build_synonyms(settings):
    """Typesense synonyms (list of {id, root, synonyms}) from Meilisearch's one-way synonym map.

    A Typesense source's synonyms are copied as they are (their ids kept).
    """
    if "typesense" in (settings or {}):
        return list(settings["typesense"]["synonyms"])
    result = []
    for n, (word, alternatives) in enumerate(sorted((settings or {}).get("synonyms", {}).items())):
        alternatives = [a for a in alternatives if a != word]
        if alternatives:
            result.append({"id": "meili-%d" % n, "root": word, "synonyms": sorted(alternatives)})
    return result


def build_overrides(settings):
    """Typesense overrides (curation rules) to create: a Typesense source's, as they are; none from Meilisearch."""
    return list(((settings or {}).get("typesense") or {}).get("overrides") or [])


# What GET /collections/<c> answers that POST /collections takes back (name apart: the target's own).
TYPESENSE_SCHEMA_KEYS = ("fields", "default_sorting_field", "token_separators", "symbols_to_index",
                         "enable_nested_fields")


def typesense_source_schema(info):
    """The schema of a Typesense collection as POST /collections takes it, from GET /collections/<c>'s answer.

    Copied as is: the fields with every attribute the server gave, the default sorting field, token
    separators, symbols to index and nested-fields flag; not its name, number of documents or creation time.
    """
    schema = {"fields": list(info.get("fields") or [])}
    for key in TYPESENSE_SCHEMA_KEYS[1:]:
        value = info.get(key)
        if value not in (None, "", []):
            schema[key] = value
    return schema


def typesense_rules(rules):
    """Synonyms or overrides of a Typesense source, sorted by id (fingerprinted); an empty synonym root is dropped.

    Typesense answers a multi-way synonym with `root: ""`; it is written back without it.
    """
    out = []
    for rule in sorted(rules or [], key=lambda r: str(r.get("id"))):
        out.append(dict((k, v) for k, v in rule.items() if not (k == "root" and v == "")))
    return out


def typesense_settings(info, synonyms, overrides):
    """The settings a Typesense source hands to the migration (see the module docstring)."""
    return {"typesense": {"schema": typesense_source_schema(info), "synonyms": typesense_rules(synonyms),
                          "overrides": typesense_rules(overrides)}}


def _wildcard(name):
    """True for a field name that is a pattern (`.*`, `.*_facet`), not a field."""
    return any(c in name for c in "*[]()+?\\")


def copied_schema(name, schema, field_types, field_order):
    """(schema, query_by, unsupported) of a Typesense source: its schema under the new name, unchanged.

    query_by: its string fields (string, string[]) that are indexed, in schema order; when the schema
    has a pattern field (`.*` auto schema), the string fields of the documents that no declared field names too.
    """
    copied = dict(schema, name=name)
    query_by, declared, patterns = [], set(), False
    for field in schema.get("fields") or []:
        fname = field.get("name", "")
        if _wildcard(fname):
            patterns = True
            continue
        declared.add(fname)
        if field.get("type") in ("string", "string[]") and field.get("index", True):
            query_by.append(fname)
    if patterns:
        query_by += [f for f in field_order if f not in declared and f != "id"
                     and field_types.get(f) in ("string", "string[]")]
    unsupported = [] if query_by else ["no string field is searchable: searches need query_by on a declared field"]
    return copied, query_by, unsupported


class DocumentConverter(object):
    """Converts Meilisearch documents to Typesense documents for one schema (see convert_document).

    The per-field rules are resolved once, not once per document.
    """

    PLAIN, STRING, ARRAY, STRING_ARRAY = range(4)

    def __init__(self, primary_key, schema_types):
        self.primary_key = primary_key
        self.plan = []
        for fname, ftype in schema_types.items():
            if ftype == "string":
                kind = self.STRING
            elif ftype == "string[]":
                kind = self.STRING_ARRAY
            elif ftype.endswith("[]"):
                kind = self.ARRAY
            else:
                kind = self.PLAIN
            self.plan.append((fname, kind))

    def __call__(self, doc):
        out = dict(doc)
        out["id"] = str(doc[self.primary_key])
        for fname, kind in self.plan:
            value = out.get(fname)
            if value is None:
                out.pop(fname, None)
            elif kind == self.PLAIN:
                continue
            elif kind == self.STRING:
                if not isinstance(value, str):
                    out[fname] = str(value)
            else:
                if not isinstance(value, list):
                    value = out[fname] = [value]
                if kind == self.STRING_ARRAY:
                    out[fname] = [v if isinstance(v, str) else str(v) for v in value]
        return out

    def keeps(self, doc):
        """True when converting doc would only add its id: every declared field has its type already, none is null."""
        for fname, kind in self.plan:
            value = doc.get(fname, MISSING)
            if value is MISSING or (kind == self.PLAIN and value is not None):
                continue
            if value is None:
                return False
            if kind == self.STRING:
                if not isinstance(value, str):
                    return False
            elif not isinstance(value, list):
                return False
            elif kind == self.STRING_ARRAY:
                if not all(isinstance(v, str) for v in value):
                    return False
        return True

    def line(self, doc, text):
        """document_line(doc, self), given doc's canonical() text (computed for the fingerprint already).

        When the conversion would only add the id (keeps), the line is that text with the id as its
        first member (the text itself when the primary key is a string `id`): the document is not
        encoded a second time. Otherwise it is converted and encoded as document_line does.
        """
        primary_key = self.primary_key
        ident = doc[primary_key]
        if primary_key == "id":
            if isinstance(ident, str) and self.keeps(doc):
                return text
        elif "id" not in doc and self.keeps(doc):
            return '{"id":%s,%s' % (_JSONL.encode(str(ident)), text[1:])  # doc has its primary key: text is not "{}"
        return _JSONL.encode(self(doc))


def convert_document(doc, primary_key, schema_types):
    """The Typesense document of a Meilisearch document: id as string, declared types enforced.

    A null or missing declared field is left out; string fields get str(value); array fields wrap
    a lone value; string[] converts its elements. Integers stay integers in float and float[]
    fields: Typesense takes them (import's dirty_values=coerce_or_reject) and returns them as the
    source had them.
    """
    return DocumentConverter(primary_key, schema_types)(doc)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(obj):
    """Canonical JSON text (sorted keys, no spaces) used in fingerprints."""
    return _CANONICAL.encode(obj)


_JSONL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def document_line(doc, converter):
    """One line of the JSONL import: the document converted by a DocumentConverter, compact JSON."""
    return _JSONL.encode(converter(doc))


class Fingerprint(object):
    """Order-independent fingerprint of a set of documents plus the settings.

    The sum modulo 2**256 of each document's sha256: the same documents in any page order give
    the same value, any changed, added or removed document changes it.
    """

    MOD = 1 << 256

    def __init__(self):
        self.total = 0
        self.count = 0

    def add(self, doc):
        self.add_canonical(canonical(doc))

    def add_canonical(self, text):
        """Add one document given as its canonical() text (computed once by the caller)."""
        self.total += int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")  # reduced in hexdigest
        self.count += 1

    def hexdigest(self, settings, primary_key):
        head = hashlib.sha256(canonical({"settings": settings, "primary_key": primary_key}).encode("utf-8"))
        head.update(("%064x:%d" % (self.total % self.MOD, self.count)).encode("ascii"))
        return head.hexdigest()


def target_collection(alias, fingerprint):
    """Name of the collection holding one version of the data: <alias>__<12 hex of fingerprint>."""
    return "%s__%s" % (alias, fingerprint[:12])


def run_collection(alias, now=None, token=None):
    """Name of a collection filled while the source is still read: <alias>__run<YYYYMMDD>_<HHMMSS>_<4 hex>.

    The fingerprint is not known yet when it is created; the date (UTC) and a random token make it unique.
    """
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime(time.time() if now is None else now))
    return "%s__run%s_%s" % (alias, stamp, token or os.urandom(2).hex())


def collection_form(alias, name):
    """Which form of versioned name `name` has for this alias: "fingerprint", "run" or None (not a version).

    Only these two forms are versions of the alias: another alias's versions (`<alias>__x__<hex>`), the
    ledger or any other collection are never taken for one (the retention rule drops versions only).
    """
    prefix = alias + "__"
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    if re.fullmatch(r"[0-9a-f]{12}", rest):
        return "fingerprint"
    if re.fullmatch(r"run[0-9]{8}_[0-9]{6}_[0-9a-f]{4}", rest):
        return "run"
    return None


def settings_digest(settings, primary_key):
    """sha256 of the settings that matter (settings_subset) and the primary key: the ledger compares it."""
    return hashlib.sha256(canonical({"settings": settings_subset(settings), "primary_key": primary_key})
                          .encode("utf-8")).hexdigest()


def ledger_says_unchanged(entry, alias_target, snapshot, digest):
    """True when the ledger entry says the alias's collection was made from this very state of the index.

    entry: the ledger document of the alias (or None); alias_target: the collection the alias points at;
    snapshot: the index's {"updatedAt", "numberOfDocuments"} now; digest: settings_digest() now.
    Without an updatedAt (a dump) nothing can be said.
    """
    return bool(entry and snapshot and alias_target and snapshot.get("updatedAt") is not None
                and entry.get("collection") == alias_target
                and entry.get("updatedAt") == snapshot.get("updatedAt")
                and entry.get("numberOfDocuments") == snapshot.get("numberOfDocuments")
                and entry.get("settings_digest") == digest)


IMPORT_LINE_OK = '{"success":true}'


def check_import_lines(text, offset=0):
    """Parse Typesense's JSONL import answer; return (ok_count, errors) with at most 10 errors kept."""
    ok, errors = 0, []
    for n, line in enumerate(text.splitlines()):
        if line == IMPORT_LINE_OK:  # the answer to an accepted document, as Typesense writes it: not parsed
            ok += 1
            continue
        if not line.strip():
            continue
        try:
            result = json.loads(line)
        except ValueError:
            result = {"success": False, "error": "unparsable answer line: %s" % line[:200]}
        if result.get("success") is True:
            ok += 1
        elif len(errors) < 10:
            errors.append({"line": offset + n + 1, "error": result.get("error"), "document": result.get("document", "")[:200]})
        else:
            errors.append(None)
    return ok, errors


def overlap(expected_ids, got_ids):
    """Share of the expected top results found in the other engine's top results (1.0 if none expected)."""
    expected_ids = list(expected_ids)
    if not expected_ids:
        return 1.0
    got = set(got_ids)
    return sum(1 for i in expected_ids if i in got) / float(len(expected_ids))


class IdCheck(object):
    """Streaming comparison of the target's ids (fed one by one, e.g. from an export) with the source's.

    Holds the source ids as a set and the ids seen so far; result() gives compare_ids' answer plus
    the number of ids received and of ids received more than once.
    """

    def __init__(self, source_ids, limit=10):
        self.source = set(source_ids)
        self.seen = set()
        self.received = 0
        self.duplicates = 0
        self.unexpected = []
        self.unexpected_count = 0
        self.limit = limit

    def add(self, target_id):
        self.received += 1
        if target_id in self.seen:
            self.duplicates += 1
            return
        self.seen.add(target_id)
        if target_id not in self.source:
            self.unexpected_count += 1
            self.unexpected.append(target_id)

    def result(self):
        missing = sorted(self.source - self.seen)
        return {"missing": missing[:self.limit], "missing_count": len(missing),
                "unexpected": sorted(self.unexpected)[:self.limit], "unexpected_count": self.unexpected_count,
                "received": self.received, "duplicates": self.duplicates}


_MEILI_ID = re.compile(r"[A-Za-z0-9_-]{1,511}\Z")


def ids_filterable(ids):
    """True when every id follows Meilisearch's rule for document ids (1 to 511 of a-z A-Z 0-9 - _).

    Such ids need no escaping in a Typesense filter (`id:=[...]`, each value in backticks).
    """
    match = _MEILI_ID.match
    return all(match(i) for i in ids)


def compare_ids(source_ids, target_ids, limit=10):
    """Differences between two id sets: (missing_in_target, unexpected_in_target), each capped to limit."""
    source_ids, target_ids = set(source_ids), set(target_ids)
    missing = sorted(source_ids - target_ids)
    extra = sorted(target_ids - source_ids)
    return {"missing": missing[:limit], "missing_count": len(missing),
            "unexpected": extra[:limit], "unexpected_count": len(extra)}


class DumpReader(object):
    """Reads one index of a Meilisearch dump (tar.gz, dump format v4 to v6).

    Layout used: indexes/<uid>/settings.json, indexes/<uid>/documents.jsonl and
    indexes/<uid>/metadata.json (primaryKey), as written by POST /dumps.
    """

    def __init__(self, path, uid):
        self.path = path
        self.uid = uid

    def _member(self, tar, name):
        for candidate in ("indexes/%s/%s" % (self.uid, name), "./indexes/%s/%s" % (self.uid, name)):
            try:
                return tar.extractfile(tar.getmember(candidate))
            except KeyError:
                continue
        return None

    def info(self):
        with tarfile.open(self.path, "r:gz") as tar:
            settings_file = self._member(tar, "settings.json")
            if settings_file is None:
                raise ValueError("index %s is not in dump %s" % (self.uid, self.path))
            settings = json.load(settings_file)
            meta_file = self._member(tar, "metadata.json")
            meta = json.load(meta_file) if meta_file is not None else {}
        primary_key = meta.get("primaryKey") or meta.get("primary_key") or settings.get("primaryKey") or "id"
        return settings, primary_key

    def documents(self):
        with tarfile.open(self.path, "r:gz") as tar:
            docs = self._member(tar, "documents.jsonl")
            if docs is None:
                return
            for line in io.TextIOWrapper(docs, encoding="utf-8"):
                if line.strip():
                    yield json.loads(line)


def settings_subset(settings):
    """The settings that matter to the migration (the fingerprint ignores the others).

    A Typesense source's settings matter whole (schema, synonyms, overrides).
    """
    if "typesense" in (settings or {}):
        return {"typesense": settings["typesense"]}
    keys = ("searchableAttributes", "filterableAttributes", "sortableAttributes", "synonyms",
            "stopWords", "distinctAttribute", "rankingRules")
    return dict((k, (settings or {}).get(k)) for k in keys)
