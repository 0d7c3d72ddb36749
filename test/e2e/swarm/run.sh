#!/usr/bin/env bash
# `npm run test:e2e:swarm`: the stack with `msa:runtime: swarm` on a three-node Docker Swarm on
# this machine. Prepares packages, dockerd and the local images as the main e2e suite does
# (test/e2e/setup.sh, docker/e2e/build-images.sh), starts the cluster and its registry
# (cluster.sh), runs test/e2e/swarm/*.test.ts, then tears the cluster down (the node image and the
# nodes' image caches stay, so the next run is warm). Extra arguments go to Jest.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
started=$(date +%s)
# shellcheck source=test/e2e/setup.sh
. test/e2e/setup.sh
# shellcheck source=test/e2e/swarm/cluster.sh
. test/e2e/swarm/cluster.sh
e2e_install_packages
e2e_start_dockerd
while IFS= read -r line; do
    export "${line?}"
done < <(bash docker/e2e/build-images.sh)
[ -n "${E2E_SWARM_NODE_IMAGE:-}" ] && [ -n "${E2E_HAPROXY_IMAGE:-}" ] || {
    echo "swarm e2e: building the base images failed" >&2
    exit 1
}
export SWARM_NODE_IMAGE=$E2E_SWARM_NODE_IMAGE
trap swarm_down EXIT
swarm_up
echo "swarm e2e setup took $(($(date +%s) - started)) s"
status=0
npx jest -c test/e2e/swarm/jest.config.js "$@" || status=$?
echo "swarm e2e finished in $(($(date +%s) - started)) s (jest exit status $status)"
exit "$status"
