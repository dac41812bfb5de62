"""Fail the build when a secret appears in plain text in the inventories, roles, playbooks, scenarios or the lab.

Scans every tracked (and not-ignored new) YAML, Jinja, Python, INI and CFG file of inventories/,
roles/, playbooks/, molecule/ and lab/ (the lab's plays and roles) for:
- a secret-looking key (password, secret, token, api key, private/access key...) holding a literal
  value: vault-encrypted values (`!vault`, whole-file `$ANSIBLE_VAULT`) and Jinja references
  (`{{ vault_x }}`) are fine, so are empty values and the placeholders TO-FILL / TO-CONFIRM;
- a private key block (`-----BEGIN ... PRIVATE KEY-----`) or an AWS access key id (AKIA...);
- a vault file (`vault*.yml`) that is not encrypted as a whole.
A line that must keep a literal (a throw-away lab fixture) says why on the same line:
`# secret-scan: allow <reason>`.
"""

import os
import re
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCANNED_DIRS = ("inventories", "roles", "playbooks", "molecule", "lab")
EXTENSIONS = (".yml", ".yaml", ".j2", ".py", ".ini", ".cfg")

SECRET_KEY_RE = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|app[_-]?key"
    r"|auth[_-]?key|(master|secret|encryption|signing|admin|shared|search|client)[_-]?key|credentials?|requirepass"
    r"|masterauth)$",
    re.IGNORECASE,
)
# Keys that look like secrets but hold names, paths or module switches.
NOT_SECRET_KEY_RE = re.compile(
    r"(_file|_path|_dir|_length|_name|_url|_user|_users|_env|_var|_vars|_policy|_mode|_enabled|_lock"
    r"|^update_password|^no_log|_id)$",
    re.IGNORECASE,
)
ALLOWED_VALUES = {"", "!", "*", "!!", "omit", "on_create", "always", "none", "null", "~"}
PLACEHOLDER_RE = re.compile(r"^(TO-FILL|TO-CONFIRM)")
PRIVATE_KEY_RE = re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----")
AWS_KEY_RE = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
ALLOW_MARK = "secret-scan: allow"
# Reviewed exceptions in files whose owner has not added the allow mark yet: (path, key) -> reason.
# Keep this list short; the mark on the line itself is the better place.
REVIEWED = {
    # (path, key): reason. Empty: the scenarios' throw-away secrets live in the vault-encrypted
    # tests/fixtures/molecule-secrets.yml like every other secret.
}
# key = value / key: value / key="value" on one line (INI, CFG, templates, Python).
LINE_RE = re.compile(r"""^\s*["']?([A-Za-z0-9_.-]+)["']?\s*(=|:)\s*(.+?)\s*$""")
PY_RE = re.compile(r"""["']?([A-Za-z0-9_]+)["']?\s*[:=]\s*(["'])([^"']*)\2""")


def _literal_secret(key, value, single_token=False):
    """True when `value` under `key` is a plain-text secret.

    `single_token` (INI, CFG, templates): a value with spaces is an expression, not a literal.
    """
    if not SECRET_KEY_RE.search(key) or NOT_SECRET_KEY_RE.search(key):
        return False
    if not isinstance(value, str):
        return False
    text = value.strip().strip("\"'")
    if text.lower() in ALLOWED_VALUES or PLACEHOLDER_RE.match(text):
        return False
    if "{{" in text or "{%" in text or text.startswith("$ANSIBLE_VAULT") or text.startswith("!vault"):
        return False
    if single_token and (" " in text or text.startswith("/")):
        return False
    return True


def _yaml_findings(path, text):
    """Walk the YAML node tree (tags such as !vault are kept, not constructed)."""
    findings = []
    lines = text.splitlines()

    def allowed(node):
        line = lines[node.start_mark.line] if node.start_mark.line < len(lines) else ""
        return ALLOW_MARK in line

    def walk(node):
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
                if (
                    isinstance(value_node, yaml.ScalarNode)
                    and value_node.tag != "!vault"
                    and _literal_secret(str(key), value_node.value)
                    and not allowed(key_node)
                ):
                    findings.append(f"{path}:{key_node.start_mark.line + 1}: {key}: literal secret (vault it)")
                walk(value_node)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if document is not None:
            walk(document)
    return findings


def _line_findings(path, text, python=False):
    findings = []
    for number, line in enumerate(text.splitlines(), 1):
        if ALLOW_MARK in line or line.lstrip().startswith(("#", ";")) and not python:
            continue
        if python:
            for key, _, value in PY_RE.findall(line):
                if _literal_secret(key, value):
                    findings.append(f"{path}:{number}: {key}: literal secret (vault it)")
        else:
            match = LINE_RE.match(line)
            if match and _literal_secret(match.group(1), match.group(3).rstrip(","), single_token=True):
                findings.append(f"{path}:{number}: {match.group(1)}: literal secret (vault it)")
    return findings


def scan_text(path, text):
    """Return the findings of one file's text (path only names it)."""
    findings = []
    base = os.path.basename(path)
    if base.startswith("vault") and base.endswith((".yml", ".yaml")):
        if not text.lstrip().startswith("$ANSIBLE_VAULT"):
            findings.append(f"{path}:1: vault file is not encrypted (ansible-vault encrypt --encrypt-vault-id lab)")
        return findings
    for number, line in enumerate(text.splitlines(), 1):
        if ALLOW_MARK in line:
            continue
        if PRIVATE_KEY_RE.search(line):
            findings.append(f"{path}:{number}: private key in plain text")
        if AWS_KEY_RE.search(line):
            findings.append(f"{path}:{number}: AWS access key id in plain text")
    if path.endswith((".yml", ".yaml")):
        try:
            findings.extend(_yaml_findings(path, text))
        except yaml.YAMLError:
            findings.extend(_line_findings(path, text))
    else:
        findings.extend(_line_findings(path, text, python=path.endswith(".py")))
    return findings


def scanned_files(root):
    """Files of the scanned directories: git's tracked and new not-ignored files, else a walk."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "--", *SCANNED_DIRS],
            check=True, capture_output=True, text=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        out = []
        for top in SCANNED_DIRS:
            for dirpath, _, files in os.walk(os.path.join(root, top)):
                out.extend(os.path.relpath(os.path.join(dirpath, f), root) for f in files)
    return sorted(f for f in set(out) if f.endswith(EXTENSIONS) and os.path.isfile(os.path.join(root, f)))


def scan_tree(root, reviewed=None):
    findings = []
    for rel in scanned_files(root):
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as handle:
            for finding in scan_text(rel, handle.read()):
                key = finding.split(": ")[1] if finding.count(": ") >= 2 else ""
                if (rel, key) not in (reviewed or {}):
                    findings.append(finding)
    return findings


def test_repository_has_no_plaintext_secret():
    files = scanned_files(ROOT)
    assert any(f.startswith("inventories/") for f in files), "the scan found no inventory file"
    findings = scan_tree(ROOT, REVIEWED)
    assert not findings, "Plain-text secrets found:\n" + "\n".join(findings)


def test_every_vault_file_of_the_inventories_is_encrypted():
    vaults = [f for f in scanned_files(ROOT) if os.path.basename(f).startswith("vault")]
    assert vaults, "the lab inventory has a vault file"
    for rel in vaults:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as handle:
            assert handle.read().startswith("$ANSIBLE_VAULT"), rel


PLANTED = {
    "inventories/lab/group_vars/all/redis.yml": "---\nredis_password: hunter2-plain\n",
    "inventories/lab/group_vars/all/vault_mail.yml": "---\nvault_mail_password: plain\n",
    "roles/demo/templates/app.ini.j2": "[db]\npassword = s3cr3t-literal\n",
    "roles/demo/files/deploy_key.yml": "---\nkey: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  abc\n",
    "playbooks/aws.yml": "---\n- hosts: all\n  vars:\n    aws_key_id: AKIAABCDEFGHIJKLMNOP\n",
    "molecule/demo/tests/test_x.py": 'API_TOKEN = "abcdef123456"\n',
    "roles/demo/defaults/main.yml": "---\ndemo:\n  users:\n    - name: a\n      password: literal-in-a-list\n",
}
CLEAN = {
    "roles/demo/defaults/main.yml": (
        "---\ndemo_password: \"{{ vault_demo_password }}\"\ndemo_token: ''\ndemo_password_file: /etc/x\n"
        "demo_api_key: TO-FILL\nlab_password: !vault |\n  $ANSIBLE_VAULT;1.2;AES256;lab\n  3131\n"
        "fixture_password: lab-only  # secret-scan: allow throw-away fixture\n"
    ),
    "roles/demo/tasks/main.yml": "---\n- name: User\n  ansible.builtin.user:\n    name: x\n    password: \"!\"\n    update_password: on_create\n",
    "roles/demo/templates/app.ini.j2": "[db]\npassword = {{ demo_password }}\n",
    "inventories/lab/group_vars/all/vault_demo.yml": "$ANSIBLE_VAULT;1.2;AES256;lab\n6162\n",
}


def _plant(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_scan_catches_planted_secrets(tmp_path):
    _plant(tmp_path, PLANTED)
    findings = "\n".join(scan_tree(str(tmp_path)))
    for rel in PLANTED:
        assert rel in findings, f"not caught: {rel}\n{findings}"
    assert "private key" in findings
    assert "AWS access key" in findings
    assert "vault file is not encrypted" in findings


def test_scan_accepts_vault_and_jinja_references(tmp_path):
    _plant(tmp_path, CLEAN)
    assert scan_tree(str(tmp_path)) == []


@pytest.mark.parametrize(
    ("key", "value", "secret"),
    [
        ("db_password", "x9", True),
        ("db_password", "{{ vault_db }}", False),
        ("typesense_api_key", "abc", True),
        ("password_file", "/etc/pw", False),
        ("update_password", "on_create", False),
        ("APP_KEY", "base64:abcd", True),
        ("api_key_name", "search", False),
        ("description", "password", False),
        ("search_meilisearch_master_key", "abc123", True),
        ("ssh_key", "ssh-ed25519 AAAA", False),
    ],
)
def test_literal_secret_rule(key, value, secret):
    assert _literal_secret(key, value) is secret
