#!/usr/bin/env bash
# Runs every parser fuzz target (tests/Sealpost.Tests/Fuzz and the IMAP session fuzz) for longer
# than the normal suite does, with a fresh seed each run:
#   bash scripts/fuzz.sh [seconds-per-target] [seed]
# A failure prints the target and the input in base64; rerun with the printed seed to reproduce.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
SEED="${2:-$(( (RANDOM << 15) | RANDOM ))}"
echo "fuzz: ${SECONDS_EACH} s per target, seed ${SEED}"
SEALPOST_FUZZ_SECONDS="$SECONDS_EACH" SEALPOST_FUZZ_SEED="$SEED" \
  dotnet test tests/Sealpost.Tests --nologo -v q \
  --filter "FullyQualifiedName~Sealpost.Tests.Fuzz|FullyQualifiedName~ImapFuzzTests" \
  -- RunConfiguration.MaxCpuCount=2 xUnit.MaxParallelThreads=2
