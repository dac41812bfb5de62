# -*- coding: utf-8 -*-
"""Shared helpers of the cleanup tools (site cleanup, database cleanup).

Small, stable API (both cleanups import it):

- ``audit_append(path, record)``: append one JSON object per line to the audit log
  (fields ts, actor, action, target, host, details, result); returns the line written.
- ``write_report(json_path, md_path, report)``: write a plan report as JSON and Markdown.
- ``render_markdown(report)``: the Markdown text of a report (used by write_report).

A report is ``{generated_at, host, window, items: [{name, kind, classification, reason,
evidence, frees_bytes}], ...}``; extra top-level keys (``summary``, ``notes``) are kept.
"""

from __future__ import absolute_import, division, print_function

import datetime
import getpass
import json
import os
import socket

# The audit log of every retirement, removal and refusal (the modules' audit_log default).
AUDIT_LOG = "/var/log/infra-audit.log"
AUDIT_FIELDS = ("ts", "actor", "action", "target", "host", "details", "result")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def audit_append(path, record):
    """Append ``record`` to the audit log at ``path`` (one JSON object per line).

    Missing fields get defaults: ts (now, UTC), actor (SUDO_USER or login name), host
    (this host's name), details ({}), result ("ok"). Unknown fields are refused so that
    the two cleanups keep the same format.
    """
    unknown = set(record) - set(AUDIT_FIELDS)
    if unknown:
        raise ValueError("audit record has unknown field(s): %s" % ", ".join(sorted(unknown)))
    if not record.get("action") or not record.get("target"):
        raise ValueError("audit record needs an action and a target")
    try:
        actor = os.environ.get("SUDO_USER") or getpass.getuser()
    except Exception:  # pylint: disable=broad-except
        actor = "unknown"
    line = {
        "ts": record.get("ts") or _now(),
        "actor": record.get("actor") or actor,
        "action": record["action"],
        "target": record["target"],
        "host": record.get("host") or socket.gethostname(),
        "details": record.get("details") or {},
        "result": record.get("result") or "ok",
    }
    text = json.dumps(line, sort_keys=True) + "\n"
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o750)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    return line


def human_bytes(value):
    value = float(value or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return "%d B" % value


def _cell(value):
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def render_markdown(report):
    """Markdown text of a report: a header, the notes, then one table of items."""
    items = report.get("items") or []
    total = sum(int(i.get("frees_bytes") or 0) for i in items)
    lines = [
        "# %s" % report.get("title", "Cleanup plan"),
        "",
        "- Host: `%s`" % report.get("host", ""),
        "- Generated at: %s" % report.get("generated_at", ""),
        "- Window: %s" % _cell(report.get("window", "")),
        "- Items: %d, disk freed if all are removed: %s" % (len(items), human_bytes(total)),
    ]
    for note in report.get("notes") or []:
        lines.append("- Note: %s" % note)
    lines += ["", "| Name | Kind | Classification | Reason | Evidence | Frees |",
              "|---|---|---|---|---|---|"]
    for item in items:
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            _cell(item.get("name")), _cell(item.get("kind")), _cell(item.get("classification")),
            _cell(item.get("reason")), _cell(item.get("evidence")),
            human_bytes(item.get("frees_bytes"))))
    if not items:
        lines.append("| (nothing to report) | | | | | |")
    return "\n".join(lines) + "\n"


def _atomic_write(path, text):
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o750)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.rename(tmp, path)


def write_report(json_path, md_path, report):
    """Write ``report`` as JSON (sorted, indented) and Markdown; returns the two paths."""
    for key in ("host", "window", "items"):
        if key not in report:
            raise ValueError("report needs a '%s' field" % key)
    report = dict(report)
    report.setdefault("generated_at", _now())
    _atomic_write(json_path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    _atomic_write(md_path, render_markdown(report))
    return json_path, md_path
