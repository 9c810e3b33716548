#!/usr/bin/env python3
"""Follow-mode checkpoint cost: bytes written and memory while a trickle of lines
arrives into a large follow state.

`watch --follow --jsonl --from-start --state DIR` first reads SOURCES x 3 lines with KEYS
numeric attributes each (one shard of KEYS + 2 metrics per source); then a writer
appends RATE lines/s of random sources for SECS seconds. Reported: the state on disk,
the bytes the follower wrote during the trickle (`wchar` of /proc/PID/io, less its
anomaly output), its resident memory before the trickle and its peak during the
trickle (VmHWM, reset through /proc/PID/clear_refs when the trickle starts).

    scripts/bench-checkpoint.py --bin target/release/trace-sentinel \
        [--sources 10000] [--keys 20] [--rate 4] [--secs 10]

Results go in SECURITY.md ("Follow checkpoints"). Linux only (/proc).
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time


def proc_field(pid, name, key):
    with open(f"/proc/{pid}/{name}") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def line(rng, source, keys, i):
    attrs = ", ".join(f'"k{k}": {10 + rng.randrange(3)}' for k in range(keys))
    return f'{{"source": "svc{source}", "message": "tick {i} ok", {attrs}}}\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/trace-sentinel")
    ap.add_argument("--sources", type=int, default=10000)
    ap.add_argument("--keys", type=int, default=20)
    ap.add_argument("--rate", type=float, default=4.0)
    ap.add_argument("--secs", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    with tempfile.TemporaryDirectory(prefix="ts-ckpt-") as d:
        log = os.path.join(d, "events.jsonl")
        n = 0
        with open(log, "w") as f:
            for i in range(3):
                for s in range(a.sources):
                    f.write(line(rng, s, a.keys, i))
                    n += 1
        out_path = os.path.join(d, "out.jsonl")
        stats = os.path.join(d, "stats.json")
        out = open(out_path, "w")
        err = open(os.path.join(d, "err.txt"), "w")
        p = subprocess.Popen(
            [a.bin, "watch", "--follow", "--jsonl", "--from-start", "--format", "json",
             "--state", os.path.join(d, "st"), "--stats-json", stats, log],
            stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        t0 = time.time()
        while True:
            try:
                with open(stats) as f:
                    if json.load(f).get("events") == n:
                        break
            except (OSError, ValueError):
                pass
            if p.poll() is not None or time.time() - t0 > 600:
                sys.exit(f"follower stopped or too slow; see {d}/err.txt")
            time.sleep(0.1)
        time.sleep(2.0)  # let the checkpoints after the backlog settle
        st = os.path.join(d, "st")
        state_bytes = sum(os.path.getsize(os.path.join(st, x)) for x in os.listdir(st))
        # Reset the peak (VmHWM) so it covers the trickle only, not the backlog.
        try:
            with open(f"/proc/{p.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        rss0 = proc_field(p.pid, "status", "VmRSS:")
        w0 = proc_field(p.pid, "io", "wchar:")
        o0 = os.path.getsize(out_path)
        start = time.time()
        sent = 0
        with open(log, "a") as f:
            while time.time() - start < a.secs:
                f.write(line(rng, rng.randrange(a.sources), a.keys, 100 + sent))
                f.flush()
                sent += 1
                time.sleep(max(0.0, start + sent / a.rate - time.time()))
        time.sleep(1.5)  # the last checkpoint interval
        w1 = proc_field(p.pid, "io", "wchar:")
        o1 = os.path.getsize(out_path)
        hwm = proc_field(p.pid, "status", "VmHWM:")
        files = sorted(os.listdir(st))
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=120)
        written = (w1 - w0) - (o1 - o0)
        print(json.dumps({
            "sources": a.sources, "keys": a.keys, "rate": a.rate, "secs": a.secs,
            "lines": sent, "state_bytes": state_bytes,
            "written_bytes": written, "written_mib": round(written / 2**20, 2),
            "rss_before_mib": round(rss0 / 1024, 1), "peak_rss_mib": round(hwm / 1024, 1),
            "state_files_at_end": len(files), "exit": p.returncode,
        }))


if __name__ == "__main__":
    main()
