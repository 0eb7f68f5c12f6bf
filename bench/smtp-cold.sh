#!/usr/bin/env bash
# SMTP right after a start, the way a restarted, upgraded or failed-over node meets its load: the server
# published self-contained as the Debian package ships it, with and without ReadyToRun, each started on a
# fresh data folder and loaded with 20 sessions of 5 KB messages the moment it says Ready; alternating,
# [rounds] times. Prints time to Ready, the first 10 s and the 10 s after. Then the whole-run figure:
# [messages] messages from a cold start, against Sealpost and, in the same invocation, Postfix handing
# to Dovecot over LMTP (both from apt), delivered messages per second and the ratio.
#   bash bench/smtp-cold.sh [rounds] [connections] [messages]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-2}"
CONNECTIONS="${2:-20}"
MESSAGES="${3:-10000}"
bash scripts/deps.sh >/dev/null
OUT="$(mktemp -d /tmp/sealpost-cold.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT
dotnet publish src/Sealpost.Cli -c Release -r linux-x64 --self-contained true --nologo -v q -o "$OUT/jit" >/dev/null
dotnet publish src/Sealpost.Cli -c Release -r linux-x64 --self-contained true --nologo -v q -p:PublishReadyToRun=true -o "$OUT/r2r" >/dev/null
dotnet build -c Release bench/Sealpost.Bench >/dev/null
DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll
for round in $(seq 1 "$ROUNDS"); do
  for build in jit r2r; do
    echo "=== round $round, $build"
    dotnet "$DLL" smtp-cold --server "$OUT/$build/sealpost" --connections "$CONNECTIONS"
  done
done
echo "=== whole run, cold, against Postfix -> Dovecot LMTP"
dotnet "$DLL" smtp-cold --whole --server "$OUT/jit/sealpost" --connections "$CONNECTIONS" --messages "$MESSAGES"
