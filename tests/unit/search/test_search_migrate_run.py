"""The migration run against in-memory fakes: check mode, first run, no-op re-run, changed source, refused lines."""

import json

from ansible.module_utils.search_migrate_run import auto_queries, migrate


class FakeSource(object):
    searchable = True

    def __init__(self, docs, settings=None):
        self.docs = docs
        self.settings = settings or {"searchableAttributes": ["titre"]}

    def info(self):
        return self.settings, "cid"

    def documents(self):
        return iter(self.docs)

    def search(self, query, limit, pk):
        words = query.lower().split()
        return [str(d[pk]) for d in self.docs if all(w in d["titre"].lower() for w in words)][:limit]


class FakeTypesense(object):
    def __init__(self, refuse=None):
        self.colls, self.aliases, self.calls, self.refuse = {}, {}, [], refuse

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

    def drop(self, name):
        self.calls.append(("drop", name))
        del self.colls[name]

    def synonym(self, coll, syn):
        self.calls.append(("synonym", syn["id"]))

    def import_jsonl(self, coll, text):
        out = []
        for line in text.split("\n"):
            doc = json.loads(line)
            if doc["id"] == self.refuse:
                out.append('{"success":false,"error":"refused"}')
            else:
                self.colls[coll][doc["id"]] = doc
                out.append('{"success":true}')
        return "\n".join(out)

    def iter_export_ids(self, coll):
        return iter(list(self.colls[coll]))

    def search(self, coll, query, query_by, limit):
        words = query.lower().split()
        return [i for i, d in sorted(self.colls[coll].items(), key=lambda x: int(x[0]))
                if all(w in d["titre"].lower() for w in words)][:limit]

    def point_alias(self, alias, coll):
        self.calls.append(("alias", coll))
        self.aliases[alias] = coll


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
    assert sorted(ts.colls) == sorted([v2["collection"], v3["collection"]])


def test_refused_line_fails_and_leaves_the_alias():
    ts = FakeTypesense(refuse="7")
    result = migrate(FakeSource(DOCS), ts, "cand")
    assert result["failed"] and result["import_errors"][0]["line"] == 7
    assert "cand" not in ts.aliases


def test_auto_queries_take_the_wordiest_searchable_field():
    docs = [{"a": "one", "b": "two three four five six"}, {"a": ["x", "y"], "b": None}]
    assert auto_queries(docs, ["a", "b"], words=3) == ["two three four", "x y"]
