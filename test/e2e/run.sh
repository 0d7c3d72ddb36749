#!/usr/bin/env bash
# `npm run test:e2e`: sets up Docker, the base images and a registry (setup.sh), runs the e2e
# suite against them, then stops the registry. Extra arguments go to Jest (e.g. -t external).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
started=$(date +%s)
# shellcheck source=test/e2e/setup.sh
. test/e2e/setup.sh
trap e2e_teardown EXIT
e2e_setup "$root"
echo "e2e setup took $(($(date +%s) - started)) s"
status=0
npx jest -c test/e2e/jest.config.js "$@" || status=$?
echo "e2e finished in $(($(date +%s) - started)) s (jest exit status $status)"
exit "$status"
