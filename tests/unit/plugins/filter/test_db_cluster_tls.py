"""The names of a database tier member's certificate (roles/db_tls): its own address and HAProxy's."""

import pytest

from ansible_collections.infra.hosting.plugins.filter.db_cluster import db_tls_subject_alt_names


def test_certificate_names_the_member_and_haproxy_addresses():
    assert db_tls_subject_alt_names(["10.0.0.61", ["10.0.0.21", "10.0.0.22"], "10.0.0.20/24", "10.0.0.20", ""]) == [
        "IP:10.0.0.61", "IP:10.0.0.21", "IP:10.0.0.22", "IP:10.0.0.20"]


def test_certificate_names_skip_placeholders_and_take_dns_names():
    assert db_tls_subject_alt_names(["TO-FILL", "db.example.com", "x.to-confirm.invalid", None, "::1"]) == [
        "DNS:db.example.com", "IP:::1"]


def test_certificate_name_that_is_neither_is_refused():
    with pytest.raises(ValueError, match="'db 01' is neither an address nor a DNS name"):
        db_tls_subject_alt_names(["db 01"])
