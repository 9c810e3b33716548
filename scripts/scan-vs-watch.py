#!/usr/bin/env python3
"""Randomised check that `scan` reports exactly what `watch` reports.

Builds a corpus (the Loghub samples and demo files of `datasets/`, plus variants made
from them with a fixed seed: lone-CR and mixed line endings, tabs / invalid UTF-8 /
non-ASCII / binary lines, 300 KB and 3 MB lines, empty and blank-only files, JSON lines
with several sources, gzip copies), then runs CASES random flag combinations. Each case
runs `watch FILE FLAGS --format json` once and `scan PATHS FLAGS --format json` at two
random `--threads` of 1/2/3/7 and a random hidden `--chunk-size` (64 B .. 1 MiB), with
and without the template layer (`--templates`, small `--max-templates` caps included),
with PATHS the same file, its `.gz`, stdin (`-`), or several files (compared with `watch` on
their concatenation, without line numbers, which count per input). Outputs must be
byte-identical after removing what depends on the clock: the arrival-time `timestamp` of events without one, and `event.interarrival_s`
anomalies, whose values are wall-clock gaps when the data has no timestamps.

    scripts/scan-vs-watch.py [--bin target/release/trace-sentinel] [--cases 100]
                             [--seed 1] [--keep DIR]

Python 3 standard library only (the reference is not needed). Exit status 0 when every
case matched, 1 otherwise (each mismatch is printed with its command).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLOCK_STAMP = re.compile(rb'"timestamp": "\d{4}-\d\d-\d\dT[^"]*", ')
INTERARRIVAL = b'"metric": "event.interarrival_s"'
# Line numbers count per input: `scan a b` numbers b's lines from 1, `watch` on the
# concatenation does not, so several-file cases compare without them.
LINE_KEY = re.compile(rb', "line": \d+')


def build_corpus(d: Path, rng: random.Random) -> tuple[list[str], list[str]]:
    """Write the corpus into `d`; return (text files, JSON-lines files)."""
    loghub = sorted((REPO / "datasets" / "loghub").glob("*_2k.log"))
    for f in loghub:
        shutil.copy(f, d / f.name)
    for name in ("demo.log", "demo.jsonl"):
        shutil.copy(REPO / "datasets" / name, d / name)
    linux = (d / "Linux_2k.log").read_bytes()
    (d / "cr_only.log").write_bytes(linux.replace(b"\n", b"\r"))
    ends = [b"\n", b"\r\n", b"\r", b"\n\n"]
    (d / "mixed_ends.log").write_bytes(
        b"".join(line + rng.choice(ends) for line in linux.split(b"\n"))
    )
    dirty = []
    for line in (d / "OpenSSH_2k.log").read_bytes().split(b"\n"):
        r = rng.random()
        if r < 0.2:
            line = line.replace(b" ", b"\t", 2)
        elif r < 0.3:
            line += bytes([rng.randint(0x80, 0xFF)])
        elif r < 0.35:
            line += "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c".encode()
        elif r < 0.37:
            line = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 200)))
        dirty.append(line)
    (d / "dirty.log").write_bytes(b"\n".join(dirty))  # no final newline
    hdfs = (d / "HDFS_2k.log").read_bytes().split(b"\n")[:600]
    long_lines = []
    for i, line in enumerate(hdfs):
        long_lines.append(line)
        if i % 150 == 0:
            long_lines.append((line + b" ") * (300_000 // (len(line) + 1)))
    long_lines.insert(300, b"x" * 3_000_000)
    (d / "long.log").write_bytes(b"\n".join(long_lines) + b"\n")
    (d / "empty.log").write_bytes(b"")
    (d / "blank.log").write_bytes(b"\n" * 5000 + b"\r\n" * 100)

    events = []
    for f in loghub:
        src = f.name.split("_")[0]
        events += [(src, line) for line in f.read_text(errors="surrogateescape").splitlines()]
    rng.shuffle(events)
    with open(d / "sources.jsonl", "w", encoding="utf-8", errors="surrogateescape") as out:
        for src, line in events:
            if rng.random() < 0.01:
                out.write(line + "\n")  # not an object
                continue
            obj = {"message": line, "latency_ms": round(rng.expovariate(0.1), 3)}
            obj["source"] = src if rng.random() < 0.95 else None
            if rng.random() < 0.1:
                obj["bytes"] = rng.randint(0, 10**6)
            if rng.random() < 0.02:
                obj["latency_ms"] = "fast"
            out.write(json.dumps(obj, ensure_ascii=rng.random() < 0.5) + "\n")

    for name in ("demo.log", "Apache_2k.log", "dirty.log", "sources.jsonl"):
        (d / (name + ".gz")).write_bytes(gzip.compress((d / name).read_bytes()))
    texts = [f.name for f in loghub] + [
        "demo.log", "cr_only.log", "mixed_ends.log", "dirty.log", "long.log",
        "empty.log", "blank.log",
    ]
    return texts, ["demo.jsonl", "sources.jsonl"]


def random_flags(rng: random.Random, jsonl: bool) -> list[str]:
    flags = ["--format", "json"] + (["--jsonl"] if jsonl else [])
    if rng.random() < 0.5:
        flags.append("--semantic")
    detector = rng.choice(["zscore", "ewma", "mad"])
    flags += ["--detector", detector]
    if detector == "ewma" and rng.random() < 0.5:
        flags += ["--alpha", rng.choice(["0.01", "0.3", "1"])]
    if detector == "mad" and rng.random() < 0.5:
        flags += ["--window", rng.choice(["2", "7", "64"])]
    optional = [
        (0.5, "--threshold", ["0.5", "2", "2.5", "4", "6"]),
        (0.4, "--warmup", ["0", "1", "5", "100"]),
        (0.3, "--seed", ["10", "50"]),
        (0.3, "--shard-by", ["none", "source"]),
        (0.3, "--max-sources", ["1", "2", "3"]),
        (0.2, "--max-line-bytes", ["1", "17", "80"]),
        (0.2, "--source", ["x"]),
        (0.4, "--templates", None),
        (0.15, "--max-templates", ["1", "3", "50"]),
    ]
    for p, flag, values in optional:
        if rng.random() < p:
            flags += [flag] if values is None else [flag, rng.choice(values)]
    return flags


def run(cmd: list[str], cwd: Path, stdin_path: Path | None = None,
        no_lines: bool = False) -> tuple[int, bytes]:
    """Exit status and the clock-free output of one command (without line numbers when
    `no_lines`)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        p = subprocess.run(cmd, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=600)
    finally:
        if stdin_path:
            stdin.close()
    out = CLOCK_STAMP.sub(b"", p.stdout)
    if no_lines:
        out = LINE_KEY.sub(b"", out)
    kept = [line for line in out.split(b"\n") if line and INTERARRIVAL not in line]
    return p.returncode, b"\n".join(kept)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "trace-sentinel"))
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="build the corpus in this directory and keep it")
    args = ap.parse_args()
    binary = str(Path(args.bin).resolve())
    rng = random.Random(args.seed)
    if args.keep:
        d = Path(args.keep)
        d.mkdir(parents=True, exist_ok=True)
        scratch = None
    else:
        scratch = tempfile.TemporaryDirectory(prefix="ts-scan-vs-watch-")
        d = Path(scratch.name)
    texts, jsons = build_corpus(d, rng)
    bad = 0
    for case in range(args.cases):
        jsonl = rng.random() < 0.35
        files = rng.sample(jsons if jsonl else texts, rng.choice([1, 1, 1, 2]))
        flags = random_flags(rng, jsonl)
        if len(files) == 1:
            watched = files[0]
        else:
            # `watch` reads one path: compare with the files' concatenation, each file
            # ending its last line as `scan` does, under one source label.
            watched = "concatenated"
            with open(d / watched, "wb") as out:
                for f in files:
                    data = (d / f).read_bytes()
                    out.write(data if not data or data.endswith((b"\n", b"\r")) else data + b"\n")
            if "--source" not in flags:
                flags += ["--source", "x"]
        paths, stdin_path = list(files), None
        if rng.random() < 0.4:
            paths = [f + ".gz" if (d / (f + ".gz")).exists() else f for f in files]
        if len(files) == 1 and rng.random() < 0.2:
            paths, stdin_path = ["-"], d / files[0]
        if paths != files and "--source" not in flags:
            flags += ["--source", "x"]  # the default label is the path's file name
        flags += ["--binary"]  # awkward variants may hold NUL bytes: read them all
        several = len(files) > 1
        expected = run([binary, "watch", watched, *flags], d, no_lines=several)
        for threads in rng.sample(["1", "2", "3", "7"], 2):
            chunk = rng.choice(["64", "4093", "65536", "1048576"])
            cmd = [binary, "scan", *paths, *flags, "--threads", threads, "--chunk-size", chunk]
            got = run(cmd, d, stdin_path, no_lines=several)
            if got != expected:
                bad += 1
                print(f"MISMATCH case {case}: {' '.join(cmd)}"
                      f"{' < ' + files[0] if stdin_path else ''} (watch {watched}):"
                      f" exit {got[0]} vs {expected[0]},"
                      f" {len(got[1])} vs {len(expected[1])} bytes", flush=True)
    print(f"{args.cases} cases, {bad} mismatches (corpus {'kept in ' + str(d) if args.keep else 'removed'})")
    if scratch:
        scratch.cleanup()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
