#!/usr/bin/env bash
# A three-node Docker Swarm for the swarm e2e suite, on this machine's engine: each node is a
# Docker-in-Docker container (docker/e2e/swarm-node: Debian's docker.io) on a bridge network of
# its own. Node 1 is the manager and carries the label msa.db=true; nodes 2 and 3 join as
# workers. A registry for the swarm (Debian's docker-registry with htpasswd auth, as in
# test/e2e/setup.sh) serves on port 80 of that bridge's gateway, the host's address on it: the
# nodes cannot reach the host's loopback, where the main e2e registry listens.
#
#   bash test/e2e/swarm/cluster.sh up      # prints SWARM_* lines for the caller to export
#   bash test/e2e/swarm/cluster.sh down    # removes the nodes, network, registry; keeps caches
#   bash test/e2e/swarm/cluster.sh purge   # down, and drops the caches too
#   . test/e2e/swarm/cluster.sh            # sourced: swarm_up / swarm_down, SWARM_* exported
#
# `up` needs SWARM_NODE_IMAGE (docker/e2e/build-images.sh prints it as E2E_SWARM_NODE_IMAGE).
#
# Each node's /var/lib/docker is a named volume that `down` keeps (`purge` removes it): image
# layers the nodes pulled stay, so a warm run pulls nothing. On `up` the node's entrypoint drops
# the old swarm state and `up` removes the previous run's containers, networks and volumes, so
# each run starts a fresh swarm on the same images; a node stopped and started again (`docker
# start`) keeps its state and rejoins. The registry's storage is kept too ($SWARM_CACHE), with a
# new password each run, so a warm run publishes without uploading a layer.
#
# No port is published on the host: the nodes' sockets are files under $SWARM_STATE, and the
# stack's host-mode ports are reached on the nodes' own addresses on the bridge.

SWARM_PREFIX=${SWARM_PREFIX:-msa-e2e-swarm}
SWARM_STATE=${SWARM_STATE:-/run/$SWARM_PREFIX}
# Kept between runs (`purge` removes it): the registry's storage.
SWARM_CACHE=${SWARM_CACHE:-/var/cache/$SWARM_PREFIX}
SWARM_SUBNET=${SWARM_SUBNET:-198.18.250.0/24}
SWARM_NODE_COUNT=3

swarm_log() { echo "swarm cluster: $*" >&2; }

swarm_node_name() { echo "$SWARM_PREFIX-$1"; }

# `docker` against node $1 (1-based).
swarm_docker() {
    local n="$1"
    shift
    docker -H "unix://$SWARM_STATE/$(swarm_node_name "$n")/docker.sock" "$@"
}

swarm_wait() { # what tries command…: runs the command every 0.25 s until it succeeds
    local what="$1" tries="$2" i
    shift 2
    for ((i = 0; i < tries; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.25
    done
    swarm_log "$what did not happen in time"
    return 1
}

swarm_start_network() {
    if ! docker network inspect "$SWARM_PREFIX" >/dev/null 2>&1; then
        # A fixed subnet, so the registry (the gateway) has the same address on every run: the
        # nodes' engines remember which layers they pulled from which registry, and a warm run
        # then pushes the DB image by mounting its base layers instead of uploading them. It is
        # outside Docker's default pools and swarm's overlay pool (10.0.0.0/8); if something
        # holds it already, the engine picks a free subnet (and warm runs push more).
        local base=${SWARM_SUBNET%/*}
        docker network create --driver bridge --label msa.e2e=swarm --subnet "$SWARM_SUBNET" \
            --gateway "${base%.*}.$((${base##*.} + 1))" "$SWARM_PREFIX" >/dev/null 2>&1 ||
            docker network create --driver bridge --label msa.e2e=swarm "$SWARM_PREFIX" >/dev/null
    fi
    SWARM_GATEWAY=$(docker network inspect "$SWARM_PREFIX" \
        -f '{{range .IPAM.Config}}{{if .Gateway}}{{.Gateway}}{{end}}{{end}}')
    if [ -z "$SWARM_GATEWAY" ]; then
        swarm_log "network $SWARM_PREFIX has no IPv4 gateway"
        return 1
    fi
}

# The registry on the gateway's port 80: its name is an address without a port, like
# registry.gitlab.com (msa:registry.server takes a host only). The nodes' engines are told to use
# it over plain HTTP; the host's engine never talks to it.
swarm_start_registry() {
    mkdir -p "$SWARM_STATE/registry" "$SWARM_CACHE/registry"
    export SWARM_REGISTRY="$SWARM_GATEWAY"
    export SWARM_REGISTRY_USER=swarm-deployer
    SWARM_REGISTRY_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    export SWARM_REGISTRY_PASSWORD
    printf '%s' "$SWARM_REGISTRY_PASSWORD" |
        htpasswd -iBn "$SWARM_REGISTRY_USER" >"$SWARM_STATE/registry/htpasswd" 2>/dev/null
    cat >"$SWARM_STATE/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $SWARM_CACHE/registry
  delete:
    enabled: true
http:
  addr: $SWARM_REGISTRY:80
  secret: $(head -c 16 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
auth:
  htpasswd:
    realm: msa-e2e-swarm
    path: $SWARM_STATE/registry/htpasswd
YAML
    # setsid: its own process group, so `down` (perhaps from another shell) stops exactly it.
    setsid docker-registry serve "$SWARM_STATE/registry/config.yml" \
        >"$SWARM_STATE/registry/registry.log" 2>&1 </dev/null &
    echo $! >"$SWARM_STATE/registry/pid"
    if ! swarm_wait "registry on $SWARM_REGISTRY" 40 \
        sh -c "curl -s -o /dev/null -w '%{http_code}' http://$SWARM_REGISTRY/v2/ | grep -qx 401"; then
        cat "$SWARM_STATE/registry/registry.log" >&2
        return 1
    fi
}

swarm_start_node() {
    local n="$1" name
    name=$(swarm_node_name "$n")
    mkdir -p "$SWARM_STATE/$name"
    rm -f "$SWARM_STATE/$name/docker.sock"
    # Tells the entrypoint to drop the swarm state a kept image cache may hold.
    touch "$SWARM_STATE/$name/fresh"
    # What the machine allows instead of --privileged (which fails here); the host's cgroup tree
    # is shared read-write so the node's dockerd can create its containers' cgroups.
    docker run -d --name "$name" --hostname "$name" --network "$SWARM_PREFIX" \
        --label msa.e2e=swarm \
        --cap-add ALL --cap-drop SYS_RESOURCE \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --security-opt systempaths=unconfined \
        -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
        -v "$name:/var/lib/docker" \
        -v "$SWARM_STATE/$name:/run/msa-host" \
        "$SWARM_NODE_IMAGE" \
        -H unix:///var/run/docker.sock -H unix:///run/msa-host/docker.sock \
        --insecure-registry "$SWARM_REGISTRY" --log-level warn >/dev/null
}

# The previous run's leftovers on a node whose image cache was kept.
swarm_clean_node() {
    local n="$1" ids
    ids=$(swarm_docker "$n" ps -aq)
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086
        swarm_docker "$n" rm -f $ids >/dev/null
    fi
    swarm_docker "$n" volume prune -f >/dev/null
    swarm_docker "$n" network prune -f >/dev/null
}

swarm_up() {
    : "${SWARM_NODE_IMAGE:?SWARM_NODE_IMAGE is not set (docker/e2e/build-images.sh prints it)}"
    local started n manager_ip token
    started=$(date +%s)
    swarm_down
    swarm_start_network
    swarm_start_registry
    for n in $(seq 1 "$SWARM_NODE_COUNT"); do
        swarm_start_node "$n"
    done
    for n in $(seq 1 "$SWARM_NODE_COUNT"); do
        swarm_wait "dockerd of $(swarm_node_name "$n")" 120 swarm_docker "$n" info || {
            docker logs --tail 30 "$(swarm_node_name "$n")" >&2
            return 1
        }
        swarm_clean_node "$n"
    done
    manager_ip=$(swarm_node_ip 1)
    # A 1 s heartbeat: a stopped node is marked down (and its tasks rescheduled) within seconds,
    # not the default 5 s × 3.
    swarm_docker 1 swarm init --advertise-addr "$manager_ip" --dispatcher-heartbeat 1s \
        --task-history-limit 2 >/dev/null
    token=$(swarm_docker 1 swarm join-token -q worker)
    for n in $(seq 2 "$SWARM_NODE_COUNT"); do
        swarm_docker "$n" swarm join --token "$token" "$manager_ip:2377" >/dev/null
    done
    swarm_docker 1 node update --label-add msa.db=true "$(swarm_node_name 1)" >/dev/null
    swarm_wait "all $SWARM_NODE_COUNT nodes ready" 120 swarm_all_ready
    export SWARM_MANAGER_SOCKET="$SWARM_STATE/$(swarm_node_name 1)/docker.sock"
    export SWARM_NODES SWARM_NODE_ADDRESSES SWARM_STATE SWARM_CACHE SWARM_PREFIX
    SWARM_NODES=$(for n in $(seq 1 "$SWARM_NODE_COUNT"); do swarm_node_name "$n"; done | xargs)
    SWARM_NODE_ADDRESSES=$(for n in $(seq 1 "$SWARM_NODE_COUNT"); do swarm_node_ip "$n"; done | xargs)
    swarm_log "$SWARM_NODE_COUNT nodes up in $(($(date +%s) - started)) s: $SWARM_NODES ($SWARM_NODE_ADDRESSES), registry $SWARM_REGISTRY"
}

swarm_node_ip() {
    docker inspect -f "{{(index .NetworkSettings.Networks \"$SWARM_PREFIX\").IPAddress}}" \
        "$(swarm_node_name "$1")"
}

swarm_all_ready() {
    [ "$(swarm_docker 1 node ls --format '{{.Status}}' | grep -c '^Ready$')" = "$SWARM_NODE_COUNT" ]
}

swarm_down_nodes() {
    local n name
    for n in $(seq 1 "$SWARM_NODE_COUNT"); do
        name=$(swarm_node_name "$n")
        docker rm -f -v "$name" >/dev/null 2>&1 || true
    done
}

swarm_stop_registry() {
    local pid
    pid=$(cat "$SWARM_STATE/registry/pid" 2>/dev/null) || return 0
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    rm -rf "$SWARM_STATE/registry"
}

# Everything `up` started; the node image and the nodes' image caches stay.
swarm_down() {
    swarm_down_nodes
    docker network rm "$SWARM_PREFIX" >/dev/null 2>&1 || true
    swarm_stop_registry
    rm -rf "$SWARM_STATE"
}

# `down`, and the caches: the nodes' images and the registry's storage.
swarm_purge() {
    local n
    swarm_down
    for n in $(seq 1 "$SWARM_NODE_COUNT"); do
        docker volume rm "$(swarm_node_name "$n")" >/dev/null 2>&1 || true
    done
    rm -rf "$SWARM_CACHE"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        up)
            swarm_up
            for var in SWARM_MANAGER_SOCKET SWARM_NODES SWARM_NODE_ADDRESSES SWARM_STATE \
                SWARM_CACHE SWARM_PREFIX SWARM_REGISTRY SWARM_REGISTRY_USER \
                SWARM_REGISTRY_PASSWORD; do
                echo "$var=${!var}"
            done
            ;;
        down) swarm_down ;;
        purge) swarm_purge ;;
        *)
            echo "usage: $0 up|down|purge" >&2
            exit 2
            ;;
    esac
fi
