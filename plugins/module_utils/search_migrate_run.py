# -*- coding: utf-8 -*-
"""One run of the search migration (a Meilisearch index or a legacy Typesense collection -> a Typesense alias).

Stdlib only. migrate() plans (the source's state, the alias, the ledger), then takes one path:
* streamed (first run, changed index): a collection is created once the first batch is read and Typesense
  imports while the rest is read (Stream); a schema that diverges later, or content found identical to the
  alias's, drops it and falls back to the sequential path;
* sequential (check mode, a Typesense source, the ledger says unchanged): read first, then import only
  when the alias does not hold this data already, so a run over an unchanged index writes nothing.
Every document read is fingerprinted and spooled (marshal, temporary file); the collection is verified
(counts, every id, sample queries) before the alias is switched and the ledger updated.
"""

import collections
import marshal
import queue
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_api import SearchHTTPError
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import (
    DocumentConverter, FieldTypes, Fingerprint, build_overrides, build_schema, build_synonyms, canonical,
    check_import_lines, collection_form, export_check, ids_filterable, ledger_says_unchanged, overlap,
    run_collection, schema_types, settings_digest, settings_subset, target_collection)

CHUNK = 1000            # documents per spooled chunk (and per hand-over to the import thread)
IMPORT_IN_FLIGHT = 2    # import requests under way at once: Typesense never waits for the next batch
ID_CHUNK = 5000         # ids per filtered search
QUEUE_CHUNKS = 64       # chunks of JSONL lines held between the reader and the import thread
TOP_K = 10              # top results compared per sample query
LEDGER = "search_migrate_ledger"


def in_background(func, *args):
    """func(*args) in its own thread; the future's result() waits for it (or raises its error)."""
    pool = ThreadPoolExecutor(1)
    future = pool.submit(func, *args)
    pool.shutdown(wait=False)
    return future


def auto_queries(samples, query_by, count=5, words=4):
    """Sample queries: the first words of the wordiest searchable field of sampled documents.

    One field each: Typesense 0.24 matches every word of a query within one field.
    """
    queries = []
    for doc in samples:
        texts = [" ".join(map(str, v)) if isinstance(v, list) else str(v or "") for v in map(doc.get, query_by)]
        best = max((t.split() for t in texts), key=len, default=[])
        if best:
            queries.append(" ".join(best[:words]))
    return queries[:count]


class Reading(object):
    """One read of the source: field types, fingerprint, ids, samples; the documents spooled in marshal chunks.

    on_chunk(reading, docs, texts), when given, receives each chunk with its canonical() texts.
    """

    def __init__(self, primary_key, alias, spool, say, chunk=CHUNK):
        self.primary_key, self.alias, self.spool, self.say, self.chunk = primary_key, alias, spool, say, chunk
        self.types, self.finger, self.ids, self.samples = FieldTypes(), Fingerprint(), [], []

    @property
    def count(self):
        return len(self.ids)

    def run(self, docs, on_chunk=None):
        try:
            return self._run(docs, on_chunk)
        finally:  # stops a page prefetch, however the read ends
            getattr(docs, "close", lambda: None)()

    def _run(self, docs, on_chunk):
        pk, add_type, add_text, add_id = self.primary_key, self.types.add, self.finger.add_canonical, self.ids.append
        chunk, texts = [], []
        for n, doc in enumerate(docs):
            if pk not in doc:
                raise ValueError("%s: document #%d has no primary key %s" % (self.alias, n, pk))
            text = canonical(doc)
            add_text(text)
            add_type(doc)
            add_id(str(doc[pk]))
            chunk.append(doc)
            texts.append(text)
            if len(chunk) >= self.chunk:
                self.spooled(chunk, texts, on_chunk)
                chunk, texts = [], []
            if n % 997 == 0 and len(self.samples) < 50:
                self.samples.append(doc)
            if (n + 1) % 20000 == 0:
                self.say("%s: read %d documents" % (self.alias, n + 1))
        if chunk:
            self.spooled(chunk, texts, on_chunk)
        return self

    def spooled(self, chunk, texts, on_chunk):
        marshal.dump(chunk, self.spool)
        if on_chunk is not None:
            on_chunk(self, chunk, texts)

    def documents(self):
        """The spooled documents again, in the order they were read."""
        self.spool.seek(0)
        while True:
            try:
                yield from marshal.load(self.spool)
            except EOFError:
                return

    def fingerprint(self, settings):
        return self.finger.hexdigest(settings_subset(settings), self.primary_key)


def batched(items, size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_batches(typesense, collection, batches, say, label, count=None, on_batch=None, in_flight=IMPORT_IN_FLIGHT):
    """POST each batch of JSONL lines, in_flight requests under way, and check every answer line in order.

    Returns (documents sent, errors); an answer with fewer lines than its batch is an error too.
    on_batch(size) follows each batch accepted whole while no error was seen.
    """
    state, under_way, t0 = {"done": 0, "errors": []}, collections.deque(), time.time()

    def handle(sent, size):
        ok, errors = check_import_lines(sent.result(), state["done"])
        if ok + len(errors) != size:
            errors.append({"line": state["done"], "error": "answer has %d lines for %d documents" % (ok + len(errors), size)})
        state["errors"] += errors
        state["done"] += size
        if on_batch is not None and not state["errors"]:
            on_batch(size)
        say("%s: imported %d/%s documents (%.0f docs/s)" % (label, state["done"], "?" if count is None else count,
                                                            state["done"] / max(time.time() - t0, 1e-6)))

    with ThreadPoolExecutor(in_flight) as pool:  # on an error, the requests under way end before it is raised
        for lines in batches:
            under_way.append((pool.submit(typesense.import_jsonl, collection, "\n".join(lines)), len(lines)))
            if len(under_way) >= in_flight:
                handle(*under_way.popleft())
        while under_way:
            handle(*under_way.popleft())
    return state["done"], state["errors"]


def create_collection(typesense, schema, settings):
    """The collection, then its synonyms and overrides."""
    typesense.create(schema)
    for kind, rules in (("synonyms", build_synonyms(settings)), ("overrides", build_overrides(settings))):
        for rule in rules:
            typesense.put_rule(schema["name"], kind, rule)


class IdPresence(object):
    """The source ids looked for in a collection, in order, by searches filtered by id (ID_CHUNK ids each)."""

    def __init__(self, ids):
        self.ids, self.checked, self.found, self.broken = ids, 0, 0, False

    def advance(self, typesense, collection, count):
        while count > 0 and not self.broken and self.checked < len(self.ids):
            chunk = self.ids[self.checked:self.checked + min(count, ID_CHUNK)]
            self.broken = not ids_filterable(chunk)
            if not self.broken:
                self.found += typesense.count_ids(collection, chunk)
                self.checked += len(chunk)
                count -= len(chunk)

    def all_found(self, typesense, collection):
        self.advance(typesense, collection, len(self.ids) - self.checked)
        return not self.broken and self.found == len(self.ids)


def check_ids(typesense, collection, source_ids, target_count, presence=None):
    """Every source id in the collection: by filtered searches when the counts agree and the ids are distinct
    and filterable (a check made during the import is done again once, from the start, if it missed some: a
    node may answer before it applied the last writes); otherwise Typesense's export names the differences."""
    if target_count == len(source_ids) == len(set(source_ids)) and ids_filterable(source_ids):
        for attempt in ([presence] if presence is not None and not presence.broken else []) + [IdPresence(source_ids)]:
            if attempt.all_found(typesense, collection):
                return {"method": "id filter", "found": attempt.found, "missing": [], "missing_count": 0,
                        "unexpected": [], "unexpected_count": 0, "duplicates": 0}
    return export_check(source_ids, typesense.export_ids(collection))


def verify_collection(typesense, collection, reading, query_by, queries, source_tops, min_overlap, presence=None):
    """Counts, ids and the overlap of each sample query's top results (source_tops: the source's, or None)."""
    target_count = (typesense.collection(collection) or {}).get("num_documents")
    ids = check_ids(typesense, collection, reading.ids, target_count, presence)
    out = {"source_count": reading.count, "target_count": target_count, "ids": ids, "queries": [],
           "min_overlap": min_overlap}
    ok = (target_count == reading.count and ids["missing_count"] == ids["unexpected_count"] == ids["duplicates"] == 0
          and ids.get("received", reading.count) == reading.count)
    if source_tops is None:
        out["queries_skipped"] = "no searchable field"
    for query, expected in zip(queries, source_tops or []):
        got = typesense.search(collection, query, query_by, TOP_K)
        share = overlap(expected, got)
        out["queries"].append({"q": query, "source_top": expected, "typesense_top": got, "overlap": round(share, 3)})
        ok = ok and share >= min_overlap
    out["ok"] = ok
    return out


class Stream(object):
    """The streamed import: a collection created from the first batch's schema, fed while the source is read.

    add() follows each spooled chunk (reader's thread): while the documents read so far give the same schema,
    the chunk's lines (made from the fingerprint's texts) go to the import thread, whose accepted batches'
    ids are looked for at once (IdPresence); a different schema stops the stream (`diverged`).
    """

    def __init__(self, migration, name, expected):
        self.m, self.name, self.expected = migration, name, expected
        self.queue, self.pending, self.stopped = queue.Queue(QUEUE_CHUNKS), [], False
        self.schema = self.query_by = self.types_seen = self.converter = self.importer = self.presence = None
        self.created, self.diverged, self.seconds = False, None, 0.0

    def add(self, reading, docs, texts):
        if self.diverged:
            return
        if self.schema is None:
            self.pending.append((docs, texts))
            if reading.count >= self.m.batch_size:
                self.start(reading)
        elif self.same_schema(reading):
            self.hand_over(docs, texts)

    def same_schema(self, reading):
        if reading.types.types == self.types_seen:
            return True
        self.types_seen = dict(reading.types.types)
        schema, query_by, _unused = self.m.schema(self.name, reading)
        if (schema, query_by) == (self.schema, self.query_by):
            return True
        old, new = [dict((f["name"], f) for f in s["fields"]) for s in (self.schema, schema)]
        changed = sorted(f for f in set(old) | set(new) if old.get(f) != new.get(f)) or ["query_by"]
        self.diverged = "schema changed after %d documents (%s)" % (reading.count, ", ".join(changed))
        self.m.say("%s: stream into %s stopped: %s; importing after the read" % (self.m.alias, self.name, self.diverged))
        return False

    def start(self, reading):
        """Create the collection with the schema of the documents read so far; start the import thread."""
        self.schema, self.query_by, _unused = self.m.schema(self.name, reading)
        self.types_seen = dict(reading.types.types)
        self.converter = DocumentConverter(self.m.primary_key, schema_types(self.schema))
        self.presence = IdPresence(reading.ids)
        self.m.say("%s: streaming into %s (schema from the first %d documents)" % (self.m.alias, self.name, reading.count))
        create_collection(self.m.typesense, self.schema, self.m.settings)
        self.created = True
        self.importer = in_background(self.run_import)
        for docs, texts in self.pending:
            self.hand_over(docs, texts)

    def hand_over(self, docs, texts):
        self.put([self.converter.line(doc, text) for doc, text in zip(docs, texts)])

    def put(self, item):
        """Hand lines (None: the end) to the import thread; an import that stopped raises its error here."""
        while not self.stopped:
            if self.importer.done():
                return self.importer.result()
            try:
                return self.queue.put(item, timeout=0.5)
            except queue.Full:
                continue

    def lines(self):
        for item in iter(self.queue.get, None):
            if self.stopped:
                return
            yield from item

    def look_for_ids(self, size):
        try:
            self.presence.advance(self.m.typesense, self.name, size)
        except Exception:  # the verification checks every id again: its error shows there
            self.presence.broken = True

    def run_import(self):
        t0 = time.time()
        try:
            return import_batches(self.m.typesense, self.name, batched(self.lines(), self.m.batch_size), self.m.say,
                                  self.m.alias, self.expected, on_batch=self.look_for_ids)
        finally:
            self.seconds = round(time.time() - t0, 2)

    def finish(self, reading):
        """After the read (started now if it held less than one batch): wait for the import, (sent, errors)."""
        if self.schema is None:
            self.start(reading)
        self.put(None)
        return self.importer.result()

    def drop(self):
        """Stop the import thread and drop the collection: it is never published."""
        self.stopped = True
        if self.importer is not None:
            try:
                while True:  # room for the end mark: the import thread stops at it
                    self.queue.get_nowait()
            except queue.Empty:
                self.queue.put(None)
            wait([self.importer])
        if self.created:
            self.m.typesense.drop(self.name)
            self.created = False
            self.m.say("%s: dropped %s" % (self.m.alias, self.name))

    def abort(self):
        """drop() on the way out of an error (a failed drop is said: the next run's retention drops it)."""
        try:
            self.drop()
        except Exception as exc:  # the error on its way out matters more
            self.m.say("%s: could not drop %s (%s); the next run drops it" % (self.m.alias, self.name, exc))


def migrate(source, typesense, alias, batch_size=5000, check_mode=False, sample_queries=None, min_overlap=0.6,
            progress=None):
    """Migrate one index to the alias; returns the result (changed, counts, verification, timings...)."""
    return Migration(source, typesense, alias, batch_size, check_mode, sample_queries, min_overlap, progress).run()


def record_ledger(typesense, alias, collection, fingerprint, snapshot, digest):
    """The alias's ledger entry: what was published, and the state of the source it was made from."""
    doc = dict(((k, v) for k, v in (snapshot or {}).items() if v is not None), id=alias, alias=alias,
               collection=collection, fingerprint=fingerprint, settings_digest=digest,
               recorded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    try:
        typesense.upsert(LEDGER, doc)
    except SearchHTTPError as exc:
        if exc.status != 404:
            raise
        typesense.create({"name": LEDGER, "fields": [{"name": "alias", "type": "string"}]})
        typesense.upsert(LEDGER, doc)


class Migration(object):
    """One run of migrate(): plan() reads the state of both sides, then a path acts (see the module docstring)."""

    def __init__(self, source, typesense, alias, batch_size, check_mode, sample_queries, min_overlap, progress):
        self.source, self.typesense, self.alias, self.batch_size = source, typesense, alias, batch_size
        self.check_mode, self.sample_queries, self.min_overlap = check_mode, sample_queries, min_overlap
        lock = threading.Lock()

        def say(msg):  # the reader and the import thread both report
            with lock:
                if progress is not None:
                    progress(msg)
        self.say, self.timings, self.discarded, self.refresh_ledger = say, {}, None, False

    def plan(self):
        """The source's settings and state, the alias's collection and its ledger entry; True to stream."""
        self.started = time.time()
        self.settings, self.primary_key = self.source.info()
        self.before_read = self.source.snapshot()
        self.digest = settings_digest(self.settings, self.primary_key)
        self.before_target = self.typesense.alias(self.alias)
        self.before_info = self.typesense.collection(self.before_target) if self.before_target else None
        entry = self.typesense.document(LEDGER, self.alias)
        # An entry about another collection than the alias's (the alias moved by hand: a rollback) says nothing.
        self.entry = entry if entry and entry.get("collection") == self.before_target else None
        if ledger_says_unchanged(self.entry, self.before_target, self.before_read, self.digest):
            self.say("%s: ledger: %s was made from the index as it is now; reading to verify"
                     % (self.alias, self.before_target))
            return False
        return not self.check_mode and (self.before_read or {}).get("updatedAt") is not None

    def run(self):
        stream = self.plan()
        with tempfile.TemporaryFile(mode="w+b") as spool:
            return self.streamed(spool) if stream else self.sequential(self.read(spool))

    def read(self, spool, on_chunk=None):
        """Every document, spooled; the source's state must be the same after the read as before it."""
        reading = Reading(self.primary_key, self.alias, spool, self.say, min(CHUNK, self.batch_size))
        reading.run(self.source.documents(), on_chunk)
        after = self.source.snapshot()
        if after != self.before_read or (after or {}).get("numberOfDocuments", reading.count) != reading.count:
            raise ValueError("index %s changed while it was read (before %s, after %s, %d documents read); "
                             "nothing was published, run again" % (self.source.uid, self.before_read, after, reading.count))
        self.timings["read"] = round(time.time() - self.started, 2)
        return reading

    def schema(self, name, reading):
        return build_schema(name, self.settings, reading.types.types, reading.types.order, self.primary_key)

    def current_copy(self, fingerprint, count):
        """The alias's collection when it holds this data, complete (named after it, or so recorded), else None."""
        if self.before_target is None or (self.before_info or {}).get("num_documents") != count:
            return None
        named = self.before_target == target_collection(self.alias, fingerprint)
        recorded = (self.entry or {}).get("fingerprint") == fingerprint
        return self.before_target if named or recorded else None

    def streamed(self, spool):
        stream = Stream(self, run_collection(self.alias), (self.before_read or {}).get("numberOfDocuments"))
        try:
            reading = self.read(spool, stream.add)
            fingerprint = reading.fingerprint(self.settings)
            same = not stream.diverged and self.current_copy(fingerprint, reading.count) is not None
            if stream.diverged or same:
                stream.drop()
                self.discarded = {"collection": stream.name, "reason": stream.diverged or "content unchanged"}
                # only updatedAt moved: recorded, so that the next run writes nothing
                self.refresh_ledger = same
                return self.sequential(reading)
            result = self.result(stream.name, fingerprint, reading, True, "streamed")
            queries, answers = self.ask_source(reading.samples, result["query_by"])  # while Typesense imports
            t0 = time.time()
            result["imported"], errors = stream.finish(reading)
        except BaseException:
            stream.abort()
            raise
        self.timings["import_wait"] = round(time.time() - t0, 2)
        result["import_seconds"] = self.timings["import"] = stream.seconds
        if errors:
            stream.drop()
            return self.refused(result, errors, "; %s dropped" % stream.name)
        return self.verify_and_publish(result, reading, queries, answers, stream.presence)

    def sequential(self, reading):
        """After the read: import into `<alias>__<fingerprint>` unless the alias holds this data already."""
        fingerprint = reading.fingerprint(self.settings)
        current = self.current_copy(fingerprint, reading.count)
        result = self.result(current or target_collection(self.alias, fingerprint), fingerprint, reading,
                             current is None, "sequential")
        if current is None and self.check_mode:
            result["would_import"] = reading.count
            return result
        queries, answers = self.ask_source(reading.samples, result["query_by"])
        if current is None:
            errors = self.import_after_read(result, reading)
            if errors:
                return self.refused(result, errors, "")
        return self.verify_and_publish(result, reading, queries, answers)

    def import_after_read(self, result, reading):
        """Import the spooled documents (a complete collection of the same name, left by a run stopped
        before the switch, holds exactly this data: kept); returns the refused lines."""
        target = result["collection"]
        existing = self.typesense.collection(target)
        if existing is not None and existing.get("num_documents") == reading.count:
            return []
        if existing is not None:
            self.say("%s: dropping incomplete collection %s" % (self.alias, target))
            self.typesense.drop(target)
        create_collection(self.typesense, result["schema"], self.settings)
        t0, converter = time.time(), DocumentConverter(self.primary_key, schema_types(result["schema"]))
        lines = (converter.line(doc) for doc in reading.documents())
        result["imported"], errors = import_batches(self.typesense, target, batched(lines, self.batch_size), self.say,
                                                    self.alias, reading.count)
        result["import_seconds"] = self.timings["import"] = round(time.time() - t0, 2)
        return errors

    def result(self, collection, fingerprint, reading, changed, path):
        schema, query_by, unsupported = self.schema(collection, reading)
        before = {"alias": self.alias, "collection": self.before_target,
                  "documents": (self.before_info or {}).get("num_documents")}
        result = {"alias": self.alias, "collection": collection, "previous_collection": self.before_target,
                  "fingerprint": fingerprint, "primary_key": self.primary_key, "source_documents": reading.count,
                  "schema": schema, "query_by": query_by, "unsupported": unsupported, "changed": changed,
                  "synonyms": len(build_synonyms(self.settings)), "overrides": len(build_overrides(self.settings)),
                  "imported": 0, "deleted_collections": [], "timings": self.timings, "path": path,
                  "diff": {"before": before, "after": dict(before, collection=collection, documents=reading.count)}}
        if self.discarded:
            result["discarded"] = self.discarded
        return result

    def refused(self, result, errors, note):
        result.update(failed=True, import_errors=[e for e in errors if e][:10],
                      msg="%d document(s) were refused by Typesense%s; alias %s left on %s"
                      % (len(errors), note, self.alias, self.before_target))
        return result

    def ask_source(self, samples, query_by):
        """The sample queries, and the source's answers to them fetched in the background (None: not asked)."""
        queries = list(dict.fromkeys(self.sample_queries or auto_queries(samples, query_by)))
        self.source.query_by = query_by  # a Typesense source is asked exactly what the target is asked
        if not (query_by and queries):
            return queries, None
        return queries, in_background(lambda: [self.source.search(q, TOP_K, self.primary_key) for q in queries])

    def verify_and_publish(self, result, reading, queries, answers, presence=None):
        """Verify the collection; when it changed, point the alias at it, drop old versions, update the ledger."""
        collection, t0 = result["collection"], time.time()
        self.say("%s: verifying %s (counts, every id, %d sample queries)" % (self.alias, collection, len(queries)))
        tops = answers.result() if answers is not None else None
        result["verification"] = verify_collection(self.typesense, collection, reading, result["query_by"], queries,
                                                   tops, self.min_overlap, presence)
        self.timings["verify"] = round(time.time() - t0, 2)
        if not result["verification"]["ok"]:
            result.update(failed=True, msg="verification of %s failed; alias %s left on %s"
                          % (collection, self.alias, self.before_target))
            return result
        if result["changed"]:
            t0 = time.time()
            self.typesense.point_alias(self.alias, collection)
            self.say("%s: alias now points at %s" % (self.alias, collection))
            result["deleted_collections"] = self.retire_versions(collection)
        if result["changed"] or self.refresh_ledger:
            record_ledger(self.typesense, self.alias, collection, result["fingerprint"], self.before_read, self.digest)
        if result["changed"]:
            self.timings["publish"] = round(time.time() - t0, 2)
        result["seconds"] = round(time.time() - self.started, 2)
        return result

    def retire_versions(self, published):
        """Drop the alias's versions (both name forms) but the one published and the previous one."""
        dropped = [c["name"] for c in self.typesense.collections() if collection_form(self.alias, c.get("name", ""))
                   and c["name"] not in (published, self.before_target)]
        for name in dropped:
            self.typesense.drop(name)
        return dropped
