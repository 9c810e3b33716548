#!/usr/bin/env bash
# Regenerate the golden tests in tests/golden/ from the reference implementation.
#
#   scripts/regen-golden.sh            # venv in /tmp/ref-venv (or $REF_VENV)
#   REF_VENV=/path/to/venv scripts/regen-golden.sh
#
# 1. creates the venv if needed and installs trace-sentinel==0.2.0 (the spec) into it;
# 2. regenerates datasets/demo.{log,jsonl} and the golden inputs (fixed seeds);
# 3. runs scripts/ref_runner.py twice per case (cwd = tests/golden, so the event source
#    of plain-text input is the bare file name), checks both runs agree byte for byte
#    and produced at least one anomaly, and writes NAME.expected.jsonl.
# Idempotent: running it again on an unchanged tree changes nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REF_VENV:-/tmp/ref-venv}"
PY="$VENV/bin/python"
GOLDEN="$ROOT/tests/golden"

if ! "$PY" -c 'import importlib.metadata as m, sys; sys.exit(m.version("trace-sentinel") != "0.2.0")' 2>/dev/null; then
    echo "regen-golden: setting up $VENV" >&2
    python3 -m venv "$VENV"
    "$PY" -m pip install --quiet "trace-sentinel==0.2.0"
fi

"$PY" "$ROOT/scripts/gen-demo-log.py" >/dev/null
"$PY" "$ROOT/scripts/gen-golden-inputs.py" --out "$GOLDEN"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$GOLDEN"
n=0
for argsfile in *.args; do
    name="${argsfile%.args}"
    if [[ -f "$name.log" ]]; then input="$name.log"; elif [[ -f "$name.jsonl" ]]; then input="$name.jsonl"; else
        echo "regen-golden: $name: no input file" >&2; exit 1
    fi
    read -r -a flags < "$argsfile" || true
    if ! "$PY" "$ROOT/scripts/ref_runner.py" watch "$input" --check-determinism ${flags[@]+"${flags[@]}"}; then
        echo "regen-golden: $name: breaks the determinism rule for 'now' timestamps" >&2; exit 1
    fi
    for run in 1 2; do
        "$PY" "$ROOT/scripts/ref_runner.py" watch "$input" --format json ${flags[@]+"${flags[@]}"} > "$tmp/$name.$run"
    done
    if ! cmp -s "$tmp/$name.1" "$tmp/$name.2"; then
        echo "regen-golden: $name: reference output is not deterministic" >&2
        diff "$tmp/$name.1" "$tmp/$name.2" | head -5 >&2
        exit 1
    fi
    if [[ ! -s "$tmp/$name.1" ]]; then
        echo "regen-golden: $name: no anomalies (make the input fire)" >&2; exit 1
    fi
    cp "$tmp/$name.1" "$name.expected.jsonl"
    printf '%-24s %4d anomalies  [%s]\n' "$name" "$(wc -l < "$name.expected.jsonl")" "${flags[*]-}"
    n=$((n + 1))
done
# drop expected files whose case no longer exists
for f in *.expected.jsonl; do
    [[ -f "${f%.expected.jsonl}.args" ]] || { echo "regen-golden: removing stale $f" >&2; rm -f "$f"; }
done
echo "regen-golden: $n cases, $(cat -- * | wc -c) bytes in tests/golden" >&2
