#!/usr/bin/env bash
# Throughput benchmark for `scan`, printed in one run as GB/s and as ratios to `wc -l`
# (the floor) and to the Python reference:
#   wc -l; scan plain and --semantic at --threads 1 and 2 (best of two timed runs; peak
#   anonymous memory from a third, polled run);
#   the reference trace-sentinel 0.2.0 on a 20 MB slice (plain and --semantic).
# The corpus is generated deterministically (examples/gen_bench_log.rs, seed 42) and not
# checked in. Usage: scripts/bench-throughput.sh [BYTES]   (default 1000000000)
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-1000000000}
WORK=${BENCH_DIR:-/tmp/ts-bench}
mkdir -p "$WORK"
cargo build --release --quiet --bin trace-sentinel --example gen_bench_log
BIN=target/release/trace-sentinel
LOG="$WORK/bench-$BYTES.log"
if [ ! -s "$LOG" ]; then
  echo "generating $LOG ..." >&2
  target/release/examples/gen_bench_log "$BYTES" 42 > "$LOG.tmp" && mv "$LOG.tmp" "$LOG"
fi
SLICE="$WORK/slice-20mb.log"
head -c 20000000 "$LOG" > "$SLICE"

# timed / best / warm: scripts/timing.sh
. scripts/timing.sh
warm "$LOG"

# peak CMD...: sets PEAK_MB (peak RssAnon, polled every 10 ms) in a run of its own: the
# polling forks, which on a 2-core machine would slow a timed --threads 2 run
peak() {
  local pid peak=0 a
  "$@" > /dev/null 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    a=$(awk '/^RssAnon/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a
    sleep 0.01
  done
  wait "$pid"
  PEAK_MB=$(echo "$peak / 1024" | bc)
}

REF_PY=${REF_VENV:-/tmp/ref-venv}/bin/trace-sentinel
if [ ! -x "$REF_PY" ]; then
  python3 -m venv "${REF_VENV:-/tmp/ref-venv}" >&2
  "${REF_VENV:-/tmp/ref-venv}/bin/pip" install -q trace-sentinel==0.2.0 >&2
fi

size=$(stat -L -c %s "$LOG")
slice=$(stat -L -c %s "$SLICE")
best 3 wc -l "$LOG"; WC=$SECS
printf "machine: %s, %s cores, %s\n" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" "$(date -u +%F)"
printf "corpus: %s (%d bytes, %d lines)\n" "$LOG" "$size" "$(wc -l < "$LOG")"
# The host's speed drifts on shared machines: a fixed CPU-bound job times it.
best 3 sh -c "gzip -1 -c '$SLICE' > /dev/null"
printf "host speed reference: gzip -1 of the 20 MB slice, best of 3: %.3f s\n\n" "$SECS"
printf "| run | seconds | GB/s | time ÷ wc -l | × reference | peak anon MB |\n|---|---|---|---|---|---|\n"
printf "| wc -l | %.3f | %.2f | 1.0 | | |\n" "$WC" "$(echo "$size / $WC / 1000000000" | bc -l)"

best 1 "$REF_PY" watch "$SLICE" --format json; REF_PLAIN=$(echo "$slice / $SECS" | bc -l)
best 1 "$REF_PY" watch "$SLICE" --format json --semantic; REF_SEM=$(echo "$slice / $SECS" | bc -l)

for sem in "" "--semantic"; do
  for t in 1 2; do
    warm "$LOG"
    peak "$BIN" scan "$LOG" --threads "$t" --format json --progress never $sem
    warm "$LOG"
    best 2 "$BIN" scan "$LOG" --threads "$t" --format json --progress never $sem
    gbs=$(echo "$size / $SECS / 1000000000" | bc -l)
    ref=$REF_PLAIN; [ -n "$sem" ] && ref=$REF_SEM
    printf "| scan --threads %s %s | %.3f | %.3f | %.1f | %.0f | %s |\n" "$t" "$sem" "$SECS" "$gbs" \
      "$(echo "$SECS / $WC" | bc -l)" "$(echo "$size / $SECS / $ref" | bc -l)" "$PEAK_MB"
  done
done
printf "| reference (20 MB slice) | | %.4f | | 1 | |\n" "$(echo "$REF_PLAIN / 1000000000" | bc -l)"
printf "| reference --semantic (20 MB slice) | | %.4f | | 1 | |\n" "$(echo "$REF_SEM / 1000000000" | bc -l)"
