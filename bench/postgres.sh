# Sourced by the benchmark scripts: a throw-away PostgreSQL cluster on 127.0.0.1 on a free port,
# owned by the postgres user, trust authentication for the loopback user "sealpost".
# After `start_bench_postgres`: $PGPORT, $PGBIN and $PGDATA_DIR are set; `stop_bench_postgres` removes it.
start_bench_postgres() {
  PGPORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  PGDATA_DIR="$(mktemp -d /tmp/sealpost-bench-pg.XXXXXX)"
  chown postgres:postgres "$PGDATA_DIR"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -U sealpost -A trust -E UTF8 --locale C.UTF-8 >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/log" -w \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c shared_buffers=512MB" start >/dev/null
}

stop_bench_postgres() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDATA_DIR"
}
