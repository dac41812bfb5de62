#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: move one Meilisearch index (or a legacy Typesense's collection) to a Typesense alias."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: search_migrate
short_description: Migrate a Meilisearch index or another Typesense's collection to a Typesense alias
description:
  - Reads the settings and every document of one Meilisearch index (documented API, in pages), or of one collection
    of another Typesense server (O(source=typesense), the legacy node - schema, synonyms and overrides copied as they
    are). The source's state (C(updatedAt) and number of documents) must be the same after the read as before it,
    or the run fails and publishes nothing.
  - A ledger in Typesense (collection C(search_migrate_ledger), one document per alias) records what was published
    and the source's state then; when the index is still in that state, the run reads and verifies only and writes
    nothing. Otherwise a Meilisearch index is streamed into C(<alias>__run<date>_<time>_<hex>) (schema of the first
    batch; a schema that diverges later falls back to importing after the read); check mode, O(state=verified) and
    a Typesense source read first and import into C(<alias>__<fingerprint>) only when the alias does not already
    hold this data (mapping rules in docs/search.md).
  - Every import answer line is checked; counts, every id and the top results of sample queries asked of both
    servers are verified before the alias is switched (atomic), the ledger updated and older versions dropped
    except the previous one. Runs at CPU niceness 10, with python3's standard library only.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  source:
    description: Where the documents come from - a Meilisearch index, or a collection of another Typesense server.
    type: str
    choices: [meilisearch, typesense]
    default: meilisearch
  meilisearch_url:
    description: Base URL of Meilisearch (O(source=meilisearch)).
    type: str
    default: http://127.0.0.1:7700
  meilisearch_api_key:
    description: Meilisearch master or read key (O(source=meilisearch)).
    type: str
  typesense_source_url:
    description: Base URL of the source Typesense (O(source=typesense)), for example the legacy node's loopback.
    type: str
  typesense_source_api_key:
    description: Admin API key of the source Typesense (O(source=typesense)); only read there.
    type: str
  index:
    description: Meilisearch index uid, or the collection (or alias) of the source Typesense.
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
  sample_queries:
    description: Queries whose top 10 results are compared; empty takes words from sampled documents.
    type: list
    elements: str
    default: []
  min_overlap:
    description: Least share of the source's top results that Typesense's top results must contain.
    type: float
    default: 0.6
  progress_file:
    description: File that receives one progress line per batch (follow it with tail -f).
    type: path
attributes:
  check_mode:
    support: full
    details: Reads both sides and reports what would be imported; writes nothing to Typesense (no stream, no ledger).
  diff_mode:
    support: full
    details: Shows the alias target and document count before and after.
notes:
  - A Typesense source is tested against a second real Typesense server (molecule/typesense).
  - Meilisearch is tested against tests/standins/meilisearch_standin.py, a stand-in that implements only the
    documented endpoints the module uses, not against a real Meilisearch.
"""

EXAMPLES = r"""
- name: Migrate the candidatures index
  infra.hosting.search_migrate:
    index: candidatures
    meilisearch_api_key: "{{ meilisearch_master_key }}"
    typesense_url: http://10.0.0.41:8108
    typesense_api_key: "{{ typesense_api_key }}"
    progress_file: /var/log/search-migrate.log

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
alias: {description: The alias published., returned: always, type: str}
collection:
  description:
    - The collection holding this version of the data - C(<alias>__run<date>_<time>_<hex>) when streamed,
      C(<alias>__<12 hex of fingerprint>) when imported after the read, or the alias's collection when unchanged.
  returned: always
  type: str
  sample: candidatures__run20261130_203512_a1b2
previous_collection: {description: The collection the alias pointed at before the run (kept for rollback)., returned: always, type: str}
fingerprint: {description: Fingerprint of the documents and settings read (recorded in the ledger)., returned: always, type: str}
path:
  description: C(streamed) (imported while the index was read) or C(sequential) (read first, then imported if needed).
  returned: always
  type: str
discarded:
  description: A streamed collection that was dropped, and why (C(content unchanged) or the schema divergence).
  returned: when a stream was discarded
  type: dict
  sample: {"collection": "candidatures__run20261130_203512_a1b2", "reason": "content unchanged"}
source_documents: {description: Number of documents in the source., returned: always, type: int}
imported: {description: Number of documents imported by this run (0 when nothing changed)., returned: always, type: int}
would_import: {description: Number of documents a real run would import., returned: when check mode and a change is needed, type: int}
schema: {description: The Typesense schema (O(source=typesense) - the source's as is)., returned: always, type: dict}
query_by: {description: Searchable fields in the source's ranking order., returned: always, type: list}
synonyms: {description: Number of synonyms created with the collection., returned: always, type: int}
overrides: {description: Number of overrides created with the collection (O(source=typesense))., returned: always, type: int}
unsupported: {description: Settings that have no Typesense equivalent (one note each)., returned: always, type: list}
verification:
  description:
    - Counts (C(source_count), C(target_count)), the id check (C(ids) - C(method) C(id filter) with C(found), or
      C(export) with C(received) and C(duplicates); both with C(missing), C(unexpected) and their counts) and
      per-query overlaps (C(queries)); C(ok) is the verdict.
  returned: when verified
  type: dict
deleted_collections: {description: Old versions dropped after the switch., returned: always, type: list}
timings:
  description: Seconds of each phase that ran; when streamed, C(import_wait) is the import's time after the read.
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
    MeiliSource, SearchHTTPError, Typesense, TypesenseSource)
from ansible_collections.infra.hosting.plugins.module_utils.search_migrate_run import migrate

NICE = 10
ARGUMENT_SPEC = dict(
    source=dict(type="str", choices=["meilisearch", "typesense"], default="meilisearch"),
    meilisearch_url=dict(type="str", default="http://127.0.0.1:7700"),
    meilisearch_api_key=dict(type="str", no_log=True),
    typesense_source_url=dict(type="str"),
    typesense_source_api_key=dict(type="str", no_log=True),
    index=dict(type="str", required=True),
    typesense_url=dict(type="str", required=True),
    typesense_api_key=dict(type="str", required=True, no_log=True),
    alias=dict(type="str"),
    state=dict(type="str", choices=["migrated", "verified"], default="migrated"),
    sample_queries=dict(type="list", elements="str", default=[]),
    min_overlap=dict(type="float", default=0.6),
    progress_file=dict(type="path"),
)


def refusal(p, alias):
    """Why the parameters cannot be run as given (None when they can)."""
    same_server = (p["typesense_source_url"] or "").rstrip("/").lower() == p["typesense_url"].rstrip("/").lower()
    if p["source"] == "typesense" and same_server and alias == p["index"]:
        return "source and target are the same Typesense and the same name (%s): nothing to move" % alias
    return None


def run(module, p, alias):
    """The migration, its progress lines appended to progress_file."""
    if p["source"] == "typesense":
        source = TypesenseSource(p["typesense_source_url"], p["typesense_source_api_key"], p["index"])
    else:
        source = MeiliSource(p["meilisearch_url"], p["meilisearch_api_key"], p["index"])
    handle = open(p["progress_file"], "a") if p["progress_file"] else None

    def progress(msg):
        if handle:
            handle.write(msg + "\n")
            handle.flush()
    try:
        os.nice(NICE)
        return migrate(source, Typesense(p["typesense_url"], p["typesense_api_key"]), alias,
                       check_mode=module.check_mode or p["state"] == "verified",
                       sample_queries=p["sample_queries"], min_overlap=p["min_overlap"], progress=progress)
    except (SearchHTTPError, ValueError, OSError) as exc:
        module.fail_json(msg="migration of %s failed: %s" % (p["index"], exc), exception=traceback.format_exc())
    finally:
        if handle:
            handle.close()


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_if=[("source", "typesense", ["typesense_source_url", "typesense_source_api_key"])])
    p = module.params
    alias = p["alias"] or p["index"]
    refused = refusal(p, alias)
    if refused:
        module.fail_json(msg=refused)
    report(module, p, alias, run(module, p, alias))


def report(module, p, alias, result):
    """exit_json, or fail_json for refused documents, a failed verification or (state verified) a change needed."""
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
