#!/bin/sh
# Creates $DB_NAME and $DB_SCHEMA_NAME (owned by $POSTGRES_USER) if they do not exist. Run by the
# Postgres entrypoint on first start; safe to run again by hand. Names are passed to psql as
# variables and quoted with format('%I'), never pasted into SQL, and the database is chosen
# through PGDATABASE, which libpq does not parse as a connection string.
set -eu
: "${DB_NAME:?DB_NAME must be set}"
: "${DB_SCHEMA_NAME:?DB_SCHEMA_NAME must be set}"
owner="${POSTGRES_USER:-postgres}"

PGDATABASE=postgres psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$owner" \
    --set=db="$DB_NAME" --set=owner="$owner" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')
\gexec
SQL

PGDATABASE="$DB_NAME" psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$owner" \
    --set=schema="$DB_SCHEMA_NAME" --set=owner="$owner" <<'SQL'
SET client_min_messages TO warning;
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'schema', :'owner')
\gexec
SQL
