#!/usr/bin/env bash
# Throughput of ship → worker over NATS JetStream, end to end, beside `watch` on the same
# input: JSON lines with timestamps from 50 sources (scripts/gen-multisource.py), one
# nats-server with JetStream on a loopback port, its store in a temporary directory.
# Each NATS row checks its answer: the anomalies published equal, per source and in
# order, what `watch --jsonl --format json` prints. Results go in docs/benchmarks.md.
#
# Rows (lines/s = input lines / wall time):
#   watch            watch --jsonl --format json FILE > /dev/null
#   ship             ship --jsonl FILE into an empty stream (until every line is stored)
#   worker backlog   one worker (then two) reading the whole stream shipped before it
#                    started, until every line is observed (the workers' metrics
#                    endpoints, polled every 50 ms; they are refreshed every 100 ms)
#   ship → worker    one worker (then two) waiting, then ship: from the start of ship
#                    until the workers have observed every line
#
# Usage: scripts/bench-nats.sh [LINES] [--perf]   (default 400000 lines; --perf also
# records where one worker spends its time, with perf, into the temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-400000}
PERF=${2:-}
NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || true)}
[ -z "$NATS_SERVER" ] && [ -x /usr/sbin/nats-server ] && NATS_SERVER=/usr/sbin/nats-server
[ -n "$NATS_SERVER" ] || { echo "bench-nats: nats-server not found" >&2; exit 2; }
cargo build --release --quiet --bin trace-sentinel
TS=$PWD/target/release/trace-sentinel
DIR=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench-nats.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$PERF" ] && echo "perf data kept in $DIR" || rm -rf "$DIR"
}
trap cleanup EXIT

python3 scripts/gen-multisource.py --sources 50 --lines "$LINES" >"$DIR/in.jsonl"
BYTES=$(stat -c %s "$DIR/in.jsonl")
echo "== $(date -u '+%F %H:%M UTC'), $(nproc) cores, $(uname -sr), $("$NATS_SERVER" --version)"
echo "   input: $LINES lines, $BYTES bytes, 50 sources"

now() { date +%s.%N; }
rate() { python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f'{t:.2f} s  {int(sys.argv[3])/t:,.0f} lines/s')" "$@"; }

T0=$(now)
"$TS" watch --jsonl --format json "$DIR/in.jsonl" >"$DIR/want.json" 2>/dev/null
T1=$(now)
echo "watch                 $(rate "$T0" "$T1" "$LINES")   ($(wc -l <"$DIR/want.json") anomalies)"

SERVER_PID=
start_server() {
  rm -rf "$DIR/js"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$NATS_SERVER" -js -a 127.0.0.1 -p "$PORT" -sd "$DIR/js" >"$DIR/nats.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  URL=nats://127.0.0.1:$PORT
  for _ in $(seq 1 100); do
    (echo >/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench-nats: nats-server did not start" >&2
  exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

# Lines the workers have observed, from their metrics endpoints (published every 100 ms).
observed() {
  python3 - "$DIR" "$@" <<'EOF'
import re, sys, urllib.request
n = 0
for w in sys.argv[2:]:
    err = open(f"{sys.argv[1]}/{w}.err").read()
    m = re.search(r"metrics on (http://\S+)", err)
    if not m:
        continue
    try:
        text = urllib.request.urlopen(m.group(1), timeout=2).read().decode()
    except Exception:
        continue
    m = re.search(r"^trace_sentinel_worker_lines_total (\d+)", text, re.M)
    n += int(m.group(1)) if m else 0
print(n)
EOF
}
WORKER_PIDS=()
start_workers() {
  WORKER_PIDS=()
  for w in "$@"; do
    "$TS" worker --nats "$URL" --jsonl --worker-id "$w" --metrics-addr 127.0.0.1:0 \
      2>"$DIR/$w.err" &
    WORKER_PIDS+=($!)
    PIDS+=($!)
  done
}
# Wait until the workers have observed every line; the time then.
wait_observed() {
  while [ "$(observed "$@")" -lt "$LINES" ]; do sleep 0.05; done
  now
}
stop_workers() {
  for pid in "${WORKER_PIDS[@]}"; do kill -TERM "$pid"; wait "$pid" || true; done
}
check() {
  timeout 60 "$TS" tail-anomalies --nats "$URL" --format json >"$DIR/got.json" 2>/dev/null
  python3 - "$DIR/want.json" "$DIR/got.json" <<'EOF'
import collections, json, sys
def by(p):
    m = collections.defaultdict(list)
    for l in open(p):
        if l.strip():
            m[json.loads(l)["source"]].append(l)
    return m
w, g = by(sys.argv[1]), by(sys.argv[2])
print("equal to watch" if w == g else "DIFFERENT FROM WATCH")
sys.exit(0 if w == g else 1)
EOF
}

start_server
T0=$(now)
"$TS" ship --nats "$URL" --jsonl "$DIR/in.jsonl" 2>"$DIR/ship.err"
T1=$(now)
echo "ship                  $(rate "$T0" "$T1" "$LINES")"
STORE=$(du -sb "$DIR/js" | cut -f1)
echo "   stream store after ship: $STORE bytes ($((STORE / LINES)) per line)"
for set in "a" "a b"; do
  # shellcheck disable=SC2086
  set -- $set
  T0=$(now)
  start_workers "$@"
  if [ -n "$PERF" ] && [ $# = 1 ]; then
    perf record -F 499 -g -p "${WORKER_PIDS[0]}" -o "$DIR/worker.perf" -- sleep 5 \
      >/dev/null 2>&1 &
  fi
  T1=$(wait_observed "$@")
  stop_workers
  echo "worker backlog x$#     $(rate "$T0" "$T1" "$LINES")   $(check)"
  # A fresh server (no checkpoints, no anomalies) with the same stream for the next run.
  stop_server
  start_server
  "$TS" ship --nats "$URL" --jsonl "$DIR/in.jsonl" 2>"$DIR/ship.err"
done
for set in "a" "a b"; do
  # shellcheck disable=SC2086
  set -- $set
  stop_server
  start_server
  start_workers "$@"
  sleep 1
  T0=$(now)
  "$TS" ship --nats "$URL" --jsonl "$DIR/in.jsonl" 2>"$DIR/ship.err"
  T1=$(wait_observed "$@")
  stop_workers
  echo "ship → worker x$#      $(rate "$T0" "$T1" "$LINES")   $(check)"
done
