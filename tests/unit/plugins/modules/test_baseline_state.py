"""plugins/modules/baseline_state.py: the OS baseline's reads in one run, parsed as the separate reads were."""

from ansible_collections.infra.hosting.plugins.modules import baseline_state

SIMULATION = """Reading package lists...
Building dependency tree...
The following packages will be upgraded:
  libssl3 openssl tzdata
Inst libssl3 [3.0.15-1~deb12u1] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst openssl [3.0.15-1~deb12u1] (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable [all])
Conf libssl3 (3.0.17-1~deb12u2 Debian-Security:12/stable-security [amd64])
"""

SHADOW = """root:*:19000:0:99999:7:::
alice:!:20000:0:::::
bob:!:20000:0:-1::::
carol:!:20000:0:90:7:::
"""


def test_security_updates_are_the_inst_lines_of_security_archives():
    assert baseline_state.security_packages(SIMULATION) == ["libssl3", "openssl"]
    assert baseline_state.security_packages("") == []


def test_aging_names_existing_accounts_that_still_have_a_maximum_age():
    def getpwnam(name):
        if name not in {"root", "alice", "bob", "carol"}:
            raise KeyError(name)
        return name

    accounts = ["alice", "bob", "carol", "dave"]
    assert baseline_state.aging_to_change(accounts, SHADOW, getpwnam) == ["carol"]
    # In passwd but without a shadow entry: ansible.builtin.user leaves it alone too.
    assert baseline_state.aging_to_change(["root", "erin"], SHADOW, lambda n: n) == ["root"]


def test_only_missing_paths_are_tolerated_on_stats_stderr():
    assert baseline_state.stat_errors("stat: cannot statx '/etc/cron.d': No such file or directory\n") == []
    assert baseline_state.stat_errors("stat: cannot statx '/root': Permission denied\n") != []


def test_the_stat_format_is_the_one_permissions_drift_parses():
    assert baseline_state.STAT_FORMAT == "%n|%U|%G|%a"
