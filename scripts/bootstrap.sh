#!/usr/bin/env bash
# Install what the lab and the tests need on a fresh Debian 12 machine (run as root; idempotent):
# podman, runc, debootstrap, testssl.sh and friends from Debian; a virtualenv with the pinned
# Python dependencies (requirements.txt); the lab's base image (scripts/build-image.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export DEBIAN_FRONTEND=noninteractive

apt_packages=(podman runc debootstrap python3-venv git curl jq openssl testssl.sh chromium chromium-driver)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

venv="${VENV:-$here/.venv}"
stamp="$venv/.requirements.sha256"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== python: creating $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r requirements.txt
  echo "$want" >"$stamp"
fi
# The controller's plugins compiled once (0.2 s): ansible-playbook forks a worker per task and host, and each
# worker imports the filter plugins its templates use; without a cached .pyc (a fresh clone, or
# PYTHONDONTWRITEBYTECODE set, as on this project's machines) every worker compiled their source again: 12 % of
# the controller's samples in a converge of whc's sites (docs/benchmarks.md). A plugin edited later is compiled again
# by its next run (or this script).
"$venv/bin/python" -m compileall -q plugins lab/plugins >/dev/null

# Each systemd container holds inotify instances: the default of 128 per user runs out with a
# lab plus a few Molecule containers (systemd then fails: "Failed to create inotify object").
if [ "$(sysctl -n fs.inotify.max_user_instances)" -lt 1024 ]; then
  sysctl -qw fs.inotify.max_user_instances=1024
fi

export CONTAINERS_CONF="$here/lab/containers.conf"
echo "== image"
bash scripts/build-image.sh
