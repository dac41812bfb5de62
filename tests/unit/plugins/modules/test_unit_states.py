"""plugins/modules/unit_states.py: one `systemctl show` read, only the differing units acted on."""

import pytest

from ansible_collections.infra.hosting.plugins.modules import unit_states

SHOW = """Id=nginx.service
LoadState=loaded
ActiveState=active
UnitFileState=enabled
NeedDaemonReload=no

Id=fail2ban.service
LoadState=loaded
ActiveState=inactive
UnitFileState=disabled
NeedDaemonReload=no

Id=gone.service
LoadState=not-found
ActiveState=inactive
UnitFileState=
NeedDaemonReload=no
"""
NAMES = ["nginx.service", "fail2ban.service", "gone.service"]


def test_parse_keeps_the_order_asked():
    states = unit_states.parse_show(SHOW, NAMES)
    assert states["fail2ban.service"]["ActiveState"] == "inactive"
    assert states["gone.service"]["LoadState"] == "not-found"


@pytest.mark.parametrize("name,full", [("nginx", "nginx.service"), ("x.timer", "x.timer"), ("php-fpm@a", "php-fpm@a.service")])
def test_unit_names(name, full):
    assert unit_states.unit_name(name) == full


def test_only_what_differs_is_acted_on():
    states = unit_states.parse_show(SHOW, NAMES)
    actions, reload_needed, errors = unit_states.plan(
        [{"name": "nginx", "state": "started", "enabled": True},
         {"name": "fail2ban", "state": "started", "enabled": True},
         {"name": "gone", "state": "stopped", "enabled": False}], states)
    assert actions == [("fail2ban.service", ["enable", "start"])]
    assert not reload_needed and not errors


def test_off_before_mask():
    states = {"php8.2-fpm.service": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled"}}
    actions, _unused, _unused = unit_states.plan([{"name": "php8.2-fpm", "state": "stopped", "enabled": False, "masked": True}], states)
    assert actions == [("php8.2-fpm.service", ["stop", "disable", "mask"])]
    masked = {"php8.2-fpm.service": {"LoadState": "masked", "ActiveState": "inactive", "UnitFileState": "masked"}}
    assert unit_states.plan([{"name": "php8.2-fpm", "state": "stopped", "enabled": False, "masked": True}], masked)[0] == []


def test_a_unit_systemd_does_not_know_is_named_when_asked_started():
    states = unit_states.parse_show(SHOW, NAMES)
    _unused, _unused, errors = unit_states.plan([{"name": "gone", "state": "started"}], states)
    assert errors == ["unit gone.service: systemd does not know it (not installed?)"]


def test_a_changed_unit_file_asks_for_a_daemon_reload():
    states = {"a.service": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled", "NeedDaemonReload": "yes"}}
    actions, reload_needed, _unused = unit_states.plan([{"name": "a", "state": "started"}], states)
    assert reload_needed and actions == []


def test_static_units_count_as_enabled():
    states = {"a.service": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "static"}}
    assert unit_states.plan([{"name": "a", "state": "started", "enabled": True}], states)[0] == []


def test_pruned_units_are_those_running_but_not_wanted():
    listed = ("shop-worker@default-1.service loaded active running Worker 1 of shop\n"
              "shop-worker@default-2.service loaded inactive dead Worker 2 of shop\n")
    assert unit_states.pruned(listed, ["shop-worker@default-1.service"]) == ["shop-worker@default-2.service"]
    assert unit_states.pruned("", ["shop-worker@default-1.service"]) == []


def test_a_pruned_unit_is_stopped_and_disabled():
    show = "Id=shop-worker@default-2.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\nNeedDaemonReload=no\n"
    states = unit_states.parse_show(show, ["shop-worker@default-2.service"])
    actions, _unused, errors = unit_states.plan([dict(name="shop-worker@default-2.service", state="stopped", enabled=False,
                                                masked=None)], states)
    assert errors == [] and actions == [("shop-worker@default-2.service", ["stop", "disable"])]


def test_a_failed_unit_asked_stopped_has_its_failure_forgotten_before_it_is_masked():
    # Debian's mariadb.socket on a Galera member: failed at boot (start limit hit), to be stopped and masked.
    states = {"mariadb.socket": {"LoadState": "loaded", "ActiveState": "failed", "UnitFileState": "enabled"}}
    actions, _reload, errors = unit_states.plan(
        [{"name": "mariadb.socket", "state": "stopped", "enabled": False, "masked": True}], states)
    assert errors == []
    assert actions == [("mariadb.socket", ["reset-failed", "disable", "mask"])]


def test_a_stopped_unit_that_did_not_fail_is_left_alone():
    states = {"x.service": {"LoadState": "masked", "ActiveState": "inactive", "UnitFileState": "masked"}}
    assert unit_states.plan([{"name": "x", "state": "stopped", "masked": True}], states)[0] == []
