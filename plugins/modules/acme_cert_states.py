#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Which sites' ACME key, CSR or certificate need work, read for every site in one module run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: acme_cert_states
short_description: Say which sites' private key, CSR or certificate the per-site ACME tasks would change
description:
  - Reads, for every listed site, the files the acme role's per-site tasks (roles/acme/tasks/issue.yml) manage
    under O(cert_dir)/<site>/, in one module run, and returns the sites those tasks would change. The role then
    includes its per-site tasks for these sites only, instead of three module runs per site when every
    certificate is valid.
  - A site needs work when its C(privkey.pem) is missing, unreadable, not an unencrypted ECC P-256 key, or not
    owned C(root:root) with mode C(0600) (what M(community.crypto.openssl_privatekey) would regenerate or fix);
    when its C(csr.pem) is missing, unreadable, not owned C(root:root) with mode C(0644), not signed by that key,
    or does not ask for exactly the site's domains (subject C(CN=<first domain>), one non-critical subjectAltName
    extension with every domain, no other extension; what M(community.crypto.openssl_csr) would rewrite); or when
    its C(cert.pem) is missing, unreadable, or valid for fewer than O(remaining_days) whole days (what
    M(community.crypto.acme_certificate) would order).
  - The checks are never looser than those of these modules. A state they would accept but this module does not
    know (an extension they tolerate, for example) counts as work, and the per-site tasks then decide as before.
  - It also names the sites whose directory under O(cert_dir) is missing or not a C(root:root) directory with mode
    C(0750) (what the role's M(ansible.builtin.file) task would create or fix), so that this task loops over those
    only.
  - Without the Python C(cryptography) library on the host every site needs work (the per-site modules need it
    too, and report it).
  - Reads only; check mode reads too.
version_added: "1.0.0"
author: Infrastructure team (!UNKNOWN)
extends_documentation_fragment:
  - infra.hosting.attributes
options:
  cert_dir:
    description: Directory of the sites' certificate directories (the acme role's C(acme_cert_dir)).
    type: path
    required: true
  sites:
    description:
      - The sites keyed by name (their directories under O(cert_dir)), shaped like the acme role's C(acme_sites).
      - Each site's C(domains) are the domains its certificate must name, the first as its common name; its other
        keys are ignored.
    type: dict
    required: true
  directory_only:
    description:
      - Sites of O(sites) whose files come from elsewhere (the role's C(acme_custom_certificates)); only their
        directory is read.
    type: list
    elements: str
    default: []
  remaining_days:
    description: A certificate valid for fewer whole days than this is renewed (as C(remaining_days) of M(community.crypto.acme_certificate)).
    type: int
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - The files' owner, group, modes, key type and curve are those roles/acme/tasks/issue.yml asks for.
"""

EXAMPLES = r"""
- name: Read every site's key, CSR and certificate
  infra.hosting.acme_cert_states:
    cert_dir: /etc/ssl/sites
    sites:
      shop: {domains: [shop.example.com, www.shop.example.com]}
    remaining_days: 30
  register: states

- name: Obtain or renew only what needs it
  ansible.builtin.include_tasks: issue.yml
  loop: "{{ states.needs_work }}"
  loop_control:
    loop_var: site_name
"""

RETURN = r"""
needs_work:
  description: The names of the sites the per-site tasks would change, in the order given.
  returned: always
  type: list
  elements: str
  sample: [shop]
directories:
  description: The names of the sites whose directory is missing or has another owner, group or mode, in the order given.
  returned: always
  type: list
  elements: str
  sample: [shop]
reasons:
  description: For each site of RV(needs_work), why.
  returned: always
  type: dict
  sample: {"shop": "cert.pem: valid for 12 days, fewer than 30"}
"""

import datetime
import os
import stat

from ansible.module_utils.basic import AnsibleModule

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the host lacks python3-cryptography
    HAS_CRYPTOGRAPHY = False

# What roles/acme/tasks/issue.yml writes: (file, mode), all owned root:root.
DIR_MODE = 0o750
KEY_MODE = 0o600
CSR_MODE = 0o644
CURVE = "secp256r1"


def file_problem(path, mode, directory=False):
    """Why `path` is not a regular file (a directory) owned root:root with `mode` (None when it is)."""
    try:
        info = os.stat(path)
    except OSError:
        return "missing"
    if not (stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)):
        return "not a directory" if directory else "not a regular file"
    if info.st_uid != 0 or info.st_gid != 0:
        return "owner %d:%d, not root:root" % (info.st_uid, info.st_gid)
    if stat.S_IMODE(info.st_mode) != mode:
        return "mode %04o, not %04o" % (stat.S_IMODE(info.st_mode), mode)
    return None


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def public_pem(key):
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_problem(data):
    """(problem or None, the private key) for the content of privkey.pem."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except Exception as exc:  # encrypted, not PEM, not a key
        return "not an unencrypted private key (%s)" % type(exc).__name__, None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != CURVE:
        return "not an ECC %s key" % CURVE, None
    return None, key


def csr_problem(data, key, domains):
    """Why the CSR in `data` is not what openssl_csr would write for `domains` with `key` (None when it is)."""
    try:
        csr = x509.load_pem_x509_csr(data)
    except Exception as exc:
        return "not a CSR (%s)" % type(exc).__name__
    subject = [(attribute.oid, attribute.value) for attribute in csr.subject]
    if subject != [(x509.oid.NameOID.COMMON_NAME, domains[0])]:
        return "subject is not CN=%s" % domains[0]
    extensions = list(csr.extensions)
    if len(extensions) != 1 or not isinstance(extensions[0].value, x509.SubjectAlternativeName):
        return "extensions other than one subjectAltName"
    if extensions[0].critical:
        return "critical subjectAltName"
    names = list(extensions[0].value)
    if not all(isinstance(name, x509.DNSName) for name in names):
        return "subjectAltName names other than DNS names"
    if set(name.value for name in names) != set(domains):
        return "subjectAltName differs from the domains"
    if not csr.is_signature_valid:
        return "signature not valid"
    if public_pem(csr.public_key()) != public_pem(key.public_key()):
        return "not made with privkey.pem"
    return None


def not_after(cert):
    """The certificate's end of validity, in UTC, timezone-aware."""
    end = getattr(cert, "not_valid_after_utc", None)
    if end is None:  # cryptography < 42: naive, in UTC
        end = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return end


def cert_days(data, now):
    """Whole days the first certificate of `data` stays valid (as community.crypto counts them), or None."""
    text = data.decode("utf-8", "replace")
    begin = text.find("-----BEGIN CERTIFICATE-----")
    end = text.find("-----END CERTIFICATE-----", begin)
    if begin < 0 or end < 0:
        return None
    try:
        cert = x509.load_pem_x509_certificate(text[begin:end + len("-----END CERTIFICATE-----")].encode("utf-8"))
    except Exception:
        return None
    return (not_after(cert) - now).days


def site_problem(directory, domains, remaining_days, now):
    """Why the per-site tasks would change something for the site in `directory` (None when nothing)."""
    key_path, csr_path, cert_path = (os.path.join(directory, name) for name in ("privkey.pem", "csr.pem", "cert.pem"))
    problem = file_problem(key_path, KEY_MODE)
    if problem:
        return "privkey.pem: " + problem
    try:
        problem, key = key_problem(read_bytes(key_path))
    except OSError as exc:
        problem = "unreadable (%s)" % exc.strerror
    if problem:
        return "privkey.pem: " + problem
    problem = file_problem(csr_path, CSR_MODE)
    if not problem:
        try:
            problem = csr_problem(read_bytes(csr_path), key, domains)
        except OSError as exc:
            problem = "unreadable (%s)" % exc.strerror
    if problem:
        return "csr.pem: " + problem
    try:
        days = cert_days(read_bytes(cert_path), now)
    except OSError:
        return "cert.pem: missing or unreadable"
    if days is None:
        return "cert.pem: no certificate in it"
    if days < remaining_days:
        return "cert.pem: valid for %d days, fewer than %d" % (days, remaining_days)
    return None


def states(cert_dir, sites, remaining_days, directory_only=(), now=None):
    """(needs_work, reasons, directories) for the sites ({name: {domains: [...]}}), in their order."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    needs_work, reasons = [], {}
    directories = [name for name in sites if file_problem(os.path.join(cert_dir, name), DIR_MODE, directory=True)]
    for name, site in sites.items():
        if name in directory_only:
            continue
        domains = [str(domain) for domain in ((site or {}).get("domains") or [])]
        if not domains:
            problem = "no domain"
        elif not HAS_CRYPTOGRAPHY:
            problem = "the cryptography library is missing on the host"
        else:
            problem = site_problem(os.path.join(cert_dir, name), domains, remaining_days, now)
        if problem:
            needs_work.append(name)
            reasons[name] = problem
    return needs_work, reasons, directories


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cert_dir=dict(type="path", required=True),
            sites=dict(type="dict", required=True),
            directory_only=dict(type="list", elements="str", default=[]),
            remaining_days=dict(type="int", required=True),
        ),
        supports_check_mode=True,
    )
    needs_work, reasons, directories = states(module.params["cert_dir"], module.params["sites"],
                                              module.params["remaining_days"], module.params["directory_only"])
    module.exit_json(changed=False, needs_work=needs_work, reasons=reasons, directories=directories)


if __name__ == "__main__":
    main()
