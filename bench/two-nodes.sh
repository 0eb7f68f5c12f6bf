#!/usr/bin/env bash
# One node against two on one PostgreSQL database, same run: SMTP delivery (20 sessions of 5 KB
# messages to one local mailbox, spread over the nodes) from the moment the nodes are Ready, the
# first 10 s and the 10 s after; alternating, [rounds] times, each on a fresh database. Then IMAP:
# imaptest's default stress profile (bench/imap-stress.sh; 50 clients spread over the nodes, with
# and without login churn) against one node and against two, each on a fresh database. The nodes,
# PostgreSQL and the load generator share this machine's cores (no pinning).
#   bash bench/two-nodes.sh [rounds] [connections] [imap-seconds] [imap-warmup]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-2}"
CONNECTIONS="${2:-20}"
IMAP_SECONDS="${3:-30}"
IMAP_WARMUP="${4:-20}"
bash scripts/deps.sh >/dev/null
. bench/postgres.sh
OUT="$(mktemp -d /tmp/sealpost-nodes.XXXXXX)"
cleanup() { stop_bench_postgres; rm -rf "$OUT"; }
trap cleanup EXIT
start_bench_postgres
dotnet publish src/Sealpost.Cli -c Release -r linux-x64 --self-contained true --nologo -v q -o "$OUT/bin" >/dev/null
dotnet build -c Release bench/Sealpost.Bench >/dev/null
dotnet build -c Release src/Sealpost.Cli >/dev/null
DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll
n=0
for round in $(seq 1 "$ROUNDS"); do
  for nodes in 1 2; do
    n=$((n + 1))
    runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U sealpost -d postgres -qc "CREATE DATABASE nodes$n" >/dev/null
    echo "=== round $round, $nodes node(s)"
    dotnet "$DLL" smtp-cold --server "$OUT/bin/sealpost" --connections "$CONNECTIONS" --nodes "$nodes" \
      --postgres "Host=127.0.0.1;Port=$PGPORT;Username=sealpost;Database=nodes$n;Maximum Pool Size=64"
  done
done
for nodes in 1 2; do
  n=$((n + 1))
  runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U sealpost -d postgres -qc "CREATE DATABASE nodes$n" >/dev/null
  echo "=== IMAP stress profile, $nodes node(s)"
  dotnet "$DLL" imap-stress --unpinned --no-reference --nodes "$nodes" --seconds "$IMAP_SECONDS" --warmup "$IMAP_WARMUP" \
    --server src/Sealpost.Cli/bin/Release/net10.0/sealpost.dll \
    --postgres "Host=127.0.0.1;Port=$PGPORT;Username=sealpost;Database=nodes$n;Maximum Pool Size=64"
done
