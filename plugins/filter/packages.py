# -*- coding: utf-8 -*-
"""Which of a role's packages are not installed yet, so that a converge with nothing to install skips apt.

- ``packages_missing(wanted, facts, fresh=False)``: the names of `wanted` (a name or a list of
  names) that `facts['packages']` (ansible.builtin.package_facts) does not list; every name of
  `wanted` when `fresh` is false or the package facts are absent.

An apt task with nothing to install still opens the package cache on the host: about 1.3 s per
task, nine of them on a web node. The playbooks read the installed packages once per run
(playbooks/tasks/installed_packages.yml, which sets ``installed_packages_fresh``) and each role's
install task runs only for what this filter returns. Facts cached from an earlier run (the fact
cache keeps them two hours) are never trusted: without this run's read, every package is
"missing" and apt decides, as it did before. A package installed by an earlier role of the same
run is still missing here and apt finds it present: correct, only slower. A name with an
architecture or version suffix (``pkg:amd64``, ``pkg=1.2``) is compared by its name.
"""

from __future__ import annotations


def packages_missing(wanted, facts, fresh=False):
    """Return the names of `wanted` that the package facts do not list (all of them when not fresh)."""
    names = [wanted] if isinstance(wanted, str) else list(wanted or [])
    installed = (facts or {}).get("packages") if fresh else None
    if not installed:
        return names
    return [name for name in names if str(name).split("=", 1)[0].split(":", 1)[0] not in installed]


class FilterModule:
    """Package filters."""

    def filters(self):
        """Map filter names to functions."""
        return {"packages_missing": packages_missing}
