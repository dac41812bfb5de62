"""plugins/modules/site_account_states.py: one read of the sites' groups and users; a site is named only where the
php_fpm or laravel_app group and user tasks would create or change something."""

import pytest

from ansible_collections.infra.hosting.plugins.modules import site_account_states as mod

GROUP = [["www-data", "x", "33", "blcpa"], ["blcpa", "x", "990", ""], ["aeroweb", "x", "991", "www-data"]]
PASSWD = [["blcpa", "x", "995", "990", "", "/srv/www/blcpa", "/usr/sbin/nologin"],
          ["aeroweb", "x", "996", "991", "", "/srv/www/aeroweb", "/usr/sbin/nologin"]]
SHADOW = [["blcpa", "!", "19000", "", "", "", "", "", ""], ["aeroweb", "!", "19000", "", "", "", "", "", ""]]
BLCPA = {"name": "blcpa", "home": "/srv/www/blcpa"}
AEROWEB = {"name": "aeroweb", "home": "/srv/www/aeroweb"}


def _states(accounts, member=None, group=None, passwd=None, shadow=tuple(SHADOW)):
    return mod.states(accounts, member, GROUP if group is None else group, PASSWD if passwd is None else passwd, shadow)


def test_nothing_to_do_when_every_group_and_user_is_as_the_tasks_make_them():
    assert _states([BLCPA, AEROWEB]) == {"groups_to_create": [], "users_to_change": [], "member_missing": []}


def test_a_missing_group_is_created_and_its_user_then_needs_work():
    result = _states([BLCPA], group=[row for row in GROUP if row[0] != "blcpa"])
    assert result["groups_to_create"] == ["blcpa"]
    assert result["users_to_change"] == ["blcpa"]


def test_a_missing_user_needs_work():
    result = _states([BLCPA], passwd=PASSWD[1:])
    assert result == {"groups_to_create": [], "users_to_change": ["blcpa"], "member_missing": []}


@pytest.mark.parametrize("field, value", [(3, "991"), (5, "/home/blcpa"), (6, "/bin/bash")])
def test_a_user_with_another_primary_group_home_or_shell_needs_work(field, value):
    row = list(PASSWD[0])
    row[field] = value
    assert _states([BLCPA], passwd=[row])["users_to_change"] == ["blcpa"]


def test_the_shell_asked_for_is_the_one_compared():
    assert _states([dict(BLCPA, shell="/bin/bash")])["users_to_change"] == ["blcpa"]


@pytest.mark.parametrize("shadow", [None, [], [["blcpa", "$6$salt$hash", "19000"]]])
def test_a_password_that_is_not_locked_or_an_unreadable_shadow_file_needs_work(shadow):
    assert _states([BLCPA], shadow=shadow)["users_to_change"] == ["blcpa"]


def test_supplementary_groups_count_only_when_the_task_removes_them():
    # www-data's group lists blcpa as a member; no group lists aeroweb.
    assert _states([dict(BLCPA, only_own_group=True)])["users_to_change"] == ["blcpa"]
    assert _states([dict(AEROWEB, only_own_group=True)])["users_to_change"] == []
    assert _states([BLCPA])["users_to_change"] == []


def test_the_member_missing_from_a_sites_group_is_named_and_a_missing_group_counts():
    assert _states([BLCPA, AEROWEB], member="www-data")["member_missing"] == ["blcpa"]
    assert _states([{"name": "newsite", "home": "/srv/www/newsite"}], member="www-data") == {
        "groups_to_create": ["newsite"], "users_to_change": ["newsite"], "member_missing": ["newsite"]}


def test_comments_and_short_lines_of_the_files_are_ignored(tmp_path):
    path = tmp_path / "group"
    path.write_text("# comment\nblcpa:x:990:\nbroken\n\n")
    assert mod.read_table(str(path)) == [["blcpa", "x", "990", ""], ["broken"]]
    assert mod.read_table(str(tmp_path / "missing")) is None
    assert _states([BLCPA], group=mod.read_table(str(path)))["groups_to_create"] == []
