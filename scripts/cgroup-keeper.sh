#!/usr/bin/env bash
# Work around a host issue of cgroup v1 hybrid machines (this project's): the systemd of a
# privileged container with a private cgroup namespace moves itself out of the container's
# `name=systemd` cgroup, which is then empty and gets removed; every later `podman exec` of that
# container fails ("error adding pid ... to cgroups"). This keeper puts one sleeping process in each
# running container's `name=systemd` cgroup (a non-empty cgroup cannot be removed) and recreates
# a cgroup that is already gone. Bounded: it stops after KEEPER_SECONDS (default 2 h) or when
# its parent (the test or lab command) ends. Nothing to do on cgroup v2-only machines.
set -u
root=/sys/fs/cgroup/systemd/libpod_parent
[ -d /sys/fs/cgroup/systemd ] || exit 0
parent=${1:-$PPID}
deadline=$(( $(date +%s) + ${KEEPER_SECONDS:-7200} ))
declare -A kept
trap 'for p in "${kept[@]}"; do kill "$p" 2>/dev/null; done' EXIT
while [ "$(date +%s)" -lt "$deadline" ] && kill -0 "$parent" 2>/dev/null; do
  for id in $(podman ps -q --no-trunc 2>/dev/null); do
    dir="$root/libpod-$id"
    [ -d "$dir" ] || mkdir -p "$dir" 2>/dev/null || continue
    pid=${kept[$id]:-}
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      sleep "${KEEPER_SECONDS:-7200}" &
      kept[$id]=$!
    fi
    grep -qx "${kept[$id]}" "$dir/cgroup.procs" 2>/dev/null || echo "${kept[$id]}" >"$dir/cgroup.procs" 2>/dev/null
  done
  sleep 0.5
done
