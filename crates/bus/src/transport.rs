//! The transport boundary: what a message bus must offer for `ship` and `worker`. NATS
//! JetStream implements it (`trace-sentinel-nats`); a Kafka backend would implement the
//! same traits (lines in a topic keyed by partition, a consumer group's assignment as the
//! [`Coordinator`], a compacted topic as the [`CheckpointStore`], idempotent producers
//! for the ids).
//!
//! Every call blocks; a transport runs its own I/O however it likes. The contracts that
//! make the worker's results exact are stated on each method: lines of one partition
//! arrive in the order they were stored, checkpoints are fenced, message ids deduplicate.

use crate::error::Result;
use std::time::Duration;

/// A line to publish on its partition.
#[derive(Debug, Clone, Copy)]
pub struct OutLine<'a> {
    /// The partition ([`crate::partition::partition_of`] of the token).
    pub partition: u32,
    /// The source's subject token ([`crate::token`]).
    pub token: &'a str,
    /// The source label.
    pub source: &'a str,
    /// The line's number in its file, when known.
    pub line: Option<u64>,
    /// The deduplication id ([`crate::wire::line_msg_id`]).
    pub msg_id: &'a str,
    /// The line's bytes, without its terminator (a prefix when `long` is set).
    pub payload: &'a [u8],
    /// For a line longer than the shipper's cap: `(chars, words)` of the whole line.
    pub long: Option<(u64, u64)>,
    /// Whether the shipper parsed the line as JSON to find its source.
    pub jsonl: bool,
}

/// What a [`LineSink`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShipCounts {
    /// Lines the bus stored.
    pub stored: u64,
    /// Lines the bus already had (same id within its deduplication window).
    pub duplicates: u64,
    /// Publications sent again after a failure.
    pub retried: u64,
    /// Lines stored after a later line of the same partition because their first
    /// publication failed while the later one's succeeded (see `docs/scale-out.md`).
    pub reordered: u64,
}

/// Publishes lines (`ship`).
pub trait LineSink {
    /// Publish one line. May return before the bus has stored it; blocks while too many
    /// publications await their acknowledgement.
    fn send(&mut self, line: &OutLine<'_>) -> Result<()>;
    /// Put on the wire what [`Self::send`] may still hold back, without waiting for
    /// acknowledgements (called when the input pauses).
    fn push(&mut self) -> Result<()> {
        Ok(())
    }
    /// Return once every line sent so far is stored (retrying failed publications in
    /// their order), or fail naming what could not be stored.
    fn flush(&mut self) -> Result<()>;
    /// Counts so far.
    fn counts(&self) -> ShipCounts;
}

/// A line read back from its partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InLine {
    /// The partition.
    pub partition: u32,
    /// Its position in the log stream (strictly increasing within a partition).
    pub seq: u64,
    /// The source label (the header; the engine's own parse of a JSON line agrees).
    pub source: String,
    /// The line's number in its file, when known.
    pub line: Option<u64>,
    /// The line's bytes (a prefix when `long` is set).
    pub payload: Vec<u8>,
    /// `(chars, words)` of the whole line, when the payload is a prefix.
    pub long: Option<(u64, u64)>,
    /// `Some(true)` when the shipper parsed it as a JSON line, `Some(false)` as text.
    pub jsonl: Option<bool>,
}

/// Reads the lines of the partitions a worker owns.
pub trait PartitionFeed {
    /// Start reading `partition` after stream position `after_seq` (0: from its start).
    fn open(&mut self, partition: u32, after_seq: u64) -> Result<()>;
    /// Stop reading `partition`. Lines of it read before are never returned after this
    /// (nor after it is opened again).
    fn close(&mut self, partition: u32);
    /// Append up to `max` lines of the open partitions to `out`, each partition's in the
    /// order the bus stored them, waiting up to `wait` for the first.
    fn recv(&mut self, max: usize, wait: Duration, out: &mut Vec<InLine>) -> Result<()>;
}

/// A change in what this worker owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseEvent {
    /// The worker now owns the partition.
    Gained(u32),
    /// The worker lost the partition (its lease expired or was taken): drop it without a
    /// checkpoint.
    Lost(u32),
    /// The worker owns more than its share: checkpoint the partition, then
    /// [`Coordinator::release`] it.
    Surrender(u32),
}

/// Decides which worker owns which partition.
pub trait Coordinator {
    /// Partitions of the stream.
    fn partitions(&self) -> u32;
    /// How often [`Self::tick`] must run.
    fn tick_every(&self) -> Duration;
    /// Renew what is owned, claim free partitions up to a fair share, ask for surplus
    /// partitions back, appending each change to `events` as it happens. An error ends
    /// the tick early; the events appended before it stand (a partition claimed before
    /// a later request failed is owned all the same).
    fn tick(&mut self, events: &mut Vec<LeaseEvent>) -> Result<()>;
    /// Whether the partition is owned now, judged by this worker's own clock against
    /// its last successful renewal (so a worker cut off from the bus stops in time).
    fn holds(&self, partition: u32) -> bool;
    /// Give a partition up (after its checkpoint).
    fn release(&mut self, partition: u32) -> Result<()>;
    /// Give everything up and leave the group.
    fn leave(&mut self) -> Result<()>;
}

/// How [`CheckpointStore::save`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Stored.
    Stored,
    /// Refused: another worker wrote the partition's checkpoint since this one read or
    /// wrote it last (it took the partition over).
    Fenced,
}

/// Durable per-partition checkpoints, fenced: a save succeeds only over the version this
/// store loaded or saved last for the partition.
pub trait CheckpointStore {
    /// The partition's checkpoint, if any (remembering its version).
    fn load(&mut self, partition: u32) -> Result<Option<Vec<u8>>>;
    /// Replace the partition's checkpoint.
    fn save(&mut self, partition: u32, bytes: &[u8]) -> Result<Saved>;
}

/// An anomaly to publish.
#[derive(Debug, Clone, Copy)]
pub struct OutAnomaly<'a> {
    /// The source's subject token.
    pub token: &'a str,
    /// The source label.
    pub source: &'a str,
    /// The deduplication id ([`crate::wire::anomaly_msg_id`]).
    pub msg_id: &'a str,
    /// The JSON object `watch --format json` prints (no newline).
    pub body: &'a [u8],
    /// The log stream position of the line.
    pub log_seq: u64,
    /// Threshold in force.
    pub threshold: f64,
    /// Unrounded value.
    pub value: f64,
    /// Unrounded score.
    pub score: f64,
    /// A semantic-novelty anomaly.
    pub semantic: bool,
    /// `(seen, out of)` for a score by rarity.
    pub rarity: Option<(u64, u64)>,
    /// The timestamp is the event's own.
    pub timed: bool,
}

/// What [`AnomalySink::flush`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckCounts {
    /// Anomalies the bus stored.
    pub stored: u64,
    /// Anomalies the bus already had (a replay).
    pub duplicates: u64,
}

/// Publishes anomalies.
pub trait AnomalySink {
    /// Publish one anomaly (may return before it is stored).
    fn send(&mut self, a: &OutAnomaly<'_>) -> Result<()>;
    /// Put on the wire what [`Self::send`] may still hold back, without waiting for
    /// acknowledgements (called after every batch of lines).
    fn push(&mut self) -> Result<()> {
        Ok(())
    }
    /// Return once every anomaly sent so far is stored, with the counts since the last
    /// flush; an error means some may not be.
    fn flush(&mut self) -> Result<AckCounts>;
}
