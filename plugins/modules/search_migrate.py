#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: migrate one Meilisearch index (or a Meilisearch dump) to a Typesense alias."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: search_migrate
short_description: Migrate a Meilisearch index to a Typesense collection published through an alias
description:
  - Reads the settings and every document of one Meilisearch index, in pages, through Meilisearch's
    documented API (or from a Meilisearch dump file, tar.gz). The index's C(updatedAt) and number of
    documents are taken before and after the read; if they differ (the index was written meanwhile), or
    the number of documents read differs, the run fails before writing anything (run it again).
  - Creates a Typesense collection named C(<alias>__<fingerprint>) from the index settings (mapping rules in
    docs/search.md), imports the documents in JSONL batches checking every answer line, verifies that
    the counts are equal, that the ids exported by Typesense are exactly the ids read (none missing,
    unexpected or repeated) and that sample queries return overlapping top results, then points
    the alias at the new collection (atomic switch) and drops older versions except the previous one.
  - Pipelined (threads, bounded queues) - the next page is fetched while the current one is processed,
    the next JSONL batch is prepared while Typesense imports the current one, Meilisearch's answers to the
    sample queries are fetched (own connection) while Typesense imports, and the ids are compared while
    Typesense's export streams in. The import starts only when the read is complete, because the
    schema and the collection name depend on every document.
  - The fingerprint covers the documents and the settings, so a second run over an unchanged source is a
    no-op. Progress lines go to O(progress_file) when it is set.
  - Runs where both HTTP APIs are reachable; it needs only python3's standard library.
version_added: "1.0.0"
author: infrastructure team
options:
  source:
    description: Where the documents come from.
    type: str
    choices: [meilisearch, dump]
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
  index:
    description: Meilisearch index uid.
    type: str
    required: true
  typesense_url:
    description: Base URL of one Typesense node.
    type: str
    required: true
  typesense_api_key:
    description: Typesense admin API key.
    type: str
    required: true
  alias:
    description: Typesense alias the sites query (defaults to the index uid).
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
attributes:
  check_mode:
    support: full
    details: Reads both sides and reports what would be created and imported; writes nothing to Typesense.
  diff_mode:
    support: full
    details: Shows the alias target and document count before and after.
notes:
  - Meilisearch is tested here against tests/standins/meilisearch_standin.py, a stand-in that implements
    only the documented endpoints listed above, not against a real Meilisearch.
"""

EXAMPLES = r"""
- name: Migrate the candidatures index
  search_migrate:
    index: candidatures
    meilisearch_url: http://127.0.0.1:7700
    meilisearch_api_key: "{{ meilisearch_master_key }}"
    typesense_url: http://10.0.0.41:8108
    typesense_api_key: "{{ typesense_api_key }}"
    alias: candidatures
    progress_file: /var/log/search-migrate.log
  no_log: true

- name: Migrate from a dump file
  search_migrate:
    source: dump
    dump_path: /var/backups/infra/meilisearch/20260101-000000.dump.tar.gz
    index: candidatures
    typesense_url: http://10.0.0.41:8108
    typesense_api_key: "{{ typesense_api_key }}"

- name: Refuse to go on unless the migration is verified
  search_migrate:
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
  description: The collection holding this version of the data.
  returned: always
  type: str
  sample: candidatures__3f1a9c0b22de
previous_collection:
  description: The collection the alias pointed at before the run (kept for rollback).
  returned: always
  type: str
source_documents:
  description: Number of documents in the source.
  returned: always
  type: int
imported:
  description: Number of documents imported by this run (0 when nothing changed).
  returned: always
  type: int
would_import:
  description: Number of documents a real run would import (check mode).
  returned: when check mode and a change is needed
  type: int
schema:
  description: The Typesense schema built from the index settings.
  returned: always
  type: dict
query_by:
  description: Searchable fields, in Meilisearch's ranking order.
  returned: always
  type: list
unsupported:
  description: Settings that have no Typesense equivalent, one note each.
  returned: always
  type: list
verification:
  description:
    - Counts (C(source_count), C(target_count), C(exported)), id differences (C(ids) - C(missing), C(unexpected)
      with their counts, C(received), C(duplicates)) and per-query overlaps (C(queries)); C(ok) is the verdict.
  returned: when verified
  type: dict
deleted_collections:
  description: Old versions dropped after the switch.
  returned: always
  type: list
timings:
  description: Seconds spent in each phase that ran (read, import, verify, publish).
  returned: always
  type: dict
  sample: {"read": 6.1, "import": 24.0, "verify": 2.2, "publish": 0.1}
seconds:
  description: Seconds of the whole run.
  returned: unless the run stopped early (check mode with a change, refused documents, failed verification)
  type: float
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.search_migrate_run import DumpSource, MeiliSource, SearchHTTPError, Typesense, migrate


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source=dict(type="str", choices=["meilisearch", "dump"], default="meilisearch"),
            meilisearch_url=dict(type="str", default="http://127.0.0.1:7700"),
            meilisearch_api_key=dict(type="str", no_log=True),
            dump_path=dict(type="path"),
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
        ),
        required_if=[("source", "dump", ["dump_path"])],
        supports_check_mode=True,
    )
    p = module.params
    alias = p["alias"] or p["index"]
    if p["source"] == "dump":
        source = DumpSource(p["dump_path"], p["index"])
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
