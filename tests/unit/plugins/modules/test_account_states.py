"""plugins/modules/account_states.py: one read of the admins' group, accounts and keys; an admin is named only
where roles/common/tasks/admins.yml's user or authorized_key task would change something."""

import collections

import pytest

from ansible_collections.infra.hosting.plugins.modules import account_states

Pw = collections.namedtuple("Pw", "pw_name pw_dir pw_shell")
Gr = collections.namedtuple("Gr", "gr_name gr_mem")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEqd alice@laptop"
KEY2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB bob"


def _host(users, groups, homes, files):
    def getpwnam(name):
        if name not in users:
            raise KeyError(name)
        return users[name]

    def getgrnam(name):
        if name not in groups:
            raise KeyError(name)
        return groups[name]

    return dict(getgrnam=getgrnam, getpwnam=getpwnam, exists=lambda path: path in homes, read=files.get)


def _states(admins, users=None, groups=None, homes=None, files=None):
    users = {"alice": Pw("alice", "/home/alice", "/bin/bash")} if users is None else users
    groups = {"admins": Gr("admins", ["alice"])} if groups is None else groups
    homes = {"/home/alice"} if homes is None else homes
    files = {"/home/alice/.ssh/authorized_keys": KEY + "\n"} if files is None else files
    return account_states.states("admins", "/bin/bash", admins, **_host(users, groups, homes, files))


ALICE = {"name": "alice", "ssh_keys": [KEY], "state": "present"}


def test_nothing_to_do_when_everything_matches():
    assert _states([ALICE]) == {"group_exists": True, "users_to_change": [], "keys_to_change": []}


def test_missing_group_means_group_and_membership_work():
    assert _states([ALICE], groups={}) == {"group_exists": False, "users_to_change": ["alice"], "keys_to_change": []}


def test_missing_account_means_user_and_key_work():
    out = _states([ALICE], users={})
    assert out["users_to_change"] == ["alice"] and out["keys_to_change"] == ["alice"]


def test_other_shell_missing_membership_or_home_are_user_work():
    assert _states([ALICE], users={"alice": Pw("alice", "/home/alice", "/bin/sh")})["users_to_change"] == ["alice"]
    assert _states([ALICE], groups={"admins": Gr("admins", ["bob"])})["users_to_change"] == ["alice"]
    assert _states([ALICE], homes=set())["users_to_change"] == ["alice"]


def test_absent_admin_is_work_only_while_the_account_exists():
    gone = {"name": "alice", "ssh_keys": [KEY], "state": "absent"}
    assert _states([gone]) == {"group_exists": True, "users_to_change": ["alice"], "keys_to_change": []}
    assert _states([gone], users={})["users_to_change"] == []


def test_keys_file_must_hold_exactly_the_keys_as_authorized_key_writes_them():
    path = "/home/alice/.ssh/authorized_keys"
    assert _states([ALICE], files={})["keys_to_change"] == ["alice"]
    assert _states([ALICE], files={path: KEY + "\n" + KEY2 + "\n"})["keys_to_change"] == ["alice"]
    assert _states([ALICE], files={path: "# comment\n" + KEY + "\n"})["keys_to_change"] == ["alice"]
    both = dict(ALICE, ssh_keys=[KEY, KEY2])
    assert _states([both], files={path: KEY + "\n" + KEY2 + "\n"})["keys_to_change"] == []


def test_expected_text_follows_authorized_key_serialisation():
    assert account_states.expected_keys_file([KEY]) == KEY + "\n"
    # No comment: authorized_key keeps the space before the (empty) comment.
    assert account_states.expected_keys_file(["ssh-ed25519 AAAA"]) == "ssh-ed25519 AAAA \n"
    # Extra blanks collapse; comment lines and blank lines are not keys.
    assert account_states.expected_keys_file(["ssh-ed25519  AAAA   a  b", "", "# old"]) == "ssh-ed25519 AAAA a b\n"
    # Joined by newlines as the role hands them over.
    assert account_states.expected_keys_file([KEY + "\n" + KEY2]) == KEY + "\n" + KEY2 + "\n"


def test_unknown_shapes_are_always_work():
    assert account_states.expected_keys_file([]) is None
    assert account_states.expected_keys_file(['from="10.0.0.1" ' + KEY]) is None
    assert account_states.expected_keys_file(["ssh-foo AAAA"]) is None
    assert account_states.expected_keys_file([KEY, KEY]) is None
    assert _states([dict(ALICE, ssh_keys=[])])["keys_to_change"] == ["alice"]


@pytest.mark.parametrize("keys", [[KEY], [KEY, KEY2], ["ssh-ed25519 AAAA"], ["ssh-ed25519  AAAA   a  b"]])
def test_authorized_key_itself_finds_nothing_to_write_in_the_expected_text(keys):
    """The real module's parser: the file this module accepts holds exactly the keys authorized_key wants."""
    authorized_key = pytest.importorskip("ansible_collections.ansible.posix.plugins.modules.authorized_key")
    existing = authorized_key.parsekeys(None, account_states.expected_keys_file(keys))
    wanted = [authorized_key.parsekey(None, k, rank=i) for i, k in enumerate("\n".join(keys).splitlines())]
    assert sorted(existing) == sorted(k[0] for k in wanted)
    assert all(existing[k[0]][:4] == k[:4] for k in wanted)
