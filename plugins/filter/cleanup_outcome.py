# -*- coding: utf-8 -*-
"""What a destructive step refused or failed, per name, from the module's own result fields.

- ``cleanup_problems(result, loop_var="item", name=None)``: one line per refused or failed name of a
  registered result (a loop's, with ``results``, or a single task's), in the order the names were
  tried: ``<name>: refused / refusé: <reasons>`` (the module's ``refused`` and ``reasons``, or its
  ``msg``) or ``<name>: failed / échec: <msg>`` (``failed`` without ``refused``), or ``unreachable``.
  Names that succeeded or were skipped give no line. A loop item's name is ``<engine>/<name>`` when
  the item is a dict with both, its ``name`` (or ``site``) otherwise, or the item itself; ``name``
  names a single result.
- ``cleanup_done(result, loop_var="item")``: the names of a loop that were neither refused, failed nor
  skipped (retired, or absent already).

The plays gather every name's result first (a loop tries every item), then one task fails with
these lines (db_cleanup.yml, site_cleanup.yml): every reason is printed at default verbosity.
"""

from __future__ import absolute_import, division, print_function


def _item_name(item):
    if isinstance(item, dict):
        if item.get("engine") and item.get("name"):
            return "%s/%s" % (item["engine"], item["name"])
        return str(item.get("name") or item.get("site") or item)
    return str(item)


def _last_line(text):
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _reason(result):
    """The module's message, or what Ansible kept of a crash (its last stderr line)."""
    msg = result.get("msg")
    if msg and msg != "MODULE FAILURE\nSee stdout/stderr for the exact error":
        return str(msg).strip()
    for key in ("module_stderr", "exception", "stderr", "module_stdout"):
        if result.get(key):
            return "%s (%s)" % (_last_line(result[key]), str(msg or "module failure").splitlines()[0])
    return str(msg or "failed without a message")


def _line(result, name):
    if result.get("skipped"):
        return None
    if result.get("unreachable"):
        return "%s: unreachable / injoignable: %s" % (name, _reason(result))
    if result.get("refused"):
        reasons = [str(r) for r in result.get("reasons") or [] if str(r).strip()]
        return "%s: refused / refusé: %s" % (name, "; ".join(reasons) if reasons else _reason(result))
    if result.get("failed"):
        return "%s: failed / échec: %s" % (name, _reason(result))
    return None


def cleanup_problems(result, loop_var="item", name=None):
    """Lines naming every refused or failed name of ``result`` with its reason (see the module doc)."""
    if not isinstance(result, dict):
        return []
    lines = []
    if isinstance(result.get("results"), list):
        for each in result["results"]:
            if not isinstance(each, dict):
                continue
            item = each.get(loop_var, each.get("item", each.get("_ansible_item_label", "?")))
            line = _line(each, _item_name(item))
            if line:
                lines.append(line)
        if not lines and result.get("failed"):
            # The task failed before or outside its items (a templating error of its arguments).
            lines.append(_line(result, name or "task") or "")
        return lines
    line = _line(result, name or "task")
    return [line] if line else []


def cleanup_done(result, loop_var="item"):
    """Names of a loop's result that neither failed, were refused nor were skipped (changed or a no-op)."""
    if not isinstance(result, dict) or not isinstance(result.get("results"), list):
        return []
    return [_item_name(each.get(loop_var, each.get("item", "?"))) for each in result["results"]
            if isinstance(each, dict) and not (each.get("failed") or each.get("refused") or each.get("skipped")
                                               or each.get("unreachable"))]


class FilterModule:
    """Outcome of the destructive steps (database and site cleanup)."""

    def filters(self):
        return {"cleanup_problems": cleanup_problems, "cleanup_done": cleanup_done}
