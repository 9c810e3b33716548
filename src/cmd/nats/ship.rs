//! `ship`: read files (or stdin) — once, or followed through rotation — and publish each
//! line to the log stream on its source's partition, waiting for the stream's
//! acknowledgements. With `--follow --state DIR`, the positions written to DIR are those
//! of lines the stream has stored, so a restarted shipper resumes after them (and what it
//! sends again is dropped by the stream as a duplicate within its window).

use super::common::{bus, connect, host_name, millis, patiently};
use crate::cli::nats::ShipArgs;
use crate::cmd::{classify, Outcome};
use crate::signals::Signals;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use trace_sentinel_bus::wire::file_tag;
use trace_sentinel_bus::{BusError, Shipper};
use trace_sentinel_core::engine::InputFormat;
use trace_sentinel_core::fsutil::{check_writable, write_atomic};
use trace_sentinel_core::input::{self, BlockReader};
use trace_sentinel_core::{Error, LineCursor};
use trace_sentinel_follow::{path_key, FollowOptions, FollowSpec, Follower, PathCheckpoint};
use trace_sentinel_nats::publish::NatsLineSink;
use trace_sentinel_nats::streams;

/// Name of the state file inside `--state DIR`.
pub const STATE_FILE: &str = "ship-state.json";
/// Room left for a message's headers under the server's message size.
const HEADER_ROOM: usize = 8 << 10;

/// The `--state` file: where each followed file's stored lines end.
#[derive(Debug, Serialize, Deserialize)]
struct ShipState {
    format: String,
    version: u32,
    stream: String,
    files: Vec<PathCheckpoint>,
}

const STATE_FORMAT: &str = "trace-sentinel-ship-state";

fn load_state(path: &Path, stream: &str) -> Result<Vec<PathCheckpoint>, Error> {
    let bad = |reason: String| Error::Snapshot {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let state: ShipState =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("corrupt: {e}")))?;
    if state.format != STATE_FORMAT || state.version != 1 {
        return Err(bad("not a trace-sentinel ship state file".into()));
    }
    if state.stream != stream {
        return Err(bad(format!(
            "positions of stream {}, not {stream}",
            state.stream
        )));
    }
    Ok(state.files)
}

/// Counts for `--stats-json`.
fn stats_json(shipper: &Shipper<NatsLineSink>, elapsed: Duration, stream: &str) -> String {
    let (lines, bytes, cut) = shipper.shipped();
    let c = shipper.counts();
    let secs = elapsed.as_secs_f64();
    let doc = serde_json::json!({
        "stream": stream,
        "lines": lines,
        "bytes": bytes,
        "stored": c.stored,
        "duplicates": c.duplicates,
        "retried": c.retried,
        "reordered": c.reordered,
        "cut_lines": cut,
        "elapsed_s": secs,
        "lines_per_s": if secs > 0.0 { lines as f64 / secs } else { 0.0 },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Run `ship`.
pub fn run(args: ShipArgs, signals: &Signals) -> Result<Outcome, Error> {
    let replicas = args.stream.validate()?;
    let partitions = match args.partitions {
        None => None,
        Some(n) if (1..=trace_sentinel_bus::layout::MAX_PARTITIONS as i64).contains(&n) => {
            Some(n as u32)
        }
        Some(n) => {
            return Err(Error::Config {
                flag: "--partitions",
                reason: format!("{n} (must be 1 to 1024)"),
            })
        }
    };
    if args.max_line_bytes < 1 {
        return Err(Error::Config {
            flag: "--max-line-bytes",
            reason: format!("{} (must be >= 1)", args.max_line_bytes),
        });
    }
    if args.source.as_deref() == Some("") {
        return Err(Error::Config {
            flag: "--source",
            reason: "must not be empty".into(),
        });
    }
    let every = millis(
        "--checkpoint-interval",
        args.checkpoint_interval,
        1,
        i64::MAX,
    )?;
    let opts = FollowOptions {
        from_start: args.from_start,
        poll_interval: millis("--poll-interval", args.poll_interval, 1, i64::MAX)?,
        rotate_wait: millis("--rotate-wait", args.rotate_wait, 0, i64::MAX)?,
        use_events: !args.no_events,
        max_line_bytes: args.max_line_bytes as usize,
        missing_notice_every: Duration::from_secs(10),
    };
    if args.follow {
        for p in &args.paths {
            if input::is_stdin(p) {
                return Err(Error::Config {
                    flag: "--follow",
                    reason: "cannot follow stdin ('-'); ship it without --follow".into(),
                });
            }
            if p.is_dir() {
                return Err(Error::IsDirectory(p.clone()));
            }
        }
    } else {
        input::check_paths(&args.paths)?;
    }
    let state_file = match &args.state {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
            let file = dir.join(STATE_FILE);
            check_writable(&file)?;
            Some(file)
        }
        None => None,
    };
    if let Some(p) = &args.stats_json {
        check_writable(p)?;
    }
    let s = &args.stream;
    let conn = connect(&s.nats, "trace-sentinel ship")?;
    let Some(layout) = patiently(signals.stop_flag(), || {
        streams::ensure_log_stream(&conn, &s.stream, &s.subject, partitions, replicas)
    })?
    else {
        return Ok(Outcome::Summary {
            line: "stopped — nothing shipped".into(),
            code: if args.follow && signals.terminated() {
                0
            } else {
                130
            },
        });
    };
    let room = conn.max_payload().saturating_sub(HEADER_ROOM).max(1);
    let cap = (args.max_line_bytes as usize).min(room);
    let format = if args.jsonl {
        InputFormat::JsonLines
    } else {
        InputFormat::Text
    };
    let sink = NatsLineSink::new(conn.clone(), layout.clone());
    let mut shipper = Shipper::new(sink, layout, format, cap);
    let host = host_name();
    let start = Instant::now();
    let ctx = Ctx {
        args: &args,
        signals,
        host: &host,
        start,
        every,
        state_file,
    };
    let stopped = if args.follow {
        follow(&ctx, &mut shipper, opts)?
    } else {
        once(&ctx, &mut shipper, cap)?
    };
    if let Some(p) = &args.stats_json {
        write_atomic(
            p,
            stats_json(&shipper, start.elapsed(), &s.stream).as_bytes(),
        )?;
    }
    let (lines, _, cut) = shipper.shipped();
    if cut > 0 {
        say!(
            "trace-sentinel: note: {cut} line(s) longer than {cap} bytes were shipped as their first {cap} bytes with the whole line's length and token count (--max-line-bytes, and the server takes messages of at most {} bytes)",
            conn.max_payload()
        );
    }
    let c = shipper.counts();
    let line = format!(
        "{} — {lines} line(s) shipped to stream {} ({} stored, {} already there) in {:.1} s",
        if stopped { "stopped" } else { "done" },
        s.stream,
        c.stored,
        c.duplicates,
        start.elapsed().as_secs_f64()
    );
    if c.reordered > 0 {
        say!(
            "trace-sentinel: warning: {} line(s) were stored after later lines of their partition (a publication failed while a later one went through); see docs/scale-out.md",
            c.reordered
        );
    }
    let code = if !stopped || (args.follow && signals.terminated()) {
        0
    } else {
        130
    };
    Ok(Outcome::Summary { line, code })
}

struct Ctx<'a> {
    args: &'a ShipArgs,
    signals: &'a Signals,
    host: &'a str,
    start: Instant,
    every: Duration,
    state_file: Option<PathBuf>,
}

/// A bus error carried through a reader's `io::Error` channel.
#[derive(Debug)]
struct Carried;

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("publishing failed")
    }
}

impl std::error::Error for Carried {}

/// Ship each path once, in order. Returns whether a signal stopped it.
fn once(ctx: &Ctx<'_>, shipper: &mut Shipper<NatsLineSink>, cap: usize) -> Result<bool, Error> {
    let args = ctx.args;
    let stop = ctx.signals.stop_flag();
    let mut reader = BlockReader::with_max_line(cap);
    let mut failed: Option<BusError> = None;
    let mut stopped = false;
    for path in &args.paths {
        let source = match &args.source {
            Some(s) => s.clone(),
            None => input::source_name(path),
        };
        let mut stream = match input::open_stream(path, args.binary) {
            Ok(stream) => stream,
            Err(e @ Error::Binary(_)) => {
                say!("trace-sentinel: note: {e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        let tag = file_tag(ctx.host, &path_key(path), 0, 0);
        let mut cursor = LineCursor::default();
        let read = reader.for_each_piece(&mut stream, |piece| {
            if stop.load(Ordering::Relaxed) {
                stopped = true;
                return Ok(false);
            }
            match shipper.ship_piece(piece, &source, &mut cursor, tag) {
                Ok(()) => Ok(true),
                Err(e) => {
                    failed = Some(e);
                    Err(io::Error::other(Carried))
                }
            }
        });
        if let Some(e) = failed.take() {
            return Err(bus(e));
        }
        read.map_err(|e| classify(e, path))?;
        if stopped {
            break;
        }
    }
    shipper.flush().map_err(bus)?;
    let _ = ctx.start;
    Ok(stopped)
}

/// Follow the paths until a signal. Returns true (it always ends by one).
fn follow(
    ctx: &Ctx<'_>,
    shipper: &mut Shipper<NatsLineSink>,
    opts: FollowOptions,
) -> Result<bool, Error> {
    let args = ctx.args;
    let stream_name = &args.stream.stream;
    let checkpoints = match &ctx.state_file {
        Some(f) if f.exists() => load_state(f, stream_name)?,
        _ => Vec::new(),
    };
    // Each spec's source is its index, so a piece tells which path it came from.
    let labels: Vec<(String, u64)> = args
        .paths
        .iter()
        .map(|p| {
            let source = match &args.source {
                Some(s) => s.clone(),
                None => input::source_name(p),
            };
            (source, file_tag(ctx.host, &path_key(p), 0, 0))
        })
        .collect();
    let specs: Vec<FollowSpec> = args
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| FollowSpec {
            path: p.clone(),
            source: i.to_string(),
        })
        .collect();
    let mut follower = Follower::new(&specs, &checkpoints, opts);
    let files: Vec<String> = follower
        .start_points()
        .iter()
        .map(|(p, from)| format!("{} ({from})", p.display()))
        .collect();
    say!(
        "trace-sentinel: shipping {} to stream {stream_name}; {}",
        files.join(", "),
        match &args.state {
            Some(d) => format!("state in {}", d.display()),
            None => "no --state: positions are not kept across restarts".into(),
        }
    );
    let waker = follower.waker();
    ctx.signals.on_signal(move || waker.wake());
    let stop = ctx.signals.stop_flag();
    let mut failed: Option<BusError> = None;
    let mut last = Instant::now();
    let mut last_bytes = u64::MAX;
    let durable = |follower: &Follower, shipper: &mut Shipper<NatsLineSink>| -> Result<(), Error> {
        shipper.flush().map_err(bus)?;
        if let Some(f) = &ctx.state_file {
            let state = ShipState {
                format: STATE_FORMAT.into(),
                version: 1,
                stream: stream_name.clone(),
                files: follower.checkpoints(),
            };
            write_atomic(f, &serde_json::to_vec(&state).unwrap_or_default())?;
        }
        if let Some(p) = &args.stats_json {
            write_atomic(
                p,
                stats_json(shipper, ctx.start.elapsed(), stream_name).as_bytes(),
            )?;
        }
        Ok(())
    };
    // The starting positions at once: a shipper killed before its first interval must
    // not restart at the (by then later) end of its files.
    durable(&follower, shipper)?;
    while !stop.load(Ordering::Relaxed) {
        let more = follower
            .poll(&mut |piece, label, cursor| {
                let i: usize = label.parse().unwrap_or(0);
                let (source, tag) = &labels[i.min(labels.len() - 1)];
                let mut cursor = cursor;
                shipper
                    .ship_piece(piece, source, &mut cursor, *tag)
                    .map_err(|e| {
                        failed = Some(e);
                        io::Error::other(Carried)
                    })
            })
            .map_err(|e| classify(e, Path::new("-")));
        if let Some(e) = failed.take() {
            return Err(bus(e));
        }
        let more = more?;
        for n in follower.take_notices() {
            say!("trace-sentinel: note: {n}");
        }
        if last.elapsed() >= ctx.every && follower.bytes() != last_bytes {
            durable(&follower, shipper)?;
            last = Instant::now();
            last_bytes = follower.bytes();
        }
        if more {
            continue;
        }
        shipper.push().map_err(bus)?;
        let wait = follower.next_timeout().min(
            (last + ctx.every)
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        );
        follower.wait(wait);
    }
    durable(&follower, shipper)?;
    Ok(true)
}
