#!/usr/bin/env bash
# Writes /etc/default/etcd (read by Debian's etcd-server unit) for one member of the three-member etcd
# quorum that holds Patroni's leader lock: one member at the primary site, one at the
# disaster-recovery site and one witness in a third place, so that losing either site leaves a
# majority (docs/disaster-recovery.md, "Quorum").
#
#   deploy/dr/etcd-member.sh --name site-a --address 10.1.0.10 \
#     --member site-a=10.1.0.10 --member site-b=10.2.0.10 --member witness=10.3.0.10 > /etc/default/etcd
set -euo pipefail

usage() {
  echo "usage: $0 --name NAME --address IP --member NAME=IP [--member NAME=IP]... [--token TOKEN] [--data-dir DIR]" >&2
  exit 2
}

name="" address="" token=sealpost-store data_dir=/var/lib/etcd/sealpost
members=()
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="${2:?}"; shift 2 ;;
    --address) address="${2:?}"; shift 2 ;;
    --member) members+=("${2:?}"); shift 2 ;;
    --token) token="${2:?}"; shift 2 ;;
    --data-dir) data_dir="${2:?}"; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$name" ] && [ -n "$address" ] && [ "${#members[@]}" -gt 0 ] || usage
if [ $(( ${#members[@]} % 2 )) -eq 0 ]; then
  echo "$0: an etcd quorum needs an odd number of members (${#members[@]} given): with two sites, add a witness in a third place" >&2
  exit 2
fi
initial=""
for m in "${members[@]}"; do
  [[ "$m" == *=* ]] || usage
  initial+="${initial:+,}${m%%=*}=http://${m#*=}:2380"
done

cat <<CONF
# etcd member $name of the Sealpost store's Patroni quorum (written by deploy/dr/etcd-member.sh).
ETCD_NAME="$name"
ETCD_DATA_DIR="$data_dir"
ETCD_LISTEN_PEER_URLS="http://$address:2380"
ETCD_LISTEN_CLIENT_URLS="http://$address:2379,http://127.0.0.1:2379"
ETCD_INITIAL_ADVERTISE_PEER_URLS="http://$address:2380"
ETCD_ADVERTISE_CLIENT_URLS="http://$address:2379"
ETCD_INITIAL_CLUSTER="$initial"
ETCD_INITIAL_CLUSTER_TOKEN="$token"
ETCD_INITIAL_CLUSTER_STATE="new"
CONF
