# -*- coding: utf-8 -*-
"""Pure logic of the search migration to the Typesense cluster (stdlib only, no I/O).

Mapping rules of a Meilisearch index (also in docs/search.md): field types inferred from the documents
(str string, bool bool, int int64, float or int+float float, arrays of those; other mixes string;
objects stored, not indexed); searchableAttributes -> `index` and `query_by` in Meilisearch's order
(`*`: every string field); filterableAttributes -> `facet` (strings, bools); sortableAttributes ->
`sort` (strings); one-way synonyms; what has no Typesense 0.24 equivalent is listed in `unsupported`.
A Typesense source (the legacy node) maps nothing: its settings are {"typesense": {schema, synonyms,
overrides}} (typesense_settings), copied as they are.
"""

import hashlib
import json
import os
import re
import time

SCALARS = {str: "string", bool: "bool", int: "int64", float: "float"}
TEXT = ("string", "string[]")
MISSING = object()
NO_QUERY_BY = "no string field is searchable: searches need query_by on a declared field"


def value_type(value):
    """Typesense type of one document value: a scalar type, `<type>[]`, "object" or None (null, empty)."""
    if value is None or isinstance(value, dict):
        return None if value is None else "object"
    if not isinstance(value, list):
        return SCALARS.get(type(value))
    types = set()
    for item in value:
        if item is None or isinstance(item, (dict, list)):
            return None if item is None else "object"
        types.add(SCALARS.get(type(item)))
    return merge_types(types) + "[]" if types else None


def merge_types(types):
    """Common type of scalar types: one type as is, int64+float -> float, any other mix -> string."""
    types = set(types)
    if len(types) == 1:
        return types.pop()
    return "float" if types <= {"int64", "float"} else "string"


def merge_field_type(current, new):
    """A field's known type widened by one more value's type."""
    if new is None or current == new:
        return current
    if current is None:
        return new
    if "object" in (current, new):
        return "object"
    base = merge_types([current.replace("[]", ""), new.replace("[]", "")])
    return base + "[]" if "[]" in current + new else base


class FieldTypes(object):
    """The type of every top-level field over a stream of documents (`types`), in order of first appearance."""

    _memo = {}

    def __init__(self):
        self.types, self.order = {}, []

    def add(self, doc):
        types, memo = self.types, self._memo
        for key, value in doc.items():
            current = types.get(key, MISSING)
            if current is MISSING:
                current = types[key] = None
                self.order.append(key)
            if value is None or current == "object":
                continue
            scalar = SCALARS.get(value.__class__)
            if scalar is None and value.__class__ is list and current and current.endswith("[]"):
                if all(SCALARS.get(item.__class__) == current[:-2] for item in value):
                    continue  # an array of the element type already known
            if scalar is None or scalar != current:
                pair = (current, scalar or value_type(value))
                if pair not in memo:
                    memo[pair] = merge_field_type(*pair)
                types[key] = memo[pair]


def build_schema(name, settings, field_types, field_order, primary_key):
    """(schema for POST /collections, query_by, unsupported notes) from the settings and the field types."""
    if "typesense" in settings:
        return copied_schema(name, settings["typesense"]["schema"], field_types, field_order)
    searchable = settings.get("searchableAttributes") or ["*"]
    if "*" in searchable:
        searchable = [f for f in field_order if field_types.get(f) in TEXT]
    fields, query_by, unsupported = {}, [], []

    def declare(fname):
        ftype = field_types.get(fname)
        if ftype in (None, "object"):
            unsupported.append("field %s: %s" % (fname, "objects are stored but not indexed" if ftype
                                                 else "no value in any document, not declared"))
            return {"type": "object"}
        return fields.setdefault(fname, {"name": fname, "type": ftype})

    for fname in [f for f in searchable if f != "id" or primary_key != "id"]:
        ftype = declare(fname)["type"]
        if ftype in TEXT:
            query_by.append(fname)
        elif ftype != "object":
            unsupported.append("field %s: searchable but not text, Typesense searches only strings" % fname)
    for fname in [f for f in settings.get("filterableAttributes") or [] if f != "id"]:
        field = declare(fname)
        if field["type"] in TEXT + ("bool", "bool[]"):
            field["facet"] = True
    for fname in [f for f in settings.get("sortableAttributes") or [] if f != "id"]:
        field = declare(fname)
        if field["type"].endswith("[]"):
            unsupported.append("field %s: arrays cannot be sorted in Typesense" % fname)
        elif field["type"] == "string":
            field["sort"] = True
    unsupported += meili_unsupported(settings) + ([] if query_by else [NO_QUERY_BY])
    return {"name": name, "fields": list(fields.values())}, query_by, unsupported


def meili_unsupported(settings):
    """Notes for the Meilisearch settings that Typesense 0.24's collections cannot hold."""
    notes = []
    if settings.get("stopWords"):
        notes.append("stopWords (%d words): Typesense 0.24 has no stop words; not migrated" % len(settings["stopWords"]))
    if settings.get("distinctAttribute"):
        notes.append("distinctAttribute %s: use group_by=%s in Typesense queries" % ((settings["distinctAttribute"],) * 2))
    return notes + ["ranking rule %s: pass it as sort_by in Typesense queries" % rule
                    for rule in settings.get("rankingRules") or [] if ":" in rule]


def copied_schema(name, schema, field_types, field_order):
    """A Typesense source's schema under the new name; query_by: its indexed string fields, in schema order.

    With a pattern field (`.*` auto schema), the string fields of the documents that no field names come after.
    """
    query_by, declared, patterns = [], set(), False
    for field in schema.get("fields") or []:
        if any(c in field["name"] for c in "*[]()+?\\"):
            patterns = True
            continue
        declared.add(field["name"])
        if field.get("type") in TEXT and field.get("index", True):
            query_by.append(field["name"])
    if patterns:
        query_by += [f for f in field_order if f not in declared and f != "id" and field_types.get(f) in TEXT]
    return dict(schema, name=name), query_by, [] if query_by else [NO_QUERY_BY]


def build_synonyms(settings):
    """Synonyms to create: a Typesense source's as they are; Meilisearch's one-way map as {id, root, synonyms}."""
    if "typesense" in settings:
        return list(settings["typesense"]["synonyms"])
    result = []
    for n, (word, alternatives) in enumerate(sorted((settings.get("synonyms") or {}).items())):
        alternatives = sorted(a for a in alternatives if a != word)
        if alternatives:
            result.append({"id": "meili-%d" % n, "root": word, "synonyms": alternatives})
    return result


def build_overrides(settings):
    """Overrides (curation rules) to create: a Typesense source's; Meilisearch has none."""
    return list(settings.get("typesense", {}).get("overrides") or [])


def typesense_settings(info, synonyms, overrides):
    """A Typesense source's settings: what POST /collections takes back of GET /collections/<c> (not its name,
    count or creation time), its synonyms and overrides sorted by id (a multi-way synonym's empty root left out)."""
    schema = {"fields": list(info.get("fields") or [])}
    for key in ("default_sorting_field", "token_separators", "symbols_to_index", "enable_nested_fields"):
        if info.get(key) not in (None, "", []):
            schema[key] = info[key]

    def rules(items):
        return [dict((k, v) for k, v in rule.items() if (k, v) != ("root", ""))
                for rule in sorted(items or [], key=lambda r: str(r.get("id")))]
    return {"typesense": {"schema": schema, "synonyms": rules(synonyms), "overrides": rules(overrides)}}


def schema_types(schema):
    return dict((f["name"], f["type"]) for f in schema["fields"])


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_JSONL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical(obj):
    """Canonical JSON text (sorted keys, no spaces): what the fingerprint hashes."""
    return _CANONICAL.encode(obj)


class DocumentConverter(object):
    """The Typesense document of a source document for one schema's field types.

    `id` is str(primary key); a null declared field is left out; string fields get str(value); array fields
    wrap a lone value; string[] converts its elements; integers stay integers in float fields (the import's
    dirty_values=coerce_or_reject takes them).
    """

    def __init__(self, primary_key, types):
        self.primary_key = primary_key
        self.plan = [(f, "string" if t == "string" else "string[]" if t == "string[]" else t.endswith("[]"))
                     for f, t in types.items()]

    def __call__(self, doc):
        out = dict(doc, id=str(doc[self.primary_key]))
        for fname, kind in self.plan:
            value = out.get(fname)
            if value is None:
                out.pop(fname, None)
            elif kind == "string" and not isinstance(value, str):
                out[fname] = str(value)
            elif kind not in (False, "string") and not isinstance(value, list):
                out[fname] = value = [value]
            if kind == "string[]" and value is not None:
                out[fname] = [v if isinstance(v, str) else str(v) for v in value]
        return out

    def keeps(self, doc):
        """True when converting doc would only add its id (no declared field null or of another type)."""
        for fname, kind in self.plan:
            value = doc.get(fname, MISSING)
            if value is MISSING or (kind is False and value is not None):
                continue
            if value is None or not isinstance(value, str if kind == "string" else list):
                return False
            if kind == "string[]" and not all(isinstance(v, str) for v in value):
                return False
        return True

    def line(self, doc, text=None):
        """The JSONL import line of doc. Given its canonical() text (the fingerprint's), a document that needs
        no conversion but its id is not encoded a second time: the text itself, or the text with the id first."""
        ident = doc[self.primary_key]
        if text is not None and self.keeps(doc):
            if self.primary_key == "id" and isinstance(ident, str):
                return text
            if self.primary_key != "id" and "id" not in doc:
                return '{"id":%s,%s' % (_JSONL.encode(str(ident)), text[1:])
        return _JSONL.encode(self(doc))


class Fingerprint(object):
    """Order-independent fingerprint of documents and settings: the sum mod 2**256 of each document's sha256."""

    def __init__(self):
        self.total, self.count = 0, 0

    def add_canonical(self, text):
        self.total += int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")
        self.count += 1

    def hexdigest(self, settings, primary_key):
        head = hashlib.sha256(canonical({"settings": settings, "primary_key": primary_key}).encode("utf-8"))
        head.update(("%064x:%d" % (self.total % (1 << 256), self.count)).encode("ascii"))
        return head.hexdigest()


def settings_subset(settings):
    """The settings the fingerprint and the ledger's digest cover (a Typesense source's: all of them)."""
    if "typesense" in settings:
        return {"typesense": settings["typesense"]}
    keys = ("searchableAttributes", "filterableAttributes", "sortableAttributes", "synonyms", "stopWords",
            "distinctAttribute", "rankingRules")
    return dict((k, settings.get(k)) for k in keys)


def settings_digest(settings, primary_key):
    return hashlib.sha256(canonical({"settings": settings_subset(settings), "primary_key": primary_key})
                          .encode("utf-8")).hexdigest()


def ledger_says_unchanged(entry, alias_target, snapshot, digest):
    """True when the alias's ledger entry was recorded from this very state of the index (same updatedAt,
    count and settings digest, and the alias still on that collection). Without an updatedAt, never."""
    return bool(entry and snapshot and alias_target and snapshot.get("updatedAt") is not None
                and entry.get("collection") == alias_target and entry.get("settings_digest") == digest
                and all(entry.get(k) == snapshot.get(k) for k in ("updatedAt", "numberOfDocuments")))


def target_collection(alias, fingerprint):
    """The collection of one version of the data imported after the read: <alias>__<12 hex of fingerprint>."""
    return "%s__%s" % (alias, fingerprint[:12])


def run_collection(alias, now=None, token=None):
    """The collection of a streamed import (fingerprint unknown yet): <alias>__run<YYYYMMDD>_<HHMMSS>_<4 hex>."""
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime(time.time() if now is None else now))
    return "%s__run%s_%s" % (alias, stamp, token or os.urandom(2).hex())


def collection_form(alias, name):
    """"fingerprint" or "run" for the two forms of the alias's versions, None for any other collection."""
    rest = name[len(alias) + 2:] if name.startswith(alias + "__") else ""
    if re.fullmatch(r"[0-9a-f]{12}", rest):
        return "fingerprint"
    return "run" if re.fullmatch(r"run[0-9]{8}_[0-9]{6}_[0-9a-f]{4}", rest) else None


def check_import_lines(text, offset=0):
    """(accepted count, errors) of a JSONL import answer; errors past the tenth are kept as None."""
    ok, errors = 0, []
    for n, line in enumerate(text.splitlines()):
        if line == '{"success":true}':  # as Typesense writes an accepted document: not parsed
            ok += 1
            continue
        if not line.strip():
            continue
        try:
            result = json.loads(line)
        except ValueError:
            result = {"error": "unparsable answer line: %s" % line[:200]}
        if result.get("success") is True:
            ok += 1
        else:
            errors.append(None if len(errors) >= 10 else
                          {"line": offset + n + 1, "error": result.get("error"), "document": result.get("document", "")[:200]})
    return ok, errors


def overlap(expected, got):
    """Share of the expected top results found in the other top results (1.0 when none is expected)."""
    got = set(got)
    return sum(1 for i in expected if i in got) / float(len(expected)) if expected else 1.0


_MEILI_ID = re.compile(r"[A-Za-z0-9_-]{1,511}\Z")


def ids_filterable(ids):
    """True when every id follows Meilisearch's id rule: it can go in a filter `id:=[`...`]` as it is."""
    return all(_MEILI_ID.match(i) for i in ids)


def export_check(source_ids, target_ids, limit=10):
    """The source ids against the ids a collection's export streams: missing, unexpected, repeated."""
    source, seen, received = set(source_ids), set(), 0
    for target_id in target_ids:
        received += 1
        seen.add(target_id)
    missing, unexpected = sorted(source - seen), sorted(seen - source)
    return {"method": "export", "received": received, "duplicates": received - len(seen),
            "missing": missing[:limit], "missing_count": len(missing),
            "unexpected": unexpected[:limit], "unexpected_count": len(unexpected)}
