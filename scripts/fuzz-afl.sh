#!/usr/bin/env bash
# Coverage-guided fuzzing of the parser targets (fuzz/Sealpost.Fuzz, the same ones the test suite
# mutates) with AFL++ from Debian and SharpFuzz's instrumentation of the Sealpost assemblies and MimeKit:
#   bash scripts/fuzz-afl.sh [seconds-per-target] [target ...]     (default: 60 s, every target)
# Prints per target what AFL did (executions, inputs kept for new coverage, coverage); exits non-zero
# if any input crashed a target, printing each such input in base64 and the exception it raised.
# Work folders are kept under ${SEALPOST_FUZZ_DIR:-/tmp/sealpost-afl} for a look at the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
shift || true
WORK="${SEALPOST_FUZZ_DIR:-/tmp/sealpost-afl}"
OUT="$WORK/bin"        # instrumented: runs only under afl-fuzz (the coverage map is AFL's shared memory)
PLAIN="$WORK/plain"    # the same build uninstrumented: lists targets, writes seeds, replays crashes
TOOLS="$PWD/.tools"

if ! command -v afl-fuzz >/dev/null 2>&1; then
  echo "fuzz-afl: installing afl++"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq afl++ >/dev/null; else sudo apt-get install -y -qq afl++ >/dev/null; fi
fi
if [ ! -x "$TOOLS/sharpfuzz" ]; then
  echo "fuzz-afl: installing SharpFuzz.CommandLine 2.3.0 into .tools/"
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$TOOLS" >/dev/null
fi

rm -rf "$OUT" "$PLAIN"
dotnet publish fuzz/Sealpost.Fuzz -c Release -o "$PLAIN" --nologo -v q >/dev/null
cp -r "$PLAIN" "$OUT"
for assembly in Sealpost.Core Sealpost.Mime Sealpost.Domain Sealpost.Smtp Sealpost.Imap MimeKit; do
  "$TOOLS/sharpfuzz" "$OUT/$assembly.dll" >/dev/null
done

if [ "$#" -eq 0 ]; then mapfile -t TARGETS < <("$PLAIN/sealpost-fuzz" list); else TARGETS=("$@"); fi
echo "fuzz-afl: ${#TARGETS[@]} targets, ${SECONDS_EACH} s each, AFL++ $(afl-fuzz -h 2>&1 | sed -n 's/.*afl-fuzz++\([0-9a-z.]*\).*/\1/p' | head -1)"
crashed=0
for target in "${TARGETS[@]}"; do
  dir="$WORK/$target"
  rm -rf "$dir"
  "$PLAIN/sealpost-fuzz" seeds "$target" "$dir/in"
  AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_QUIET=1 \
    timeout $((SECONDS_EACH + 60)) afl-fuzz -V "$SECONDS_EACH" -t 5000 -m none -i "$dir/in" -o "$dir/out" -- "$OUT/sealpost-fuzz" run "$target" >"$dir/afl.log" 2>&1 || {
      echo "fuzz-afl: afl-fuzz failed for $target (see $dir/afl.log):"; tail -5 "$dir/afl.log"; exit 1; }
  stats="$dir/out/default/fuzzer_stats"
  value() { sed -n "s/^$1 *: *//p" "$stats"; }
  printf '  %-22s %9s execs  %5s kept for coverage  %s of the map  %s crashes\n' "$target" "$(value execs_done)" "$(value corpus_count)" "$(value bitmap_cvg)" "$(value saved_crashes)"
  for crash in "$dir"/out/default/crashes/id:*; do
    [ -e "$crash" ] || continue
    crashed=1
    echo "    crash (base64): $(base64 -w0 "$crash")"
    "$PLAIN/sealpost-fuzz" replay "$target" "$crash" 2>&1 | head -3 | sed 's/^/      /'
  done
done
exit "$crashed"
