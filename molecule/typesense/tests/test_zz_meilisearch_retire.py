"""playbooks/meilisearch_retire.yml end to end, through ansible-playbook (issue 15).

Runs after test_typesense.py on purpose (pytest takes the files in name order; "zz" keeps it
last): it retires the Meilisearch STAND-IN (tests/standins/meilisearch_standin.py, not
Meilisearch) that the other tests read. The story:
1. the source changes after the migration (the stand-in restarted with one more document): the
   retirement is refused, non-zero, naming the index and why; nothing is stopped or removed;
2. search_migrate.yml brings Typesense up to date; the retirement then stops the service, archives
   its data directory with a checksum file that `sha256sum -c` accepts, writes the audit log and
   removes the data, the unit and the binary;
3. the archive restores: the stand-in started on the extracted copy serves every document;
4. a second retirement finds nothing to do.
"""

import json

import pytest
from lab_playbook import playbook

UNIT = "/etc/systemd/system/meilisearch-standin.service"
DATA = "/var/lib/meilisearch"
ARCHIVE_DIR = "/var/backups/infra/meilisearch"
DOCS = 20000  # standin_documents in molecule.yml
# The scenario's Meilisearch is the stand-in: its service and "binary" are named so.
RETIRE = ["-e", json.dumps({"search_meilisearch_service": "meilisearch-standin",
                            "search_meilisearch_binary": "/opt/meilisearch-standin.py"})]


def standin_documents(host, port=7700, key=None):
    """numberOfDocuments of the stand-in's index candidatures (None when it does not answer)."""
    auth = f" -H 'Authorization: Bearer {key}'" if key else ""
    out = host.run(f"curl -s --max-time 10{auth} http://127.0.0.1:{port}/indexes/candidatures/stats")
    try:
        return json.loads(out.stdout)["numberOfDocuments"]
    except (ValueError, KeyError):
        return None


def restart_standin(host, documents):
    """Serve `documents` generated candidatures (the source changing under the migration)."""
    host.check_output(f"sed -i 's/candidatures:[0-9]*/candidatures:{documents}/' {UNIT}")
    host.check_output("systemctl daemon-reload && systemctl restart meilisearch-standin")
    host.check_output("for i in $(seq 1 60); do curl -sf --max-time 2 http://127.0.0.1:7700/health && exit 0; sleep 1; done; exit 1")


@pytest.fixture(scope="module")
def refused(host):
    restart_standin(host, DOCS + 1)
    return playbook("meilisearch_retire.yml", *RETIRE)


def test_a_retirement_of_an_index_that_does_not_verify_is_refused_loudly(host, refused):
    rc, out = refused
    assert rc != 0, out[-3000:]
    assert "is refused / est refusé" in out, out[-3000:]
    assert "index candidatures is not migrated and verified" in out, out[-3000:]


def test_a_refused_retirement_stops_and_removes_nothing(host, refused):
    assert host.service("meilisearch-standin").is_running
    assert host.file(f"{DATA}/indexes/candidatures.jsonl").exists
    assert host.file(UNIT).exists
    assert not host.file(ARCHIVE_DIR).exists or not host.run(f"ls {ARCHIVE_DIR}/*.tar.gz").stdout.strip()


@pytest.fixture(scope="module")
def retired(host, refused):
    # search_migrate.yml gathers no facts, and the scenario's private_ip is read from them.
    rc, out = playbook("search_migrate.yml", "-e", "private_ip=127.0.0.1")
    assert rc == 0, out[-3000:]
    # Restoring needs the same version of the server: kept aside, as an operator would keep it.
    host.check_output("cp /opt/meilisearch-standin.py /tmp/meilisearch-standin.py")
    return playbook("meilisearch_retire.yml", *RETIRE)


def test_after_the_migration_catches_up_the_retirement_runs(host, retired):
    rc, out = retired
    assert rc == 0, out[-3000:]
    assert "failed=0" in out


def test_the_service_its_data_unit_and_binary_are_gone(host, retired):
    assert not host.service("meilisearch-standin").is_running
    for path in (DATA, UNIT, "/opt/meilisearch-standin.py"):
        assert not host.file(path).exists, path
    assert standin_documents(host) is None


def test_the_archive_has_a_checksum_that_verifies(host, retired):
    archives = host.check_output(f"ls {ARCHIVE_DIR}/*.tar.gz").split()
    assert len(archives) == 1
    check = host.run(f"cd {ARCHIVE_DIR} && sha256sum -c {archives[0].rsplit('/', 1)[1]}.sha256")
    assert check.rc == 0 and ": OK" in check.stdout, check.stdout + check.stderr
    assert host.file(archives[0]).mode == 0o600


def test_the_audit_log_records_the_archive_and_its_checksum(host, retired):
    lines = [json.loads(line) for line in host.file("/var/log/infra-audit.log").content_string.splitlines()
             if '"meilisearch_retire"' in line]
    assert lines, "no meilisearch_retire line in the audit log"
    details = lines[-1]["details"]
    assert details["archive"].startswith(ARCHIVE_DIR) and len(details["sha256"]) == 64
    assert details["verified_indexes"] == ["candidatures"] and details["members"] > 0


def test_the_archive_restores_every_document(host, retired, molecule_secrets):
    archive = host.check_output(f"ls {ARCHIVE_DIR}/*.tar.gz").split()[0]
    host.check_output(f"rm -rf /tmp/restore && mkdir /tmp/restore && tar -xzf {archive} -C /tmp/restore")
    data_dir = host.check_output("dirname $(dirname $(find /tmp/restore -name candidatures.jsonl))")
    key = molecule_secrets["meilisearch_master_key"]
    host.check_output(f"systemd-run --unit restore-check /usr/bin/python3 /tmp/meilisearch-standin.py --port 7701 "
                      f"--master-key '{key}' --data-dir {data_dir}")
    try:
        host.check_output("for i in $(seq 1 60); do curl -sf --max-time 2 http://127.0.0.1:7701/health && exit 0; sleep 1; done; exit 1")
        assert standin_documents(host, 7701, key) == DOCS + 1
    finally:
        host.run("systemctl stop restore-check; rm -rf /tmp/restore")


def test_a_second_retirement_finds_nothing_to_do(host, retired):
    rc, out = playbook("meilisearch_retire.yml", *RETIRE)
    assert rc == 0, out[-3000:]
    assert "changed=0" in out and "failed=0" in out, out[-2000:]
