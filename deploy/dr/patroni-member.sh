#!/usr/bin/env bash
# Writes the Patroni configuration of one PostgreSQL member of the Sealpost store: the primary
# site's or the disaster-recovery site's. Patroni (Debian package `patroni`) runs on each database
# host beside PostgreSQL, holds the leader lock in etcd and promotes the synchronous standby by
# itself when the primary is lost; docs/disaster-recovery.md explains the settings.
#
#   deploy/dr/patroni-member.sh --name site-a --data-dir /var/lib/postgresql/15/main \
#     --pg 10.1.0.10:5432 --api 10.1.0.10:8008 --etcd 10.1.0.10:2379,10.2.0.10:2379,10.3.0.10:2379 \
#     --allow 10.1.0.0/24 --allow 10.2.0.0/24 > /etc/patroni/config.yml
#
# Passwords are not written to the file: the unit's environment gives them
# (PATRONI_SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD, PATRONI_REWIND_PASSWORD).
set -euo pipefail

usage() {
  echo "usage: $0 --name NAME --data-dir DIR --pg HOST:PORT --api HOST:PORT --etcd HOST:PORT[,...] [--allow CIDR]... [--scope NAME] [--bin-dir DIR] [--socket-dir DIR] [--ttl S] [--loop-wait S] [--retry-timeout S] [--strict] [--synchronous-commit on|remote_apply]" >&2
  exit 2
}

scope=sealpost name="" data_dir="" pg="" api="" etcd="" bin_dir="" socket_dir=/var/run/postgresql
ttl=20 loop_wait=5 retry_timeout=5 strict=false synchronous_commit=on
allow=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scope) scope="${2:?}"; shift 2 ;;
    --name) name="${2:?}"; shift 2 ;;
    --data-dir) data_dir="${2:?}"; shift 2 ;;
    --bin-dir) bin_dir="${2:?}"; shift 2 ;;
    --socket-dir) socket_dir="${2:?}"; shift 2 ;;
    --pg) pg="${2:?}"; shift 2 ;;
    --api) api="${2:?}"; shift 2 ;;
    --etcd) etcd="${2:?}"; shift 2 ;;
    --allow) allow+=("${2:?}"); shift 2 ;;
    --ttl) ttl="${2:?}"; shift 2 ;;
    --loop-wait) loop_wait="${2:?}"; shift 2 ;;
    --retry-timeout) retry_timeout="${2:?}"; shift 2 ;;
    --strict) strict=true; shift ;;
    --synchronous-commit) synchronous_commit="${2:?}"; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$name" ] && [ -n "$data_dir" ] && [ -n "$pg" ] && [ -n "$api" ] && [ -n "$etcd" ] || usage
case "$synchronous_commit" in on|remote_apply) ;; *) echo "$0: --synchronous-commit must be on or remote_apply" >&2; exit 2 ;; esac
for n in "$ttl" "$loop_wait" "$retry_timeout"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "$0: --ttl, --loop-wait and --retry-timeout take whole seconds" >&2; exit 2; }
done
# Patroni's own rule: the leader must renew its lock (every loop_wait, retrying for up to
# retry_timeout twice) well within the lock's time to live, or a healthy primary would lose it.
if [ $((loop_wait + 2 * retry_timeout)) -gt "$ttl" ]; then
  echo "$0: loop-wait + 2 x retry-timeout ($((loop_wait + 2 * retry_timeout)) s) must not exceed ttl ($ttl s)" >&2
  exit 2
fi
if [ -z "$bin_dir" ]; then
  bin_dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$bin_dir" ] || { echo "$0: no PostgreSQL under /usr/lib/postgresql; give --bin-dir" >&2; exit 2; }
fi
[ "${#allow[@]}" -gt 0 ] || allow=(127.0.0.1/32)

cat <<YAML
# Patroni member $name of the Sealpost store cluster "$scope" (written by deploy/dr/patroni-member.sh).
scope: $scope
name: $name

restapi:
  listen: $api
  connect_address: $api

etcd3:
  hosts: $etcd

bootstrap:
  dcs:
    # The primary renews its leader lock every loop_wait seconds; when the lock is not renewed for
    # ttl seconds (the primary's host, its Patroni or its site is gone) the synchronous standby takes
    # it and is promoted. A primary that cannot renew the lock demotes itself first: no split brain.
    ttl: $ttl
    loop_wait: $loop_wait
    retry_timeout: $retry_timeout
    # Only a standby that was synchronous when the primary was lost may be promoted: no commit that
    # was acknowledged (an SMTP 250, an IMAP OK) is lost by an automatic failover.
    synchronous_mode: true
    # true: with no synchronous standby the primary stops completing commits (no write is ever at
    # risk); false: Patroni lets it run alone until a standby returns (and then no automatic
    # failover happens until that standby is synchronous again).
    synchronous_mode_strict: $strict
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        synchronous_commit: "$synchronous_commit"
        wal_level: replica
        wal_log_hints: "on"
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
  pg_hba:
    - local all all peer
YAML
for cidr in "${allow[@]}"; do
  echo "    - host replication replicator $cidr scram-sha-256"
  echo "    - host all all $cidr scram-sha-256"
done
cat <<YAML

postgresql:
  listen: $pg
  connect_address: $pg
  data_dir: $data_dir
  bin_dir: $bin_dir
  pgpass: $data_dir.pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
    rewind:
      username: rewinder
  parameters:
    unix_socket_directories: "$socket_dir"
    password_encryption: scram-sha-256

tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
YAML
