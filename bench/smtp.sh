#!/usr/bin/env bash
# SMTP inbound load (issue 5's report): 20 sessions of 5 KB messages to a local recipient, SPF/DKIM/DMARC
# evaluated against a local dnsmasq, sealing and durable commit on, on SQLite and on PostgreSQL,
# each followed by Postfix's smtp-sink under the same load as the generator's ceiling.
#   bash bench/smtp.sh [connections] [messages-per-connection] [--pipelined]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS="${1:-20}"
MESSAGES="${2:-100}"
PIPELINED="${3:-}"
bash scripts/deps.sh >/dev/null
DNSPORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
. bench/postgres.sh
dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= --user=root --listen-address=127.0.0.1 \
  --bind-interfaces --port="$DNSPORT" --local=/example/ --txt-record="remote.example,v=spf1 ip4:127.0.0.0/8 -all" \
  --txt-record="_dmarc.remote.example,v=DMARC1; p=reject" >/dev/null 2>&1 &
DNSPID=$!
cleanup() { kill "$DNSPID" 2>/dev/null || true; stop_bench_postgres; }
trap cleanup EXIT
start_bench_postgres
dotnet build -c Release bench/Sealpost.Bench >/dev/null
DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll
[ "${SMTP_BENCH_ONLY:-}" = postgres ] || dotnet "$DLL" smtp --connections "$CONNECTIONS" --messages "$MESSAGES" --dns "127.0.0.1:$DNSPORT" $PIPELINED
runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U sealpost -d postgres -qc "CREATE DATABASE smtpbench" >/dev/null
dotnet "$DLL" smtp --connections "$CONNECTIONS" --messages "$MESSAGES" --dns "127.0.0.1:$DNSPORT" $PIPELINED \
  --postgres "Host=127.0.0.1;Port=$PGPORT;Username=sealpost;Database=smtpbench;Maximum Pool Size=64"
