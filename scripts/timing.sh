# Timing helpers shared by the benchmark scripts (source this file): wall and CPU time of
# a run, best of N, and warming the page cache.

# timed CMD...: sets SECS (wall time of one run, output discarded, nothing else running)
# and CPU (its user + system time). CPU well above SECS means the threads ran in
# parallel; a slow run whose CPU is as usual waited for something (the disk, a vCPU).
timed() {
  local TIMEFORMAT='%3R %3U %3S' out user sys
  out=$({ time "$@" > /dev/null 2>&1; } 2>&1)
  read -r SECS user sys <<< "$out"
  CPU=$(echo "$user + $sys" | bc -l)
}

# best N CMD...: the fastest of N timed runs in SECS
best() {
  local n=$1; shift
  local best_s=999999 i
  for i in $(seq "$n"); do
    timed "$@"
    if [ "$(echo "$SECS < $best_s" | bc -l)" = 1 ]; then best_s=$SECS; fi
  done
  SECS=$best_s
}

# warm FILE...: read the files once so that their pages are in the page cache. On hosts
# that reclaim idle page cache (this one: a DAMON pageout scheme drops file pages left
# unread for about a minute), a file warmed once at the start goes cold again during a
# long benchmark; warm it right before each timed run.
warm() {
  cat "$@" > /dev/null
}
