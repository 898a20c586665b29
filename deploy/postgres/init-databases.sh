#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# One server, one database and one login role per data-owning service: the services never share
# tables, and each role owns its database (so its migrations can create what they need, such as
# the trusted pg_trgm extension, without superuser rights).
set -eu

create_database() {
    role="$1"; password="$2"; database="$3"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        -v role="$role" -v password="$password" -v database="$database" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
SQL
}

create_database numbers_api "${NUMBERS_API_DB_PASSWORD:?}" numbers_api
create_database call_orchestrator "${CALL_ORCHESTRATOR_DB_PASSWORD:?}" call_orchestrator
