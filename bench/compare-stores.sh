#!/usr/bin/env bash
# Durable append throughput, SQLite vs PostgreSQL, in one run (issue 4's report).
# Starts a throw-away PostgreSQL cluster on 127.0.0.1 (fsync and synchronous_commit on, the
# defaults), runs the append benchmark against both stores with 1 and 100 mailboxes, removes it.
#   bash bench/compare-stores.sh [messages] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES="${1:-5000}"
CONCURRENCY="${2:-16}"
bash scripts/deps.sh >/dev/null
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
DATA="$(mktemp -d /tmp/sealpost-bench-pg.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
chown postgres:postgres "$DATA"
cleanup() { runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$DATA"; }
trap cleanup EXIT
runuser -u postgres -- "$BIN/initdb" -D "$DATA" -U sealpost -A trust -E UTF8 --locale C.UTF-8 >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -l "$DATA/log" -w -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c shared_buffers=512MB" start >/dev/null
dotnet build -c Release bench/Sealpost.Bench >/dev/null
DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll
for MAILBOXES in 1 100; do
  dotnet "$DLL" append --mailboxes "$MAILBOXES" --messages "$MESSAGES" --concurrency "$CONCURRENCY"
  DB="bench_$MAILBOXES"
  runuser -u postgres -- "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U sealpost -d postgres -qc "CREATE DATABASE $DB" >/dev/null
  dotnet "$DLL" append --mailboxes "$MAILBOXES" --messages "$MESSAGES" --concurrency "$CONCURRENCY" \
    --postgres "Host=127.0.0.1;Port=$PORT;Username=sealpost;Database=$DB;Maximum Pool Size=64"
done
