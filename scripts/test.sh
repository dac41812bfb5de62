#!/usr/bin/env bash
# The whole test command (README, `.ci/run`): set-up on a fresh Debian 12 machine, then
# yamllint, ansible-lint (production profile), --syntax-check of every playbook on both
# inventories (and of lab/'s plays on the lab's), validate.yml on both inventories, the pytest unit tests, ansible-test sanity and units,
# and every Molecule scenario.
#   bash scripts/test.sh                 everything
#   bash scripts/test.sh unit|lint|syntax|ansible-test  one stage (ansible-test: sanity and units of the
#                                                      collection infra.hosting, scripts/ansible_test.sh)
#   bash scripts/test.sh molecule [scenario ...]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export CONTAINERS_CONF="$here/lab/containers.conf"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1 NO_COLOR=1
export PATH="$here/.venv/bin:$PATH"
mkdir -p .cache/test-logs
logs="$here/.cache/test-logs"

# See scripts/cgroup-keeper.sh: keeps `podman exec` working in systemd containers on cgroup v1 hosts.
bash scripts/cgroup-keeper.sh $$ >/dev/null 2>&1 &
keeper=$!
trap 'kill $keeper 2>/dev/null' EXIT

passed=0; failed=0; failures=()
started=$(date +%s)
stage() {  # stage NAME COMMAND...: run, time, count
  local name=$1; shift
  local t0; t0=$(date +%s)
  echo "== $name"
  if "$@" >"$logs/$name.log" 2>&1; then
    passed=$((passed + 1)); echo "   ok ($(( $(date +%s) - t0 ))s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "   FAILED ($(( $(date +%s) - t0 ))s): last lines of $logs/$name.log"
    tail -n 60 "$logs/$name.log" | sed 's/^/   | /'
  fi
}

syntax_all() {
  local empty="$here/.cache/empty-ansible.cfg" rc=0
  printf '[defaults]\nroles_path = %s/roles\nfilter_plugins = %s/plugins/filter\nlibrary = %s/plugins/modules\nmodule_utils = %s/plugins/module_utils\n' \
    "$here" "$here" "$here" "$here" >"$empty"
  # One ansible-playbook per inventory checks every playbook given to it (an error names its file): one
  # process instead of one per playbook (29 x 2 + 3 processes took ~130 s of the two cores; this, ~10 s).
  # Production: no vault password at all (its vault never enters the repository).
  ANSIBLE_CONFIG="$empty" ansible-playbook -i inventories/production --syntax-check playbooks/*.yml || { echo "syntax (production)"; rc=1; }
  # The lab's own plays (lab/: lab services, the lab's site.yml, the containers' bootstrap): lab inventory only.
  ansible-playbook -i inventories/lab --syntax-check playbooks/*.yml lab/*.yml || { echo "syntax (lab)"; rc=1; }
  ANSIBLE_CONFIG="$empty" ansible-playbook -i inventories/production playbooks/validate.yml || { echo "validate: production"; rc=1; }
  ansible-playbook -i inventories/lab playbooks/validate.yml || { echo "validate: lab"; rc=1; }
  return $rc
}

lint_all() {
  yamllint -s . && ansible-lint
}

unit_all() {
  # tests/unit/plugins runs in the ansible-test stage (`ansible-test units`, the collection's layout): not twice.
  pytest -q -p no:cacheprovider --ignore=tests/unit/plugins tests/unit
}

molecule_one() {
  molecule test -s "$1"
}

# Scenarios run MOLECULE_LANES at a time (default 3 on the two-core machine: its scenarios wait on
# services, failovers and bounded loads often enough that a third lane fills the idle CPU; .ci/run by
# hand, fresh clone: 2 lanes 1,778 s, 3 lanes 1,412 s, docs/benchmarks.md), longest first so that
# the lanes end together; each has its own containers, network and log. `molecule_start` launches
# them in the background (the static stages run meanwhile), `molecule_collect` waits and counts.
longest_first=(deploy db_ha web forge edge_ha security databases lb typesense_cluster site_cleanup typesense common)
molecule_start() {
  local ordered=() s
  for s in "${longest_first[@]}"; do [[ " $* " == *" $s "* ]] && ordered+=("$s"); done
  for s in "$@"; do [[ " ${ordered[*]} " == *" $s "* ]] || ordered+=("$s"); done
  molecule_ordered=("${ordered[@]}")
  # Each run keeps its own exit codes: two test commands at once must not read each other's.
  rcdir="$logs/rc.$$"; mkdir -p "$rcdir"; rm -f "$rcdir"/*
  (
    lanes=${MOLECULE_LANES:-3}; pids=()
    for s in "${ordered[@]}"; do
      while [ "$(jobs -pr | wc -l)" -ge "$lanes" ]; do sleep 2; done
      echo "== molecule-$s (started at $(( $(date +%s) - started ))s)"
      ( t=$(date +%s); molecule_one "$s" >"$logs/molecule-$s.log" 2>&1; echo "$? $(( $(date +%s) - t ))" >"$rcdir/$s" ) &
    done
    wait
  ) &
  molecule_pid=$!
}
molecule_collect() {
  local s rc t
  wait "$molecule_pid"
  for s in "${molecule_ordered[@]}"; do
    read -r rc t <"$rcdir/$s" || { rc=1; t=?; }
    if [ "$rc" = 0 ]; then
      passed=$((passed + 1)); echo "== molecule-$s: ok (${t}s)"
    else
      failed=$((failed + 1)); failures+=("molecule-$s"); echo "== molecule-$s: FAILED (${t}s): last lines of $logs/molecule-$s.log"
      tail -n 60 "$logs/molecule-$s.log" | sed 's/^/   | /'
    fi
  done
  rm -rf "$rcdir"
}

scenarios_to_run() {  # every scenario, but those carrying a WIP file (run them by naming them)
  local s
  for s in $(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | sort); do
    if [ -f "molecule/$s/WIP" ]; then
      echo "== molecule-$s: not run by default (molecule/$s/WIP: $(head -n 1 "molecule/$s/WIP"))" >&2
      continue
    fi
    echo "$s"
  done
}

what=${1:-all}
[ $# -gt 0 ] && shift
if [ "$what" = all ] || [ "${SKIP_BOOTSTRAP:-0}" != 1 ]; then
  stage bootstrap bash scripts/bootstrap.sh || true
  [ ${#failures[@]} -eq 0 ] || { echo "set-up failed"; echo "0 passed, 1 failed"; exit 1; }
fi
case "$what" in
  all)
    # Molecule's lanes start first (they are most of the time); lint, syntax and unit run meanwhile.
    mapfile -t scenarios < <(scenarios_to_run)
    molecule_start "${scenarios[@]}"
    stage lint lint_all
    stage syntax syntax_all
    stage unit unit_all
    stage ansible-test bash scripts/ansible_test.sh
    molecule_collect ;;
  lint) stage lint lint_all ;;
  syntax) stage syntax syntax_all ;;
  unit) stage unit unit_all ;;
  ansible-test) stage ansible-test bash scripts/ansible_test.sh ;;
  molecule)
    if [ $# -gt 0 ]; then scenarios=("$@"); else mapfile -t scenarios < <(scenarios_to_run); fi
    molecule_start "${scenarios[@]}"
    molecule_collect ;;
  *) echo "unknown stage $what"; exit 2 ;;
esac
echo "== total $(( $(date +%s) - started ))s"
[ $failed -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
