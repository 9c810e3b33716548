//! Benign synthetic events for `--seed N`: a deterministic generator of ordinary system
//! and application log lines (service starts, logins, HTTP requests, cron, database
//! checkpoints) used to warm baselines before live data. It is our own corpus, not the
//! reference's; the same N always yields the same events (SplitMix64, fixed seed).

use trace_sentinel_pycompat::timestamp::{Timestamp, EPOCH_LOCAL_US};

/// SplitMix64: tiny, fast, and good enough for test-data variety.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Uniform pick.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("systemd", "Started {svc}."),
    ("systemd", "Stopping {svc}..."),
    ("systemd", "{svc}: Deactivated successfully."),
    (
        "sshd",
        "Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:{hex}",
    ),
    ("sshd", "Disconnected from user {user} {ip} port {port}"),
    (
        "sshd",
        "pam_unix(sshd:session): session closed for user {user}",
    ),
    ("cron", "({user}) CMD (/usr/local/bin/rotate --quiet)"),
    (
        "cron",
        "pam_unix(cron:session): session opened for user {user} by (uid=0)",
    ),
    (
        "nginx",
        "{ip} - - \"GET {path} HTTP/1.1\" 200 {n} \"-\" \"curl/8.5.0\"",
    ),
    (
        "nginx",
        "{ip} - - \"POST /api/{ep} HTTP/1.1\" 201 {n} \"-\" \"python-requests/2.31\"",
    ),
    (
        "nginx",
        "{ip} - - \"GET {path} HTTP/2.0\" 304 0 \"-\" \"Mozilla/5.0\"",
    ),
    (
        "app",
        "request completed method=GET path={path} status=200 duration_ms={ms}",
    ),
    ("app", "cache refresh finished entries={n} evicted={small}"),
    ("app", "worker {small} picked up job {hex} from queue {ep}"),
    ("postgres", "checkpoint starting: time"),
    (
        "postgres",
        "checkpoint complete: wrote {n} buffers ({small}.{small}%)",
    ),
    ("postgres", "connection received: host={ip} port={port}"),
    (
        "kernel",
        "{dev}: Link is Up - 1Gbps/Full - flow control rx/tx",
    ),
    ("kernel", "EXT4-fs ({dev}): re-mounted. Quota mode: none."),
    (
        "dockerd",
        "container {hex} health status changed to healthy",
    ),
    ("chronyd", "Selected source {ip} (pool.ntp.example)"),
    (
        "auditd",
        "type=USER_START pid={port} uid=0 auid={small} ses={small} res=success",
    ),
];

const SERVICES: &[&str] = &[
    "nginx.service",
    "postgresql.service",
    "ssh.service",
    "cron.service",
    "docker.service",
    "logrotate.service",
    "systemd-tmpfiles-clean.service",
    "apt-daily.service",
];
const USERS: &[&str] = &[
    "deploy",
    "backup",
    "alice",
    "bob",
    "ci-runner",
    "root",
    "www-data",
];
const PATHS: &[&str] = &[
    "/",
    "/healthz",
    "/static/main.css",
    "/api/v2/items",
    "/login",
    "/metrics",
];
const ENDPOINTS: &[&str] = &["orders", "sessions", "reports", "uploads", "events"];
const DEVICES: &[&str] = &["eth0", "ens3", "sda1", "nvme0n1p1", "wlp2s0"];

fn fill(template: &str, rng: &mut SplitMix64, out: &mut String) {
    use std::fmt::Write;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let key = &rest[open + 1..open + close];
        let _ = match key {
            "svc" => write!(out, "{}", rng.pick(SERVICES)),
            "user" => write!(out, "{}", rng.pick(USERS)),
            "ip" => write!(out, "192.168.{}.{}", rng.range(0, 9), rng.range(2, 254)),
            "port" => write!(out, "{}", rng.range(1024, 65535)),
            "hex" => write!(out, "{:012x}", rng.next_u64() >> 16),
            "path" => write!(out, "{}", rng.pick(PATHS)),
            "ep" => write!(out, "{}", rng.pick(ENDPOINTS)),
            "n" => write!(out, "{}", rng.range(1, 150_000)),
            "ms" => write!(out, "{}", rng.range(1, 400)),
            "small" => write!(out, "{}", rng.range(0, 9)),
            "dev" => write!(out, "{}", rng.pick(DEVICES)),
            other => write!(out, "{{{other}}}"),
        };
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
}

/// One benign event (owned).
#[derive(Debug, Clone, PartialEq)]
pub struct BenignEvent {
    /// Source label.
    pub source: &'static str,
    /// Message.
    pub message: String,
    /// Event time (increasing).
    pub timestamp: Timestamp,
}

/// `count` benign events: every template once, then random picks; timestamps start at
/// 2025-01-01T00:00:00Z and advance 0.05–5 s per event.
pub fn benign_events(count: usize) -> impl Iterator<Item = BenignEvent> {
    let mut rng = SplitMix64(0x7ace_5e17);
    let mut t_us: i64 = EPOCH_LOCAL_US + 1_735_689_600_000_000;
    (0..count).map(move |i| {
        let (source, template) = if i < TEMPLATES.len() {
            TEMPLATES[i]
        } else {
            TEMPLATES[(rng.next_u64() % TEMPLATES.len() as u64) as usize]
        };
        let mut message = String::new();
        fill(template, &mut rng, &mut message);
        t_us += rng.range(50_000, 5_000_000) as i64;
        BenignEvent {
            source,
            message,
            timestamp: Timestamp {
                local_us: t_us,
                offset_us: Some(0),
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_filled() {
        let a: Vec<_> = benign_events(200).collect();
        let b: Vec<_> = benign_events(200).collect();
        assert_eq!(a, b);
        assert!(a
            .iter()
            .all(|e| !e.message.contains('{') && !e.message.is_empty()));
        assert!(a
            .windows(2)
            .all(|w| w[0].timestamp.local_us < w[1].timestamp.local_us));
        let sources: std::collections::HashSet<_> = a.iter().map(|e| e.source).collect();
        assert!(sources.len() > 5);
    }
}
