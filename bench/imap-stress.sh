#!/usr/bin/env bash
# Dovecot imaptest's default stress profile (100 users, 50 clients, 30 s after a 20 s warm-up, with and
# without login churn) against Sealpost and, in the same invocation, Dovecot (default and
# high-performance modes), and the first 10 s after each server starts (cold, every client logging in at
# once). Each server runs on CPU 0, the load generator on CPU 1 (taskset). With login churn Sealpost is
# measured again held to the faster Dovecot's cycles per second, to compare each command's p50 at equal load.
#   bash bench/imap-stress.sh [clients] [seconds] [warmup]
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS="${1:-50}"
SECONDS_EACH="${2:-30}"
WARMUP="${3:-20}"
bash scripts/deps.sh >/dev/null
dotnet build -c Release bench/Sealpost.Bench >/dev/null
dotnet build -c Release src/Sealpost.Cli >/dev/null
taskset -c 1 dotnet bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll imap-stress \
  --clients "$CLIENTS" --seconds "$SECONDS_EACH" --warmup "$WARMUP" --server-cpu 0 \
  --server src/Sealpost.Cli/bin/Release/net10.0/sealpost.dll
