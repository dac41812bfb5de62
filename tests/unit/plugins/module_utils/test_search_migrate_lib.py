"""Mapping rules and pure helpers of the Meilisearch -> Typesense migration."""

import json
import random

import pytest

from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import (
    DocumentConverter, FieldTypes, Fingerprint, build_schema, build_synonyms, canonical, check_import_lines,
    collection_form, export_check, ids_filterable, ledger_says_unchanged, merge_field_type, overlap, run_collection,
    settings_digest, target_collection, value_type)


@pytest.mark.parametrize("value,expected", [
    ("a", "string"), (1, "int64"), (1.5, "float"), (True, "bool"), (None, None),
    (["a", "b"], "string[]"), ([1, 2.5], "float[]"), ([1, 2], "int64[]"), ([], None),
    ({"a": 1}, "object"), ([{"a": 1}], "object"),
])
def test_value_type(value, expected):
    assert value_type(value) == expected


@pytest.mark.parametrize("current,new,expected", [
    (None, "int64", "int64"), ("int64", "float", "float"), ("int64", "string", "string"),
    ("string", "string[]", "string[]"), ("int64[]", "float[]", "float[]"), ("int64", None, "int64"),
    ("object", "string", "object"), ("bool", "int64", "string"),
])
def test_merge_field_type(current, new, expected):
    assert merge_field_type(current, new) == expected


def types_of(docs):
    ft = FieldTypes()
    for doc in docs:
        ft.add(doc)
    return ft


SETTINGS = {
    "searchableAttributes": ["titre", "competences", "nom", "annees"],
    "filterableAttributes": ["ville", "disponible", "annees", "competences"],
    "sortableAttributes": ["date", "nom", "competences"],
    "stopWords": ["le", "la"],
    "synonyms": {"dev": ["developpeur", "developpeuse"], "bd": ["bd", "mysql"]},
    "distinctAttribute": "nom",
    "rankingRules": ["words", "date:desc"],
}
DOCS = [
    {"cid": 1, "titre": "Dev PHP", "competences": ["PHP"], "nom": "Roy", "ville": "Laval", "disponible": True,
     "annees": 3, "date": 10, "profil": {"x": 1}, "salaire": 50000},
    {"cid": 2, "titre": "Analyste", "competences": ["Vue", "PHP"], "nom": "Cote", "ville": "Quebec",
     "disponible": False, "annees": 7, "date": 12, "profil": {"x": 2}, "salaire": 61000.5},
]


def test_schema_maps_searchable_filterable_sortable():
    ft = types_of(DOCS)
    schema, query_by, unsupported = build_schema("c__1", SETTINGS, ft.types, ft.order, "cid")
    fields = dict((f["name"], f) for f in schema["fields"])
    assert schema["name"] == "c__1"
    assert query_by == ["titre", "competences", "nom"]          # Meilisearch's order, text only
    assert fields["ville"] == {"name": "ville", "type": "string", "facet": True}
    assert fields["disponible"]["facet"] is True
    assert fields["annees"] == {"name": "annees", "type": "int64"}  # numbers filter without facet
    assert fields["nom"]["sort"] is True                             # strings need sort: true
    assert fields["date"] == {"name": "date", "type": "int64"}       # numbers sort by default
    assert "profil" not in fields and "salaire" not in fields        # not indexed, still stored
    text = " ".join(unsupported)
    assert "stopWords" in text and "distinctAttribute" in text and "date:desc" in text
    assert "annees: searchable but not text" in text
    assert "competences: arrays cannot be sorted" in text


def test_wildcard_searchable_takes_every_string_field_in_order():
    ft = types_of(DOCS)
    _unused, query_by, _unused = build_schema("c", {"searchableAttributes": ["*"]}, ft.types, ft.order, "cid")
    assert query_by == ["titre", "competences", "nom", "ville"]


def test_synonyms_are_one_way_and_drop_self_references():
    assert build_synonyms(SETTINGS) == [
        {"id": "meili-0", "root": "bd", "synonyms": ["mysql"]},
        {"id": "meili-1", "root": "dev", "synonyms": ["developpeur", "developpeuse"]},
    ]


def test_convert_document_sets_string_id_and_enforces_types():
    doc = DocumentConverter("cid", {"salaire": "float", "tags": "string[]", "n": "string"})(
        {"cid": 7, "salaire": 50000, "tags": "one", "n": None})
    assert doc == {"cid": 7, "id": "7", "salaire": 50000, "tags": ["one"]}   # an int stays an int in a float field


def test_fingerprint_ignores_order_and_sees_changes():
    a, b, c = Fingerprint(), Fingerprint(), Fingerprint()
    for doc in DOCS:
        a.add_canonical(canonical(doc))
    for doc in reversed(DOCS):
        b.add_canonical(canonical(doc))
    c.add_canonical(canonical(DOCS[0]))
    c.add_canonical(canonical(dict(DOCS[1], nom="Autre")))
    assert a.hexdigest(SETTINGS, "cid") == b.hexdigest(SETTINGS, "cid")
    assert a.hexdigest(SETTINGS, "cid") != c.hexdigest(SETTINGS, "cid")
    assert a.hexdigest(SETTINGS, "cid") != a.hexdigest({}, "cid")
    assert target_collection("candidatures", "abcdef0123456789") == "candidatures__abcdef012345"


def test_check_import_lines_counts_and_reports_errors():
    answer = '{"success":true}\n{"success":false,"error":"bad field","document":"{}"}\n{"success":true}'
    ok, errors = check_import_lines(answer, offset=100)
    assert ok == 2
    assert errors == [{"line": 102, "error": "bad field", "document": "{}"}]
    assert check_import_lines("not json")[1][0]["error"].startswith("unparsable")
    assert check_import_lines('{"success": true}\n{"success":true}') == (2, [])   # spaced: parsed, same verdict
    assert check_import_lines('{"success":"true"}')[0] == 0                       # only the boolean counts


def test_overlap():
    assert overlap(["1", "2", "3", "4"], ["4", "3", "9"]) == 0.5
    assert overlap([], ["1"]) == 1.0


def reference_convert(doc, primary_key, schema_types):
    """The conversion rules written plainly (the first implementation), to check DocumentConverter against."""
    out = dict(doc)
    out["id"] = str(doc[primary_key])
    for fname, ftype in schema_types.items():
        value = out.get(fname)
        if value is None:
            out.pop(fname, None)
            continue
        if ftype == "string" and not isinstance(value, str):
            out[fname] = str(value)
        elif ftype.endswith("[]") and not isinstance(value, list):
            out[fname] = [value]
        if ftype == "string[]":
            out[fname] = [v if isinstance(v, str) else str(v) for v in out[fname]]
    return out


VALUES = [None, 0, 7, 2.5, True, False, "s", "é", [1], [1.5, 2], ["a", 3], [True], [], [None], {"a": 1},
          [{"a": 1}], [1, "a"]]
TYPES = ["string", "int64", "float", "bool", "string[]", "int64[]", "float[]", "bool[]"]


def random_docs(rng, count):
    return [dict([("pk", n)] + [(k, rng.choice(VALUES)) for k in rng.sample("abcdef", rng.randint(0, 6))])
            for n in range(count)]


def test_document_converter_follows_the_rules_and_its_line_is_json():
    rng = random.Random(7)
    for _unused in range(200):
        schema_types = dict((k, rng.choice(TYPES)) for k in rng.sample("abcdefg", rng.randint(0, 7)))
        converter = DocumentConverter("pk", schema_types)
        for doc in random_docs(rng, 10):
            try:
                expected = reference_convert(doc, "pk", schema_types)
            except (TypeError, ValueError) as exc:   # e.g. float("s"): a schema never declares that
                with pytest.raises(type(exc)):
                    converter(doc)
                continue
            assert converter(doc) == expected
            assert json.loads(converter.line(doc)) == json.loads(json.dumps(expected))


@pytest.mark.parametrize("primary_key", ["pk", "id"])
def test_a_line_from_the_canonical_text_is_the_line_without_it(primary_key):
    rng = random.Random(13)
    reused = 0
    for _unused in range(300):
        schema_types = dict((k, rng.choice(TYPES)) for k in rng.sample("abcdefg", rng.randint(0, 7)))
        converter = DocumentConverter(primary_key, schema_types)
        for doc in random_docs(rng, 10):
            doc = dict(doc)
            if primary_key == "id":
                number = doc.pop("pk")
                doc["id"] = rng.choice([number, "doc-%d" % number])                 # a number or a string
            elif rng.random() < 0.2:
                doc["id"] = "another field"                                         # replaced by the primary key
            try:
                expected = converter.line(doc)
            except (TypeError, ValueError):
                continue
            text = canonical(doc)
            line = converter.line(doc, text)
            assert json.loads(line) == json.loads(expected)
            reused += line is text or line.endswith(text[1:])
    assert reused > 100                                  # the shortcut is taken, not only the fallback


def test_a_line_keeps_unicode_and_puts_the_id_first():
    converter = DocumentConverter("cid", {"titre": "string", "salaire": "float"})
    doc = {"cid": 7, "titre": "Développeur·se", "salaire": 52000.5}
    assert converter.line(doc, canonical(doc)) == '{"id":"7","cid":7,"salaire":52000.5,"titre":"Développeur·se"}'
    doc = dict(doc, salaire=52000, titre=1)                                 # a number in a string field: converted
    assert json.loads(converter.line(doc, canonical(doc))) == {"cid": 7, "salaire": 52000, "titre": "1", "id": "7"}


@pytest.mark.parametrize("ids,expected", [
    (["1", "a-b_C", "x" * 511], True), ([], True),
    (["a b"], False), (["é"], False), (["a,b"], False), (["`"], False), ([""], False), (["x" * 512], False),
])
def test_ids_filterable_follows_meilisearchs_id_rule(ids, expected):
    assert ids_filterable(ids) is expected


def test_field_types_fast_paths_give_the_plain_merge():
    rng = random.Random(11)
    for _unused in range(500):
        docs = random_docs(rng, rng.randint(1, 15))
        fast = types_of(docs)
        plain, order = {}, []
        for doc in docs:
            for key, value in doc.items():
                if key not in plain:
                    plain[key] = None
                    order.append(key)
                plain[key] = merge_field_type(plain[key], value_type(value))
        assert fast.types == plain and fast.order == order


def test_export_check_reports_missing_unexpected_repeated():
    assert export_check(["1", "2", "3", "4"], iter(["2", "9", "3", "2", "8"]), limit=1) == {
        "method": "export", "missing": ["1"], "missing_count": 2, "unexpected": ["8"], "unexpected_count": 2,
        "received": 5, "duplicates": 1}


def test_run_collection_names_are_dated_unique_and_recognised():
    name = run_collection("candidatures", now=1796070912, token="a1b2")
    assert name == "candidatures__run20261130_203512_a1b2"
    assert run_collection("c") != run_collection("c")                    # random token
    assert collection_form("candidatures", name) == "run"
    assert collection_form("candidatures", target_collection("candidatures", "abcdef0123456789")) == "fingerprint"


@pytest.mark.parametrize("name", ["cand", "cand__", "cand__notes", "cand__x__0123456789ab", "cand__0123456789AB",
                                  "cand__run20261130_2035_a1b2", "candidates__0123456789ab", "search_migrate_ledger"])
def test_collection_form_refuses_what_is_not_a_version_of_the_alias(name):
    assert collection_form("cand", name) is None


def test_settings_digest_covers_the_settings_that_matter_and_the_primary_key():
    settings = {"searchableAttributes": ["titre"], "synonyms": {"a": ["b"]}}
    assert settings_digest(settings, "cid") == settings_digest(dict(settings, pagination={"x": 1}), "cid")
    assert settings_digest(settings, "cid") != settings_digest(dict(settings, searchableAttributes=["nom"]), "cid")
    assert settings_digest(settings, "cid") != settings_digest(settings, "id")


def test_ledger_says_unchanged_only_for_the_same_collection_and_source_state():
    entry = {"collection": "c__run20261130_203512_a1b2", "updatedAt": "t1", "numberOfDocuments": 25,
             "settings_digest": "d"}
    now = {"updatedAt": "t1", "numberOfDocuments": 25}
    assert ledger_says_unchanged(entry, entry["collection"], now, "d")
    assert not ledger_says_unchanged(entry, "c__0123456789ab", now, "d")          # alias moved
    assert not ledger_says_unchanged(entry, entry["collection"], dict(now, updatedAt="t2"), "d")
    assert not ledger_says_unchanged(entry, entry["collection"], dict(now, numberOfDocuments=24), "d")
    assert not ledger_says_unchanged(entry, entry["collection"], now, "other settings")
    assert not ledger_says_unchanged(None, entry["collection"], now, "d")
    assert not ledger_says_unchanged(entry, entry["collection"], None, "d")       # a dump: no snapshot
    assert not ledger_says_unchanged(dict(entry, updatedAt=None), entry["collection"], dict(now, updatedAt=None), "d")


# A Typesense source (the legacy node): nothing mapped, the schema, synonyms and overrides as they are.
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import (  # noqa: E402
    build_overrides, copied_schema, settings_subset, typesense_settings)

LEGACY_INFO = {
    "name": "jobs", "num_documents": 3, "created_at": 1700000000, "default_sorting_field": "salary",
    "token_separators": ["-"], "symbols_to_index": [], "enable_nested_fields": False,
    "fields": [{"name": "title", "type": "string", "facet": False, "index": True, "optional": False},
               {"name": "city", "type": "string", "facet": True, "index": True, "optional": False},
               {"name": "notes", "type": "string", "index": False, "optional": True},
               {"name": "salary", "type": "int32", "facet": False, "index": True, "optional": False}],
}


def test_typesense_source_schema_keeps_what_post_collections_takes():
    schema = typesense_settings(LEGACY_INFO, [], [])["typesense"]["schema"]
    assert schema == {"fields": LEGACY_INFO["fields"], "default_sorting_field": "salary", "token_separators": ["-"],
                      "enable_nested_fields": False}
    assert typesense_settings({"fields": [], "default_sorting_field": ""}, [], [])["typesense"]["schema"] == {"fields": []}


def test_a_typesense_sources_schema_is_copied_under_the_new_name():
    settings = typesense_settings(LEGACY_INFO, [], [])
    schema, query_by, unsupported = build_schema("jobs__abc", settings, {"title": "string"}, ["title"], "id")
    assert schema == dict(settings["typesense"]["schema"], name="jobs__abc")
    assert query_by == ["title", "city"]   # indexed string fields, schema order; notes is not indexed
    assert unsupported == []


def test_an_auto_schema_searches_the_string_fields_of_the_documents():
    schema = {"fields": [{"name": ".*", "type": "auto"}, {"name": "city", "type": "string", "facet": True}]}
    _unused, query_by, _unused = copied_schema("x", schema, {"id": "string", "title": "string", "n": "int64",
                                                             "city": "string", "tags": "string[]"},
                                               ["id", "title", "n", "city", "tags"])
    assert query_by == ["city", "title", "tags"]
    assert copied_schema("x", {"fields": [{"name": "n", "type": "int32"}]}, {}, [])[2] == [
        "no string field is searchable: searches need query_by on a declared field"]


def test_typesense_synonyms_and_overrides_are_copied_sorted_by_id():
    synonyms = [{"id": "b", "root": "", "synonyms": ["x", "y"]}, {"id": "a", "root": "dev", "synonyms": ["coder"]}]
    overrides = [{"id": "pin", "rule": {"query": "pilot", "match": "exact"}, "includes": [{"id": "7", "position": 1}]}]
    settings = typesense_settings(LEGACY_INFO, synonyms, overrides)
    assert build_synonyms(settings) == [{"id": "a", "root": "dev", "synonyms": ["coder"]},
                                        {"id": "b", "synonyms": ["x", "y"]}]   # a multi-way synonym: no empty root
    assert build_overrides(settings) == overrides
    assert build_overrides({"searchableAttributes": ["*"]}) == []


def test_the_fingerprint_of_a_typesense_source_covers_its_schema_synonyms_and_overrides():
    settings = typesense_settings(LEGACY_INFO, [], [])
    assert settings_subset(settings) == settings
    other = typesense_settings(LEGACY_INFO, [], [{"id": "pin", "rule": {"query": "q", "match": "exact"}}])
    assert settings_digest(settings, "id") != settings_digest(other, "id")
    # Meilisearch's settings keep their subset (and so the fingerprints of the migrations already published).
    assert "typesense" not in settings_subset(SETTINGS)
