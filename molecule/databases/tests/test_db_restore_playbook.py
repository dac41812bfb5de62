"""playbooks/db_restore.yml through ansible-playbook, as an operator runs it (issue 15, "Loud").

A refused restore ends the run non-zero with its reason printed at default verbosity, and changes
nothing. side_effect.yml restored aeroweb_dev (PostgreSQL) as aeroweb_dev_restored from the dump its
retirement kept: that dump exists, and so does the restored database.
"""

from lab_playbook import playbook

testinfra_hosts = ["ansible://mol-databases"]


def databases(host):
    return host.check_output("runuser -u postgres -- psql -X -A -t -c 'SELECT datname FROM pg_database ORDER BY 1'")


def test_a_restore_over_an_existing_database_is_refused_with_its_reason(host):
    before = databases(host)
    rc, out = playbook("db_restore.yml", "-e", "engine=postgresql", "-e", "db=aeroweb_dev",
                       "-e", "target=aeroweb_dev_restored")
    assert rc != 0, out[-3000:]
    assert "database aeroweb_dev_restored (postgresql) already exists" in out
    assert "nothing was restored" in out
    assert databases(host) == before


def test_a_restore_without_any_dump_is_refused_with_its_reason(host):
    rc, out = playbook("db_restore.yml", "-e", "engine=mysql", "-e", "db=never_dumped")
    assert rc != 0, out[-3000:]
    assert "no dump under /var/backups/infra/databases/mysql/never_dumped" in out
    assert "never_dumped" not in host.check_output("mysql -N -B -e 'SHOW DATABASES'")


def test_a_request_without_engine_is_refused_before_any_host_is_read(host):
    rc, out = playbook("db_restore.yml", "-e", "db=aeroweb_dev")
    assert rc != 0, out[-3000:]
    assert "pass -e engine=mysql|postgresql -e db=<database>" in out
