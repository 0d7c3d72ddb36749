#!/usr/bin/env bash
# Builds the local images the e2e suite needs, since nothing can be pulled from a public registry
# here: `debian:bookworm` from debootstrap, a Postgres base image honouring the official image's
# contract (docker/e2e/postgres), and the sample service (docker/e2e/sample-service). An image
# that already exists is reused; the Postgres and service tags carry a hash of their build
# context, so an edited Dockerfile or script gets a fresh image and an unchanged one is not rebuilt.
#
# Also the edge proxy (docker/e2e/haproxy: Debian's haproxy) and a Docker Swarm node for the swarm
# suite (docker/e2e/swarm-node: Debian's docker.io, run as Docker-in-Docker).
#
# Prints `E2E_POSTGRES_IMAGE=…`, `E2E_SERVICE_IMAGE=…`, `E2E_HAPROXY_IMAGE=…` and
# `E2E_SWARM_NODE_IMAGE=…` lines on stdout for the caller to export.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
debian_image=debian:bookworm

log() { echo "e2e images: $*" >&2; }

context_hash() {
    (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
        sha256sum | cut -c1-12
}

if docker image inspect "$debian_image" >/dev/null 2>&1; then
    log "$debian_image present"
else
    log "building $debian_image with debootstrap (minbase)"
    root=$(mktemp -d /tmp/msa-e2e-rootfs.XXXXXX)
    trap 'rm -rf "$root" "$root.log"' EXIT
    if ! debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian \
        >"$root.log" 2>&1; then
        tail -n 30 "$root.log" >&2
        exit 1
    fi
    rm -f "$root.log"
    # Same sources as the official image, so apt inside `docker build` works as usual.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" -c . | docker import \
        -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$debian_image" >/dev/null
    rm -rf "$root"
    trap - EXIT
fi

build() { # name context tag-suffix [docker build args…]
    local image="$1-$3" context="$2"
    shift 3
    if docker image inspect "$image" >/dev/null 2>&1; then
        log "$image present"
    else
        log "building $image"
        local out
        if ! out=$(docker build -q -t "$image" "$@" "$context" 2>&1); then
            echo "$out" >&2
            return 1
        fi
    fi
    echo "$image"
}

postgres_hash=$(context_hash "$here/postgres")
postgres_image=$(build msa-e2e/postgres:15 "$here/postgres" "$postgres_hash")
# The service is built on the Postgres image, so its tag changes when either context does.
service_image=$(build msa-e2e/sample-service:1 "$here/sample-service" \
    "$(context_hash "$here/sample-service")-$postgres_hash" --build-arg "BASE_IMAGE=$postgres_image")
haproxy_image=$(build msa-e2e/haproxy:2 "$here/haproxy" "$(context_hash "$here/haproxy")")
swarm_node_image=$(build msa-e2e/swarm-node:1 "$here/swarm-node" "$(context_hash "$here/swarm-node")")
echo "E2E_POSTGRES_IMAGE=$postgres_image"
echo "E2E_SERVICE_IMAGE=$service_image"
echo "E2E_HAPROXY_IMAGE=$haproxy_image"
echo "E2E_SWARM_NODE_IMAGE=$swarm_node_image"
