"""Mitogen's linear strategy (PyPI package `mitogen`, pinned in requirements.txt), on a fixed path.

Mitogen documents pointing `strategy_plugins` at the installed package's folder; that folder's path
depends on the virtualenv and the Python version. This file is found at a path the repository knows
(`lab/plugins/strategy`), so Molecule (.config/molecule/config.yml) and the lab's opt-in switch
(docs/lab.md) name one place. The strategy itself is Mitogen's, unchanged.
"""

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401  pylint: disable=unused-import
