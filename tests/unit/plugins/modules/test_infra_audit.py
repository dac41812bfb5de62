"""plugins/modules/infra_audit.py: one JSON line per action in the audit log, nothing in check mode."""

import json

from ansible_collections.infra.hosting.plugins.modules import infra_audit

PARAMS = {"actor": "alice", "action": "deploy", "target": "demo", "details": {"ref": "main"}, "result": "ok"}


def test_writes_one_line_with_the_actor(tmp_path):
    log = tmp_path / "audit.log"
    changed, record = infra_audit.record_action(dict(PARAMS, audit_log=str(log)), check_mode=False)
    assert changed
    line = json.loads(log.read_text().splitlines()[-1])
    assert line == record
    assert (line["actor"], line["action"], line["target"], line["details"]) == ("alice", "deploy", "demo", {"ref": "main"})
    assert set(line) == {"ts", "actor", "action", "target", "host", "details", "result"}


def test_check_mode_writes_nothing(tmp_path):
    log = tmp_path / "audit.log"
    changed, record = infra_audit.record_action(dict(PARAMS, audit_log=str(log)), check_mode=True)
    assert not changed and not log.exists()
    assert record["actor"] == "alice"


def test_appends(tmp_path):
    log = tmp_path / "audit.log"
    for _unused in range(2):
        infra_audit.record_action(dict(PARAMS, audit_log=str(log)), check_mode=False)
    assert len(log.read_text().splitlines()) == 2
