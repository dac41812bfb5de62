"""TLS between a site and the database tier, through HAProxy's one address per engine (mode tcp).

Driven from the load balancer container, a client as a web node is: the account `tlsapp` (TLS
required, as a site's account is by default) is refused without TLS on both engines, connects with
TLS when the server's certificate is verified against the tier's CA and names the address the
client connected to (HAProxy's), and the server reports the session encrypted. A client trusting
another CA is refused. The members reload their certificate without a restart.
"""

import pytest
import testinfra

CA = "/etc/ssl/infra-db/ca.crt"
MEMBERS = ["mol-db_ha-1", "mol-db_ha-2", "mol-db_ha-3"]
# The account's password is read from the file the write client uses (never on a command line of ours).
PW_SHELL = "$(cat /root/.db-writer-password)"


def lb_only(host):
    if not host.backend.get_hostname().endswith("-lb"):
        pytest.skip("driven from the load balancer")


def address(host):
    return host.check_output("hostname -I").split()[0]


def mariadb(host, tls_args, sql):
    return host.run(
        "MYSQL_PWD=\"%s\" mariadb --connect-timeout=5 -h %s -P 3306 -u tlsapp %s -N -B -e \"%s\" appdb"
        % (PW_SHELL, address(host), tls_args, sql))


def psql(host, conninfo, sql):
    return host.run(
        "PGPASSWORD=\"%s\" PGCONNECT_TIMEOUT=5 psql \"host=%s port=5432 dbname=appdb user=tlsapp %s\" -At -c \"%s\""
        % (PW_SHELL, address(host), conninfo, sql))


def test_certificate_names_haproxy_address(host):
    lb_only(host)
    lb = address(host)
    for name in MEMBERS:
        sans = testinfra.get_host("podman://" + name).check_output(
            "openssl x509 -in /etc/infra-db-tls/server.crt -noout -ext subjectAltName")
        assert "IP Address:%s" % lb in sans, (name, sans)


OTHER_CA = "/etc/ssl/certs/ca-certificates.crt"


# Each engine's client, the options of a connection without TLS and the server's refusal.
@pytest.mark.parametrize("client,plain,refusal", [
    (mariadb, "--skip-ssl", "Access denied"),
    (psql, "sslmode=disable", "no encryption"),
], ids=["mariadb", "postgresql"])
def test_refuses_plain_connection(host, client, plain, refusal):
    lb_only(host)
    out = client(host, plain, "SELECT 1")
    assert out.rc != 0 and refusal in out.stderr, (out.rc, out.stdout, out.stderr)


# A client that verifies the server against another CA (the system's) is refused.
@pytest.mark.parametrize("client,verify,refusal", [
    (mariadb, "--ssl-ca=%s --ssl-verify-server-cert" % OTHER_CA, ""),
    (psql, "sslmode=verify-full sslrootcert=%s" % OTHER_CA, "certificate verify failed"),
], ids=["mariadb", "postgresql"])
def test_refuses_another_ca(host, client, verify, refusal):
    lb_only(host)
    out = client(host, verify, "SELECT 1")
    assert out.rc != 0 and refusal in out.stderr, (out.rc, out.stdout, out.stderr)


def test_mariadb_tls_verified_and_encrypted(host):
    lb_only(host)
    out = mariadb(host, "--ssl-ca=%s --ssl-verify-server-cert" % CA, "SHOW STATUS LIKE 'Ssl_cipher'")
    assert out.rc == 0, out.stderr
    name, _, cipher = out.stdout.strip().partition("\t")
    assert name == "Ssl_cipher" and cipher, out.stdout


def test_postgresql_tls_verify_full_and_encrypted(host):
    lb_only(host)
    out = psql(host, "sslmode=verify-full sslrootcert=%s" % CA,
               "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip().startswith("t|TLSv1."), out.stdout


def test_members_reload_certificate_without_restart(host):
    lb_only(host)
    for name in MEMBERS:
        member = testinfra.get_host("podman://" + name)
        since = member.check_output("systemctl show -p ActiveEnterTimestampMonotonic --value mariadb")
        member.check_output("mariadb -e 'FLUSH LOCAL SSL'")
        assert member.check_output("systemctl show -p ActiveEnterTimestampMonotonic --value mariadb") == since
    out = mariadb(host, "--ssl-ca=%s --ssl-verify-server-cert" % CA, "SHOW STATUS LIKE 'Ssl_cipher'")
    assert out.rc == 0, out.stderr
