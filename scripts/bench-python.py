#!/usr/bin/env python3
"""Benchmark the Python package against the reference and against the CLI.

    scripts/bench-python.py [--ref-python /tmp/ref/bin/python] [--cli target/release/trace-sentinel]
                            [--events 50000] [--scan-mb 100]

1. ``Sentinel.observe`` in a Python loop, events/s, for this package (the interpreter
   running the script) and the reference trace-sentinel 0.2.0 (``--ref-python``: an
   interpreter with the reference installed), with the default and the semantic
   configuration; each run checks its anomaly count against the other's.
2. ``Sentinel.scan`` over a ~``--scan-mb`` MB log (``datasets/demo.log`` repeated)
   against the CLI's ``scan --format json`` on the same file (``--cli``, default the
   ``trace-sentinel`` on PATH), both with all cores, best of 3; the anomaly counts must
   agree.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OBSERVE = r"""
import json, random, sys, time
from trace_sentinel import Event, Sentinel
n, semantic = int(sys.argv[1]), sys.argv[2] == "1"
rng = random.Random(0)
msgs = ["GET /api/v1/users/%d 200 %d" % (rng.randint(1, 1000), rng.randint(100, 5000))
        if rng.random() > 0.001 else "x" * 3000 for _ in range(n)]
def run(build):
    s = Sentinel(enable_semantic=semantic)
    if build:
        t = time.perf_counter()
        found = 0
        for m in msgs:
            found += len(s.observe(Event(message=m, source="app")))
        return time.perf_counter() - t, found
    evs = [Event(message=m, source="app") for m in msgs]
    t = time.perf_counter()
    found = 0
    for e in evs:
        found += len(s.observe(e))
    return time.perf_counter() - t, found
best = {}
for build in (False, True):
    times = [run(build) for _ in range(3)]
    best[build] = (n / min(t for t, _ in times), times[0][1])
print(json.dumps({"observe": best[False][0], "observe_with_event": best[True][0], "anomalies": best[False][1]}))
"""


def observe_rate(python, n, semantic):
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


def best_of(n, fn):
    results = [fn() for _ in range(n)]
    return min(t for t, _ in results), results[0][1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref-python", default="/tmp/ref/bin/python")
    ap.add_argument("--cli", default=shutil.which("trace-sentinel"))
    ap.add_argument("--events", type=int, default=50000)
    ap.add_argument("--scan-mb", type=int, default=100)
    args = ap.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    for semantic in (False, True):
        n = args.events if not semantic else max(args.events // 10, 1000)
        ours = observe_rate(sys.executable, n, semantic)
        ref = observe_rate(args.ref_python, n, semantic) if Path(args.ref_python).exists() else None
        label = "semantic" if semantic else "default"
        line = f"observe ({label}, {n} events): ours {ours['observe']:,.0f}/s"
        line += f", with Event() {ours['observe_with_event']:,.0f}/s"
        if ref:
            assert ref["anomalies"] == ours["anomalies"], (ref, ours)
            line += (f"; reference {ref['observe']:,.0f}/s, with Event() "
                     f"{ref['observe_with_event']:,.0f}/s; ratio {ours['observe'] / ref['observe']:.1f}x"
                     f" ({ours['observe_with_event'] / ref['observe_with_event']:.1f}x with Event())")
        print(line, flush=True)

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

        t_py, n_py = best_of(3, py_scan)
        t_cli, n_cli = best_of(3, cli_scan)
        assert n_py == n_cli, (n_py, n_cli)
        print(f"scan {size:.0f} MB ({n_py} anomalies): Sentinel.scan {t_py:.2f}s ({size / t_py:.0f} MB/s), "
              f"CLI {t_cli:.2f}s ({size / t_cli:.0f} MB/s); ratio {t_py / t_cli:.2f}x")


if __name__ == "__main__":
    main()
