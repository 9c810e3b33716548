#!/usr/bin/env python3
"""Generate crates/pycompat/src/unicode_tables.rs from the running CPython's Unicode database.

This MUST be run with CPython 3.11 (Unicode 14.0.0) so the tables match the
reference implementation (trace-sentinel 0.2.0 on Python 3.11.7). Regenerate:

    python3.11 scripts/gen-unicode-tables.py

Everything is derived from Python's observable behaviour, not from a copy of
the UCD:

* word       -- ``re.match(r"\\w", ch)`` (== ``ch.isalnum() or ch == "_"``)
* space      -- ``ch.isspace()``
* printable  -- ``ch.isprintable()``
* cased      -- ``ch.islower() or ch.isupper() or ch.istitle()``
                (== the UCD ``Cased`` property CPython's ``_PyUnicode_IsCased`` uses)
* case_ignorable -- probed through ``str.lower()``'s Final_Sigma rule: ``ch`` is
                case-ignorable iff ``("A" + ch + "Σ").lower()`` ends in final sigma
                while ``(ch + "Σ").lower()`` does not.
* lowercase  -- ``ch.lower()`` for every code point where it differs from ``ch``.

Check mode (compares the Rust implementation against this Python, exhaustively
over all code points plus random mixed-script strings; runs cargo):

    python3.11 scripts/gen-unicode-tables.py --check [--strings N] [--seed S]

The Rust side of the check is the ``#[ignore]``d test
``unicode::tests::python_check_dump`` in crates/pycompat/src/unicode.rs.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "pycompat", "src", "unicode_tables.rs")
MAX = 0x10FFFF
SIGMA = "\u03a3"
FINAL = "\u03c2"
WORD_RE = re.compile(r"\w")


def require_311():
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
        sys.exit(
            f"error: must run under CPython 3.11 (got {sys.implementation.name} "
            f"{sys.version.split()[0]}); the reference uses Unicode 14.0.0"
        )
    assert unicodedata.unidata_version == "14.0.0", unicodedata.unidata_version


def is_surrogate(cp):
    return 0xD800 <= cp <= 0xDFFF


def props(cp):
    """(word, space, printable, cased, case_ignorable) as Python sees them."""
    ch = chr(cp)
    word = WORD_RE.match(ch) is not None
    assert word == (ch.isalnum() or ch == "_"), hex(cp)
    space = ch.isspace()
    printable = ch.isprintable()
    cased = ch.islower() or ch.isupper() or ch.istitle()
    p1 = (ch + SIGMA).lower().endswith(FINAL)  # !CI(ch) && Cased(ch)
    p2 = ("A" + ch + SIGMA).lower().endswith(FINAL)  # CI(ch) || Cased(ch)
    ci = p2 and not p1
    if not ci:
        # Cased is only ever consulted on non-case-ignorable characters; check
        # that the islower/isupper/istitle derivation agrees there.
        assert cased == p1, hex(cp)
    return word, space, printable, cased, ci


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] + 1 == cp:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return [tuple(r) for r in out]


def lower_runs(single):
    """Compress {cp: lower_cp} into (lo, hi, stride, delta) runs.

    Runs are disjoint as intervals; inside [lo, hi] exactly the code points
    lo + k*stride are mapped, each to cp + delta.
    """
    runs = []
    for cp in sorted(single):
        delta = single[cp] - cp
        if runs:
            lo, hi, stride, d = runs[-1]
            if d == delta and (
                (lo == hi and cp - hi <= 2) or (lo != hi and cp - hi == stride)
            ):
                runs[-1] = [lo, cp, cp - lo if lo == hi else stride, d]
                continue
        runs.append([cp, cp, 1, delta])
    return [tuple(r) for r in runs]


def expand_runs(runs):
    m = {}
    for lo, hi, stride, delta in runs:
        for cp in range(lo, hi + 1, stride):
            m[cp] = cp + delta
    return m


def collect():
    tables = {k: [] for k in ("WORD", "SPACE", "PRINTABLE", "CASED", "CASE_IGNORABLE")}
    single, multi = {}, {}
    for cp in range(MAX + 1):
        if is_surrogate(cp):
            continue  # not a Rust `char`
        w, s, p, c, ci = props(cp)
        for name, flag in zip(tables, (w, s, p, c, ci)):
            if flag:
                tables[name].append(cp)
        ch = chr(cp)
        low = ch.lower()
        if low != ch:
            if len(low) == 1:
                single[cp] = ord(low)
            else:
                assert 1 < len(low) <= 3, hex(cp)
                multi[cp] = low
    assert SIGMA in (chr(c) for c in single) and single[0x3A3] == 0x3C3
    return {k: ranges(v) for k, v in tables.items()}, single, multi


def fmt_pairs(name, doc, rs):
    lines = [f"/// {doc}", "#[rustfmt::skip]", f"pub(super) static {name}: &[(u32, u32)] = &["]
    items = [f"(0x{lo:X}, 0x{hi:X})," for lo, hi in rs]
    for i in range(0, len(items), 6):
        lines.append("    " + " ".join(items[i : i + 6]))
    lines.append("];")
    return "\n".join(lines)


def rust_str(s):
    return '"' + "".join(f"\\u{{{ord(c):X}}}" if ord(c) > 0x7E else c for c in s) + '"'


def generate():
    require_311()
    tables, single, multi = collect()
    runs = lower_runs(single)
    assert expand_runs(runs) == single
    assert all(0 < s < 0x10000 for _, _, s, _ in runs)
    docs = {
        "WORD": "Python `re` `\\w` (str patterns): `ch.isalnum() or ch == '_'`.",
        "SPACE": "Python `str.isspace()`.",
        "PRINTABLE": "Python `str.isprintable()`.",
        "CASED": "Unicode `Cased` as CPython `_PyUnicode_IsCased` sees it.",
        "CASE_IGNORABLE": "Unicode `Case_Ignorable` as CPython `_PyUnicode_IsCaseIgnorable` sees it.",
    }
    parts = [
        "//! Python 3.11's Unicode 14 character properties and lowercase mappings, as tables.",
        "//!",
        "//! @generated by scripts/gen-unicode-tables.py -- DO NOT EDIT.",
        f"// Source: CPython {sys.version.split()[0]}, Unicode {unicodedata.unidata_version}.",
        "// Regenerate with CPython 3.11: python3.11 scripts/gen-unicode-tables.py",
        "// Range tables are sorted, disjoint, merged, inclusive `(lo, hi)` code point ranges.",
        "",
    ]
    # Latin-1 fast-path flags: bit i set <=> code point is in the i-th range table.
    latin1 = [0] * 256
    for bit, rs in enumerate(tables.values()):
        for lo, hi in rs:
            for cp in range(lo, min(hi, 255) + 1):
                latin1[cp] |= 1 << bit
    parts.append(
        "/// Flags for U+0000..=U+00FF (bit 0 WORD, 1 SPACE, 2 PRINTABLE, 3 CASED, 4 CASE_IGNORABLE).\n"
        "#[rustfmt::skip]\n"
        "pub(super) static LATIN1: [u8; 256] = ["
    )
    for i in range(0, 256, 16):
        parts.append("    " + " ".join(f"0x{b:02X}," for b in latin1[i : i + 16]))
    parts.append("];")
    parts.append("")
    for name, rs in tables.items():
        parts.append(fmt_pairs(name, docs[name], rs))
        parts.append("")
    parts.append(
        "/// Single-char `str.lower()`: sorted disjoint `(lo, hi, stride, delta)` runs; the\n"
        "/// code points `lo + k * stride` in `lo..=hi` lower to `cp + delta`.\n"
        "#[rustfmt::skip]\n"
        "pub(super) static LOWER_RUNS: &[(u32, u32, u32, i32)] = &["
    )
    items = [f"(0x{lo:X}, 0x{hi:X}, {st}, {d})," for lo, hi, st, d in runs]
    for i in range(0, len(items), 4):
        parts.append("    " + " ".join(items[i : i + 4]))
    parts.append("];")
    parts.append("")
    parts.append(
        "/// Multi-char `str.lower()` (SpecialCasing), sorted by code point; consulted first.\n"
        "#[rustfmt::skip]\n"
        "pub(super) static LOWER_MULTI: &[(u32, &str)] = &["
    )
    for cp in sorted(multi):
        parts.append(f"    (0x{cp:X}, {rust_str(multi[cp])}),")
    parts.append("];")
    text = "\n".join(parts) + "\n"
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    sizes = ", ".join(f"{k}={len(v)}" for k, v in tables.items())
    print(f"wrote {OUT}: {sizes}, LOWER_RUNS={len(runs)}, LOWER_MULTI={len(multi)}")


# --------------------------------------------------------------------------
# --check


def dump_line(cp):
    ch = chr(cp)
    w, s, p, c, ci = props(cp)
    flags = "".join("1" if f else "0" for f in (w, s, p, c, ci))
    sig = "".join(
        "1" if FINAL in x.lower() else "0"
        for x in (ch + SIGMA, "A" + ch + SIGMA, "A" + SIGMA + ch, "A" + SIGMA + ch + "b")
    )
    return f"{cp:X} {flags} {sig} {ch.lower().encode('utf-8').hex()}"


POOLS = [
    (0x20, 0x7E), (0x0, 0x20), (0x80, 0xFF), (0x100, 0x24F), (0x300, 0x36F),
    (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F),
    (0x10A0, 0x10FF), (0x1E00, 0x1FFF), (0x2000, 0x206F), (0x2150, 0x218F),
    (0x2460, 0x24FF), (0x3000, 0x30FF), (0x4E00, 0x4E80), (0xAC00, 0xAC80),
    (0xFF00, 0xFFEF), (0x10400, 0x1044F), (0x1D400, 0x1D7FF), (0x1F600, 0x1F64F),
    (0xE0000, 0xE007F), (0x0, 0x10FFFF),
]
SPECIAL = list("Σσς'.:\u00ad\u0345\u02b0\u0130\u1e9e\u01c4\u01c5_ \t\n\u00a0\u3000\u200b\u0301\u00bd")


def random_string(rng):
    n = rng.choice((0, 1, 2, 3, 5, 8, 13, 30, 80))
    out = []
    pools = rng.sample(POOLS, rng.randint(1, 4))
    for _ in range(n):
        r = rng.random()
        if r < 0.25:
            out.append(rng.choice(SPECIAL))
        else:
            lo, hi = rng.choice(pools)
            cp = rng.randint(lo, hi)
            if is_surrogate(cp):
                cp = 0xFFFD
            out.append(chr(cp))
    return "".join(out)


def check(n_strings, seed):
    require_311()
    rng = random.Random(seed)
    strings = [random_string(rng) for _ in range(n_strings)]
    tmp = tempfile.mkdtemp(prefix="ts-unicode-check-")
    inp = os.path.join(tmp, "strings.hex")
    cp_out = os.path.join(tmp, "codepoints.rust")
    str_out = os.path.join(tmp, "strings.rust")
    with open(inp, "w") as f:
        for s in strings:
            f.write(s.encode("utf-8").hex() + "\n")
    env = dict(os.environ, TS_UNICODE_CHECK_DIR=tmp)
    cmd = ["cargo", "test", "-p", "trace-sentinel-pycompat", "--lib", "unicode::tests::python_check_dump", "--", "--ignored", "--exact"]
    print("running:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)

    bad = 0
    n_cp = 0
    with open(cp_out) as f:
        rust_lines = f.read().splitlines()
    expected = (dump_line(cp) for cp in range(MAX + 1) if not is_surrogate(cp))
    for got, want in zip(rust_lines, expected):
        n_cp += 1
        if got != want:
            bad += 1
            if bad <= 20:
                print(f"code point mismatch: rust={got!r} python={want!r}")
    if len(rust_lines) != n_cp or n_cp != MAX + 1 - 0x800:
        bad += 1
        print(f"code point count mismatch: rust={len(rust_lines)} expected={MAX + 1 - 0x800}")
    # Surrogates cannot be Rust chars; record what Python says about them.
    for cp in range(0xD800, 0xE000):
        ch = chr(cp)
        assert not (WORD_RE.match(ch) or ch.isspace() or ch.isprintable()) and ch.lower() == ch

    with open(str_out) as f:
        rust_str_lines = f.read().splitlines()
    n_str = 0
    for s, got in zip(strings, rust_str_lines):
        n_str += 1
        want = " ".join(
            (
                str(sum(1 for _ in re.finditer(r"\w+", s))),
                str(len(s)),
                s.lower().encode("utf-8").hex(),
                s.strip().encode("utf-8").hex(),
            )
        )
        if got != want:
            bad += 1
            if bad <= 40:
                print(f"string mismatch for {s!r}: rust={got!r} python={want!r}")
    if len(rust_str_lines) != len(strings):
        bad += 1
        print(f"string count mismatch: rust={len(rust_str_lines)} expected={len(strings)}")
    sigma = sum(1 for s in strings if SIGMA in s)
    print(
        f"checked {n_cp} code points (all scalar values; the 2048 surrogates are not "
        f"Rust chars) and {n_str} random strings ({sigma} containing U+03A3), seed={seed}: "
        + ("OK" if bad == 0 else f"{bad} MISMATCHES")
    )
    return 0 if bad == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare the Rust implementation against Python")
    ap.add_argument("--strings", type=int, default=20000, help="random strings for --check")
    ap.add_argument("--seed", type=int, default=20240611, help="RNG seed for --check")
    args = ap.parse_args()
    if args.check:
        sys.exit(check(args.strings, args.seed))
    generate()


if __name__ == "__main__":
    main()
