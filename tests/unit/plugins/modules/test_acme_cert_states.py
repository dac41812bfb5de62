"""plugins/modules/acme_cert_states.py: one read of every site's key, CSR and certificate; only the sites that the
per-site tasks (roles/acme/tasks/issue.yml) would change are named."""

import datetime
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.infra.hosting.plugins.modules import acme_cert_states

NOW = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc)
DOMAINS = ["shop.lab.test", "www.shop.lab.test"]


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _csr(key, domains, extra=None, critical=False):
    builder = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, domains[0])]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=critical))
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _cert(key, days):
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, DOMAINS[0])])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=days, hours=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(name="site")
def fixture_site(tmp_path, monkeypatch):
    """A site as issue.yml leaves it: key, CSR of its domains, a certificate valid 60 days; ownership assumed right."""
    monkeypatch.setattr(acme_cert_states, "file_problem",
                        lambda path, mode, directory=False: None if os.path.exists(path) else "missing")
    key = ec.generate_private_key(ec.SECP256R1())
    directory = tmp_path / "shop"
    directory.mkdir()
    (directory / "privkey.pem").write_bytes(_pem_key(key))
    (directory / "csr.pem").write_bytes(_csr(key, DOMAINS))
    (directory / "cert.pem").write_bytes(_cert(key, 60))
    return tmp_path, key


def _states(cert_dir, domains=None, days=30):
    needs, reasons, _directories = acme_cert_states.states(
        str(cert_dir), {"shop": {"domains": domains or DOMAINS, "challenge_hosts": ["x"]}}, days, now=NOW)
    return needs, reasons


def test_a_valid_site_needs_nothing(site):
    assert _states(site[0]) == ([], {})


def test_within_the_renewal_window(site):
    needs, reasons = _states(site[0], days=61)
    assert needs == ["shop"] and "valid for 60 days, fewer than 61" in reasons["shop"]
    assert _states(site[0], days=60) == ([], {})  # 60 whole days left: acme_certificate keeps it too


@pytest.mark.parametrize("name", ["privkey.pem", "csr.pem", "cert.pem"])
def test_a_missing_file(site, name):
    os.unlink(site[0] / "shop" / name)
    needs, reasons = _states(site[0])
    assert needs == ["shop"] and reasons["shop"].startswith(name)


def test_domains_changed(site):
    assert _states(site[0], domains=DOMAINS + ["api.shop.lab.test"])[0] == ["shop"]
    assert _states(site[0], domains=["www.shop.lab.test", "shop.lab.test"])[0] == ["shop"]  # another common name
    assert _states(site[0], domains=DOMAINS[:1])[0] == ["shop"]


def test_a_csr_of_another_key(site):
    other = ec.generate_private_key(ec.SECP256R1())
    (site[0] / "shop" / "csr.pem").write_bytes(_csr(other, DOMAINS))
    assert "not made with privkey.pem" in _states(site[0])[1]["shop"]


def test_a_csr_openssl_csr_would_rewrite(site):
    key = site[1]
    (site[0] / "shop" / "csr.pem").write_bytes(_csr(key, DOMAINS, critical=True))
    assert _states(site[0])[0] == ["shop"]
    (site[0] / "shop" / "csr.pem").write_bytes(_csr(key, DOMAINS, extra=x509.BasicConstraints(ca=False, path_length=None)))
    assert _states(site[0])[0] == ["shop"]


def test_a_key_of_another_type(site):
    (site[0] / "shop" / "privkey.pem").write_bytes(_pem_key(ec.generate_private_key(ec.SECP384R1())))
    assert "not an ECC secp256r1 key" in _states(site[0])[1]["shop"]
    (site[0] / "shop" / "privkey.pem").write_bytes(_pem_key(rsa.generate_private_key(65537, 2048)))
    assert _states(site[0])[0] == ["shop"]
    (site[0] / "shop" / "privkey.pem").write_bytes(b"garbage")
    assert "not an unencrypted private key" in _states(site[0])[1]["shop"]


def test_a_certificate_file_without_a_certificate(site):
    (site[0] / "shop" / "cert.pem").write_bytes(b"")
    assert _states(site[0])[1]["shop"] == "cert.pem: no certificate in it"


def test_only_the_sites_that_need_work_in_their_order(site, tmp_path):
    sites = {"zeta": {"domains": ["zeta.lab.test"]}, "shop": {"domains": DOMAINS}, "alpha": {"domains": ["a.lab.test"]}}
    needs, reasons, directories = acme_cert_states.states(str(tmp_path), sites, 30, now=NOW)
    assert needs == ["zeta", "alpha"] and sorted(reasons) == ["alpha", "zeta"]
    assert directories == ["zeta", "alpha"]


def test_a_site_with_a_provided_certificate_only_has_its_directory_read(site, tmp_path):
    sites = {"custom": {"domains": ["c.lab.test"]}, "shop": {"domains": DOMAINS}}
    needs, _reasons, directories = acme_cert_states.states(str(tmp_path), sites, 30, directory_only=["custom"], now=NOW)
    assert needs == [] and directories == ["custom"]


def test_without_the_library_every_site_needs_work(site, monkeypatch):
    monkeypatch.setattr(acme_cert_states, "HAS_CRYPTOGRAPHY", False)
    assert _states(site[0])[0] == ["shop"]


def test_owner_and_mode_as_issue_yml_sets_them(tmp_path):
    path = tmp_path / "privkey.pem"
    assert acme_cert_states.file_problem(str(path), 0o600) == "missing"
    path.write_bytes(b"x")
    os.chmod(path, 0o644)
    problem = acme_cert_states.file_problem(str(path), 0o600)
    if os.getuid() == 0 and os.getgid() == 0:
        assert problem == "mode 0644, not 0600"
        os.chmod(path, 0o600)
        assert acme_cert_states.file_problem(str(path), 0o600) is None
    else:
        assert problem.startswith("owner ")
    assert acme_cert_states.file_problem(str(tmp_path), 0o600) == "not a regular file"
    assert acme_cert_states.file_problem(str(path), 0o750, directory=True) == "not a directory"
    os.chmod(tmp_path, 0o750)
    if os.getuid() == 0 and os.getgid() == 0:
        assert acme_cert_states.file_problem(str(tmp_path), 0o750, directory=True) is None
