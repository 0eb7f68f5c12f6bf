#!/usr/bin/env bash
# IMAP figures (issue 6's report): the mixed load against Sealpost and, in the same invocation, Dovecot
# in its default and high-performance modes (ratio to the faster); SELECT of a 100,000-message mailbox;
# then the resident memory of 5,000 and 19,000 idle logged-in TLS sessions, server in its own process.
#   bash bench/imap.sh [sessions] [seconds] [--no-big]
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS="${1:-20}"
SECONDS_EACH="${2:-10}"
BIG=100000
[ "${3:-}" = "--no-big" ] && BIG=0
bash scripts/deps.sh >/dev/null
dotnet build -c Release bench/Sealpost.Bench >/dev/null
dotnet build -c Release src/Sealpost.Cli >/dev/null
DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll
dotnet "$DLL" imap --sessions "$SESSIONS" --seconds "$SECONDS_EACH" --messages 2000 --big-mailbox "$BIG"
dotnet "$DLL" imap-memory --server src/Sealpost.Cli/bin/Release/net10.0/sealpost.dll --sessions 5000,19000
dotnet "$DLL" imap-memory --server src/Sealpost.Cli/bin/Release/net10.0/sealpost.dll --sessions 5000,19000 --aead-only
