#!/usr/bin/env bash
# Runs tests/bench/noisy_neighbour.py on the molecule `web` scenario's web container (mol-web), which
# must be converged first: `molecule converge -s web`. Extra arguments go to the Python bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/lab/containers.conf}"
container="${WEB_BENCH_CONTAINER:-mol-web}"
podman cp tests/bench/noisy_neighbour.py "$container:/tmp/noisy_neighbour.py"
timeout 600 podman exec "$container" python3 /tmp/noisy_neighbour.py "$@"
