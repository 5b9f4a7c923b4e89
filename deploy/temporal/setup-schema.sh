#!/bin/sh
# Creates Temporal's two PostgreSQL databases (history and visibility) and brings their
# schemas to the version the admin-tools image ships. Safe to run again: an existing
# database is kept, setup-schema -v 0.0 only records a missing base version, and
# update-schema applies what is new (how a server upgrade migrates the volume in place).
# Runs in temporalio/admin-tools; settings from the environment (docker-compose.yml).
set -eu

: "${POSTGRES_SEEDS:=postgresql}" "${DB_PORT:=5432}" "${POSTGRES_USER:=temporal}"
: "${DBNAME:=temporal}" "${VISIBILITY_DBNAME:=temporal_visibility}"
export SQL_PASSWORD="${POSTGRES_PWD:?POSTGRES_PWD is required}"
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12

sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"; }

for pair in "$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"; do
  db=${pair%%:*}
  dir=$schema/${pair#*:}/versioned
  echo "database $db: schema from $dir"
  # "create" fails when the database exists (a restart on the same volume); a real
  # connection or auth problem fails the next command.
  sql --db "$db" create 2>/dev/null || echo "database $db exists"
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$dir"
done
echo "Temporal schemas are up to date"
