# -*- coding: utf-8 -*-
"""sysctl_drift: which kernel settings differ live from what they should be (roles/os_hardening).

One `sysctl -n KEY...` reads every live value at once; this filter compares them with the wanted
ones, so that one `sysctl -w` sets only those that differ (instead of one task item per key).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _norm(value):
    # sysctl prints some multi-value settings with tabs ("1024\t65000"); compare word by word.
    return " ".join(str(value).split())


def sysctl_drift(wanted, keys, live_lines):
    """Return ["key=value", ...] for the `keys` whose live value (line i of `live_lines`) differs from wanted[key]."""
    keys = list(keys or [])
    live = list(live_lines or [])
    if len(live) != len(keys):
        raise AnsibleFilterError(f"sysctl_drift: {len(keys)} keys but {len(live)} live values")
    return [f"{key}={wanted[key]}" for key, now in zip(keys, live) if _norm(now) != _norm(wanted[key])]


class FilterModule:
    """sysctl filters."""

    def filters(self):
        return {"sysctl_drift": sysctl_drift}
