#!/usr/bin/env bash
# Outbound delivery with no network but loopback: run under `unshare --net`. Starts a DNS server
# (dnsmasq), a receiver (aiosmtpd) and `sealpost serve --dev`, submits one message for another
# organisation and waits for it to arrive. The server runs under strace, which records every
# connect(), and every sendto()/sendmsg() (DNS over UDP), it makes. Prints "delivered" and then "outside: N", the connections it tried to anything
# but loopback or a local socket, and exits 0; 1 if nothing came.
#   offline.sh SEALPOST_DLL WORK_DIR RECEIVER_PY
set -euo pipefail
DLL="$1"; WORK="$2"; RECEIVER="$3"
ip link set lo up
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DNSPORT="$(free_port)"
mkdir -p "$WORK/out"
pids=()
# strace detaches from the server when it is killed, and the server would run on: stop the children first.
cleanup() { for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= --user=root --listen-address=127.0.0.1 \
  --bind-interfaces --port="$DNSPORT" --local=/test/ --mx-host=partner.test,mx.partner.test,10 --host-record=mx.partner.test,127.0.0.1 >/dev/null 2>&1 &
pids+=($!)
mkfifo "$WORK/receiver.in"
/usr/bin/python3 "$RECEIVER" "$WORK/out" 0 < "$WORK/receiver.in" > "$WORK/receiver.out" 2>&1 &
pids+=($!)
exec 3> "$WORK/receiver.in"
for _ in $(seq 1 100); do grep -q '^port ' "$WORK/receiver.out" 2>/dev/null && break; sleep 0.1; done
RPORT="$(sed -n 's/^port //p' "$WORK/receiver.out")"
strace -f -qq -e trace=connect,sendto,sendmsg -o "$WORK/connect.trace" dotnet "$DLL" serve --dev --data "$WORK/data" --set Http:Listen:0=127.0.0.1:0 --set Smtp:InboundListen:0=127.0.0.1:0 \
  --set Smtp:SubmissionListen:0=127.0.0.1:0 --set Smtp:SubmissionTlsListen:0=127.0.0.1:0 --set Imap:Listen:0=127.0.0.1:0 \
  --set Imap:TlsListen:0=127.0.0.1:0 --set PasswordHashing:Profile=test-only-insecure --set "Smtp:DnsServers:0=127.0.0.1:$DNSPORT" \
  --set "Delivery:TestMxPort=$RPORT" --set Delivery:PollSeconds=1 --verbose > "$WORK/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do grep -q '^Ready\.' "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
SUBMISSION="$(awk '$1 == "submission" {print $2}' "$WORK/serve.log")"
/usr/bin/python3 - "$SUBMISSION" <<'PY'
import smtplib, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
context = ssl.create_default_context(); context.check_hostname = False; context.verify_mode = ssl.CERT_NONE
with smtplib.SMTP(host, int(port), timeout=30) as s:
    s.starttls(context=context)
    s.login("alice@example.test", "alice-dev-password")
    s.sendmail("alice@example.test", ["carol@partner.test"], "From: alice@example.test\r\nTo: carol@partner.test\r\nSubject: offline\r\n\r\nhello\r\n")
PY
for _ in $(seq 1 600); do ls "$WORK"/out/*.eml >/dev/null 2>&1 && break; sleep 0.1; done
ls "$WORK"/out/*.eml >/dev/null 2>&1 || { echo "nothing arrived"; tail -20 "$WORK/serve.log"; exit 1; }
echo delivered
echo "connections: $(grep -E 'connect\(|sendto\(|sendmsg\(' "$WORK/connect.trace" | grep -cE 'AF_INET6?' || true)"
echo "outside: $(grep -E 'connect\(|sendto\(|sendmsg\(' "$WORK/connect.trace" | grep -E 'AF_INET6?' | grep -vE 'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|inet_pton\(AF_INET6, "::ffff:127\.' | tee "$WORK/outside.txt" | wc -l)"
cat "$WORK/outside.txt"
