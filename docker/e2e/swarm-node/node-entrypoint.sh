#!/bin/sh
# Starts the node's dockerd; arguments are extra dockerd flags (test/e2e/swarm/cluster.sh passes
# the registry it may use without TLS and where to put a socket the host can reach).
#
# The node's /var/lib/docker may be a volume kept from an earlier run to cache image layers: its
# swarm state is dropped first, so the node starts outside any swarm (cluster.sh then removes the
# earlier run's containers, networks and volumes through the API).
set -eu
rm -rf /var/lib/docker/swarm
# The node shares the host's cgroup tree: its containers get their own parent, apart from the
# host engine's /docker.
exec dockerd --cgroup-parent "/msa-swarm-$(hostname)" "$@"
