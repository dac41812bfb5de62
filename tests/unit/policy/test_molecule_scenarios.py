"""Every Molecule scenario runs the playbooks it ships.

The shared settings (.config/molecule/config.yml) replace Molecule's default sequence with one
that has no `prepare` and no `side_effect`. A scenario that ships prepare.yml or side_effect.yml
must list the step in its own test_sequence, or `molecule test` silently skips it (the security
scenario's scanner once ran its tests without nmap because of this).
"""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SHARED = yaml.safe_load((ROOT / ".config/molecule/config.yml").read_text(encoding="utf-8"))
SCENARIOS = sorted(p.parent for p in (ROOT / "molecule").glob("*/molecule.yml"))


def _sequence(scenario_dir):
    own = yaml.safe_load((scenario_dir / "molecule.yml").read_text(encoding="utf-8")) or {}
    return (own.get("scenario") or {}).get("test_sequence") or SHARED["scenario"]["test_sequence"]


@pytest.mark.parametrize("scenario_dir", SCENARIOS, ids=lambda p: p.name)
def test_shipped_steps_are_in_the_sequence(scenario_dir):
    sequence = _sequence(scenario_dir)
    for step in ("prepare", "side_effect"):
        if (scenario_dir / f"{step}.yml").exists():
            assert step in sequence, f"molecule/{scenario_dir.name}: ships {step}.yml but its test_sequence skips it"


@pytest.mark.parametrize("scenario_dir", SCENARIOS, ids=lambda p: p.name)
def test_sequence_checks_idempotence_and_cleans_up(scenario_dir):
    sequence = _sequence(scenario_dir)
    assert "idempotence" in sequence, f"molecule/{scenario_dir.name}: no idempotence step"
    assert sequence[0] == "destroy" and sequence[-1] == "destroy", f"molecule/{scenario_dir.name}: must start and end with destroy"
    assert sequence.index("converge") < sequence.index("idempotence") < sequence.index("verify")
