#!/usr/bin/env python3
"""Detection quality on the shipped Loghub samples, as a new user would run it.

For every `datasets/loghub/*_2k.log` this runs `trace-sentinel watch FILE --format json`
with each flag set and prints, per sample, the distinct lines flagged (a line counts
once, whichever metrics fired; the JSON `line` key names it) and, where labels exist
(BGL), precision, recall and F1 per line. BGL's and Thunderbird's first token is the
alert label (`-` = normal); it is stripped before the engine sees the line.

Beside the engine it prints a level-only baseline on BGL: flag every line whose level
word (among its first eight tokens) is FATAL, SEVERE or CRITICAL.

`--synthetic` adds a table for the corpora of scripts/gen-demo-log.py (a very long
line, a stack trace, an error burst, an injected request, latency spikes), labelled,
in their plain and JSON-lines forms.

`--injected` adds a second table: each sample with realistic new events spliced in
after line 300 (fixed seed; a neighbouring line's header is kept, its content
replaced), reporting the share of injected lines found and of the other lines flagged.

Needs only Python 3 and the binary (default: target/release/trace-sentinel).

Usage: scripts/eval-detection.py [--bin PATH] [--data DIR] [--injected] [--synthetic] [--seeds N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELLED = {"BGL", "Thunderbird"}
FLAG_SETS = [
    ("reference defaults", []),
    ("--semantic", ["--semantic"]),
    ("--detector mad", ["--detector", "mad"]),
    ("--templates", ["--templates"]),
]
LEVEL_WORDS = {"FATAL", "SEVERE", "CRITICAL", "CRIT"}

# New events for the injected corpora: plausible lines none of the samples contains,
# mostly informational.
NEW_EVENTS = [
    "Out of memory: Killed process {pid} (java) total-vm:{n}kB, anon-rss:{m}kB, file-rss:0kB",
    "Configuration reloaded from /etc/app/config.yaml by user admin",
    "Leader election completed: node-{k} became leader for term {n}",
    "Scheduled maintenance window started; draining connections",
    "Certificate for api.example.com expires in {k} days",
    "Backup job nightly-{k} finished, {n} files copied",
    "New device registered: usb {k}-{k}.{k} vendor 0x{h} product 0x{h}",
    "Session recording enabled for tenant acme-{k}",
    "Feature flag checkout_v2 turned on for {k} percent of users",
    "Replication lag on replica db-{k} is {n} seconds",
    "User guest added to group wheel",
    "Cron job cleanup-tmp skipped because previous run is still active",
    "Firmware update available for controller {k}: version 2.{k}.{k}",
    "Cache warmup complete: {n} entries loaded in {m} ms",
    "segfault at {h} ip {h} sp {h} error 4 in libc.so.6",
    "Audit log rotated to /var/log/audit/audit.log.{k}",
    "Switching to fallback DNS resolver 9.9.9.9",
    "TLS handshake with upstream payments-gw failed: certificate verify failed",
    "Disk quota warning for volume data{k}: {k}0 percent used",
    "Thread pool resized from {k} to {m} workers",
]
LEVEL_RE = re.compile(r"^[\[<(]?(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|SEVERE|CRIT|CRITICAL)[\]>):,]*$", re.I)


def read_lines(path: Path) -> list[bytes]:
    """Lines as the engine splits them: `\\n`, `\\r\\n` and a lone `\\r`; empty ones dropped."""
    return [l for l in re.split(rb"\r\n|\n|\r", path.read_bytes()) if l]


def sample(path: Path) -> tuple[list[bytes], list[bool]]:
    name = path.name.split("_")[0]
    lines = read_lines(path)
    labels = [False] * len(lines)
    if name in LABELLED:
        out = []
        for i, line in enumerate(lines):
            label, _, rest = line.partition(b" ")
            labels[i] = label != b"-"
            out.append(rest)
        lines = out
    return lines, labels


def flagged_lines(binary: str, lines: list[bytes], flags: list[str], suffix: str = ".log") -> set[int]:
    """1-based line numbers the engine reports (each line once)."""
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp:
        tmp.write(b"\n".join(lines) + b"\n")
        name = tmp.name
    try:
        out = subprocess.run(
            [binary, "watch", name, "--format", "json", *flags],
            check=True, capture_output=True,
        ).stdout
    finally:
        os.unlink(name)
    found = set()
    for row in out.splitlines():
        obj = json.loads(row)
        if "line" not in obj:
            raise SystemExit(f"{binary} prints no `line` key: too old for this script")
        found.add(obj["line"])
    return found


def prf(found: set[int], labels: list[bool]) -> tuple[float, float, float]:
    truth = {i + 1 for i, l in enumerate(labels) if l}
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def level_baseline(lines: list[bytes]) -> set[int]:
    out = set()
    for i, line in enumerate(lines):
        for tok in line.decode("utf-8", "replace").split()[:8]:
            m = LEVEL_RE.match(tok)
            if m and m.group(1).upper() in LEVEL_WORDS:
                out.add(i + 1)
                break
    return out


def header_of(line: bytes) -> bytes:
    """The part of a real line before its message: up to a level word, else up to the
    first token ending in `:` (syslog's `prog[pid]:`), else the first three tokens."""
    toks = line.split(b" ")
    for i, t in enumerate(toks[:8]):
        if LEVEL_RE.match(t.decode("utf-8", "replace")):
            return b" ".join(toks[: i + 1]) + b" "
    for i, t in enumerate(toks[:8]):
        if t.endswith(b":"):
            return b" ".join(toks[: i + 1]) + b" "
    return b" ".join(toks[:3]) + b" "


def injected(lines: list[bytes], seed: int, count: int = 20) -> tuple[list[bytes], list[bool]]:
    rng = random.Random(seed)
    spots = sorted(rng.sample(range(300, len(lines)), count))
    events = rng.sample(NEW_EVENTS, count) if count <= len(NEW_EVENTS) else NEW_EVENTS * 2
    at = dict(zip(spots, events))
    out, labels = [], []
    for i, line in enumerate(lines):
        if i in at:
            text = at[i].format(
                pid=rng.randint(1000, 40000), n=rng.randint(100, 99999), m=rng.randint(10, 9999),
                k=rng.randint(1, 9), h="%08x" % rng.getrandbits(32),
            )
            out.append(header_of(line) + text.encode())
            labels.append(True)
        out.append(line)
        labels.append(False)
    return out, labels


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "trace-sentinel"))
    ap.add_argument("--data", default=str(ROOT / "datasets" / "loghub"))
    ap.add_argument("--injected", action="store_true", help="also the injected-events table")
    ap.add_argument("--seeds", type=int, default=3, help="injected corpora per sample")
    ap.add_argument("--synthetic", action="store_true",
                    help="also the table of scripts/gen-demo-log.py corpora with labels")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        print(f"eval-detection: no binary at {args.bin} (cargo build --release)", file=sys.stderr)
        return 2
    paths = sorted(Path(args.data).glob("*_2k.log"))
    if not paths:
        print(f"eval-detection: no *_2k.log in {args.data}", file=sys.stderr)
        return 2

    head = "| flags | " + " | ".join(p.name.split("_")[0] for p in paths) + " |"
    print("Distinct lines flagged of 2000 (BGL: flagged, P/R/F1 per line).\n")
    print(head)
    print("|" + "---|" * (len(paths) + 1))
    for title, flags in FLAG_SETS:
        cells = []
        for p in paths:
            lines, labels = sample(p)
            found = flagged_lines(args.bin, lines, flags)
            if any(labels):
                pr, rc, f = prf(found, labels)
                cells.append(f"{len(found)} ({pr:.2f}/{rc:.2f}/**{f:.3f}**)")
            else:
                cells.append(str(len(found)))
        print(f"| {title} | " + " | ".join(cells) + " |")
    cells = []
    for p in paths:
        lines, labels = sample(p)
        found = level_baseline(lines)
        if any(labels):
            pr, rc, f = prf(found, labels)
            cells.append(f"{len(found)} ({pr:.2f}/{rc:.2f}/**{f:.3f}**)")
        else:
            cells.append(str(len(found)))
    print("| baseline: level is FATAL/SEVERE/CRITICAL | " + " | ".join(cells) + " |")

    if args.injected:
        print(f"\nInjected new events (20 per sample after line 300, {args.seeds} seeds): "
              "share of injected lines found / share of other lines flagged.\n")
        print(head)
        print("|" + "---|" * (len(paths) + 1))
        for title, flags in FLAG_SETS:
            cells = []
            for p in paths:
                lines, _ = sample(p)
                hit = inj = other = others = 0
                for seed in range(1, args.seeds + 1):
                    corp, labels = injected(lines, seed)
                    found = flagged_lines(args.bin, corp, flags)
                    truth = {i + 1 for i, l in enumerate(labels) if l}
                    hit += len(found & truth)
                    inj += len(truth)
                    other += len(found - truth)
                    others += len(corp) - len(truth)
                cells.append(f"{hit / inj:.2f} / {100 * other / others:.1f} %")
            print(f"| {title} | " + " | ".join(cells) + " |")

    if args.synthetic:
        synthetic_table(args.bin, args.seeds)
    return 0


def synthetic_table(binary: str, seeds: int) -> None:
    """scripts/gen-demo-log.py corpora (seeds 1..N) with their planted anomalies
    labelled: the share of labelled lines found / of other lines flagged, for the plain
    text and the JSON-lines form (`--jsonl`)."""
    print(f"\nSynthetic corpora (scripts/gen-demo-log.py --labels, 5000 lines, 50 labelled, "
          f"seeds 1-{seeds}): share of labelled lines found / share of other lines flagged.\n")
    print("| flags | demo.log | demo.jsonl --jsonl |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        corpora = []
        for seed in range(1, seeds + 1):
            out = Path(tmp) / str(seed)
            subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-demo-log.py"),
                            "--out-dir", str(out), "--seed", str(seed), "--labels"],
                           check=True, capture_output=True)
            labels = [l == "1" for l in (out / "demo.labels").read_text().split()]
            corpora.append((out, labels))
        for title, flags in FLAG_SETS:
            cells = []
            for name, extra in (("demo.log", []), ("demo.jsonl", ["--jsonl"])):
                hit = inj = other = others = 0
                for out, labels in corpora:
                    lines = read_lines(out / name)
                    found = flagged_lines(binary, lines, flags + extra, Path(name).suffix)
                    truth = {i + 1 for i, l in enumerate(labels) if l}
                    hit += len(found & truth)
                    inj += len(truth)
                    other += len(found - truth)
                    others += len(lines) - len(truth)
                cells.append(f"{hit / inj:.2f} / {100 * other / others:.1f} %")
            print(f"| {title} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
