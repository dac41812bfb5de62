#!/usr/bin/env bash
# The lab: one systemd container per host of inventories/lab, on the podman network `lab`.
#   bash scripts/lab.sh up        set-up, containers, then converge lab/site.yml (lab services, then playbooks/site.yml)
#   bash scripts/lab.sh start     containers only (a new one gets its admin over podman: lab/bootstrap.yml; a
#                                 stopped database tier is started again in order: playbooks/db_cluster.yml)
#   bash scripts/lab.sh converge  ansible-playbook lab/site.yml (the lab is the default inventory)
#   bash scripts/lab.sh status    containers and their addresses
#   bash scripts/lab.sh down      remove the containers and the network
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export CONTAINERS_CONF="$here/lab/containers.conf"
export PATH="$here/.venv/bin:$PATH"
image="${LAB_IMAGE:-localhost/lab-debian:bookworm}"
network=lab
subnet=10.77.0.0/24

hosts_tsv() {  # inventory host, container name (lab_container), address
  ansible-inventory -i inventories/lab --list 2>/dev/null | python3 -c '
import json, sys
data = json.load(sys.stdin)["_meta"]["hostvars"]
for name, hv in sorted(data.items()):
    print(name, "lab-" + name, hv["private_ip"], sep="\t")'
}

key() {  # the lab admin's SSH key, a vault-encrypted fixture, decrypted for ansible's SSH
  local key=.cache/lab/labadmin.key
  [ -s "$key" ] && return 0
  mkdir -p .cache/lab
  (umask 077; ansible-vault decrypt --output "$key" tests/fixtures/labadmin.key.vault >/dev/null)
}

recover_stale() {
  # When the session that ran the lab ends, its processes are killed but /run is kept: podman still
  # says "Up" for containers whose conmon and systemd are gone, and exec/stop/start then fail
  # ("cannot exec in a stopped container", "container state improper", "IPAM error"). With no
  # conmon left at all, nothing runs: reset podman's runtime state (it refreshes every container
  # to "Created", their filesystems kept), drop the dead veths, the IPAM and runc records and the
  # containers' leftover cgroups, then start as usual. Never done while any container runs.
  pgrep -x conmon >/dev/null && return 0
  [ -n "$(podman ps -q 2>/dev/null)" ] || return 0
  echo "== podman's state is stale (containers \"Up\" with no conmon): resetting it"
  pkill -f 'scripts/cgroup-keeper.sh' 2>/dev/null && sleep 1  # its sleepers hold the cgroups
  rm -f /run/libpod/alive
  podman ps -a -q >/dev/null 2>&1 || true
  local v id d
  for v in $(ip -o link show type veth 2>/dev/null | awk -F'[ @:]+' '/master podman/ {print $2}'); do
    ip link del "$v" 2>/dev/null || true
  done
  rm -f /run/containers/networks/ipam.db
  rm -rf /run/runc/*
  for id in $(podman ps -a -q --no-trunc); do
    for d in /sys/fs/cgroup/*/libpod_parent/libpod-"$id"*; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
  keep_cgroups
}

start() {
  key
  recover_stale
  podman network exists "$network" || podman network create --subnet "$subnet" "$network" >/dev/null
  local new=()
  restarted_db=0
  while IFS=$'\t' read -r host container ip; do
    if podman container exists "$container"; then
      if [ "$(podman inspect -f '{{.State.Running}}' "$container")" != true ]; then
        podman start "$container" >/dev/null
        case "$host" in db_*) restarted_db=1 ;; esac
      fi
      continue
    fi
    echo "== starting $container ($ip)"
    new+=("$host")
    # privileged + private cgroup namespace: systemd's resource controls are enforced (LAB-NOTES).
    podman run -d --name "$container" --hostname "${host//_/-}" \
      --network "$network" --ip "$ip" \
      --systemd=always --privileged --cgroupns=private \
      --tmpfs /tmp --tmpfs /run \
      "$image" /sbin/init >/dev/null
  done < <(hosts_tsv)
  while IFS=$'\t' read -r host container ip; do
    for _ in $(seq 1 60); do
      state=$(podman exec "$container" systemctl is-system-running 2>/dev/null || true)
      case "$state" in running|degraded) break ;; esac
      sleep 1
    done
    echo "   $host: $container $ip systemd ${state:-unknown}"
  done < <(hosts_tsv)
  if [ ${#new[@]} -gt 0 ]; then
    echo "== admin and sshd on the new containers (lab/bootstrap.yml, through podman)"
    ansible-playbook lab/bootstrap.yml --limit "$(IFS=,; echo "${new[*]}")"
  fi
}

keep_cgroups() {  # see scripts/cgroup-keeper.sh
  bash scripts/cgroup-keeper.sh $$ >/dev/null 2>&1 &
}

case "${1:-up}" in
  up)
    keep_cgroups
    bash scripts/bootstrap.sh
    start
    ansible-playbook lab/site.yml
    ;;
  start)
    keep_cgroups; start
    # Every member of the tier stopped at once (the machine or the session ended): no member may start a
    # cluster on its own (Galera, Patroni's etcd); db_cluster.yml's full-cluster restart path does it
    # (docs/databases.md, "Full-cluster restart").
    if [ "$restarted_db" = 1 ]; then ansible-playbook playbooks/db_cluster.yml; fi
    ;;
  converge)
    shift; key
    if [ "${LAB_MITOGEN:-0}" = 1 ]; then  # opt-in (docs/lab.md): Mitogen's strategy over the same SSH
      export ANSIBLE_STRATEGY_PLUGINS="$here/lab/plugins/strategy" ANSIBLE_STRATEGY=mitogen_linear
    fi
    ansible-playbook lab/site.yml "$@" ;;
  status) podman ps -a --filter "network=$network" --format '{{.Names}}\t{{.Status}}' ;;
  down)
    while IFS=$'\t' read -r _ container _; do podman rm -f -t 5 "$container" >/dev/null 2>&1 || true; done < <(hosts_tsv)
    podman network exists "$network" && podman network rm "$network" >/dev/null || true
    echo "lab removed"
    ;;
  *) sed -n '2,8p' "$0"; exit 2 ;;
esac
