#!/usr/bin/env python3
"""Generate JSON lines from many sources, interleaved, with event timestamps: the input
of scripts/cluster-demo.sh and of the ship → worker benchmark (docs/benchmarks.md).

Deterministic (fixed seed, no clock). Every source has its own rhythm (epoch-second
timestamps with milliseconds), a few message shapes (requests, cache and database
lines) and, about once in a hundred lines, a spike: a long gap, a crash message with a
long stack, a latency outlier or a message shape never seen before. Each line is one
object with "timestamp", "source", "message" and "latency_ms".

Usage: scripts/gen-multisource.py [--sources 50] [--lines 12000] [--seed 7] > events.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=50, help="sources (default 50)")
    ap.add_argument("--lines", type=int, default=12000, help="lines in all (default 12000)")
    ap.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = ap.parse_args()
    if args.sources < 1 or args.lines < 0:
        ap.error("--sources must be >= 1 and --lines >= 0")
    rng = random.Random(args.seed)
    clock = [0] * args.sources
    out = sys.stdout
    for i in range(args.lines):
        s = (i * 7 + i // args.sources) % args.sources
        spike = rng.randrange(97)
        clock[s] += 1000 + rng.randrange(400) + (90_000 if spike == 1 else 0)
        ms = 1_700_000_000_000 + clock[s] * 50 + s
        shape = rng.randrange(10)
        if spike == 2:
            message = "ERROR worker crashed: " + "stack frame " * (20 + rng.randrange(20))
        elif spike == 4:
            message = f"WARN unexpected {rng.choice(['fsync', 'rebalance', 'oom'])} in shard {rng.randrange(64)}"
        elif shape < 7:
            message = f"GET /api/v{s % 3}/items/{rng.randrange(10_000)} 200"
        elif shape < 9:
            message = f"cache hit ratio {rng.randrange(80, 100)}% for tenant {rng.randrange(40)}"
        else:
            message = f"db query took {rng.randrange(2, 9)} ms rows={rng.randrange(500)}"
        latency = 900 + rng.randrange(100) if spike == 3 else 20 + rng.randrange(10)
        obj = {
            "timestamp": float(f"{ms // 1000}.{ms % 1000:03d}"),
            "source": f"svc-{s}.prod",
            "message": message,
            "latency_ms": latency,
        }
        out.write(json.dumps(obj) + "\n")


if __name__ == "__main__":
    main()
