#!/usr/bin/env bash
# A throwaway local PostgreSQL for the loanflow tests.
#
#   eval "$(bash scripts/postgres.sh)"    # install if missing, start, export EKYC_TEST_POSTGRES_URL
#   bash scripts/postgres.sh stop         # stop it and delete its files
#
# Installs Debian's postgresql package when no server binaries are found (needs root),
# then runs a private cluster with initdb/pg_ctl in $EKYC_PG_DIR (default: a directory
# under $TMPDIR) on 127.0.0.1 and a free port, as the postgres user when run as root.
# Trust authentication, fsync off: for tests only, never for data you want to keep.
# Idempotent: a second start reuses the running cluster. Only the export line goes to
# stdout; everything else goes to stderr.
set -euo pipefail

PGDIR="${EKYC_PG_DIR:-${TMPDIR:-/tmp}/ekyc-postgres-$(id -u)}"
DBNAME="ekyc_test"
DBUSER="postgres"

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local dirs
    dirs=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V || true)
    [[ -n "$dirs" ]] && echo "${dirs##*$'\n'}"
}

install_server() {
    if [[ $(id -u) -ne 0 ]]; then
        say "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin."
        say "Install them as root: apt-get update && apt-get install -y postgresql"
        exit 1
    fi
    say "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Run a server binary as the postgres user when we are root (the server refuses root).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

print_url() {
    echo "export EKYC_TEST_POSTGRES_URL=postgresql+psycopg://${DBUSER}@127.0.0.1:$(cat "$PGDIR/port")/${DBNAME}"
}

stop() {
    local bindir
    bindir=$(find_bindir) || true
    if [[ -n "${bindir:-}" && -f "$PGDIR/data/postmaster.pid" ]]; then
        as_owner "$bindir/pg_ctl" -D "$PGDIR/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$PGDIR"
    say "stopped; removed $PGDIR"
}

start() {
    local bindir port
    bindir=$(find_bindir) || true
    if [[ -z "${bindir:-}" ]]; then
        install_server
        bindir=$(find_bindir)
    fi
    if [[ -f "$PGDIR/port" ]] && as_owner "$bindir/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
        say "already running on port $(cat "$PGDIR/port") ($PGDIR)"
        print_url
        return
    fi
    rm -rf "$PGDIR"
    mkdir -p "$PGDIR"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$PGDIR"
    as_owner "$bindir/initdb" -D "$PGDIR/data" -U "$DBUSER" --auth=trust -E UTF8 --no-locale >/dev/null
    port=$(free_port)
    as_owner "$bindir/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 start \
        -o "-h 127.0.0.1 -p $port -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$DBUSER" "$DBNAME"
    echo "$port" | as_owner tee "$PGDIR/port" >/dev/null
    say "running $("$bindir/postgres" --version) on 127.0.0.1:$port ($PGDIR); stop: bash scripts/postgres.sh stop"
    print_url
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    *) say "usage: $0 [start|stop]"; exit 2 ;;
esac
