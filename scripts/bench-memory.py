#!/usr/bin/env python3
"""Peak anonymous memory of `scan --templates` on inputs built to make it large.

Generates each corpus once (fixed seeds) into --dir, runs the binary on it and samples
`RssAnon` in /proc/PID/status every 20 ms (file-backed pages of the mapped input are not
anonymous memory, so they are not counted). Prints one row per corpus, with and without
--templates.

    scripts/bench-memory.py --bin target/release/trace-sentinel --dir /tmp/ts-mem
"""

import argparse
import json
import os
import random
import string
import subprocess
import time


def words(rng, n):
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(n)]


def distinct_text(path):
    """1 M plain lines of random words, one source: every line its own template."""
    rng = random.Random(7)
    vocab = words(rng, 50000)
    with open(path, "w") as f:
        for _ in range(1_000_000):
            f.write(" ".join(rng.choice(vocab) for _ in range(rng.randint(4, 14))) + "\n")


def distinct_jsonl(path):
    """1 M JSON lines over 20,000 sources (past --max-sources), two numeric keys."""
    rng = random.Random(8)
    vocab = words(rng, 50000)
    with open(path, "w") as f:
        for i in range(1_000_000):
            msg = " ".join(rng.choice(vocab) for _ in range(rng.randint(4, 14)))
            rec = {"source": f"s{i % 20000}", "message": msg,
                   "status": rng.choice([200, 404, 500]), "ms": rng.random() * 100}
            f.write(json.dumps(rec) + "\n")


def wide_jsonl(path):
    """300,000 JSON lines over 10,000 sources, 16 numeric keys each, 33 long random
    tokens per message: the most templates, template text, words and attribute
    baselines the caps allow."""
    rng = random.Random(13)
    with open(path, "w") as f:
        for i in range(300_000):
            msg = " ".join("".join(rng.choices(string.ascii_lowercase, k=15)) for _ in range(33))
            rec = {"source": f"s{i % 10000}", "message": msg}
            for k in range(16):
                rec[f"k{k}"] = rng.random() * 1000
            f.write(json.dumps(rec) + "\n")


CORPORA = [
    ("distinct-1m.log", distinct_text, []),
    ("distinct-1m.jsonl", distinct_jsonl, ["--jsonl"]),
    ("wide-10k-sources.jsonl", wide_jsonl, ["--jsonl"]),
]


def peak_anon_kib(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    status = f"/proc/{proc.pid}/status"
    while proc.poll() is None:
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
    return peak, proc.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/trace-sentinel")
    ap.add_argument("--dir", default="/tmp/ts-mem")
    ap.add_argument("--threads", default="2")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    print("| input | flags | peak anonymous MiB |")
    print("|---|---|---|")
    for name, make, flags in CORPORA:
        path = os.path.join(args.dir, name)
        if not os.path.exists(path):
            make(path + ".tmp")
            os.replace(path + ".tmp", path)
        for extra in ([], ["--templates"]):
            cmd = [args.bin, "scan", path, "--threads", args.threads, "--progress", "never"]
            cmd += flags + extra
            kib, rc = peak_anon_kib(cmd)
            shown = " ".join(flags + extra) or "(defaults)"
            print(f"| {name} | {shown} | {kib / 1024:.0f}{'' if rc == 0 else f' (exit {rc})'} |")


if __name__ == "__main__":
    main()
