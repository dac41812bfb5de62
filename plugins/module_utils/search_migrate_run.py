# -*- coding: utf-8 -*-
"""The migration run (Meilisearch, a Meilisearch dump or another Typesense -> Typesense); HTTP clients in search_migrate_api.

Stdlib only, so that the module runs on any host with python3 and the bench can import it.

The run (Migration) is a pipeline (threads, bounded queues): the next Meilisearch page is fetched
while the current one is fingerprinted and spooled; the next JSONL batch is converted while
Typesense imports the current one; Meilisearch's answers to the sample queries are fetched, on
their own connection, while Typesense imports; the ids are checked by searches filtered by id
(Typesense's export, slower, only names the differences when that check fails or cannot be used).
When the ledger does not say the index is unchanged, Typesense imports while the index
is still read (StreamedImport: a collection named before the read ends, a schema from the first
batch, checked against every later document); otherwise, and in check mode or from a dump, the
import waits for the end of the read, so that a run over an unchanged index writes nothing.
"""

import marshal
import os
import queue
import struct
import tempfile
import threading
import time

from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_api import Background, Ledger, Prefetch
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_lib import (
    DocumentConverter, FieldTypes, Fingerprint, IdCheck, build_overrides, build_schema, build_synonyms, canonical,
    check_import_lines, collection_form, document_line, ids_filterable, ledger_says_unchanged, overlap, run_collection,
    settings_digest, settings_subset, target_collection)


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
    json.loads). After each chunk is written, on_chunk(reading, (offset, size), documents, texts)
    is called, texts being the documents' canonical() texts (fingerprinted already): the streamed
    path hands the chunk to its import thread there.
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
        chunk, texts = [], []
        keep, keep_text = chunk.append, texts.append
        try:
            for n, doc in enumerate(docs):
                if primary_key not in doc:
                    raise ValueError("document #%d has no primary key %s" % (n, primary_key))
                text = canonical(doc)
                add_text(text)
                add_type(doc)
                add_id(str(doc[primary_key]))
                keep(doc)
                if on_chunk is not None:
                    keep_text(text)
                if len(chunk) >= chunk_size:
                    self._spool(chunk, texts, on_chunk)
                    chunk, texts = [], []  # new lists: on_chunk may keep the last ones
                    keep, keep_text = chunk.append, texts.append
                if n % 997 == 0 and len(samples) < 50:
                    samples.append(doc)
                if (n + 1) % 20000 == 0:
                    self.say("%s: read %d documents" % (self.alias, n + 1))
        finally:
            close = getattr(docs, "close", None)
            if close is not None:
                close()
        if chunk:
            self._spool(chunk, texts, on_chunk)
        return self

    def _spool(self, chunk, texts, on_chunk):
        location = spool_chunk(self.spool, chunk)
        if on_chunk is not None:
            on_chunk(self, location, chunk, texts)

    def fingerprint(self, settings):
        return self.finger.hexdigest(settings_subset(settings), self.primary_key)


def read_source(source, primary_key, alias, spool, say):
    """Read every document once (Reading); returns (FieldTypes, Fingerprint, source_ids, samples)."""
    reading = Reading(primary_key, alias, spool, say).run(source.documents())
    return reading.types, reading.finger, reading.ids, reading.samples


def spool_chunk(spool, docs):
    """Append a list of documents to the spool: 8-byte length, then marshal data.

    Returns (offset, size) of the data, flushed to the file: another thread can read it back with
    os.pread (fed_lines) while this one goes on writing.
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
        yield from marshal.loads(data)


FEED_BUDGET = 64 << 20  # characters of JSONL held in memory between the reader and the import thread


class Feed(object):
    """Spooled chunks handed from the reader to the import thread: put, then end (all sent) or abort (stop now).

    An item is a chunk's place in the spool file and, while the lines held in memory stay under
    `budget` characters, its JSONL lines converted by the reader: the import thread sends those as
    they are and reads only the other chunks back from the spool. The queue itself is unbounded
    (the read never waits for Typesense): past the budget, the documents in flight are on disk.
    """

    def __init__(self, budget=None):
        self.queue = queue.Queue()
        self.aborted = threading.Event()
        self.lock = threading.Lock()
        self.held, self.budget = 0, FEED_BUDGET if budget is None else budget

    def room(self):
        """True while the lines held in memory are under the budget."""
        return self.held < self.budget

    def put(self, location, lines=None):
        size = sum(map(len, lines)) if lines is not None else 0
        with self.lock:
            self.held += size
        self.queue.put((location, lines, size))

    def end(self):
        self.queue.put(None)

    def abort(self):
        self.aborted.set()
        self.queue.put(None)

    def __iter__(self):
        """(location, lines or None) for each chunk, until end or abort."""
        while not self.aborted.is_set():
            item = self.queue.get()
            if item is None or self.aborted.is_set():
                return
            location, lines, size = item
            with self.lock:
                self.held -= size
            yield location, lines


def fed_lines(feed, spool, converter):
    """The JSONL lines of the chunks put in a Feed: as handed over, or converted from the spool file.

    The spool is read with os.pread (no shared file position with the reader still writing it).
    """
    fd = spool.fileno()
    for (offset, size), lines in feed:
        if lines is not None:
            yield from lines
            continue
        data = os.pread(fd, size, offset)
        if len(data) != size:
            raise ValueError("the spool file is truncated")
        for doc in marshal.loads(data):
            yield document_line(doc, converter)


def batched(lines, batch_size):
    """Lists of batch_size items (the last one shorter)."""
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def jsonl_batches(docs, primary_key, schema_types, batch_size):
    """Typesense JSONL lines (document_line), in lists of batch_size."""
    converter = DocumentConverter(primary_key, schema_types)
    return batched((document_line(doc, converter) for doc in docs), batch_size)


IMPORT_IN_FLIGHT = 2  # import requests sent before the oldest is answered


def import_batches(typesense, collection, batches, count, alias, say, on_batch=None, in_flight=None):
    """POST each batch and check every answer line, in order.

    The batches are converted in a background thread, one batch ahead. With a Typesense that can
    fork (its own connection per thread), IMPORT_IN_FLIGHT requests are under way at once: Typesense
    applies writes one after the other, and the next batch is already there when one ends (no
    round trip between batches). Answers are handled in the order the batches were sent.
    Returns (documents sent, errors): an answer with fewer lines than the batch is an error too.
    on_batch(size), when given, is called after each batch accepted whole while no error was seen.
    in_flight overrides IMPORT_IN_FLIGHT (the bench's one-request-at-a-time baseline).
    """
    in_flight = (in_flight or IMPORT_IN_FLIGHT) if hasattr(typesense, "fork") else 1
    senders = [typesense] + [typesense.fork() for _unused in range(in_flight - 1)]
    state = {"done": 0, "errors": [], "t0": time.time()}

    def handle(sent, size):
        answer = sent.result()
        done, errors = state["done"], state["errors"]
        ok, errs = check_import_lines(answer, done)
        if ok + len(errs) != size:
            errs.append({"line": done, "error": "answer has %d lines for %d documents" % (ok + len(errs), size)})
        errors.extend(errs)
        state["done"] = done = done + size
        if on_batch is not None and not errors:
            on_batch(size)
        say("%s: imported %d/%s documents (%.0f docs/s)"
            % (alias, done, count if count is not None else "?", done / max(time.time() - state["t0"], 1e-6)))

    under_way = []
    try:
        with Prefetch(batches, depth=2) as pending:
            for number, lines in enumerate(pending):
                sender = senders[number % in_flight]
                under_way.append((Background(sender.import_jsonl, collection, "\n".join(lines)), len(lines)))
                if len(under_way) >= in_flight:
                    handle(*under_way.pop(0))
        while under_way:
            handle(*under_way.pop(0))
    finally:
        for sent, _unused in under_way:  # on an error: no request left running on a connection the caller reuses
            sent.thread.join()
    return state["done"], state["errors"]


def create_collection(typesense, schema, settings):
    """Create a collection, then its synonyms and overrides (build_synonyms, build_overrides: a Typesense source's as is)."""
    typesense.create(schema)
    for synonym in build_synonyms(settings):
        typesense.synonym(schema["name"], synonym)
    for override in build_overrides(settings):
        typesense.override(schema["name"], override)


def schema_changes(old, new):
    """Names of the fields declared differently in two schemas (for messages)."""
    before = dict((f["name"], f) for f in old["fields"])
    after = dict((f["name"], f) for f in new["fields"])
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


class StreamedImport(object):
    """Import into a new collection while the source is still read (the streamed path of migrate).

    The reader hands over each spooled chunk (add). Once batch_size documents are read, the schema
    is built from the settings and their field types, the collection is created and a background
    thread (on its own Typesense connection) imports the chunks: their JSONL lines converted by the
    reader while the Feed's memory budget allows, otherwise read back from the spool and converted
    there (each document is converted once, on one side or the other). Before a chunk is handed over, the schema of every document read so far is compared with
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
        self.schema = self.query_by = self.types_seen = self.converter = None
        self.created, self.diverged, self.seconds = False, None, 0.0
        self.presence = None  # IdPresence, once the reading is known (add)

    def add(self, reading, location, docs, texts):
        """After each spooled chunk (reader's thread): start when the first batch is read, then hand it over."""
        if self.diverged:
            return
        if self.presence is None:
            self.presence = IdPresence(self.typesense, self.name, reading.ids)
        if self.schema is None:
            self.pending.append((location, docs, texts))
            if reading.count >= self.batch_size:
                self.start(reading)
            return
        if self.importer.done():
            self.importer.result()  # the import stopped before the end: its error, now rather than after the read
        if self.check(reading):
            self.hand_over(location, docs, texts)

    def hand_over(self, location, docs, texts):
        """Put a chunk in the feed: with its JSONL lines while the memory budget allows, else by its place only."""
        if self.feed.room():
            line = self.converter.line
            self.feed.put(location, [line(doc, text) for doc, text in zip(docs, texts)])
        else:
            self.feed.put(location)

    def check(self, reading):
        """True while the documents read so far give the collection's schema; otherwise stop the stream."""
        types = reading.types.types
        if types == self.types_seen:
            return True
        self.types_seen = dict(types)
        schema, query_by, _unused = build_schema(self.name, self.settings, types, reading.types.order, self.primary_key)
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
        self.schema, self.query_by, _unused = build_schema(self.name, self.settings, types.types, types.order,
                                                           self.primary_key)
        self.types_seen = dict(types.types)
        self.converter = DocumentConverter(self.primary_key, dict((f["name"], f["type"]) for f in self.schema["fields"]))
        self.say("%s: streaming into %s (schema from the first %d documents)" % (self.alias, self.name, reading.count))
        create_collection(self.typesense, self.schema, self.settings)
        self.created = True
        self.importer = Background(self._import)
        for location, docs, texts in self.pending:
            self.hand_over(location, docs, texts)
        self.pending = []

    def _import(self):
        t0 = time.time()
        batches = batched(fed_lines(self.feed, self.spool, self.converter), self.batch_size)
        try:
            # Each accepted batch's ids are looked for at once (IdPresence): the verification has
            # only the count and the sample queries left to do when the import ends.
            return import_batches(self.typesense, self.name, batches, self.expected, self.alias, self.say,
                                  on_batch=self.presence.later)
        finally:
            self.seconds = round(time.time() - t0, 2)

    def finish(self, reading):
        """After the read: start now if fewer than batch_size documents were read, wait for the import.

        Returns (documents sent, errors), as import_batches.
        """
        if self.schema is None:
            if self.presence is None:
                self.presence = IdPresence(self.typesense, self.name, reading.ids)
            self.start(reading)
        self.feed.end()
        return self.importer.result()

    def stop(self):
        """Stop the import after the batch in flight and wait for its thread (its outcome no longer matters)."""
        self.feed.abort()
        if self.importer is not None:
            self.importer.thread.join()
        if self.presence is not None:
            self.presence.stop()

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
    * check mode and sources without an update time (a dump, another Typesense) read first, then
      import if needed (sequential path): the
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
            # A source without an update time (a dump, another Typesense) cannot say it is unchanged: read first.
            if self.check_mode or (self.before_read or {}).get("updatedAt") is None or unchanged:
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
        return self.verify_and_publish(result, reading, stream.name, query_by, queries, answers, fingerprint, True,
                                       presence=stream.presence)

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
                create_collection(self.typesense, schema, self.settings)
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
            "overrides": len(build_overrides(self.settings)),
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
        if hasattr(self.source, "query_by"):
            self.source.query_by = query_by  # a Typesense source is asked exactly what the target is asked
        answers = None
        if self.verify and self.source.searchable and query_by and queries:
            # Meilisearch's answers do not depend on Typesense: asked now, on their own connection, while
            # Typesense imports (not during the read: Meilisearch would serve pages and searches at once).
            answers = SourceAnswers(self.source, self.top_k, self.primary_key)
            answers.start(queries)
        return queries, answers

    def verify_and_publish(self, result, reading, collection, query_by, queries, answers, fingerprint, publish,
                           presence=None):
        """Verify the collection; when publish, point the alias at it, apply retention and record it in the ledger."""
        if self.verify:
            t0 = time.time()
            self.say("%s: verifying %s (counts, every id, %d sample queries)" % (self.alias, collection, len(queries)))
            # The export streams from Typesense while the last Meilisearch answers may still be coming.
            source_top = (lambda: answers.results(queries)) if answers is not None else None
            result["verification"] = verify_collection(self.source, self.typesense, collection, reading.ids,
                                                       self.primary_key, query_by, queries, self.top_k,
                                                       self.min_overlap, source_top=source_top, presence=presence)
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


ID_CHECK_CHUNK = 5000  # ids per filtered search


class IdPresence(object):
    """Looks for the source ids in a collection, in order, by searches filtered by id (Typesense.count_ids).

    The streamed import hands over the size of each batch Typesense has accepted (later): a
    background thread, on its own connection, looks for those ids while the next batch is imported.
    The verification looks for the rest (finish). It applies to ids that Typesense's filter syntax
    takes as they are (ids_filterable: Meilisearch's own rule for document ids): on the first chunk
    of other ids, or an error, it stops and is no longer `usable` (the caller checks otherwise).
    """

    def __init__(self, typesense, collection, source_ids):
        self.typesense, self.collection, self.ids = typesense, collection, source_ids
        self.checked = self.found = 0
        self.usable = hasattr(typesense, "count_ids")
        self.todo = self.thread = None

    def later(self, count):
        """Look for the next `count` source ids (imported already) in the background."""
        if self.thread is None:
            self.todo = queue.Queue()
            own = self.typesense.fork() if hasattr(self.typesense, "fork") else self.typesense
            self.thread = threading.Thread(target=self._work, args=(own,))
            self.thread.daemon = True
            self.thread.start()
        self.todo.put(count)

    def _work(self, typesense):
        while True:
            count = self.todo.get()
            if count is None:
                return
            try:
                self.advance(count, typesense)
            except Exception:  # the caller checks every id again (or exports them): the error shows there
                self.usable = False

    def stop(self):
        """Wait for the background searches (those handed over already)."""
        if self.thread is not None:
            self.todo.put(None)
            self.thread.join()
            self.thread = None

    def advance(self, count, typesense=None):
        """Look for the next `count` source ids now."""
        typesense = typesense or self.typesense
        while count > 0 and self.usable:
            chunk = self.ids[self.checked:self.checked + min(count, ID_CHECK_CHUNK)]
            if not chunk:
                return
            if not ids_filterable(chunk):
                self.usable = False
                return
            self.found += typesense.count_ids(self.collection, chunk)
            self.checked += len(chunk)
            count -= len(chunk)

    def finish(self):
        """Look for the ids not looked for yet; True when every source id was found."""
        self.stop()
        self.advance(len(self.ids) - self.checked)
        return self.usable and self.checked == len(self.ids) and self.found == self.checked


def ids_by_filter(typesense, collection, source_ids, target_count, presence=None):
    """The id check by searches filtered by id, or None when it cannot decide (then the export does).

    When the collection holds as many documents as there are source ids, all distinct, and every
    source id was found (IdPresence: during the import, or now), the collection's ids are exactly
    the source's. A presence check started during the import that did not find every id is done
    again once from the start (a node of a cluster may answer before it has applied the last
    writes). None for other ids, a count that differs, repeated source ids or ids not found: the
    export then names what differs.
    """
    count = len(source_ids)
    if target_count != count or len(set(source_ids)) != count:
        return None
    if presence is None or not presence.finish():
        presence = IdPresence(typesense, collection, source_ids)
        if not presence.finish():
            return None
    return {"method": "id filter", "found": presence.found, "missing": [], "missing_count": 0, "unexpected": [],
            "unexpected_count": 0, "duplicates": 0}


def ids_by_export(typesense, collection, source_ids):
    """The id check over Typesense's export of every id: names the missing, unexpected and repeated ids."""
    check = IdCheck(source_ids)
    for target_id in typesense.iter_export_ids(collection):
        check.add(target_id)
    return dict(check.result(), method="export")


def verify_collection(source, typesense, collection, source_ids, primary_key, query_by, queries, top_k, min_overlap,
                      source_top=None, presence=None):
    """Counts, ids and sample-query overlap between the source and a Typesense collection.

    Every source id is looked for in the collection (ids_by_filter; presence: an IdPresence that
    the import has advanced) and the counts compared; when that check fails or cannot be used, every id of the collection is streamed from Typesense's
    export and compared with the source's (missing, unexpected, repeated). source_top, when given,
    is a callable returning the source's top results for each query (fetched in the background);
    otherwise the source is queried here.
    """
    info = typesense.collection(collection) or {}
    target_count = info.get("num_documents")
    ids = ids_by_filter(typesense, collection, source_ids, target_count, presence)
    if ids is None:
        ids = ids_by_export(typesense, collection, source_ids)
    out = {"source_count": len(source_ids), "target_count": target_count, "ids": ids, "queries": [],
           "min_overlap": min_overlap}
    ok = (target_count == len(source_ids) and ids["missing_count"] == 0 and ids["unexpected_count"] == 0
          and ids["duplicates"] == 0 and ids.get("received", len(source_ids)) == len(source_ids))
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
