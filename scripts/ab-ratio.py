#!/usr/bin/env python3
"""Paired A/B timing of whole commands on a host whose speed drifts.

Usage: scripts/ab-ratio.py ROUNDS 'CMD_A' 'CMD_B' ['CMD_C' ...]

Each round runs every command once (in reverse order every other round) and records
its CPU time (user + system of the child) and wall time. For each command it prints
the minimum, and the median over rounds of its ratio to command A in the same round:
a drift slower than one round cancels out of the ratios, which best-of-N or medians of
separate runs do not manage on a shared machine. Output of the commands is discarded.
"""
import resource
import statistics
import subprocess
import sys
import time


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    cmds = sys.argv[2:]
    cpu = {c: [] for c in cmds}
    wall = {c: [] for c in cmds}
    for i in range(rounds):
        order = list(reversed(cmds)) if i % 2 else list(cmds)
        for c in order:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(c, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t1 = time.perf_counter()
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[c].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
            wall[c].append(t1 - t0)
    a = cmds[0]
    for k, c in enumerate(cmds):
        rc = statistics.median(x / y for x, y in zip(cpu[c], cpu[a]))
        rw = statistics.median(x / y for x, y in zip(wall[c], wall[a]))
        print(
            f"{chr(65 + k)}: cpu min {min(cpu[c]):.3f} s, median ratio {rc:.3f} | "
            f"wall min {min(wall[c]):.3f} s, median ratio {rw:.3f}  {c}"
        )


if __name__ == "__main__":
    main()
