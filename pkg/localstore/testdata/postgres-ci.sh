#!/bin/sh
# postgres-ci.sh installs and starts a PostgreSQL server for the tests of the
# PostgreSQL store, in a fresh Debian (12: PostgreSQL 15) running as root
# without systemd, as CI does. It is idempotent: a second run finds the
# server, role and database in place.
#
# It logs on stderr and prints on stdout the line to evaluate:
#
#	eval "$(sh pkg/localstore/testdata/postgres-ci.sh)"
#	CERTCTL_REQUIRE_INTEROP=1 go test ./pkg/localstore/...
#
# With CERTCTL_REQUIRE_INTEROP=1 the PostgreSQL tests fail, instead of being
# skipped, when CERTCTL_TEST_POSTGRES_URL is not set.
set -eu

log() { echo "postgres-ci: $*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
	log "installing postgresql"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	# In containers policy-rc.d stops the package from starting the
	# server; it is started below.
	apt-get install -y --no-install-recommends postgresql >&2
fi

ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$ver main "; then
	log "creating cluster $ver/main"
	pg_createcluster "$ver" main >&2
fi
if ! pg_lsclusters -h | grep -q "^$ver main .* online "; then
	log "starting cluster $ver/main"
	# pg_ctlcluster starts the server directly (no systemd needed) and
	# creates /var/run/postgresql.
	pg_ctlcluster "$ver" main start >&2
fi

i=0
until pg_isready -q -h 127.0.0.1 -p 5432; do
	i=$((i + 1))
	if [ "$i" -ge 60 ]; then
		log "server not ready after 30s"
		exit 1
	fi
	sleep 0.5
done

psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\"" </dev/null; }

if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'certctl'")" != 1 ]; then
	log "creating role certctl"
	# SUPERUSER: the tests create and drop a schema per test.
	psql_admin "CREATE ROLE certctl LOGIN PASSWORD 'certctl' SUPERUSER" >&2
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'certctl'")" != 1 ]; then
	log "creating database certctl"
	su postgres -c "createdb -O certctl certctl" </dev/null >&2
fi

url='postgres://certctl:certctl@127.0.0.1:5432/certctl?sslmode=disable'
log "ready: $url"
echo "export CERTCTL_TEST_POSTGRES_URL='$url'"
