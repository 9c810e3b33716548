#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ (or the ones named) for a given time each, one
# after the other, one libFuzzer job at a time, on the nightly toolchain.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 600 s, every target)
#
# Installs cargo-fuzz from the registry when `cargo fuzz` is missing. Seeds an empty
# corpus (fuzz/corpus/TARGET, not checked in) with the lines of tests/golden/ and the
# regression inputs of tests/fuzz_regressions/. Writes one summary line per target to
# fuzz/logs/summary.tsv (date, target, seconds, executions, result) and libFuzzer's own
# log to fuzz/logs/TARGET.log; a crash leaves its input in fuzz/artifacts/TARGET/.
# Environment: FUZZ_SANITIZER (default `none`: AddressSanitizer off, debug assertions
# on; `address` turns ASan on), FUZZ_MAX_LEN (default 16384).
# Exit status: 0 when no target found anything, 1 when one did, 2 on a setup error.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-600}
shift || true
case $secs in
'' | *[!0-9]*)
  echo "fuzz.sh: SECONDS_PER_TARGET must be a whole number, got '$secs'" >&2
  exit 2
  ;;
esac
sanitizer=${FUZZ_SANITIZER:-none}
max_len=${FUZZ_MAX_LEN:-16384}

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked || {
    echo "fuzz.sh: cargo install cargo-fuzz failed" >&2
    exit 2
  }
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

# Seed corpus: one file per line of the golden inputs, plus the checked-in regression
# inputs. `engine` inputs start with its 4 configuration bytes (tests/support/
# fuzz_engine.rs): JSON lines for the .jsonl files, every other line with the template
# layer on; it also gets the start of each golden file whole, with and without
# templates, so the detectors get past their warmup.
seed() {
  local t=$1 dir=fuzz/corpus/$1 n=0 f line flags
  [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && return
  mkdir -p "$dir"
  for f in tests/golden/*.log tests/golden/*.jsonl; do
    [ -f "$f" ] || continue
    case $f in *.jsonl) flags=1 ;; *) flags=0 ;; esac
    if [ "$t" = engine ]; then
      { printf "\\x$(printf %02x $flags)\\x11\\x22\\x33"; head -c "$max_len" "$f"; } >"$dir/file-$(basename "$f")"
      { printf "\\x$(printf %02x $((flags | 64)))\\x11\\x22\\x33"; head -c "$max_len" "$f"; } >"$dir/file-t-$(basename "$f")"
    fi
    while IFS= read -r line && [ $n -lt 400 ]; do
      n=$((n + 1))
      case $t in
      engine)
        [ $((n % 2)) -eq 1 ] && flags=$((flags | 64))
        printf "\\x$(printf %02x $flags)\\x11\\x22\\x33%s\n" "$line" >"$dir/golden-$n"
        flags=$((flags & 1))
        ;;
      snapshot) : ;;
      *) printf '%s\n' "$line" >"$dir/golden-$n" ;;
      esac
    done <"$f"
  done
  [ "$t" = snapshot ] && seed_snapshots "$dir"
  for f in tests/fuzz_regressions/"$t"-*; do
    [ -f "$f" ] && cp "$f" "$dir/"
  done
  return 0
}

# Snapshot seeds: baselines of the start of two golden files saved by
# target/release/trace-sentinel (when built) under flags the target's first byte can
# select (warmup 1, 3 sources, zscore or MAD, semantic and template layers on and off),
# each also as a follow state; those longer than FUZZ_MAX_LEN are left out.
seed_snapshots() {
  local dir=$1 bin=target/release/trace-sentinel in sel flags n=0 tmp
  [ -x "$bin" ] || return 0
  tmp=$(mktemp)
  for in in tests/golden/text_basic.log tests/golden/jsonl_attrs.jsonl; do
    for sel in 0 1 4 5 128 129 132 133; do
      flags=(--warmup 1 --max-sources 3)
      [ $((sel & 1)) -ne 0 ] && flags+=(--semantic)
      [ $((sel & 4)) -ne 0 ] && flags+=(--detector mad --window 4)
      [ $((sel & 128)) -ne 0 ] && flags+=(--templates)
      case $in in *.jsonl) flags+=(--jsonl) ;; esac
      # The first lines only: a seed must fit FUZZ_MAX_LEN.
      head -n 20 "$in" | "$bin" watch - "${flags[@]}" --save-baseline "$tmp" >/dev/null 2>&1 ||
        continue
      [ "$(wc -c <"$tmp")" -lt "$max_len" ] || continue
      n=$((n + 1))
      sel=$((sel | 0x50))
      { printf "\\x$(printf %02x $sel)"; sed 's/"max_metrics":4096/"max_metrics":5/' "$tmp"; } >"$dir/baseline-$n"
      { printf "\\x$(printf %02x $((sel | 0x20)))"; sed -e 's/"max_metrics":4096/"max_metrics":5/' \
        -e 's/"kind":"baseline"/"kind":"follow-state","files":[]/' "$tmp"; } >"$dir/follow-$n"
    done
  done
  rm -f "$tmp"
}

mkdir -p fuzz/logs
summary=$root/fuzz/logs/summary.tsv
[ -f "$summary" ] || printf 'date\ttarget\tseconds\texecutions\tresult\n' >"$summary"
status=0
echo "== building ${#targets[@]} target(s) (sanitizer: $sanitizer)"
(cd fuzz && cargo +nightly fuzz build -s "$sanitizer") || exit 2
for t in "${targets[@]}"; do
  seed "$t"
  log=$root/fuzz/logs/$t.log
  echo "== $t: ${secs}s, log in fuzz/logs/$t.log"
  start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  t0=$(date +%s)
  # -jobs=1 runs the fuzzer as one child process whose output goes to fuzz-0.log in its
  # working directory (fuzz/); both logs end up in fuzz/logs/TARGET.log.
  work=$(mktemp -d)
  (cd fuzz && cargo +nightly fuzz run -s "$sanitizer" "$t" -- \
    -jobs=1 -workers=1 -max_total_time="$secs" -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$root/fuzz/artifacts/$t/" \
    "$root/fuzz/corpus/$t" >"$work/cargo.log" 2>&1)
  rc=$?
  cat "$work/cargo.log" "$root"/fuzz/fuzz-*.log >"$log" 2>/dev/null
  rm -f "$root"/fuzz/fuzz-*.log
  rm -rf "$work"
  elapsed=$(($(date +%s) - t0))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
  if [ $rc -eq 0 ] && ! grep -q -e '^==[0-9]*== ERROR' -e 'panicked at' "$log"; then
    result=ok
  else
    result="FOUND (exit $rc, see fuzz/artifacts/$t/)"
    status=1
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$start" "$t" "$elapsed" "${execs:-?}" "$result" | tee -a "$summary"
done
exit $status
