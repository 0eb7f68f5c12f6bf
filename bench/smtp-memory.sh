#!/usr/bin/env bash
# Peak server memory while large messages arrive at once, against the message-memory budget: 14
# concurrent 40 MiB messages with a 512 MiB budget (DATA, then BDAT), server in its own process.
#   bash bench/smtp-memory.sh [messages] [size-mib] [budget-mib]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release src/Sealpost.Cli >/dev/null
dotnet build -c Release bench/Sealpost.Bench >/dev/null
DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll
for mode in "" --bdat; do
  dotnet "$DLL" smtp-memory --messages "${1:-14}" --size-mib "${2:-40}" --budget-mib "${3:-512}" $mode
done
