#!/usr/bin/env bash
# What the audit trail costs (issue: domain services and audit trail).
#  1. audit appends: events/s through the trail with 64 producers each awaiting its own durable event,
#     on SQLite and on PostgreSQL (cold and warm);
#  2. audit on vs off: IMAP login churn and SMTP delivery on a real server, 5 alternating on/off
#     pairs in one run, the median ratio and its spread, on SQLite (AUDIT_BENCH_PG=1: PostgreSQL too).
#   bash bench/audit.sh [pairs] [seconds-per-measurement] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${1:-5}"
SECONDS_EACH="${2:-10}"
CLIENTS="${3:-20}"
bash scripts/deps.sh >/dev/null
. bench/postgres.sh
trap stop_bench_postgres EXIT
start_bench_postgres
PG="Host=127.0.0.1;Port=$PGPORT;Username=sealpost;Database=postgres;Maximum Pool Size=64"
dotnet build -c Release bench/Sealpost.Bench >/dev/null
DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll
dotnet "$DLL" audit
dotnet "$DLL" audit --postgres "$PG"
dotnet "$DLL" audit-overhead --pairs "$PAIRS" --seconds "$SECONDS_EACH" --clients "$CLIENTS"
if [ "${AUDIT_BENCH_PG:-}" = 1 ]; then
  dotnet "$DLL" audit-overhead --pairs "$PAIRS" --seconds "$SECONDS_EACH" --clients "$CLIENTS" --postgres "$PG"
fi
