# -*- coding: utf-8 -*-
"""Which of a role's packages are not installed yet, so that a converge with nothing to install skips apt.

- ``packages_missing(wanted, installed, fresh=False)``: the names of `wanted` (a name or a list of
  names) that `installed` (the run's ``installed_packages``: the names of the packages in dpkg's
  state "ii", read by playbooks/tasks/installed_packages.yml) does not hold; every name of `wanted`
  when `fresh` is false or `installed` is not such a list.

An apt task with nothing to install still opens the package cache on the host: about 1.3 s per
task, nine of them on a web node. The playbooks read the installed packages' names once per run
(playbooks/tasks/installed_packages.yml, which sets ``installed_packages`` and
``installed_packages_fresh``) and each role's install task runs only for what this filter returns.
A read of an earlier run is never trusted: without this run's read, every package is "missing" and
apt decides, as it did before. A mapping in place of the list (the host's facts, as the filter was
called when it read ``ansible.builtin.package_facts``) is not trusted either: facts are cached
between runs. A package installed by an earlier role of the same run is still missing here and
apt finds it present: correct, only slower. A name with an architecture or version suffix
(``pkg:amd64``, ``pkg=1.2``) is compared by its name.
"""

from __future__ import annotations

from collections.abc import Mapping


def packages_missing(wanted, installed, fresh=False):
    """Return the names of `wanted` that `installed` does not hold (all of them when not fresh)."""
    names = [wanted] if isinstance(wanted, str) else list(wanted or [])
    if not fresh or not installed or isinstance(installed, (str, Mapping)):
        return names
    present = set(installed)
    return [name for name in names if str(name).split("=", 1)[0].split(":", 1)[0] not in present]


class FilterModule:
    """Package filters."""

    def filters(self):
        """Map filter names to functions."""
        return {"packages_missing": packages_missing}
