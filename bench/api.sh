#!/usr/bin/env bash
# Admin API (issue 15's figures): authenticated reads with 20 concurrent clients, measured with wrk over
# TLS (GET /api/v1/me, one account, one page of 100), and 10,000 accounts listed in pages of 100 through
# the cursor, per-page latency cold (first walk after start) and warm. Every request is checked against
# its token by a keyed-hash lookup and the permission matrix.
#   bash bench/api.sh [seconds-per-wrk-run] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-15}"
CLIENTS="${2:-20}"
bash scripts/deps.sh >/dev/null
dotnet build -c Release bench/Sealpost.Bench >/dev/null
dotnet bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll api --accounts 10000 --seconds "$SECONDS_PER_RUN" --clients "$CLIENTS"
