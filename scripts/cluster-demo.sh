#!/usr/bin/env bash
# A three-node NATS JetStream cluster on this machine (loopback ports, configuration and
# stores in a temporary directory), a log stream, an anomaly stream and the workers'
# buckets replicated on all three (R3), one shipper following a file and two workers.
# Mid-run the node leading the log stream is killed with SIGKILL; the cluster elects
# another leader and the run goes on. At the end the anomalies in the anomaly stream are
# compared, per source and in order, with what `trace-sentinel watch --jsonl --format
# json` prints for the same file: the script prints PASS (exit 0) when they are equal,
# with none missing and none repeated, else FAIL and the first difference (exit 1).
# See docs/scale-out.md.
#
# Needs nats-server (Debian: apt-get install nats-server) and python3. Uses
# $TRACE_SENTINEL when set, else builds the debug binary with cargo.
#
# Usage: scripts/cluster-demo.sh [--lines N] [--keep]
#   --lines N  lines of the generated input (50 sources; default 24000)
#   --keep     leave the temporary directory (logs, configs, outputs) in place
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

LINES=24000
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lines) LINES=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster-demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || true)}
[ -z "$NATS_SERVER" ] && [ -x /usr/sbin/nats-server ] && NATS_SERVER=/usr/sbin/nats-server
if [ -z "$NATS_SERVER" ]; then
  echo "cluster-demo: nats-server not found (Debian: apt-get install nats-server)" >&2
  exit 2
fi
if [ -z "${TRACE_SENTINEL:-}" ]; then
  echo "== cargo build"
  cargo build --quiet
  TRACE_SENTINEL=$ROOT/target/debug/trace-sentinel
fi
TS=$TRACE_SENTINEL

DIR=$(mktemp -d "${TMPDIR:-/tmp}/ts-cluster-demo.XXXXXX")
PIDS=()
cleanup() {
  # Only the processes this script started, by their ids.
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ]; then
    echo "cluster-demo: files kept in $DIR"
  else
    rm -rf "$DIR"
  fi
}
trap cleanup EXIT

say() { echo "== $*"; }

# Nine free loopback ports: client, cluster route and monitoring port of each node.
read -r -a PORTS <<<"$(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(9)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)"
ROUTES="nats-route://127.0.0.1:${PORTS[3]}, nats-route://127.0.0.1:${PORTS[4]}, nats-route://127.0.0.1:${PORTS[5]}"
URL="nats://127.0.0.1:${PORTS[0]},nats://127.0.0.1:${PORTS[1]},nats://127.0.0.1:${PORTS[2]}"

NODE_PID=()
start_node() {
  local i=$1
  cat >"$DIR/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${PORTS[$i]}
http: 127.0.0.1:${PORTS[$((i + 6))]}
jetstream {
  store_dir: "$DIR/n$i"
}
cluster {
  name: ts-demo
  listen: 127.0.0.1:${PORTS[$((i + 3))]}
  routes: [ $ROUTES ]
}
EOF
  "$NATS_SERVER" -c "$DIR/n$i.conf" >"$DIR/n$i.log" 2>&1 &
  NODE_PID[$i]=$!
  PIDS+=($!)
}

# The JetStream view of node i (its monitoring endpoint), as JSON on stdout.
jsz() {
  python3 - "${PORTS[$(($1 + 6))]}" <<'EOF'
import sys, urllib.request
try:
    url = f"http://127.0.0.1:{sys.argv[1]}/jsz?accounts=true&streams=true"
    print(urllib.request.urlopen(url, timeout=2).read().decode())
except Exception:
    print("{}")
EOF
}

# Wait until `cond` (a python expression over the JSON `j` of node i's /jsz) holds.
wait_jsz() {
  local i=$1 cond=$2 what=$3 deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if jsz "$i" | python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($cond) else 1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "cluster-demo: FAIL: $what" >&2
  exit 1
}

say "three nats-server nodes (JetStream, cluster ts-demo) in $DIR"
for i in 0 1 2; do start_node "$i"; done
for i in 0 1 2; do
  wait_jsz "$i" "j.get('meta_cluster', {}).get('leader')" "node n$i has no JetStream meta leader"
done
echo "client URLs: $URL"

say "input: $LINES JSON lines from 50 sources (scripts/gen-multisource.py)"
python3 scripts/gen-multisource.py --sources 50 --lines "$LINES" >"$DIR/all.jsonl"
"$TS" watch --jsonl --format json "$DIR/all.jsonl" >"$DIR/expected.json" 2>/dev/null
WANT=$(wc -l <"$DIR/expected.json")
echo "watch --jsonl --format json prints $WANT anomalies"

# The followed file is written in three parts.
THIRD=$((LINES / 3))
LOG=$DIR/events.jsonl
: >"$LOG"
part() { sed -n "$1,$2p" "$DIR/all.jsonl" >>"$LOG"; }

say "ship --follow (R3 stream LOGS) and two workers (R3 anomaly stream and buckets)"
part 1 "$THIRD"
"$TS" ship --nats "$URL" --replicas 3 --jsonl --follow --from-start \
  --state "$DIR/ship-state" --checkpoint-interval 200 --poll-interval 50 \
  --stats-json "$DIR/ship.json" "$LOG" 2>"$DIR/ship.err" &
SHIP=$!
PIDS+=($SHIP)
WORKERS=()
for w in a b; do
  "$TS" worker --nats "$URL" --replicas 3 --jsonl --worker-id "$w" \
    --checkpoint-interval 500 --stats-json "$DIR/$w.json" 2>"$DIR/$w.err" &
  WORKERS+=($!)
  PIDS+=($!)
done

# Anomalies in the anomaly stream now (0 while it cannot be read).
published() {
  timeout 30 "$TS" tail-anomalies --nats "$URL" --format json 2>/dev/null | wc -l
}

logs() { tail -n 5 "$DIR"/a.err "$DIR"/b.err "$DIR"/ship.err >&2; }

wait_published() {
  local n=$1 deadline=$((SECONDS + 180))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(published)" -ge "$n" ]; then
      return 0
    fi
    for pid in "$SHIP" "${WORKERS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "cluster-demo: FAIL: the shipper or a worker exited" >&2
        logs
        exit 1
      fi
    done
    sleep 0.2
  done
  echo "cluster-demo: FAIL: fewer than $n anomalies published after 180 s" >&2
  logs
  exit 1
}

wait_published 1
echo "anomalies flowing: $(published) published"
part $((THIRD + 1)) $((2 * THIRD))

# The leader of the log stream, as node 0 sees it.
LEADER=$(jsz 0 | python3 -c '
import json, sys
j = json.load(sys.stdin)
for acc in j.get("account_details", []):
    for s in acc.get("stream_detail", []):
        if s.get("name") == "LOGS":
            print(s.get("cluster", {}).get("leader", ""))
')
case "$LEADER" in
  n0|n1|n2) VICTIM=${LEADER#n} ;;
  *) VICTIM=2; LEADER="unknown (killing n2)" ;;
esac
sleep 0.3
say "SIGKILL node n$VICTIM, the leader of stream LOGS: $LEADER, with $(published) anomalies published"
kill -KILL "${NODE_PID[$VICTIM]}"
wait "${NODE_PID[$VICTIM]}" 2>/dev/null || true
ALIVE=$(( (VICTIM + 1) % 3 ))
wait_jsz "$ALIVE" "any(s.get('name') == 'LOGS' and s.get('cluster', {}).get('leader') not in (None, '', 'n$VICTIM') for a in j.get('account_details', []) for s in a.get('stream_detail', []))" "stream LOGS elected no new leader"
NEW=$(jsz "$ALIVE" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(next((s["cluster"]["leader"] for a in j.get("account_details", []) for s in a.get("stream_detail", []) if s.get("name") == "LOGS"), "?"))
')
echo "stream LOGS has a new leader: $NEW"
part $((2 * THIRD + 1)) "$LINES"

say "waiting for all $WANT anomalies"
wait_published "$WANT"
# Anything repeated would arrive after the last expected one: give it time to show.
sleep 3
timeout 30 "$TS" tail-anomalies --nats "$URL" --format json >"$DIR/published.json" 2>"$DIR/tail.err" \
  || { echo "cluster-demo: FAIL: cannot read the anomaly stream" >&2; cat "$DIR/tail.err" >&2; exit 1; }

say "stopping the shipper and the workers (SIGTERM)"
for pid in "$SHIP" "${WORKERS[@]}"; do
  kill -TERM "$pid"
  wait "$pid" || { echo "cluster-demo: FAIL: a process exited with $? on SIGTERM" >&2; exit 1; }
done
tail -n 1 "$DIR/ship.err" "$DIR/a.err" "$DIR/b.err"
python3 - "$DIR/ship.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"shipper: {s['lines']} lines, {s['stored']} stored, {s['duplicates']} duplicates, "
      f"{s['retried']} retried, {s['reordered']} reordered")
EOF

say "published anomalies vs watch, per source and in order"
python3 - "$DIR/expected.json" "$DIR/published.json" <<'EOF'
import collections, json, sys

def by_source(path):
    m = collections.OrderedDict()
    for line in open(path):
        line = line.strip()
        if line:
            m.setdefault(json.loads(line)["source"], []).append(line)
    return m

want, got = by_source(sys.argv[1]), by_source(sys.argv[2])
bad = 0
for s in sorted(set(want) | set(got)):
    w, g = want.get(s, []), got.get(s, [])
    if w != g:
        bad += 1
        if bad == 1:
            i = next((k for k, (a, b) in enumerate(zip(w, g)) if a != b), min(len(w), len(g)))
            print(f"source {s}: {len(w)} from watch, {len(g)} published; first difference at #{i}")
            print(f"  watch:     {w[i] if i < len(w) else None}")
            print(f"  published: {g[i] if i < len(g) else None}")
n_w, n_g = sum(map(len, want.values())), sum(map(len, got.values()))
print(f"{len(want)} sources, {n_w} anomalies from watch, {n_g} published, {bad} source(s) differ")
if bad:
    print("FAIL: the anomaly stream differs from watch")
    sys.exit(1)
print("PASS: every source's anomalies equal watch's, in order, none missing, none repeated")
EOF
