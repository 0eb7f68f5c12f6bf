#!/usr/bin/env bash
# Outbound delivery (issue 14's figure): N connections submit 5 KB messages for another organisation,
# DKIM-signed (RSA-2048, the same key on both sides) and relayed to Postfix's smtp-sink; counted at the
# sink from a cold start. Sealpost: submission (AUTH PLAIN on loopback) -> sealed queue -> worker ->
# smtp-sink. Postfix: smtp-source -> Postfix (port 25, mynetworks) with the OpenDKIM milter -> smtp-sink.
# Both start cold, in this one invocation, and a ratio is printed.
#   bash bench/outbound.sh [connections] [messages-per-connection]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS="${1:-20}"
MESSAGES="${2:-100}"
TOTAL=$((CONNECTIONS * MESSAGES))
bash scripts/deps.sh >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK="$(mktemp -d /tmp/sealpost-outbound-XXXXXX)"
chmod 755 "$WORK" # Postfix daemons run as postfix and must reach their queue inside
SINK_PORT="$(free_port)"; PF_PORT="$(free_port)"; MILTER_PORT="$(free_port)"
cleanup() {
  postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1 || true
  kill "${SINK_PID:-}" "${DKIM_PID:-}" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

openssl genrsa -traditional -out "$WORK/dkim.key" 2048 2>/dev/null
/usr/sbin/smtp-sink -c -u nobody "127.0.0.1:$SINK_PORT" 256 > "$WORK/sink.out" 2>&1 &
SINK_PID=$!
sink_count() { tr '\r' '\n' < "$WORK/sink.out" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2 || true; }

echo "outbound: $CONNECTIONS connections x $MESSAGES messages of 5 KB, DKIM RSA-2048, to smtp-sink ($(nproc) cores)"
dotnet build -c Release bench/Sealpost.Bench >/dev/null
DLL=bench/Sealpost.Bench/bin/Release/net10.0/Sealpost.Bench.dll
OURS="$(dotnet "$DLL" outbound --connections "$CONNECTIONS" --messages "$MESSAGES" --sink-port "$SINK_PORT" --sink-counter "$WORK/sink.out" --dkim-key "$WORK/dkim.key" | tee /dev/stderr | grep '^SEALPOST_RATE=' | cut -d= -f2)"

# Postfix with OpenDKIM, a private instance on loopback (no chroot, its own queue).
mkdir -p "$WORK/postfix/etc" "$WORK/postfix/queue" "$WORK/postfix/data"
sed -e "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$PF_PORT inet n - n - - smtpd/" \
    -e 's/^\([a-z0-9]*  *[a-z-]*  *[-ny]  *[-ny]  *\)y /\1n /' /etc/postfix/master.cf > "$WORK/postfix/etc/master.cf"
cat > "$WORK/postfix/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $WORK/postfix/queue
data_directory = $WORK/postfix/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.example.test
mydestination =
relayhost = [127.0.0.1]:$SINK_PORT
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
maillog_file = /dev/stdout
smtp_tls_security_level = none
default_destination_concurrency_limit = $CONNECTIONS
smtp_destination_concurrency_limit = $CONNECTIONS
default_process_limit = 200
smtpd_milters = inet:127.0.0.1:$MILTER_PORT
milter_default_action = tempfail
alias_maps =
alias_database =
CONF
chown -R postfix "$WORK/postfix/data"
cat > "$WORK/opendkim.conf" <<CONF
Syslog no
Background no
Mode s
Domain example.test
Selector bench
KeyFile $WORK/dkim.key
Socket inet:$MILTER_PORT@127.0.0.1
Canonicalization relaxed/relaxed
InternalHosts 127.0.0.1
UserID root
RequireSafeKeys false
CONF
opendkim -f -x "$WORK/opendkim.conf" > "$WORK/opendkim.log" 2>&1 &
DKIM_PID=$!
postfix -c "$WORK/postfix/etc" start >"$WORK/postfix-start.log" 2>&1 || { cat "$WORK/postfix-start.log" "$WORK/postfix/maillog" >&2 2>/dev/null; exit 1; }
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$PF_PORT") 2>/dev/null && break; sleep 0.1; done

BEFORE="$(sink_count)"; BEFORE="${BEFORE:-0}"
START="$(date +%s.%N)"
/usr/sbin/smtp-source -s "$CONNECTIONS" -m "$TOTAL" -l 5120 -f alice@example.test -t carol@partner.test "127.0.0.1:$PF_PORT"
SUBMITTED="$(date +%s.%N)"
while [ $(( $(sink_count) - BEFORE )) -lt "$TOTAL" ]; do
  sleep 0.02
  [ "$(echo "$(date +%s.%N) - $START > 300" | bc)" = 1 ] && break
done
END="$(date +%s.%N)"
DELIVERED=$(( $(sink_count) - BEFORE ))
THEIRS="$(echo "scale=1; $DELIVERED / ($END - $START)" | bc)"
printf '  postfix      %s of %s delivered at the sink in %.2f s from a cold start: %.0f messages/s (all submitted in %.2f s)\n' \
  "$DELIVERED" "$TOTAL" "$(echo "$END - $START" | bc)" "$THEIRS" "$(echo "$SUBMITTED - $START" | bc)"
# Check that Postfix's copies were signed: one more message through it to a sink that keeps what it gets.
kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true
mkdir -p "$WORK/dump"; chmod 777 "$WORK/dump"
/usr/sbin/smtp-sink -u nobody -d "$WORK/dump/%M." "127.0.0.1:$SINK_PORT" 16 >/dev/null 2>&1 &
SINK_PID=$!
sleep 0.5
/usr/sbin/smtp-source -m 1 -l 512 -f alice@example.test -t carol@partner.test "127.0.0.1:$PF_PORT"
for _ in $(seq 1 100); do ls "$WORK"/dump/* >/dev/null 2>&1 && break; sleep 0.1; done
if grep -qs "^DKIM-Signature:.*d=example.test" "$WORK"/dump/* || grep -qsA3 "^DKIM-Signature:" "$WORK"/dump/*; then
  echo "  postfix      its copies carry OpenDKIM's DKIM-Signature (checked on one message)"
else
  echo "  postfix      WARNING: the checked message carried no DKIM-Signature"
fi
printf '  ratio        sealpost / postfix+opendkim = %.2f\n' "$(echo "scale=3; $OURS / $THEIRS" | bc)"
