#!/usr/bin/env bash
# `npm run test:mutation [-- part...]`: StrykerJS over each part the issue names (components,
# config, index, policy; all four by default), one run each with its own reports under
# reports/mutation/<part>/ (stryker.config.mjs). Incremental: a second run re-tests only the
# mutants whose code or covering tests changed. Mutation scores are in each run's table and in
# docs/mutation.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(policy components index config)
for part in "${parts[@]}"; do
    case "$part" in
    components | config | index | policy) ;;
    *)
        echo "test:mutation: unknown part $part (components, config, index, policy)" >&2
        exit 2
        ;;
    esac
done
for part in "${parts[@]}"; do
    echo "== mutation testing: $part"
    MUTATE_ONLY="$part" npx stryker run
done
