#!/bin/sh
# Starts the node's dockerd; arguments are extra dockerd flags (test/e2e/swarm/cluster.sh passes
# the registry it may use without TLS and where to put a socket the host can reach).
#
# The node's /var/lib/docker may be a volume kept from an earlier run to cache image layers. On
# the node's first start (cluster.sh leaves the file `fresh` in /run/msa-host) the old swarm state
# is dropped, so the node starts outside any swarm; cluster.sh then removes the earlier run's
# containers, networks and volumes through the API. A restarted node (a test stops and starts it)
# keeps its state and rejoins its swarm.
set -eu
if [ -e /run/msa-host/fresh ]; then
    rm -rf /var/lib/docker/swarm
    rm -f /run/msa-host/fresh
fi
# After a restart the pid files name PID 1, which is this process again: dockerd would refuse.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
# The node shares the host's cgroup tree: its containers get their own parent, apart from the
# host engine's /docker.
exec dockerd --cgroup-parent "/msa-swarm-$(hostname)" "$@"
