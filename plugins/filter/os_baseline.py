# -*- coding: utf-8 -*-
"""What of the OS baseline differs from what it should be (roles/os_hardening), read in one call.

sysctl_drift: one `sysctl -n KEY...` reads every live value; the keys that differ are set by one
`sysctl -w`. sysctl_boot_order: the order in which the boot file (systemd-sysctl) sets the keys, by the
same rule as sysctl_drift's writes (forwarding first: writing it resets accept_redirects).
permissions_drift: one `stat` reads the owner, group and mode of every protected path;
only those that differ go to the file module. Instead of one task item per key or path, each
costing a round trip to the host on every run.
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
    drift = [key for key, now in zip(keys, live) if _norm(now) != _norm(wanted[key])]
    forwarding = [key for key in drift if _is_forwarding(key)]
    if forwarding:
        # Writing a forwarding key makes Linux reset net.ipv4.conf.all.accept_redirects to "not
        # forwarding" (inet_forward_change), so a key that matched before the write may not after
        # it: the forwarding keys go first and every accept_redirects key is written after them.
        rest = [key for key in drift if key not in forwarding]
        drift = forwarding + rest + [k for k in keys if k.endswith(".accept_redirects") and k not in rest]
    return [f"{key}={wanted[key]}" for key in drift]


def _is_forwarding(key):
    return key == "net.ipv4.ip_forward" or key.endswith(".forwarding")


def sysctl_boot_order(wanted):
    """Return the keys of `wanted` in the order a sysctl.d file must set them: forwarding keys first.

    systemd-sysctl applies a file line by line. Sorted by name, net.ipv4.conf.all.accept_redirects comes
    before net.ipv4.ip_forward, and writing ip_forward makes Linux set accept_redirects back to "not
    forwarding" (inet_forward_change): every boot left accept_redirects at 1 until the next converge.
    """
    if not isinstance(wanted, dict):
        raise AnsibleFilterError(f"sysctl_boot_order: expected a mapping of keys to values, got {type(wanted).__name__}")
    keys = sorted(str(key) for key in wanted)
    return [key for key in keys if _is_forwarding(key)] + [key for key in keys if not _is_forwarding(key)]


def permissions_drift(wanted, stat_lines, missing=False):
    """Return the entries of `wanted` ({path, owner, group, mode}) that differ from what is there.

    `stat_lines` are `stat -c '%n|%U|%G|%a'` lines of the paths that exist (a missing path prints
    nothing on stdout). A missing path is drift only with `missing=True` (a directory to create);
    otherwise there is nothing to enforce there.
    """
    live = {}
    for line in stat_lines or []:
        parts = str(line).rsplit("|", 3)
        if len(parts) != 4:
            raise AnsibleFilterError(f"permissions_drift: unexpected stat line {line!r}")
        live[parts[0]] = (parts[1], parts[2], int(parts[3], 8))
    out = []
    for entry in wanted or []:
        now = live.get(entry["path"])
        if now is None:
            if missing:
                out.append(entry)
        elif now != (entry["owner"], entry["group"], int(str(entry["mode"]), 8)):
            out.append(entry)
    return out


class FilterModule:
    """OS baseline filters."""

    def filters(self):
        return {"sysctl_drift": sysctl_drift, "sysctl_boot_order": sysctl_boot_order, "permissions_drift": permissions_drift}
