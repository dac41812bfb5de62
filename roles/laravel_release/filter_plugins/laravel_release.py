# -*- coding: utf-8 -*-
"""Pure logic of the laravel_release role: refs, release ids, the release before current, retention.

Kept here (and unit-tested in tests/unit/roles/test_laravel_release_filters.py) so that the task files stay
plain sequences.
"""

from __future__ import annotations

import re

SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")
RELEASE_RE = re.compile(r"^[0-9]{14}-[0-9a-f]{7,40}$")


def laravel_release_pick_sha(ls_remote_output, ref):
    """Return the commit `ref` names in `git ls-remote` output ('' when none).

    A peeled tag (refs/tags/X^{}) wins over the tag object; a branch wins over a tag of the same
    name; a ref that already is a commit id is returned as is when the remote does not list it.
    """
    found = {}
    for line in (ls_remote_output or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            found[parts[1]] = parts[0]
    for name in (f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", ref):
        if name in found:
            return found[name]
    if SHA_RE.match(str(ref)):
        return str(ref)
    return ""


def laravel_release_make_id(timestamp, sha):
    """Release id: UTC timestamp (YYYYmmddHHMMSS) + '-' + short sha (7)."""
    if not re.match(r"^[0-9]{14}$", str(timestamp)) or not SHA_RE.match(str(sha)):
        raise ValueError(f"bad release id parts: {timestamp!r}, {sha!r}")
    return f"{timestamp}-{str(sha)[:7]}"


def laravel_release_to_delete(releases, keep, current=None, previous=None):
    """Return the releases to delete, oldest first: all but the `keep` newest, never current or previous."""
    names = sorted(r for r in (releases or []) if RELEASE_RE.match(str(r)))
    keep = max(int(keep), 2)
    old = names[:-keep] if len(names) > keep else []
    return [r for r in old if r not in (current, previous)]


def laravel_release_before(releases, current):
    """Return the newest release older than `current` ('' when there is none)."""
    names = sorted(r for r in (releases or []) if RELEASE_RE.match(str(r)))
    older = [r for r in names if current is None or r < current]
    return older[-1] if older else ""


class FilterModule:
    """laravel_release filters."""

    def filters(self):
        return {
            "laravel_release_pick_sha": laravel_release_pick_sha,
            "laravel_release_make_id": laravel_release_make_id,
            "laravel_release_to_delete": laravel_release_to_delete,
            "laravel_release_before": laravel_release_before,
        }
