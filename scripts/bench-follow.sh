#!/usr/bin/env bash
# Follow-mode latency and cost: a writer appends 50k lines/s for 30 s to a file that
# `trace-sentinel watch --follow` follows; reports write→anomaly latency (p50/p99/max,
# hdrhistogram) and the follower's CPU while following and while idle — once with
# filesystem events (inotify) and once polling only. Results go in docs/benchmarks.md.
#
#   scripts/bench-follow.sh [RATE] [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-50000}
SECS=${2:-30}
cargo build --release --quiet --bin trace-sentinel --example bench_follow
BIN=target/release/trace-sentinel
echo "== $(date -u +%F) $(nproc) cores, $(uname -sr), rate $RATE lines/s for $SECS s"
echo "-- inotify (default)"
target/release/examples/bench_follow --bin "$BIN" --rate "$RATE" --secs "$SECS"
echo "-- polling only (--no-events, --poll-interval 250)"
target/release/examples/bench_follow --bin "$BIN" --rate "$RATE" --secs "$SECS" --extra "--no-events"
