#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for the PostgreSQL store's tests and benchmark.
#
#   source .ci/postgres.sh          # exports KEEL_TEST_POSTGRES (+ KEEL_PG_DATA); stops at exit
#   bash .ci/postgres.sh CMD ARGS   # runs CMD with them set, then stops the cluster
#
# Uses Debian's server binaries (/usr/lib/postgresql/*/bin, installing the `postgresql` package
# first when absent and root). initdb and pg_ctl run as the `postgres` user when started as root
# (the server refuses to run as root). The cluster listens on no TCP port (listen_addresses='')
# only on a unix socket in a private folder, with trust authentication for that socket, and its
# data lives in a temporary folder removed at exit. KEEL_PG_DATA names the data folder: the
# erasure test searches its files for erased bytes. wal_recycle=off makes old WAL segments be
# deleted rather than renamed for reuse (docs/scale.md, "Erasure").
set -euo pipefail

keel_pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return 0
  fi
  return 1
}

if ! KEEL_PG_BIN=$(keel_pg_bin); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    KEEL_PG_BIN=$(keel_pg_bin)
  else
    echo "postgres.sh: no PostgreSQL server binaries; install the postgresql package" >&2
    exit 1
  fi
fi

KEEL_PG_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/keel-pg.XXXXXX")
KEEL_PG_DATA="$KEEL_PG_ROOT/data"
KEEL_PG_SOCKET="$KEEL_PG_ROOT/socket"
mkdir -p "$KEEL_PG_DATA" "$KEEL_PG_SOCKET" "$KEEL_PG_ROOT/log"
if [ "$(id -u)" = 0 ]; then
  chmod 755 "$KEEL_PG_ROOT"
  chown postgres: "$KEEL_PG_DATA" "$KEEL_PG_SOCKET" "$KEEL_PG_ROOT/log"
  keel_pg_as() { runuser -u postgres -- "$@"; }
  KEEL_PG_USER=postgres
else
  keel_pg_as() { "$@"; }
  KEEL_PG_USER=$(id -un)
fi
chmod 700 "$KEEL_PG_DATA"

keel_pg_stop() {
  keel_pg_as "$KEEL_PG_BIN/pg_ctl" -D "$KEEL_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$KEEL_PG_ROOT"
}
trap keel_pg_stop EXIT

keel_pg_as "$KEEL_PG_BIN/initdb" -D "$KEEL_PG_DATA" -U "$KEEL_PG_USER" --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 >"$KEEL_PG_ROOT/initdb.log"
keel_pg_as "$KEEL_PG_BIN/pg_ctl" -D "$KEEL_PG_DATA" -w -l "$KEEL_PG_ROOT/log/server.log" \
  -o "-c listen_addresses='' -c unix_socket_directories='$KEEL_PG_SOCKET' -c wal_recycle=off \
-c max_connections=200" start >/dev/null

export KEEL_PG_DATA
export KEEL_TEST_POSTGRES="postgresql://$KEEL_PG_USER@/postgres?host=$KEEL_PG_SOCKET"
echo "PostgreSQL $("$KEEL_PG_BIN/postgres" --version | awk '{print $3}') at $KEEL_TEST_POSTGRES" >&2

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
  "$@"
fi
