//! The worker, transport-neutral: the partitions this worker owns, each an [`Engine`] fed
//! in stream order (the same engine, flags and per-source shards as `watch`), its
//! anomalies published with deterministic ids, and its checkpoint — the detector state
//! together with the last stream position it covers — written after those anomalies are
//! stored. Ownership comes from a [`Coordinator`]; the [`Worker`] only reacts to it.
//!
//! Exactly-once, as far as it goes: a partition restarts from its checkpoint, so lines
//! after it are scored again from the same state and yield the same anomalies with the
//! same ids, which the bus drops as duplicates (within its deduplication window). The
//! order of a source's anomalies is that of its lines, because a source lives in one
//! partition and a partition is read in order by one worker at a time. See
//! `docs/scale-out.md` for where this stops.

use crate::error::{BusError, Result};
use crate::transport::{
    AckCounts, AnomalySink, CheckpointStore, Coordinator, InLine, LeaseEvent, OutAnomaly,
    PartitionFeed, Saved,
};
use crate::{token, wire};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};
use trace_sentinel_core::detect::{Counters, ShardSet, TemplateSummary, OVERFLOW_SHARD};
use trace_sentinel_core::engine::{Engine, InputFormat};
use trace_sentinel_core::snapshot::{self, Kind};
use trace_sentinel_core::stats::{
    CheckpointStats, PartitionWorkerStats, RunStats, StageHistogram, StatsSink,
};
use trace_sentinel_core::{Anomaly, Config, LineCursor, Sink};

/// What decides a worker's results and pace.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Detection configuration (the flags of `watch`).
    pub cfg: Config,
    /// How lines are parsed (`--jsonl`).
    pub format: InputFormat,
    /// `--max-line-bytes`.
    pub max_line_bytes: usize,
    /// `--seed`: benign events each new partition's engine is primed with.
    pub seed: usize,
    /// The log stream's name (part of the anomaly ids).
    pub stream: String,
    /// How often owned partitions are checkpointed.
    pub checkpoint_every: Duration,
    /// Most lines taken from the feed at once.
    pub batch: usize,
}

/// Where a partition's checkpoint stands, stored with its detector state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The log stream.
    pub stream: String,
    /// The partition.
    pub partition: u32,
    /// The last stream position whose line (and anomalies) the state covers.
    pub last_seq: u64,
    /// Lines the partition has observed in all.
    pub lines: u64,
}

/// One owned partition.
struct Part {
    engine: Engine,
    last_seq: u64,
    lines: u64,
    dirty: bool,
}

/// One anomaly rendered for publication.
struct Rendered {
    body: String,
    source: String,
    metric: String,
    threshold: f64,
    value: f64,
    score: f64,
    semantic: bool,
    rarity: Option<(u64, u64)>,
    timed: bool,
}

/// Renders every anomaly of a line (and counts it).
#[derive(Default)]
struct Collect {
    out: Vec<Rendered>,
    scratch: String,
    stats: StatsSink,
}

impl Sink for Collect {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        self.stats.emit(a)?;
        let mut body = String::with_capacity(256);
        a.write_json(&mut body, &mut self.scratch);
        self.out.push(Rendered {
            body,
            source: a.source.to_string(),
            metric: a.metric.to_string(),
            threshold: a.threshold,
            value: a.value,
            score: a.score,
            semantic: a.semantic,
            rarity: a.context.rarity.map(|r| (r.seen, r.out_of)),
            timed: a.context.timed,
        });
        Ok(())
    }
}

/// What a worker has done (cumulative).
#[derive(Debug, Clone, Default)]
pub struct WorkerStats {
    /// Lines observed (replays after a takeover or rewind included).
    pub lines: u64,
    /// Events the engines observed (lines the engine does not skip).
    pub events: u64,
    /// Bytes of the lines observed.
    pub bytes: u64,
    /// Anomalies the bus stored.
    pub published: u64,
    /// Anomalies the bus already had (replays dropped by their id).
    pub duplicates: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Partitions claimed.
    pub claimed: u64,
    /// Partitions claimed that resumed from another run's checkpoint.
    pub resumed: u64,
    /// Partitions handed back to balance the group.
    pub surrendered: u64,
    /// Partitions lost (lease expired or taken, checkpoint fenced).
    pub lost: u64,
    /// Partitions restarted from their checkpoint after a failed publication.
    pub rewound: u64,
    /// Lines whose shipper parsed them in the other format than this worker.
    pub format_mismatches: u64,
    /// Lines over `--max-line-bytes` seen so far (in the engines still owned).
    pub oversized: u64,
}

/// The worker loop's state; drive it with [`Worker::step`] and end it with
/// [`Worker::shutdown`].
pub struct Worker<C, K, F, A> {
    opts: WorkerOptions,
    coord: C,
    store: K,
    feed: F,
    out: A,
    parts: BTreeMap<u32, Part>,
    stats: WorkerStats,
    notices: Vec<String>,
    failing: Option<String>,
    buf: Vec<InLine>,
    collect: Collect,
    msg_id: String,
    token: String,
    next_tick: Instant,
    last_checkpoint: Instant,
    /// The engine counters of partitions no longer owned.
    retired: Counters,
    /// Partition checkpoints written or failed, their sizes and durations.
    checkpoint_stats: CheckpointStats,
    /// Time per batch of lines through the engines.
    detect_stage: StageHistogram,
}

/// Longest wait for lines in one step.
const MAX_WAIT: Duration = Duration::from_millis(200);

impl<C, K, F, A> Worker<C, K, F, A>
where
    C: Coordinator,
    K: CheckpointStore,
    F: PartitionFeed,
    A: AnomalySink,
{
    /// A worker over a transport's parts.
    pub fn new(opts: WorkerOptions, coord: C, store: K, feed: F, out: A) -> Self {
        let now = Instant::now();
        Worker {
            opts,
            coord,
            store,
            feed,
            out,
            parts: BTreeMap::new(),
            stats: WorkerStats::default(),
            notices: Vec::new(),
            failing: None,
            buf: Vec::new(),
            collect: Collect::default(),
            msg_id: String::new(),
            token: String::new(),
            next_tick: now,
            last_checkpoint: now,
            retired: Counters::default(),
            checkpoint_stats: CheckpointStats::default(),
            detect_stage: StageHistogram::default(),
        }
    }

    /// What happened so far.
    pub fn stats(&self) -> &WorkerStats {
        &self.stats
    }

    /// Owned partitions with the last stream position each has observed.
    pub fn owned(&self) -> Vec<(u32, u64)> {
        self.parts.iter().map(|(p, s)| (*p, s.last_seq)).collect()
    }

    /// Things worth telling the operator (claims, losses, transient failures), drained.
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// A transient failure: said once until it changes or clears.
    fn transient(&mut self, e: &BusError) {
        let msg = e.to_string();
        if self.failing.as_deref() != Some(msg.as_str()) {
            self.notices.push(format!("warning: {msg} (retrying)"));
            self.failing = Some(msg);
        }
    }

    /// The checkpoint's name in errors.
    fn what(&self, partition: u32) -> String {
        format!(
            "checkpoint of partition {partition} of stream {}",
            self.opts.stream
        )
    }

    fn fresh_engine(&self) -> Engine {
        let mut engine = Engine::new(self.opts.cfg.clone(), self.opts.format);
        engine.set_max_line_bytes(self.opts.max_line_bytes);
        if self.opts.seed > 0 {
            engine.prime_benign(self.opts.seed);
        }
        engine
    }

    /// Take ownership of `partition`: its checkpoint (or a fresh engine), then its lines.
    fn adopt(&mut self, partition: u32) -> Result<()> {
        // State this worker still holds from an earlier ownership may be behind the
        // checkpoint another owner wrote since: start again from the checkpoint.
        self.drop_part(partition);
        let mut part = Part {
            engine: self.fresh_engine(),
            last_seq: 0,
            lines: 0,
            dirty: false,
        };
        let from = match self.store.load(partition)? {
            Some(bytes) => {
                let what = self.what(partition);
                let (pos, shards) = snapshot::parse_continuation::<Position>(
                    Path::new(&what),
                    &bytes,
                    Kind::PartitionState,
                    &self.opts.cfg,
                )?;
                let pos = pos.ok_or_else(|| BusError::invalid(&what, "no position"))?;
                if pos.partition != partition || pos.stream != self.opts.stream {
                    return Err(BusError::invalid(
                        &what,
                        format!("holds partition {} of stream {}", pos.partition, pos.stream),
                    ));
                }
                part.engine.set_shards(shards);
                part.last_seq = pos.last_seq;
                part.lines = pos.lines;
                self.stats.resumed += 1;
                format!("from its checkpoint after stream position {}", pos.last_seq)
            }
            None => "from its start".to_string(),
        };
        self.feed.open(partition, part.last_seq)?;
        self.parts.insert(partition, part);
        self.stats.claimed += 1;
        self.notices
            .push(format!("partition {partition}: claimed, reading {from}"));
        Ok(())
    }

    fn drop_part(&mut self, partition: u32) {
        self.feed.close(partition);
        if let Some(p) = self.parts.remove(&partition) {
            self.stats.oversized += p.engine.oversized_lines();
            add_counters(&mut self.retired, p.engine.shards().counters());
        }
    }

    /// Run the coordinator's tick and act on what changed.
    fn tick(&mut self) -> Result<()> {
        let mut events = Vec::new();
        if let Err(e) = self.coord.tick(&mut events) {
            self.transient(&e);
        }
        for ev in events {
            match ev {
                LeaseEvent::Gained(p) => {
                    if let Err(e) = self.adopt(p) {
                        if matches!(e, BusError::Transport(_)) {
                            // Could not read its checkpoint now: give it back, claim later.
                            self.transient(&e);
                            let _ = self.coord.release(p);
                        } else {
                            return Err(e);
                        }
                    }
                }
                LeaseEvent::Lost(p) => {
                    if self.parts.contains_key(&p) {
                        self.drop_part(p);
                        self.stats.lost += 1;
                        self.notices.push(format!("partition {p}: lease lost"));
                    }
                }
                LeaseEvent::Surrender(p) => {
                    if self.checkpoint(&[p])? {
                        self.drop_part(p);
                        self.stats.surrendered += 1;
                        if let Err(e) = self.coord.release(p) {
                            self.transient(&e);
                        }
                        self.notices
                            .push(format!("partition {p}: handed over to balance the workers"));
                    }
                }
            }
        }
        Ok(())
    }

    /// One round: leases when due, a batch of lines, a checkpoint when due. Blocks for
    /// at most a fraction of a second when there is nothing to read.
    pub fn step(&mut self) -> Result<()> {
        let now = Instant::now();
        if now >= self.next_tick {
            self.tick()?;
            self.next_tick = Instant::now() + self.coord.tick_every();
        }
        let due = self.last_checkpoint + self.opts.checkpoint_every;
        let wait = self
            .next_tick
            .min(due)
            .saturating_duration_since(Instant::now())
            .min(MAX_WAIT);
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let got = if self.parts.is_empty() {
            std::thread::sleep(wait);
            Ok(())
        } else {
            self.feed.recv(self.opts.batch, wait, &mut buf)
        };
        if let Err(e) = got {
            self.transient(&e);
        }
        let t0 = Instant::now();
        for line in &buf {
            self.observe(line)?;
        }
        if !buf.is_empty() {
            self.detect_stage.record(t0.elapsed());
        }
        self.buf = buf;
        // Anomalies leave at once; only their acknowledgements wait for the checkpoint.
        if let Err(e) = self.out.push() {
            self.transient(&e);
        }
        if Instant::now() >= due {
            let dirty: Vec<u32> = self
                .parts
                .iter()
                .filter(|(_, p)| p.dirty)
                .map(|(k, _)| *k)
                .collect();
            self.checkpoint(&dirty)?;
            self.last_checkpoint = Instant::now();
        }
        Ok(())
    }

    /// Score one line of an owned partition and publish its anomalies.
    fn observe(&mut self, line: &InLine) -> Result<()> {
        let p = line.partition;
        let Some(part) = self.parts.get(&p) else {
            return Ok(());
        };
        if line.seq <= part.last_seq {
            return Ok(());
        }
        if !self.coord.holds(p) {
            self.drop_part(p);
            self.stats.lost += 1;
            self.notices
                .push(format!("partition {p}: lease not renewed in time; stopped"));
            return Ok(());
        }
        let Some(part) = self.parts.get_mut(&p) else {
            return Ok(());
        };
        let jsonl = self.opts.format == InputFormat::JsonLines;
        if line.jsonl.is_some_and(|j| j != jsonl) {
            if self.stats.format_mismatches == 0 {
                self.notices.push(format!(
                    "warning: partition {p} holds lines shipped {} --jsonl, read {} it: sources may be split across partitions",
                    if jsonl { "without" } else { "with" },
                    if jsonl { "with" } else { "without" },
                ));
            }
            self.stats.format_mismatches += 1;
        }
        let engine = &mut part.engine;
        let before = engine.shards().counters().events;
        engine.set_line_cursor(
            line.line
                .filter(|n| *n > 0)
                .map_or(LineCursor::UNKNOWN, LineCursor::at),
        );
        self.collect.out.clear();
        let fed = match line.long {
            Some((chars, words)) => {
                let keep = line.payload.len().min(self.opts.max_line_bytes);
                engine.feed_oversized(
                    &line.payload[..keep],
                    chars,
                    words,
                    &line.source,
                    &mut self.collect,
                )
            }
            None => engine.feed_block(&line.payload, &line.source, &mut self.collect),
        };
        // The collecting sink never fails.
        let _ = fed;
        self.stats.events += engine.shards().counters().events - before;
        self.stats.lines += 1;
        self.stats.bytes += line.payload.len() as u64;
        part.last_seq = line.seq;
        part.lines += 1;
        part.dirty = true;
        let rendered = std::mem::take(&mut self.collect.out);
        for (ordinal, r) in rendered.iter().enumerate() {
            wire::anomaly_msg_id(
                &mut self.msg_id,
                &self.opts.stream,
                line.seq,
                ordinal as u32,
                &r.source,
                &r.metric,
            );
            self.token.clear();
            token::encode_into(&r.source, &mut self.token);
            let sent = self.out.send(&OutAnomaly {
                token: &self.token,
                source: &r.source,
                msg_id: &self.msg_id,
                body: r.body.as_bytes(),
                log_seq: line.seq,
                threshold: r.threshold,
                value: r.value,
                score: r.score,
                semantic: r.semantic,
                rarity: r.rarity,
                timed: r.timed,
            });
            if let Err(e) = sent {
                self.transient(&e);
                self.rewind(p)?;
                break;
            }
        }
        self.collect.out = rendered;
        Ok(())
    }

    /// Start a partition again from its checkpoint: what it published since may be lost.
    fn rewind(&mut self, partition: u32) -> Result<()> {
        if !self.parts.contains_key(&partition) {
            return Ok(());
        }
        self.drop_part(partition);
        self.stats.rewound += 1;
        match self.adopt(partition) {
            Ok(()) => Ok(()),
            Err(e @ BusError::Transport(_)) => {
                self.transient(&e);
                let _ = self.coord.release(partition);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Make `partitions` durable: wait until every anomaly published so far is stored,
    /// then write each one's checkpoint. Returns whether all were written (a partition
    /// whose checkpoint is fenced is dropped; one that failed stays dirty).
    fn checkpoint(&mut self, partitions: &[u32]) -> Result<bool> {
        if partitions.is_empty() {
            return Ok(true);
        }
        match self.out.flush() {
            Ok(AckCounts { stored, duplicates }) => {
                self.stats.published += stored;
                self.stats.duplicates += duplicates;
            }
            Err(e) => {
                // Some anomalies may not be stored: replay every partition with
                // unflushed work from its checkpoint (the ids drop what was stored).
                self.transient(&e);
                let dirty: Vec<u32> = self
                    .parts
                    .iter()
                    .filter(|(_, p)| p.dirty)
                    .map(|(k, _)| *k)
                    .collect();
                for p in dirty {
                    self.rewind(p)?;
                }
                return Ok(false);
            }
        }
        let mut all = true;
        for &p in partitions {
            let Some(part) = self.parts.get(&p) else {
                continue;
            };
            if !part.dirty {
                continue;
            }
            let pos = Position {
                stream: self.opts.stream.clone(),
                partition: p,
                last_seq: part.last_seq,
                lines: part.lines,
            };
            let t0 = Instant::now();
            let bytes = snapshot::to_json(Kind::PartitionState, part.engine.shards(), Some(&pos));
            let saved = self.store.save(p, &bytes);
            let c = &mut self.checkpoint_stats;
            match &saved {
                Ok(Saved::Stored) => {
                    c.written += 1;
                    c.bytes_total += bytes.len() as u64;
                    c.last_bytes = bytes.len() as u64;
                    c.duration.record(t0.elapsed());
                }
                Ok(Saved::Fenced) | Err(_) => c.failed += 1,
            }
            match saved {
                Ok(Saved::Stored) => {
                    self.stats.checkpoints += 1;
                    if let Some(part) = self.parts.get_mut(&p) {
                        part.dirty = false;
                    }
                    self.failing = None;
                }
                Ok(Saved::Fenced) => {
                    self.drop_part(p);
                    self.stats.lost += 1;
                    self.notices.push(format!(
                        "partition {p}: another worker has taken it over; stopped"
                    ));
                    all = false;
                }
                Err(e) => {
                    self.transient(&e);
                    all = false;
                }
            }
        }
        Ok(all)
    }

    /// Stop: checkpoint every owned partition, give them all up and leave the group.
    pub fn shutdown(&mut self) -> Result<()> {
        let owned: Vec<u32> = self.parts.keys().copied().collect();
        for p in &owned {
            if let Some(part) = self.parts.get_mut(p) {
                // Written even when clean, so the state is there for the next owner
                // whatever the last periodic checkpoint managed.
                part.dirty = true;
            }
        }
        let done = self.checkpoint(&owned);
        for p in owned {
            self.drop_part(p);
        }
        self.coord.leave()?;
        done.map(|_| ())
    }

    /// Detected anomalies so far, for the statistics.
    pub fn anomaly_counts(&self) -> &StatsSink {
        &self.collect.stats
    }

    /// The run's statistics (`--stats-json`, `--metrics-addr`) after `elapsed`, over
    /// every partition this worker has owned: the engines' counts (the owned ones now,
    /// plus what dropped ones had counted), anomalies detected, partition checkpoints,
    /// the time per batch (stage `detect`), and the worker section under `id`. Sources
    /// and templates are those of the partitions owned now; the template summary keeps
    /// the `top_templates` with the most anomalies.
    pub fn run_stats(&self, elapsed: Duration, id: &str, top_templates: usize) -> RunStats {
        let mut counters = self.retired.clone();
        for p in self.parts.values() {
            add_counters(&mut counters, p.engine.shards().counters());
        }
        let st = &self.stats;
        let mut run = RunStats {
            events: st.events,
            bytes: st.bytes,
            anomalies: self.collect.stats.clone(),
            elapsed,
            threads: 1,
            sources: self
                .parts
                .values()
                .map(|p| {
                    p.engine
                        .shards()
                        .shards()
                        .filter(|(name, _)| *name != OVERFLOW_SHARD)
                        .count() as u64
                })
                .sum(),
            checkpoints: Some(self.checkpoint_stats.clone()),
            templates: merged_templates(
                self.parts.values().map(|p| p.engine.shards()),
                top_templates,
            ),
            worker: Some(PartitionWorkerStats {
                id: id.to_string(),
                lines: st.lines,
                published: st.published,
                duplicates: st.duplicates,
                claimed: st.claimed,
                resumed: st.resumed,
                surrendered: st.surrendered,
                lost: st.lost,
                rewound: st.rewound,
                format_mismatches: st.format_mismatches,
                partitions: self.owned(),
            }),
            ..Default::default()
        };
        run.set_engine_counters(&counters);
        run.counters
            .insert("oversized_lines", self.oversized_lines());
        run.stages.insert("detect", self.detect_stage.clone());
        run
    }

    /// Lines over `--max-line-bytes` so far.
    pub fn oversized_lines(&self) -> u64 {
        self.stats.oversized
            + self
                .parts
                .values()
                .map(|p| p.engine.oversized_lines())
                .sum::<u64>()
    }
}

/// Add the bounded-resource counts of `c` to `into` (events and anomalies are counted by
/// the worker itself).
fn add_counters(into: &mut Counters, c: &Counters) {
    into.overflow_events += c.overflow_events;
    into.metrics_dropped += c.metrics_dropped;
    into.interarrival_untracked += c.interarrival_untracked;
}

/// One template summary over several partitions' shard sets (`None` without
/// `--templates`): counts summed, the `n` templates with the most anomalies.
fn merged_templates<'a>(
    sets: impl Iterator<Item = &'a ShardSet>,
    n: usize,
) -> Option<TemplateSummary> {
    let mut out: Option<TemplateSummary> = None;
    for set in sets {
        let Some(t) = set.template_summary(n) else {
            continue;
        };
        let o = out.get_or_insert_with(TemplateSummary::default);
        o.templates += t.templates;
        o.created += t.created;
        o.evicted += t.evicted;
        o.top.extend(t.top);
    }
    if let Some(o) = &mut out {
        o.top
            .sort_by_key(|c| std::cmp::Reverse((c.anomalies, c.lines)));
        o.top.truncate(n);
    }
    out
}
