#!/usr/bin/env bash
# Phase sampling of `scan` on a shared host whose speed drifts from minute to minute.
# Each round: a host speed reference (`gzip -1` of the 20 MB slice, best of three), then
# one `--semantic` and one plain run of the corpus at `--threads 2 --format json` (each
# right after reading the corpus into the page cache, see `warm` in timing.sh), then a
# pause. One line per round, with each run's CPU time; summarise the GB/s columns to
# see the spread of phases rather than trusting one run. Run nothing else meanwhile: a
# competing process on the same cores shows up as a slow phase.
# Usage: scripts/phase-samples.sh [ROUNDS] [PAUSE_S]   (defaults 20 and 25)
# Needs the corpus and slice of scripts/bench-throughput.sh (BENCH_DIR, default
# /tmp/ts-bench); BIN defaults to target/release/trace-sentinel.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-20}
PAUSE=${2:-25}
WORK=${BENCH_DIR:-/tmp/ts-bench}
LOG="$WORK/bench-1000000000.log"
SLICE="$WORK/slice-20mb.log"
BIN=${BIN:-target/release/trace-sentinel}
for f in "$LOG" "$SLICE" "$BIN"; do
  [ -e "$f" ] || { echo "missing $f (run scripts/bench-throughput.sh first)" >&2; exit 2; }
done
BYTES=$(stat -L -c %s "$LOG")
. scripts/timing.sh
gbps() { echo "$BYTES / 1000000000 / $1" | bc -l; }
for _ in $(seq 1 "$ROUNDS"); do
  best 3 gzip -1 -c "$SLICE"; g=$SECS
  warm "$LOG"; timed "$BIN" scan "$LOG" --threads 2 --semantic --format json
  sem=$SECS sem_cpu=$CPU
  warm "$LOG"; timed "$BIN" scan "$LOG" --threads 2 --format json
  pl=$SECS pl_cpu=$CPU
  printf "%s gzip %.3f  semantic %.3f s = %.3f GB/s (CPU %.2f s)  plain %.3f s = %.2f GB/s (CPU %.2f s)\n" \
    "$(date +%H:%M:%S)" "$g" "$sem" "$(gbps "$sem")" "$sem_cpu" "$pl" "$(gbps "$pl")" "$pl_cpu"
  sleep "$PAUSE"
done
