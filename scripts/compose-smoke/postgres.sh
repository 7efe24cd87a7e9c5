#!/usr/bin/env bash
# What the official postgres image's entrypoint does, for Debian's postgresql-15:
# create the cluster with POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB on
# first start, then run the server in the foreground on every interface.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
data=/var/lib/postgresql/data
mkdir -p "$data" /var/run/postgresql
chown -R postgres:postgres "$data" /var/run/postgresql
as_postgres() { runuser -u postgres -- "$@"; }
if [ ! -s "$data/PG_VERSION" ]; then
  password_file=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$password_file"
  chown postgres "$password_file"
  as_postgres "$bin/initdb" -D "$data" -U "$POSTGRES_USER" --pwfile="$password_file" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$password_file"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$data/pg_hba.conf"
  as_postgres "$bin/pg_ctl" -D "$data" -w -o "-c listen_addresses=''" start >/dev/null
  as_postgres "$bin/psql" -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -qc "create database \"$POSTGRES_DB\""
  as_postgres "$bin/pg_ctl" -D "$data" -w stop >/dev/null
fi
exec runuser -u postgres -- "$bin/postgres" -D "$data" -c listen_addresses='*'
