//! `watch --follow`: wires the library's [`Follower`] to the shared engine and sinks
//! (exactly the blocks → `Engine::feed_block` path of `watch`), and owns the run's
//! durability: checkpoints of file positions *and* detector state in the `--state`
//! directory (a base snapshot and small deltas, each written atomically:
//! [`StateJournal`]), live `--stats-json` (rewritten too while only the delivery counts
//! move), and the shutdown on SIGINT/SIGTERM.
//!
//! Exactly-once: a checkpoint names, per file, the offset just past the last complete line
//! fed to the engine, together with the detector state after that line, so a restart
//! after a graceful stop observes every line once. With `--state`, a round of lines that
//! produced anomalies is made durable before its output is released (within
//! [`ANOMALY_CHECKPOINT_GAP`]), so a crash right after an anomaly is printed does not
//! report it again; the stats file is switched in with the state, so the `events` of all
//! runs add up to the lines of the files even across SIGKILL.

use super::telemetry::{AnomalyCounter, Telemetry};
use super::{classify, make_output, output_error, persist, Outcome};
use crate::cli;
use crate::signals::Signals;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use trace_sentinel_core::engine::Engine;
use trace_sentinel_core::fsutil::{
    self, check_writable, prepare_atomic, remove_stale_temporaries, sync_dir,
};
use trace_sentinel_core::input;
use trace_sentinel_core::sink::{Sink, Tee};
use trace_sentinel_core::state_journal::StateJournal;
use trace_sentinel_core::stats::{CheckpointStats, DeliveryStats, RunStats, StageHistogram};
use trace_sentinel_core::Error;
use trace_sentinel_follow::{FollowOptions, FollowSpec, Follower, PathCheckpoint};

/// Name of the state file inside `--state DIR`.
pub const STATE_FILE: &str = "follow-state.json";
/// What the names of every file of the state start with.
const STATE_PREFIX: &str = "follow-state";
/// Shortest gap between checkpoints that release held-back anomaly output.
const ANOMALY_CHECKPOINT_GAP: Duration = Duration::from_millis(20);

fn millis(flag: &'static str, v: i64, min: i64) -> Result<Duration, Error> {
    if v < min {
        return Err(Error::Config {
            flag,
            reason: format!("{v} (must be >= {min})"),
        });
    }
    Ok(Duration::from_millis(v as u64))
}

type Output<'a> = Tee<AnomalyCounter, &'a mut dyn Sink>;

/// The state and stats files and when they were last written.
struct Durability {
    journal: Option<StateJournal>,
    stats_file: Option<PathBuf>,
    every: Duration,
    last: Instant,
    last_cps: Vec<PathCheckpoint>,
    last_bytes: u64,
    start: Instant,
    failing: Option<String>,
    checkpoints: CheckpointStats,
    /// The delivery counts in the statistics last written.
    last_deliveries: Vec<DeliveryStats>,
}

impl Durability {
    /// The run's statistics now, with the follow stage, the followed files and the
    /// checkpoints.
    fn stats(
        &self,
        telemetry: &Telemetry,
        engine: &Engine,
        follower: &mut Follower,
        stage: &StageHistogram,
    ) -> RunStats {
        let mut stats = telemetry.snapshot(
            engine.shards(),
            follower.bytes(),
            self.start.elapsed(),
            1,
            engine.oversized_lines(),
        );
        stats.stages.insert("read_detect", stage.clone());
        stats.follow = follower.file_stats();
        if self.enabled() {
            stats.checkpoints = Some(self.checkpoints.clone());
        }
        stats
    }

    fn enabled(&self) -> bool {
        self.journal.is_some() || self.stats_file.is_some()
    }

    /// Whether anything was read since the last checkpoint.
    fn dirty(&self, follower: &Follower) -> bool {
        follower.bytes() != self.last_bytes
    }

    /// Whether `--stats-json` shows delivery counts, which move without input (retries,
    /// drops, a recovery).
    fn watches_deliveries(&self, telemetry: &Telemetry) -> bool {
        self.stats_file.is_some() && telemetry.has_deliveries()
    }

    /// Whether the delivery counts moved since the statistics were last written and a
    /// checkpoint interval has passed: the file follows delivery trouble while it lasts,
    /// even when no line arrives.
    fn deliveries_changed(&self, telemetry: &Telemetry, now: Instant) -> bool {
        self.watches_deliveries(telemetry)
            && now >= self.last + self.every
            && telemetry.deliveries() != self.last_deliveries
    }

    /// Make positions, detector state and stats durable, then release the output: both
    /// files are written and synced under temporary names, switched in back to back, and
    /// only then is the output flushed — so an anomaly that was printed is never printed
    /// again after a crash, and `events` in the stats agrees with the state. The state
    /// is a delta of what changed since the last checkpoint unless a compaction is due
    /// or `full` asks for one ([`StateJournal`]).
    fn write(
        &mut self,
        telemetry: &Telemetry,
        engine: &Engine,
        follower: &mut Follower,
        sink: &mut Output<'_>,
        stage: &StageHistogram,
        full: bool,
    ) -> Result<(), Error> {
        let t0 = Instant::now();
        let cps = follower.checkpoints();
        let mut written = 0u64;
        let state = match &mut self.journal {
            Some(j) => {
                let cp = j.prepare(engine.shards(), &cps, full)?;
                written += cp.bytes();
                Some(cp)
            }
            None => None,
        };
        let mut deliveries = None;
        let stats = match &self.stats_file {
            Some(p) => {
                let stats = self.stats(telemetry, engine, follower, stage);
                let text = serde_json::to_string_pretty(&stats.to_json()).unwrap_or_default();
                written += text.len() as u64;
                deliveries = Some(stats.deliveries);
                Some(prepare_atomic(p, text.as_bytes())?)
            }
            None => None,
        };
        let mut dirs = Vec::new();
        let mut compacted = false;
        if let (Some(j), Some(cp)) = (&mut self.journal, state) {
            compacted = cp.is_full();
            dirs.push(j.switch(cp, engine.shards())?);
        }
        if let Some(w) = stats {
            dirs.push(w.switch()?);
        }
        sink.flush().map_err(Error::Output)?;
        for d in dirs {
            sync_dir(&d);
        }
        if let (Some(j), true) = (&self.journal, compacted) {
            j.remove_stale_deltas();
        }
        self.last = Instant::now();
        self.last_cps = cps;
        self.last_bytes = follower.bytes();
        if let Some(d) = deliveries {
            self.last_deliveries = d;
        }
        let c = &mut self.checkpoints;
        c.written += 1;
        c.bytes_total += written;
        c.last_bytes = written;
        c.duration.record(t0.elapsed());
        Ok(())
    }

    /// The `--stats-json` document now.
    fn stats_text(
        &self,
        telemetry: &Telemetry,
        engine: &Engine,
        follower: &mut Follower,
        stage: &StageHistogram,
    ) -> String {
        let stats = self.stats(telemetry, engine, follower, stage);
        serde_json::to_string_pretty(&stats.to_json()).unwrap_or_default()
    }

    /// A checkpoint during the run: a failure is reported once and retried later (the
    /// output is still released); the final checkpoint's failure is an error.
    fn write_periodic(
        &mut self,
        telemetry: &Telemetry,
        engine: &Engine,
        follower: &mut Follower,
        sink: &mut Output<'_>,
        stage: &StageHistogram,
    ) -> Result<(), Error> {
        match self.write(telemetry, engine, follower, sink, stage, false) {
            Ok(()) => {
                self.failing = None;
                Ok(())
            }
            Err(Error::Output(e)) => Err(Error::Output(e)),
            Err(e) => {
                self.checkpoints.failed += 1;
                let msg = e.to_string();
                if self.failing.as_deref() != Some(msg.as_str()) {
                    say!("trace-sentinel: warning: checkpoint failed: {msg}");
                    self.failing = Some(msg);
                }
                self.last = Instant::now();
                sink.flush().map_err(Error::Output)
            }
        }
    }
}

/// Run `watch --follow`.
pub fn run(args: cli::WatchArgs, signals: &Signals) -> Result<Outcome, Error> {
    let interrupted = signals.stop_flag();
    let (cfg, format) = args.detect.to_config(true)?;
    persist::validate(&args.persist)?;
    let fa = &args.follow;
    let opts = FollowOptions {
        from_start: fa.from_start,
        poll_interval: millis("--poll-interval", fa.poll_interval, 1)?,
        rotate_wait: millis("--rotate-wait", fa.rotate_wait, 0)?,
        use_events: !fa.no_events,
        max_line_bytes: args.detect.max_line_bytes as usize,
        missing_notice_every: Duration::from_millis(fa.missing_notice_interval.max(1)),
    };
    let every = millis("--checkpoint-interval", fa.checkpoint_interval, 1)?;
    for p in &args.paths {
        if input::is_stdin(p) {
            return Err(Error::Config {
                flag: "--follow",
                reason: "cannot follow stdin ('-'); read it without --follow".into(),
            });
        }
        if p.is_dir() {
            return Err(Error::IsDirectory(p.clone()));
        }
    }
    let state_file = match &fa.state {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
            let file = dir.join(STATE_FILE);
            // Temporaries of checkpoints a killed run was writing: as large as the
            // state each, and never read.
            for stale in remove_stale_temporaries(dir, STATE_PREFIX) {
                say!(
                    "trace-sentinel: note: removed {} (left by a run that was killed while writing it)",
                    stale.display()
                );
            }
            check_writable(&file)?;
            Some(file)
        }
        None => None,
    };
    persist::check_outputs(args.stats_json.as_deref(), &args.persist)?;
    let mut engine = Engine::new(cfg.clone(), format);
    engine.set_max_line_bytes(args.detect.max_line_bytes as usize);
    let mut checkpoints: Vec<PathCheckpoint> = Vec::new();
    let mut journal = state_file.as_deref().map(StateJournal::new);
    let restored = match &mut journal {
        Some(j) => j.load::<Vec<PathCheckpoint>>(&cfg)?,
        None => None,
    };
    match restored {
        Some((files, shards)) => {
            engine.set_shards(shards);
            checkpoints = files;
        }
        None => {
            persist::load_baseline(&mut engine, &args.persist)?;
            if args.detect.seed > 0 {
                let primed = engine.prime_benign(args.detect.seed as usize);
                say!("primed baselines with {primed} benign signals");
            }
        }
    }
    let specs: Vec<FollowSpec> = args
        .paths
        .iter()
        .map(|p| FollowSpec {
            path: p.clone(),
            source: persist::source_for(p, &args.persist),
        })
        .collect();
    let mut follower = Follower::new(&specs, &checkpoints, opts);
    say!(
        "trace-sentinel: {}",
        start_line(&follower, fa.state.as_deref())
    );
    // Signals end the wait at once instead of at the next poll.
    let waker = follower.waker();
    signals.on_signal(move || waker.wake());
    let start = Instant::now();
    let mut durable = Durability {
        journal,
        stats_file: args.stats_json.clone(),
        every,
        last: start,
        last_cps: follower.checkpoints(),
        last_bytes: 0,
        start,
        failing: None,
        checkpoints: CheckpointStats::default(),
        last_deliveries: Vec::new(),
    };
    let mut out = make_output(&args.detect, durable.journal.is_some(), None)?;
    let mut telemetry = Telemetry::start(&args.metrics, out.deliveries)?;
    let mut sink: Output<'_> = Tee(telemetry.counter(), &mut *out.sink);
    let mut stage = StageHistogram::default();
    // Anomaly output waiting for the checkpoint that makes its lines durable.
    let mut held = false;
    let no_path = Path::new("-");
    // Record the starting positions at once: a follower killed before its first interval
    // must not restart at the (by then later) end of its files.
    if durable.enabled() {
        durable.write(&telemetry, &engine, &mut follower, &mut sink, &stage, false)?;
    }
    while !interrupted.load(Ordering::Relaxed) {
        let anomalies = engine.shards().counters().anomalies;
        let bytes = follower.bytes();
        let t0 = Instant::now();
        let more = follower
            .poll(&mut |piece, source, line| {
                engine.set_line_cursor(line);
                engine
                    .feed_piece(piece, source, &mut sink)
                    .map_err(output_error)
            })
            .map_err(|e| classify(e, no_path))?;
        if follower.bytes() != bytes {
            stage.record(t0.elapsed());
        }
        for n in follower.take_notices() {
            say!("trace-sentinel: note: {n}");
        }
        if engine.shards().counters().anomalies != anomalies {
            if durable.journal.is_some() {
                held = true;
            } else {
                sink.flush().map_err(Error::Output)?;
            }
        }
        let now = Instant::now();
        let periodic = durable.enabled() && durable.dirty(&follower) && now >= durable.last + every;
        let release = held && now >= durable.last + ANOMALY_CHECKPOINT_GAP;
        if periodic || release {
            durable.write_periodic(&telemetry, &engine, &mut follower, &mut sink, &stage)?;
            held = false;
        } else if periodic_retiring_changed(&durable, &follower, now)
            || durable.deliveries_changed(&telemetry, now)
        {
            durable.write_periodic(&telemetry, &engine, &mut follower, &mut sink, &stage)?;
        }
        if telemetry.due() {
            let stats = durable.stats(&telemetry, &engine, &mut follower, &stage);
            telemetry.publish(stats);
        }
        if more {
            continue;
        }
        let mut timeout = follower.next_timeout();
        if held {
            timeout =
                timeout.min((durable.last + ANOMALY_CHECKPOINT_GAP).saturating_duration_since(now));
        }
        if durable.enabled() && (durable.dirty(&follower) || durable.watches_deliveries(&telemetry))
        {
            timeout = timeout.min((durable.last + every).saturating_duration_since(now));
        }
        follower.wait(timeout);
    }
    // The last checkpoint is a compaction: a stopped follower leaves one complete file.
    durable.write(&telemetry, &engine, &mut follower, &mut sink, &stage, true)?;
    // The delivery sinks finish here (bounded); the statistics file then gets their
    // final counts (events and positions are those of the checkpoint just written).
    drop(sink);
    drop(out.sink);
    if telemetry.has_deliveries() {
        if let Some(p) = &durable.stats_file {
            let text = durable.stats_text(&telemetry, &engine, &mut follower, &stage);
            fsutil::write_atomic(p, text.as_bytes())?;
        }
    }
    let stats = durable.stats(&telemetry, &engine, &mut follower, &stage);
    telemetry.publish(stats);
    persist::save_baseline(&engine, &args.persist)?;
    super::report_limits(
        engine.shards(),
        engine.oversized_lines(),
        args.detect.max_line_bytes,
    );
    // SIGTERM is a clean stop (exit 0), SIGINT an interruption.
    let n = engine.shards().counters().anomalies;
    Ok(if signals.terminated() {
        Outcome::Terminated(n)
    } else {
        Outcome::Interrupted(n)
    })
}

/// The line a follow run starts with: what is followed, from where, and where the
/// state is kept.
fn start_line(follower: &Follower, state: Option<&Path>) -> String {
    let files: Vec<String> = follower
        .start_points()
        .iter()
        .map(|(path, from)| format!("{} ({from})", path.display()))
        .collect();
    let state = match state {
        Some(dir) => format!("state in {}", dir.display()),
        None => "no --state: positions are not kept across restarts".to_string(),
    };
    format!("following {}; {state}", files.join(", "))
}

/// A rotated file was closed (or picked up) without new bytes: positions changed, so a
/// checkpoint is due on the usual interval.
fn periodic_retiring_changed(d: &Durability, follower: &Follower, now: Instant) -> bool {
    d.journal.is_some() && now >= d.last + d.every && follower.checkpoints() != d.last_cps
}
