#!/usr/bin/env bash
# The official postgres image's entrypoint contract, reduced to what the stack relies on:
# - started as root, it prepares $PGDATA and the socket directory, then re-runs itself as postgres;
# - on first start (empty $PGDATA) it runs initdb with POSTGRES_USER/POSTGRES_PASSWORD, allows
#   password (scram-sha-256) logins from any host, creates POSTGRES_DB, and runs
#   /docker-entrypoint-initdb.d/*.sh (executable: run; otherwise sourced) and *.sql against a
#   temporary server that listens on the Unix socket only;
# - a later start with an initialised $PGDATA skips all of that;
# - finally it execs `postgres` (PGPORT, when set, is the port it listens on).
set -Eeuo pipefail

if [ "${1:-}" != postgres ]; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 2777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

log() { echo "entrypoint: $*" >&2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (the database is not initialised)}"
    export POSTGRES_USER="${POSTGRES_USER:-postgres}"
    export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
    log "initialising $PGDATA"
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA" >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"

    # Socket only, so nothing outside sees a server before initialisation has finished.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
    psql_init=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER")
    if [ "$POSTGRES_DB" != postgres ]; then
        "${psql_init[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
        *.sh)
            if [ -x "$f" ]; then
                log "running $f"
                "$f"
            else
                log "sourcing $f"
                # shellcheck disable=SC1090
                . "$f"
            fi
            ;;
        *.sql)
            log "running $f"
            "${psql_init[@]}" --dbname "$POSTGRES_DB" -f "$f" >/dev/null
            ;;
        *) [ -e "$f" ] && log "ignoring $f" ;;
        esac
    done
    unset PGPASSWORD
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    log "initialisation complete"
else
    log "$PGDATA already initialised; skipping init"
fi

exec "$@"
