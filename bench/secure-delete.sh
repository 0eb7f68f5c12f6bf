#!/usr/bin/env bash
# What SQLite's secure_delete costs an expunge-like workload: 60,000 message rows (90-byte wrapped key,
# 1.5 KB sealed metadata) in WAL mode with synchronous=FULL, then 200 transactions deleting 50 rows each,
# with secure_delete off (the mail database) and on (keys.db). Prints seconds per run and the ratio.
# Usage: bash bench/secure-delete.sh [trials]
set -euo pipefail
trials="${1:-5}"
command -v sqlite3 >/dev/null || { echo "sqlite3 missing: run scripts/deps.sh" >&2; exit 1; }
dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
schema="PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
CREATE TABLE m(id INTEGER PRIMARY KEY, mailbox INTEGER, uid INTEGER, flags INTEGER, wrapped BLOB, meta BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<60000) INSERT INTO m SELECT x, x%50, x, 0, randomblob(90), randomblob(1500) FROM c;"
deletes="$(for i in $(seq 1 200); do echo "DELETE FROM m WHERE id BETWEEN $((i*250)) AND $((i*250+49));"; done)"
declare -A total=([OFF]=0 [ON]=0)
for t in $(seq 1 "$trials"); do
  for mode in OFF ON; do
    rm -f "$dir"/db*
    sqlite3 "$dir/db" "$schema" >/dev/null
    start=$(date +%s.%N)
    sqlite3 "$dir/db" "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=$mode; $deletes" >/dev/null
    elapsed=$(echo "$(date +%s.%N) - $start" | bc)
    total[$mode]=$(echo "${total[$mode]} + $elapsed" | bc)
    printf 'trial %d secure_delete=%-3s %6.3f s\n' "$t" "$mode" "$elapsed"
  done
done
printf 'mean: off %.3f s, on %.3f s; on/off = %.2fx\n' "$(echo "${total[OFF]} / $trials" | bc -l)" "$(echo "${total[ON]} / $trials" | bc -l)" "$(echo "${total[ON]} / ${total[OFF]}" | bc -l)"
