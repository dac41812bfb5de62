#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: migrate one Meilisearch index (or a Meilisearch dump, or another Typesense's collection) to a Typesense alias."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: search_migrate
short_description: Migrate a Meilisearch index or another Typesense's collection to a Typesense alias
description:
  - Reads the settings and every document of one Meilisearch index, in pages, through Meilisearch's
    documented API (or from a Meilisearch dump file, tar.gz). The index's C(updatedAt) and number of
    documents are taken before and after the read; if they differ (the index was written meanwhile), or
    the number of documents read differs, the run fails and publishes nothing (a collection being filled
    is dropped; the alias is untouched; run it again).
  - Keeps a ledger in Typesense (collection C(search_migrate_ledger), one document per alias) - the collection
    it published, its fingerprint, and the index's C(updatedAt), number of documents and settings digest
    at that time. When the alias still points at that collection and the index is in that same state, the
    run reads, fingerprints and verifies only, and writes nothing (C(changed=false)).
  - Otherwise (first run, changed index, no ledger entry) it streams - creates C(<alias>__run<date>_<time>_<hex>)
    with a schema from the index settings and the field types of the first batch, and imports JSONL batches
    while the index is still read. Every later document is checked against that schema before it is sent;
    if the schema of the documents diverges (a type widens, a searchable field appears late) the stream
    stops, the collection is dropped and the documents are imported after the read, into
    C(<alias>__<fingerprint>) with the schema of every document. If the content proves identical to the
    alias's collection (same fingerprint, only C(updatedAt) moved), the new collection is dropped, nothing is
    published (C(changed=false)) and the ledger entry is refreshed.
  - Check mode, O(state=verified) and dump sources read first and import after the read, into
    C(<alias>__<fingerprint>) (mapping rules in docs/search.md); an alias that already points at a complete
    copy of the data (by name, or by the ledger's fingerprint) is left alone.
  - Every answer line of the import is checked (a refused document fails the run; a streamed collection is
    then dropped); the counts must be equal, every id read must be found in the collection (searches filtered
    by id, 5,000 ids each, made while the next batch imports; for ids outside Meilisearch's id rule, or when
    that check fails, Typesense's export of every id names the missing, unexpected or repeated ids) and sample
    queries must return overlapping top results; then the alias
    is pointed at the new collection (atomic switch), the ledger updated, and older versions (both name
    forms) dropped except the previous one.
  - Pipelined (threads) - the next page is fetched while the current one is processed; while streaming, each
    chunk's JSONL lines are made from the text already computed for the fingerprint (documents that need no
    conversion are not encoded twice) and handed to the import thread in memory (up to 64 MiB, then through
    the spool file); Meilisearch's answers to the sample queries are fetched (own connection) while Typesense
    imports. Progress lines go to O(progress_file) when it is set.
  - O(source=typesense) moves a collection of another Typesense server (the legacy node) instead - the same run,
    not a second implementation. Its schema is copied as is (fields with their attributes, default sorting
    field, token separators, symbols to index), its synonyms and overrides are copied with their ids, its
    documents are read from C(/collections/<c>/documents/export) (JSONL), and the verification is the same -
    counts, every id, sample queries asked of both servers with the same parameters. O(index) names the
    source collection (or an alias, resolved on the source). Typesense keeps no update time, so such a run
    always reads the source before importing (the path of a dump) and imports only when the fingerprint of
    the documents, schema, synonyms and overrides differs from what the alias holds; its number of documents
    is compared before and after the read.
  - Runs at a lower CPU priority (O(nice)), so that the services of the host it runs on keep theirs.
  - Runs where both HTTP APIs are reachable; it needs only python3's standard library.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  source:
    description:
      - Where the documents come from - a Meilisearch index (O(meilisearch_url)), a Meilisearch dump file
        (O(dump_path)), or a collection of another Typesense server (O(typesense_source_url)).
    type: str
    choices: [meilisearch, dump, typesense]
    default: meilisearch
  meilisearch_url:
    description: Base URL of Meilisearch (source=meilisearch).
    type: str
    default: http://127.0.0.1:7700
  meilisearch_api_key:
    description: Meilisearch master or read key (source=meilisearch).
    type: str
  dump_path:
    description: Path of a Meilisearch dump (tar.gz) on the host that runs the module (source=dump).
    type: path
  typesense_source_url:
    description: Base URL of the source Typesense (source=typesense), for example the legacy node's loopback.
    type: str
  typesense_source_api_key:
    description: Admin API key of the source Typesense (source=typesense); only read there.
    type: str
  index:
    description: Meilisearch index uid, or the collection (or alias) of the source Typesense (source=typesense).
    type: str
    required: true
  typesense_url:
    description: Base URL of one node of the target Typesense (the cluster).
    type: str
    required: true
  typesense_api_key:
    description: Typesense admin API key.
    type: str
    required: true
  alias:
    description: Typesense alias the sites query (defaults to O(index)).
    type: str
  state:
    description:
      - C(migrated) imports when needed and publishes; C(verified) changes nothing and fails unless the alias
        already points at a verified, up-to-date copy of the source (used before retiring Meilisearch).
    type: str
    choices: [migrated, verified]
    default: migrated
  batch_size:
    description: Documents per JSONL import request.
    type: int
    default: 5000
  page_size:
    description: Documents per Meilisearch page.
    type: int
    default: 1000
  sample_queries:
    description: Queries whose top results are compared; empty takes words from sampled documents.
    type: list
    elements: str
    default: []
  top_k:
    description: Number of top results compared per query.
    type: int
    default: 10
  min_overlap:
    description: Least share of Meilisearch's top results that Typesense's top results must contain.
    type: float
    default: 0.6
  progress_file:
    description: File that receives one progress line per batch (follow it with tail -f).
    type: path
  timeout:
    description: HTTP timeout in seconds.
    type: int
    default: 300
  nice:
    description:
      - Niceness added to the module's process before it reads (0 to 19; 0 leaves its priority). The migration
        converts documents at full speed; at 10, the host's own services (the sites of the Meilisearch host)
        come first whenever they need the CPU.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    details: Reads both sides and reports what would be created and imported; writes nothing to Typesense (no stream, no ledger).
  diff_mode:
    support: full
    details: Shows the alias target and document count before and after.
notes:
  - A Typesense source is tested against a second real Typesense server (molecule/typesense).
  - Meilisearch is tested here against tests/standins/meilisearch_standin.py, a stand-in that implements
    only the documented endpoints listed above, not against a real Meilisearch.
"""

EXAMPLES = r"""
- name: Migrate the candidatures index
  infra.hosting.search_migrate:
    index: candidatures
    meilisearch_url: http://127.0.0.1:7700
    meilisearch_api_key: "{{ meilisearch_master_key }}"
    typesense_url: http://10.0.0.41:8108
    typesense_api_key: "{{ typesense_api_key }}"
    alias: candidatures
    progress_file: /var/log/search-migrate.log
  no_log: true

- name: Migrate from a dump file
  infra.hosting.search_migrate:
    source: dump
    dump_path: /var/backups/infra/meilisearch/20260101-000000.dump.tar.gz
    index: candidatures
    typesense_url: http://10.0.0.41:8108
    typesense_api_key: "{{ typesense_api_key }}"

- name: Move a collection of the legacy Typesense to the cluster (schema, synonyms and overrides as they are)
  infra.hosting.search_migrate:
    source: typesense
    typesense_source_url: http://127.0.0.1:8108
    typesense_source_api_key: "{{ typesense_legacy_api_key }}"
    index: aerotalent_candidates
    typesense_url: http://10.0.0.41:8108
    typesense_api_key: "{{ typesense_api_key }}"

- name: Refuse to go on unless the migration is verified
  infra.hosting.search_migrate:
    index: candidatures
    state: verified
    meilisearch_api_key: "{{ meilisearch_master_key }}"
    typesense_url: http://10.0.0.41:8108
    typesense_api_key: "{{ typesense_api_key }}"
"""

RETURN = r"""
alias:
  description: The alias published.
  returned: always
  type: str
collection:
  description:
    - The collection holding this version of the data - C(<alias>__run<date>_<time>_<hex>) when streamed,
      C(<alias>__<12 hex of fingerprint>) when imported after the read, or the alias's collection when unchanged.
  returned: always
  type: str
  sample: candidatures__run20261130_203512_a1b2
fingerprint:
  description: Fingerprint of the documents and settings read (recorded in the ledger when published).
  returned: always
  type: str
path:
  description:
    - C(streamed) - imported while the index was read; C(sequential) - read first, then imported if needed (check
      mode, state verified, dump or Typesense source, the ledger said unchanged, or a stream that was discarded).
  returned: always
  type: str
discarded:
  description:
    - A streamed collection that was dropped, with the reason - C(content unchanged) (same fingerprint as the
      alias's collection) or the schema divergence (the documents were then imported after the read).
  returned: when a stream was discarded
  type: dict
  sample: {"collection": "candidatures__run20261130_203512_a1b2", "reason": "content unchanged"}
previous_collection:
  description: The collection the alias pointed at before the run (kept for rollback).
  returned: always
  type: str
source_documents:
  description: Number of documents in the source.
  returned: always
  type: int
imported:
  description: Number of documents imported into C(collection) by this run (0 when nothing changed).
  returned: always
  type: int
would_import:
  description: Number of documents a real run would import (check mode).
  returned: when check mode and a change is needed
  type: int
schema:
  description: The Typesense schema built from the index settings (source=typesense - the source's, as is).
  returned: always
  type: dict
query_by:
  description: Searchable fields, in Meilisearch's ranking order.
  returned: always
  type: list
synonyms:
  description: Number of synonyms created with the collection.
  returned: always
  type: int
overrides:
  description: Number of overrides (curation rules) created with the collection (source=typesense).
  returned: always
  type: int
unsupported:
  description: Settings that have no Typesense equivalent, one note each.
  returned: always
  type: list
verification:
  description:
    - Counts (C(source_count), C(target_count)), the id check (C(ids) - C(method) C(id filter) with C(found), or
      C(export) with C(received) and C(duplicates); both with C(missing), C(unexpected) and their counts) and
      per-query overlaps (C(queries)); C(ok) is the verdict.
  returned: when verified
  type: dict
deleted_collections:
  description: Old versions dropped after the switch.
  returned: always
  type: list
timings:
  description:
    - Seconds spent in each phase that ran (read, import, verify, publish). When streamed, read and import overlap
      and C(import_wait) is the time the import went on after the read ended.
  returned: always
  type: dict
  sample: {"read": 3.7, "import": 6.1, "import_wait": 2.5, "verify": 0.0, "publish": 0.0}
seconds:
  description: Seconds of the whole run.
  returned: unless the run stopped early (check mode with a change, refused documents, failed verification)
  type: float
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_api import (
    DumpSource, MeiliSource, SearchHTTPError, Typesense, TypesenseSource)
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_run import migrate


def same_place(url_a, url_b):
    """True when two base URLs name the same server (a trailing slash and letter case aside)."""
    return (url_a or "").rstrip("/").lower() == (url_b or "").rstrip("/").lower()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source=dict(type="str", choices=["meilisearch", "dump", "typesense"], default="meilisearch"),
            meilisearch_url=dict(type="str", default="http://127.0.0.1:7700"),
            meilisearch_api_key=dict(type="str", no_log=True),
            dump_path=dict(type="path"),
            typesense_source_url=dict(type="str"),
            typesense_source_api_key=dict(type="str", no_log=True),
            index=dict(type="str", required=True),
            typesense_url=dict(type="str", required=True),
            typesense_api_key=dict(type="str", required=True, no_log=True),
            alias=dict(type="str"),
            state=dict(type="str", choices=["migrated", "verified"], default="migrated"),
            batch_size=dict(type="int", default=5000),
            page_size=dict(type="int", default=1000),
            sample_queries=dict(type="list", elements="str", default=[]),
            top_k=dict(type="int", default=10),
            min_overlap=dict(type="float", default=0.6),
            progress_file=dict(type="path"),
            timeout=dict(type="int", default=300),
            nice=dict(type="int", default=10),
        ),
        required_if=[("source", "dump", ["dump_path"]),
                     ("source", "typesense", ["typesense_source_url", "typesense_source_api_key"])],
        supports_check_mode=True,
    )
    p = module.params
    if not 0 <= p["nice"] <= 19:
        module.fail_json(msg="nice must be between 0 and 19, got %d" % p["nice"])
    if p["nice"]:
        os.nice(p["nice"])
    alias = p["alias"] or p["index"]
    if p["source"] == "typesense" and same_place(p["typesense_source_url"], p["typesense_url"]) and alias == p["index"]:
        module.fail_json(msg="source and target are the same Typesense and the same name (%s): nothing to move" % alias)
    if p["source"] == "dump":
        source = DumpSource(p["dump_path"], p["index"])
    elif p["source"] == "typesense":
        source = TypesenseSource(p["typesense_source_url"], p["typesense_source_api_key"], p["index"], p["timeout"])
    else:
        source = MeiliSource(p["meilisearch_url"], p["meilisearch_api_key"], p["index"], p["page_size"], p["timeout"])
    typesense = Typesense(p["typesense_url"], p["typesense_api_key"], p["timeout"])
    progress_handle = open(p["progress_file"], "a") if p["progress_file"] else None

    def progress(msg):
        if progress_handle:
            progress_handle.write(msg + "\n")
            progress_handle.flush()

    read_only = module.check_mode or p["state"] == "verified"
    try:
        result = migrate(source, typesense, alias, batch_size=p["batch_size"], check_mode=read_only,
                         sample_queries=p["sample_queries"], top_k=p["top_k"], min_overlap=p["min_overlap"],
                         progress=progress)
    except (SearchHTTPError, ValueError, OSError) as exc:
        module.fail_json(msg="migration of %s failed: %s" % (p["index"], exc), exception=traceback.format_exc())
    finally:
        if progress_handle:
            progress_handle.close()
    diff = result.pop("diff")
    if module._diff and result["changed"]:
        result["diff"] = diff
    if p["state"] == "verified":
        if result["changed"] or not result.get("verification", {}).get("ok"):
            result["changed"] = False
            module.fail_json(msg="index %s is not migrated and verified: alias %s points at %s, the source needs %s"
                             % (p["index"], alias, result["previous_collection"], result["collection"]), **result)
        result["verified"] = True
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
