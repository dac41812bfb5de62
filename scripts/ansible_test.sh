#!/usr/bin/env bash
# ansible-test on the collection infra.hosting (the repository root, galaxy.yml): sanity on the plugins
# (validate-modules, pylint, pep8, compile, yamllint, import, ansible-doc, runtime-metadata) and the plugins'
# unit tests (tests/unit/plugins). ansible-test needs the collection under .../ansible_collections/infra/hosting:
# the tracked files (and new ones not ignored) are copied to a temporary tree of that shape, outside the
# repository. Python 3.11, no container: sanity runs from the repository's virtualenv (--local), each test in
# a virtualenv ansible-test makes once (~/.ansible/test/venv) and reuses; units run in a virtualenv ansible-test
# makes for the run (--venv: pytest-mock and pytest-xdist, which .venv does not carry).
#   bash scripts/ansible_test.sh             sanity, then units
#   bash scripts/ansible_test.sh sanity|units
# Ignores, each with its reason: tests/sanity/ignore-2.19.txt (ansible-core pinned in requirements.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
case "$what" in all|sanity|units) ;; *) echo "usage: $0 [sanity|units]" >&2; exit 2 ;; esac
export PATH="$here/.venv/bin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/ansible-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/infra/hosting"
mkdir -p "$dest"
# The symlink that makes the checkout resolvable would point back at the repository: not copied.
(cd "$here" && git ls-files --cached --others --exclude-standard \
  | grep -v -e '^playbooks/collections/' -e '^tests/app/' \
  | while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done \
  | tar --no-recursion -cf - -T -) | tar -xf - -C "$dest"
# Tests that run the playbooks use the repository's virtualenv (bin/ansible-playbook).
ln -s "$here/.venv" "$dest/.venv"
cd "$dest"

# ansible-test bootstraps pip in each virtualenv it makes with a script it downloads from
# ci-files.testing.ansible.com, which this network does not reach; it reads a cached copy first. The stand-in
# below does the same job with Python's own ensurepip, then pip-installs the pip version ansible-test pins
# from the package index pip is configured with.
getpip=~/.ansible/test/cache/get_pip_24_2.py
if [ ! -f "$getpip" ]; then
  mkdir -p "$(dirname "$getpip")"
  cat >"$getpip" <<'PY'
"""Stand-in for get-pip.py, written by scripts/ansible_test.sh: ensurepip, then pip install the arguments."""
import subprocess
import sys

# In a child process: ensurepip turns pip's configuration off in its own environment (index, certificates).
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)
PY
fi

rc=0
if [ "$what" != units ]; then
  t0=$(date +%s)
  ansible-test sanity --local --python 3.11 --color no \
    --test validate-modules --test pylint --test pep8 --test compile --test yamllint \
    --test import --test ansible-doc --test runtime-metadata \
    plugins/ meta/ tests/unit/plugins/ || rc=1
  echo "== ansible-test sanity: $([ $rc = 0 ] && echo ok || echo FAILED) ($(( $(date +%s) - t0 ))s)"
fi
if [ "$what" != sanity ]; then
  t0=$(date +%s); urc=0
  ansible-test units --venv --python 3.11 --color no tests/unit/plugins/ || urc=1
  echo "== ansible-test units: $([ $urc = 0 ] && echo ok || echo FAILED) ($(( $(date +%s) - t0 ))s)"
  [ $urc = 0 ] || rc=1
fi
exit $rc
