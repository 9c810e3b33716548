#!/usr/bin/env python3
"""Benchmark the Python package against the reference and against the CLI.

    scripts/bench-python.py [--ref-python /tmp/ref/bin/python] [--cli target/release/trace-sentinel]
                            [--events 50000] [--scan-mb 100] [--rounds 5] [--skip-scan]

Run it with the interpreter that has this package installed. Every figure is the median
of ``--rounds`` rounds, and each round runs the two sides of a comparison back to back
(ours, then the other), so a noisy, shared machine slows both alike; the ratio printed
is the median of the rounds' ratios.

1. ``Sentinel.observe`` in a Python loop, events/s — this package (the interpreter
   running the script) against the reference trace-sentinel 0.2.0 (``--ref-python``:
   an interpreter with the reference installed), each in a fresh process per round,
   with the default and the semantic configuration; once over prepared events and once
   building each ``Event`` in the loop. The anomaly counts of the two must agree.
   ``observe_many`` over the prepared events is shown for this package alone.
2. ``Sentinel.scan`` over a ~``--scan-mb`` MB log (``datasets/demo.log`` repeated)
   against the CLI's ``scan --format json`` on the same file (``--cli``: the release
   binary if built, else ``trace-sentinel`` on PATH), both with all cores; the anomaly
   counts must agree.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# One round of observe in a fresh interpreter: the loop's best of three (the first
# pass also warms caches), as JSON.
OBSERVE = r"""
import json, random, sys, time
from datetime import datetime, timedelta, timezone
from trace_sentinel import Event, Sentinel
n, semantic = int(sys.argv[1]), sys.argv[2] == "1"
rng = random.Random(0)
msgs = ["GET /api/v1/users/%d 200 %d" % (rng.randint(1, 1000), rng.randint(100, 5000))
        if rng.random() > 0.001 else "x" * 3000 for _ in range(n)]
# Fixed times (the default, "now", would make inter-arrival anomalies depend on speed).
t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
stamps = [t0 + timedelta(seconds=i + rng.random()) for i in range(n)]
evs = [Event(message=m, timestamp=t, source="app") for m, t in zip(msgs, stamps)]

def prepared():
    s = Sentinel(enable_semantic=semantic)
    observe = s.observe
    t = time.perf_counter()
    found = 0
    for e in evs:
        found += len(observe(e))
    return time.perf_counter() - t, found

def building():
    s = Sentinel(enable_semantic=semantic)
    observe = s.observe
    t = time.perf_counter()
    found = 0
    for m, ts in zip(msgs, stamps):
        found += len(observe(Event(message=m, timestamp=ts, source="app")))
    return time.perf_counter() - t, found

def many():
    s = Sentinel(enable_semantic=semantic)
    if not hasattr(s, "observe_many"):
        return None, None
    t = time.perf_counter()
    found = len(s.observe_many(evs))
    return time.perf_counter() - t, found

out = {}
for name, fn in (("observe", prepared), ("observe_with_event", building), ("observe_many", many)):
    runs = [fn() for _ in range(3)]
    if runs[0][0] is None:
        continue
    out[name] = n / min(t for t, _ in runs)
    out[name + "_anomalies"] = runs[0][1]
print(json.dumps(out))
"""


def observe_round(python, n, semantic):
    out = subprocess.run([python, "-c", OBSERVE, str(n), "1" if semantic else "0"],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout)


def make_log(mb, directory):
    path = Path(directory) / "scan-bench.log"
    block = (ROOT / "datasets" / "demo.log").read_bytes()
    with open(path, "wb") as f:
        written = 0
        while written < mb * 1_000_000:
            f.write(block)
            written += len(block)
    return path


def median(xs):
    return statistics.median(xs)


def default_cli():
    built = ROOT / "target" / "release" / "trace-sentinel"
    return str(built) if built.exists() else shutil.which("trace-sentinel")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref-python", default="/tmp/ref/bin/python")
    ap.add_argument("--cli", default=default_cli())
    ap.add_argument("--events", type=int, default=50000)
    ap.add_argument("--scan-mb", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--skip-scan", action="store_true")
    args = ap.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, "
          f"median of {args.rounds} paired rounds", flush=True)
    have_ref = Path(args.ref_python).exists()
    for semantic in (False, True):
        n = args.events if not semantic else max(args.events // 10, 1000)
        ours, ref = [], []
        for _ in range(args.rounds):
            ours.append(observe_round(sys.executable, n, semantic))
            if have_ref:
                ref.append(observe_round(args.ref_python, n, semantic))
        label = "semantic" if semantic else "default"
        for key, what in (("observe", "prepared events"), ("observe_with_event", "Event() in the loop")):
            line = f"observe, {label}, {what}, {n} events: ours {median([o[key] for o in ours]):,.0f}/s"
            if have_ref:
                for o, r in zip(ours, ref):
                    assert o[key + "_anomalies"] == r[key + "_anomalies"], (o, r)
                ratio = median([o[key] / r[key] for o, r in zip(ours, ref)])
                line += f", reference {median([r[key] for r in ref]):,.0f}/s, ratio {ratio:.1f}x"
            print(line, flush=True)
        print(f"observe_many, {label}, {n} events: ours {median([o['observe_many'] for o in ours]):,.0f}/s",
              flush=True)

    if args.skip_scan:
        return
    from trace_sentinel import Sentinel

    with tempfile.TemporaryDirectory() as d:
        log = make_log(args.scan_mb, d)
        size = log.stat().st_size / 1e6

        def py_scan():
            t = time.perf_counter()
            n = sum(1 for _ in Sentinel(shard_by="source").scan(log))
            return time.perf_counter() - t, n

        def cli_scan():
            t = time.perf_counter()
            out = subprocess.run([args.cli, "scan", str(log), "--format", "json", "--progress", "never"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
            return time.perf_counter() - t, out.stdout.count(b"\n")

        rounds = []
        for _ in range(args.rounds):
            (t_py, n_py), (t_cli, n_cli) = py_scan(), cli_scan()
            assert n_py == n_cli, (n_py, n_cli)
            rounds.append((t_py, t_cli))
        t_py = median([p for p, _ in rounds])
        t_cli = median([c for _, c in rounds])
        ratio = median([p / c for p, c in rounds])
        print(f"scan {size:.0f} MB ({n_py} anomalies): Sentinel.scan {t_py:.2f}s ({size / t_py:.0f} MB/s), "
              f"CLI {t_cli:.2f}s ({size / t_cli:.0f} MB/s); ratio {ratio:.2f}x", flush=True)


if __name__ == "__main__":
    main()
