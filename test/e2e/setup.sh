#!/usr/bin/env bash
# Sourced by run.sh. Prepares what the e2e suite needs on this machine, each step only when it is
# not already done: Debian's packages, a running dockerd, the local base images, and a throwaway
# registry (Debian's docker-registry, the software GitLab's registry runs) on port 80 of a free
# loopback address with htpasswd auth. Exports E2E_* for the tests; `e2e_teardown` stops the
# registry and removes its files (images stay cached in the engine, so the next run is warm).

e2e_log() { echo "e2e setup: $*" >&2; }

e2e_install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker-registry >/dev/null || missing+=(docker-registry)
    command -v htpasswd >/dev/null || missing+=(apache2-utils)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if [ "${#missing[@]}" -gt 0 ]; then
        e2e_log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            docker.io docker-registry apache2-utils debootstrap >/dev/null
    fi
}

e2e_start_dockerd() {
    if docker info >/dev/null 2>&1; then
        return 0
    fi
    e2e_log "starting dockerd (log: /var/log/msa-e2e-dockerd.log)"
    nohup dockerd >/var/log/msa-e2e-dockerd.log 2>&1 &
    local i
    for i in $(seq 1 60); do
        if docker info >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    e2e_log "dockerd did not answer on /var/run/docker.sock within 30 s; see /var/log/msa-e2e-dockerd.log"
    return 1
}

# A loopback address (127.a.b.c) whose port 80 is free. The registry serves there without a port
# in its name, like registry.gitlab.com: `msa:registry.server` takes a host name or address only.
# Docker trusts every 127.0.0.0/8 registry without TLS, and falls back to plain HTTP on port 80.
e2e_free_registry_address() {
    node -e '
const net = require("net");
const tries = Array.from({ length: 20 }, () =>
    `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`);
(async () => {
    for (const host of tries) {
        const ok = await new Promise((resolve) => {
            const s = net.createServer();
            s.once("error", () => resolve(false));
            s.listen(80, host, () => s.close(() => resolve(true)));
        });
        if (ok) { console.log(host); return; }
    }
    console.error("no loopback address with a free port 80 (is something listening on 0.0.0.0:80?)");
    process.exit(1);
})();'
}

e2e_start_registry() {
    E2E_REGISTRY_DIR=$(mktemp -d /tmp/msa-e2e-registry.XXXXXX)
    E2E_REGISTRY=$(e2e_free_registry_address) || return 1
    export E2E_REGISTRY
    export E2E_REGISTRY_USER=e2e-deployer
    # Generated per run and only ever held in this process's environment; the htpasswd file keeps
    # a bcrypt hash of it.
    E2E_REGISTRY_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    export E2E_REGISTRY_PASSWORD
    printf '%s' "$E2E_REGISTRY_PASSWORD" |
        htpasswd -iBn "$E2E_REGISTRY_USER" >"$E2E_REGISTRY_DIR/htpasswd" 2>/dev/null
    cat >"$E2E_REGISTRY_DIR/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $E2E_REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $E2E_REGISTRY:80
  secret: $(head -c 16 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
auth:
  htpasswd:
    realm: msa-e2e
    path: $E2E_REGISTRY_DIR/htpasswd
YAML
    docker-registry serve "$E2E_REGISTRY_DIR/config.yml" >"$E2E_REGISTRY_DIR/registry.log" 2>&1 &
    E2E_REGISTRY_PID=$!
    local i
    for i in $(seq 1 50); do
        # An unauthenticated /v2/ answers 401 once the registry serves.
        if node -e 'fetch(`http://${process.argv[1]}/v2/`).then(r=>process.exit(r.status===401?0:1),()=>process.exit(1))' "$E2E_REGISTRY"; then
            e2e_log "registry on $E2E_REGISTRY (pid $E2E_REGISTRY_PID)"
            return 0
        fi
        sleep 0.2
    done
    e2e_log "registry did not start; its log:"
    cat "$E2E_REGISTRY_DIR/registry.log" >&2
    return 1
}

# Drops this run's registry references (DB image tags, service tags and digests) from the engine;
# the layers behind the local base images stay cached.
e2e_untag_registry_images() {
    local repo tag digest
    docker images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' |
        while read -r repo tag digest; do
            case "$repo" in "$E2E_REGISTRY"/*) ;; *) continue ;; esac
            if [ "$tag" != "<none>" ]; then
                docker rmi "$repo:$tag" >/dev/null 2>&1 || true
            fi
            if [ "$digest" != "<none>" ]; then
                docker rmi "$repo@$digest" >/dev/null 2>&1 || true
            fi
        done
}

e2e_teardown() {
    # Never let a failed clean-up step skip the others (run.sh runs with set -e).
    set +e
    if [ -n "${E2E_REGISTRY_PID:-}" ]; then
        kill "$E2E_REGISTRY_PID" 2>/dev/null
        wait "$E2E_REGISTRY_PID" 2>/dev/null
    fi
    if [ -n "${E2E_REGISTRY_DIR:-}" ]; then
        rm -rf "$E2E_REGISTRY_DIR"
    fi
    if [ -n "${E2E_REGISTRY:-}" ]; then
        e2e_untag_registry_images
    fi
}

e2e_setup() {
    local root="$1"
    e2e_install_packages
    e2e_start_dockerd
    local line
    while IFS= read -r line; do
        export "${line?}"
    done < <(bash "$root/docker/e2e/build-images.sh")
    [ -n "${E2E_POSTGRES_IMAGE:-}" ] && [ -n "${E2E_SERVICE_IMAGE:-}" ] || {
        e2e_log "building the base images failed"
        return 1
    }
    e2e_start_registry
}
