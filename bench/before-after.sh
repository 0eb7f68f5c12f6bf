#!/usr/bin/env bash
# The IMAP and SMTP benchmarks of an earlier revision and of this checkout, in one run, alternating
# (so the machine's drift hits both alike): what a change cost or gained. Each IMAP run also measures
# Dovecot in the same invocation and prints the ratio; SMTP runs on SQLite with SPF/DKIM/DMARC
# evaluated against a local dnsmasq.
#   bash bench/before-after.sh REVISION [rounds] [imap-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
REV="${1:?usage: bench/before-after.sh REVISION [rounds] [imap-seconds]}"
ROUNDS="${2:-2}"
SECONDS_EACH="${3:-10}"
bash scripts/deps.sh >/dev/null
BEFORE="$(mktemp -d /tmp/sealpost-before.XXXXXX)"
DNSPORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= --user=root --listen-address=127.0.0.1 \
  --bind-interfaces --port="$DNSPORT" --local=/example/ --txt-record="remote.example,v=spf1 ip4:127.0.0.0/8 -all" \
  --txt-record="_dmarc.remote.example,v=DMARC1; p=reject" >/dev/null 2>&1 &
DNSPID=$!
cleanup() { kill "$DNSPID" 2>/dev/null || true; git worktree remove --force "$BEFORE" >/dev/null 2>&1 || rm -rf "$BEFORE"; }
trap cleanup EXIT
git worktree add --detach "$BEFORE" "$REV" >/dev/null 2>&1
dotnet build -c Release "$BEFORE/bench/Sealpost.Bench" >/dev/null
dotnet build -c Release bench/Sealpost.Bench >/dev/null
for round in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    if [ "$side" = before ]; then DLL="$BEFORE/bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll"; else DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll; fi
    echo "=== round $round, $side ($( [ "$side" = before ] && echo "$REV" || git rev-parse --short HEAD ))"
    dotnet "$DLL" imap --sessions 20 --seconds "$SECONDS_EACH" --messages 2000 --big-mailbox 0
    dotnet "$DLL" smtp --connections 20 --messages 100 --dns "127.0.0.1:$DNSPORT"
  done
done
