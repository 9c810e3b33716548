//! Deterministic syslog-like benchmark corpus: `cargo run --release --example
//! gen_bench_log -- BYTES [SEED] > file.log`. Realistic mixed templates (sshd, kernel,
//! nginx access lines, app key=value lines) with a rare injected outlier, so detectors do
//! real work. Same BYTES and SEED → byte-identical output.

use std::io::{self, BufWriter, Write};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const HOSTS: &[&str] = &["web-01", "web-02", "db-01", "cache-03", "worker-07"];
const USERS: &[&str] = &["alice", "bob", "deploy", "root", "backup", "ci"];
const PATHS: &[&str] = &[
    "/",
    "/api/v1/items",
    "/login",
    "/static/app.js",
    "/healthz",
    "/api/v1/orders/search",
];

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let target: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000_000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(42);
    let mut rng = Rng(seed);
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let mut written = 0u64;
    let mut line = String::with_capacity(512);
    let mut t = 0u64;
    while written < target {
        use std::fmt::Write as _;
        line.clear();
        t += rng.below(3);
        let (h, m, s) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
        let host = HOSTS[rng.below(HOSTS.len() as u64) as usize];
        let _ = write!(line, "Nov 27 {h:02}:{m:02}:{s:02} {host} ");
        let _ = match rng.below(10) {
            0..=2 => write!(
                line,
                "sshd[{}]: Accepted publickey for {} from 10.0.{}.{} port {} ssh2",
                rng.below(60000),
                USERS[rng.below(USERS.len() as u64) as usize],
                rng.below(255),
                rng.below(255),
                1024 + rng.below(60000)
            ),
            3 => write!(
                line,
                "kernel: [{}.{:06}] eth0: link up, 1000 Mbps, full duplex",
                rng.below(900000),
                rng.below(1_000_000)
            ),
            4..=6 => write!(
                line,
                "nginx: 10.1.{}.{} - - \"GET {} HTTP/1.1\" {} {} \"-\" \"Mozilla/5.0\"",
                rng.below(255),
                rng.below(255),
                PATHS[rng.below(PATHS.len() as u64) as usize],
                [200, 200, 200, 304, 404][rng.below(5) as usize],
                rng.below(50_000)
            ),
            7 | 8 => write!(
                line,
                "app[{}]: request done method=GET status=200 duration_ms={} bytes={} user={}",
                rng.below(9999),
                rng.below(400),
                rng.below(100_000),
                USERS[rng.below(USERS.len() as u64) as usize]
            ),
            _ => write!(
                line,
                "CRON[{}]: ({}) CMD (run-parts /etc/cron.hourly)",
                rng.below(60000),
                USERS[rng.below(6) as usize]
            ),
        };
        if rng.below(50_000) == 0 {
            let _ = write!(
                line,
                " FATAL unexpected payload {}",
                "x".repeat(200 + rng.below(800) as usize)
            );
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.flush()
}
