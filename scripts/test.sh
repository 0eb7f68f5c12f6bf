#!/usr/bin/env bash
# Runs the whole test suite: installs test dependencies, builds, runs every test with bounded
# parallelism (2 cores), and ends with the line "N passed, N failed". Exit status is non-zero on
# any failure, on a build error, or when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

results="$(mktemp -d)"
# Everything the tests write to a temp folder (servers' data folders, PostgreSQL clusters, browser
# profiles) goes under one folder of this run, removed at the end however the test host ended: a
# killed host cannot leave a gigabyte-sized cluster behind in /tmp for every run.
# What runs killed before they could clean up left behind (and what earlier versions of this suite
# leaked: a gigabyte-sized PostgreSQL cluster per run): anything of ours untouched for two hours whose
# PostgreSQL, if it has one, no longer runs.
find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'sealpost-*' -mmin +120 -print0 2>/dev/null | while IFS= read -r -d '' stale; do
  live=0
  while IFS= read -r pid_file; do
    kill -0 "$(head -1 "$pid_file" 2>/dev/null)" 2>/dev/null && live=1
  done < <(find "$stale" -maxdepth 2 -name postmaster.pid 2>/dev/null)
  [ "$live" -eq 0 ] && rm -rf "$stale"
done
run_tmp="$(mktemp -d "${TMPDIR:-/tmp}/sealpost-run-XXXXXX")"
chmod 1777 "$run_tmp"  # PostgreSQL's clusters run as the postgres user
cleanup() {
  for pid_file in "$run_tmp"/*/postmaster.pid; do
    [ -f "$pid_file" ] && kill -9 "$(head -1 "$pid_file")" 2>/dev/null
  done
  rm -rf "$results" "$run_tmp"
}
trap cleanup EXIT

TMPDIR="$run_tmp" dotnet test Sealpost.slnx -m:2 --nologo \
  --logger "trx;LogFileName=results.trx" --results-directory "$results" \
  -- RunConfiguration.MaxCpuCount=2
status=$?

python3 - "$results" "$status" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
folder, status = sys.argv[1], int(sys.argv[2])
passed = failed = skipped = 0
for path in glob.glob(folder + "/**/*.trx", recursive=True):
    counters = ET.parse(path).getroot().find(".//{*}Counters")
    if counters is None:
        continue
    passed += int(counters.get("passed", 0))
    failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
    skipped += int(counters.get("notExecuted", 0))
if status != 0 and failed == 0:
    failed = 1  # the build or the runner failed before reporting a test
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)
PY
