//! Follow mode's durable state as a base snapshot plus small deltas, so a checkpoint
//! costs what changed since the one before it, not the size of all detector state.
//!
//! The state of `DIR/follow-state.json` is spread over:
//! - the **base** `follow-state.json`: a complete follow-state snapshot (the format of
//!   [`crate::snapshot`]) with a `generation` number;
//! - **deltas** `follow-state.delta-G-S.json` (generation `G`, sequence `S` = 1, 2, …):
//!   the file positions at that checkpoint and every shard whose state changed since the
//!   checkpoint before it (by index; new shards are appended).
//!
//! Every file is written like any snapshot — temporary file, fsync, rename, directory
//! fsync ([`crate::fsutil`]) — so a crash leaves either the old or the new version of
//! each file, and a delta only ever follows a committed one: loading the base and then
//! its deltas `1..=k` in order gives exactly the state of the last committed checkpoint.
//! Now and then (the deltas together outgrow the base, or [`MAX_DELTAS`] of them exist,
//! and at the end of a run) a checkpoint is a **compaction**: a new base of the next
//! generation, streamed to disk without a copy in memory; once its rename is durable the
//! deltas of older generations are removed. Deltas of another generation than the base's
//! are never applied, so a crash between the new base and that clean-up is harmless.
//!
//! Whether a shard changed is read from its event count: every observation counts one,
//! and nothing else changes a shard during a run (priming runs before the first
//! checkpoint, which is a compaction). This module knows nothing of files being followed:
//! positions are an opaque serialisable payload, as in [`crate::snapshot`].

use crate::config::Config;
use crate::detect::shard::Shard;
use crate::detect::shard_set::{ShardSet, OVERFLOW_SHARD};
use crate::error::Result;
use crate::fsutil::{self, PreparedWrite};
use crate::snapshot::{self, DetectorState, EnvelopeIn, Kind, NamedShard};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The `kind` of a delta file.
pub const DELTA_KIND: &str = "follow-state-delta";
/// Most deltas of one generation: the next checkpoint is a compaction (bounds the files
/// a restart reads when every checkpoint changes little).
pub const MAX_DELTAS: u64 = 1024;

/// One changed shard in a delta, by its index in creation order.
#[derive(Serialize)]
struct IndexedShardRef<'a> {
    index: usize,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    overflow: Option<bool>,
    shard: Cow<'a, Shard>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexedShard {
    index: usize,
    name: String,
    #[serde(default)]
    overflow: Option<bool>,
    shard: Shard,
}

#[derive(Serialize)]
struct DeltaOut<'a, F: Serialize> {
    format: &'static str,
    version: u64,
    kind: &'static str,
    generation: u64,
    sequence: u64,
    /// Shards in the state after this delta (checked on load).
    shard_count: usize,
    files: &'a F,
    shards: Vec<IndexedShardRef<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeltaIn<F> {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u64,
    #[allow(dead_code)]
    kind: String,
    generation: u64,
    sequence: u64,
    shard_count: usize,
    files: F,
    shards: Vec<IndexedShard>,
}

/// What one prepared checkpoint will do once it is switched in.
#[derive(Debug)]
pub struct Checkpoint {
    write: Option<PreparedWrite>,
    full: bool,
    generation: u64,
    sequence: u64,
    bytes: u64,
}

impl Checkpoint {
    /// Whether this checkpoint is a compaction (a whole new base).
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Bytes of the file this checkpoint writes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// The base and deltas of one follow-state file, and which shards changed since the last
/// checkpoint that was made durable.
#[derive(Debug)]
pub struct StateJournal {
    base: PathBuf,
    dir: PathBuf,
    stem: String,
    generation: u64,
    /// The sequence number of the next delta.
    next: u64,
    base_bytes: u64,
    delta_bytes: u64,
    /// Per shard: its event count at the last durable checkpoint.
    marks: Vec<u64>,
    /// Whether the next checkpoint must be a compaction.
    compact: bool,
}

impl StateJournal {
    /// The journal of the state file `base` (`DIR/follow-state.json`); its deltas live next
    /// to it. Nothing is read or written yet; the first checkpoint is a compaction.
    pub fn new(base: &Path) -> Self {
        let dir = match base.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = base
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name.strip_suffix(".json").unwrap_or(&name).to_string();
        StateJournal {
            base: base.to_path_buf(),
            dir,
            stem,
            generation: 0,
            next: 1,
            base_bytes: 0,
            delta_bytes: 0,
            marks: Vec::new(),
            compact: true,
        }
    }

    fn delta_path(&self, generation: u64, sequence: u64) -> PathBuf {
        self.dir
            .join(format!("{}.delta-{generation}-{sequence}.json", self.stem))
    }

    /// The deltas in the directory: `(generation, sequence, path)`, in order.
    fn list_deltas(&self) -> Vec<(u64, u64, PathBuf)> {
        let mut out = Vec::new();
        let prefix = format!("{}.delta-", self.stem);
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(rest) = name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let Some((g, s)) = rest.split_once('-') else {
                continue;
            };
            if let (Ok(g), Ok(s)) = (g.parse::<u64>(), s.parse::<u64>()) {
                out.push((g, s, e.path()));
            }
        }
        out.sort();
        out
    }

    /// Load the state: the base, then its generation's deltas in order. `None` when there
    /// is no base yet. Every error names the file at fault.
    pub fn load<F: DeserializeOwned>(&mut self, cfg: &Config) -> Result<Option<(F, ShardSet)>> {
        if !self.base.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&self.base)
            .map_err(|e| snapshot::snap_err(&self.base, format!("cannot read: {e}")))?;
        let env: EnvelopeIn<F> =
            snapshot::parse_envelope(&self.base, &bytes, Kind::FollowState.as_str())?;
        self.base_bytes = bytes.len() as u64;
        drop(bytes);
        let generation = env.generation.unwrap_or(0);
        let mut files = env.files;
        let mut state = env.detectors;
        let mut last = 0;
        self.delta_bytes = 0;
        for (g, s, path) in self.list_deltas() {
            if g != generation {
                continue;
            }
            if s != last + 1 {
                return Err(snapshot::snap_err(
                    &path,
                    format!("delta {s} follows delta {last}: a delta is missing"),
                ));
            }
            let bytes = std::fs::read(&path)
                .map_err(|e| snapshot::snap_err(&path, format!("cannot read: {e}")))?;
            let mut delta: DeltaIn<F> = snapshot::parse_envelope(&path, &bytes, DELTA_KIND)?;
            let shards = std::mem::take(&mut delta.shards);
            apply(&mut state, shards, &delta, g, s).map_err(|r| snapshot::snap_err(&path, r))?;
            self.delta_bytes += bytes.len() as u64;
            // The delta's positions replace the ones before it.
            files = Some(delta.files);
            last = s;
        }
        let (files, set) = snapshot::finish(&self.base, files, state, cfg)?;
        let files = files
            .ok_or_else(|| snapshot::snap_err(&self.base, "follow state has no \"files\" field"))?;
        self.generation = generation;
        self.next = last + 1;
        self.marks = set.shards().map(|(_, s)| s.events).collect();
        self.compact = self.next > MAX_DELTAS;
        Ok(Some((files, set)))
    }

    /// Write the next checkpoint under a temporary name: a delta of the shards that
    /// changed since the last checkpoint, or a compaction when one is due or `full` asks
    /// for it. Dropping the result instead of passing it to [`Self::switch`] removes the
    /// temporary file and changes nothing.
    pub fn prepare<F: Serialize>(
        &mut self,
        set: &ShardSet,
        files: &F,
        full: bool,
    ) -> Result<Checkpoint> {
        let compact = full
            || self.compact
            || self.next > MAX_DELTAS
            || (self.delta_bytes > 0 && self.delta_bytes >= self.base_bytes);
        if compact {
            // Wraps instead of overflowing on a crafted huge generation; the deltas of a
            // reused number are removed with the others after the compaction.
            let generation = self.generation.wrapping_add(1);
            let (write, bytes) = fsutil::prepare_atomic_with(&self.base, |w| {
                snapshot::write_json(w, Kind::FollowState, set, Some(files), Some(generation))
            })?;
            return Ok(Checkpoint {
                write: Some(write),
                full: true,
                generation,
                sequence: 0,
                bytes,
            });
        }
        let shards: Vec<IndexedShardRef<'_>> = set
            .shards()
            .enumerate()
            .filter(|(i, (_, s))| self.marks.get(*i) != Some(&s.events))
            .map(|(i, (name, shard))| {
                let overflow = set.is_overflow(i);
                IndexedShardRef {
                    index: i,
                    name,
                    overflow: (overflow || name == OVERFLOW_SHARD).then_some(overflow),
                    shard: snapshot::borrow_shard(shard),
                }
            })
            .collect();
        let delta = DeltaOut {
            format: snapshot::FORMAT,
            version: snapshot::VERSION,
            kind: DELTA_KIND,
            generation: self.generation,
            sequence: self.next,
            shard_count: set.shards().count(),
            files,
            shards,
        };
        let path = self.delta_path(self.generation, self.next);
        let (write, bytes) = fsutil::prepare_atomic_with(&path, |w| {
            serde_json::to_writer(w, &delta).map_err(std::io::Error::from)
        })?;
        Ok(Checkpoint {
            write: Some(write),
            full: false,
            generation: self.generation,
            sequence: self.next,
            bytes,
        })
    }

    /// Rename the checkpoint's file into place (without syncing its directory: see
    /// [`PreparedWrite::switch`]) and count it as the last checkpoint: the shards of `set`
    /// are clean again. Returns the directory to sync; after a compaction, call
    /// [`Self::remove_stale_deltas`] once that sync is done.
    pub fn switch(&mut self, mut cp: Checkpoint, set: &ShardSet) -> Result<PathBuf> {
        let dir = match cp.write.take() {
            Some(w) => w.switch()?,
            None => self.dir.clone(),
        };
        self.marks.clear();
        self.marks.extend(set.shards().map(|(_, s)| s.events));
        self.compact = false;
        if cp.full {
            self.generation = cp.generation;
            self.next = 1;
            self.base_bytes = cp.bytes;
            self.delta_bytes = 0;
        } else {
            self.next = cp.sequence + 1;
            self.delta_bytes += cp.bytes;
        }
        Ok(dir)
    }

    /// Remove the deltas of every generation but the current one, and any of the current
    /// one not written yet by this run (best effort: one left behind is never applied,
    /// and the next compaction tries again). Call it only once
    /// the rename of the base that replaced them is durable (its directory synced).
    pub fn remove_stale_deltas(&self) {
        for (g, seq, path) in self.list_deltas() {
            if g != self.generation || seq >= self.next {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// The deltas of the current generation now on disk.
    pub fn deltas(&self) -> u64 {
        self.next - 1
    }
}

/// Apply one delta to stored detector state: each changed shard replaces the shard at
/// its index (same name and overflow flag), or is appended as the next new shard.
fn apply<F>(
    state: &mut DetectorState,
    shards: Vec<IndexedShard>,
    delta: &DeltaIn<F>,
    generation: u64,
    sequence: u64,
) -> std::result::Result<(), String> {
    if delta.generation != generation || delta.sequence != sequence {
        return Err(format!(
            "holds delta {}-{} under the name of delta {generation}-{sequence}",
            delta.generation, delta.sequence
        ));
    }
    for s in shards {
        let named = NamedShard {
            name: s.name,
            overflow: s.overflow,
            shard: s.shard,
        };
        let len = state.shards.len();
        match state.shards.get_mut(s.index) {
            Some(old) => {
                if old.name != named.name || old.is_overflow() != named.is_overflow() {
                    return Err(format!(
                        "shard {} is {:?} here but {:?} in the state before",
                        s.index, named.name, old.name
                    ));
                }
                *old = named;
            }
            None if s.index == len => state.shards.push(named),
            None => {
                return Err(format!(
                    "shard {} is new, but the state before has {len} shards",
                    s.index
                ))
            }
        }
    }
    if state.shards.len() != delta.shard_count {
        return Err(format!(
            "leaves {} shards, but says {}",
            state.shards.len(),
            delta.shard_count
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, InputFormat};
    use crate::sink::CallbackSink;

    fn cfg() -> Config {
        Config {
            warmup: 3,
            ..Config::default()
        }
    }

    fn engine() -> Engine {
        Engine::new(cfg(), InputFormat::JsonLines)
    }

    /// One JSON line for `source` with `keys` numeric attributes.
    fn line(source: usize, keys: usize, i: usize) -> String {
        let attrs: String = (0..keys)
            .map(|k| format!(", \"k{k}\": {}", (i * 7 + k) % 13))
            .collect();
        format!("{{\"source\": \"s{source}\", \"message\": \"m {i}\"{attrs}}}\n")
    }

    fn feed(e: &mut Engine, text: &str) {
        let mut sink = CallbackSink(|_: &crate::anomaly::Anomaly<'_>| ());
        e.feed_block(text.as_bytes(), "-", &mut sink).unwrap();
    }

    /// Checkpoint like follow mode: prepare, switch, (sync), clean up.
    fn checkpoint(j: &mut StateJournal, e: &Engine, files: &Vec<u64>, full: bool) -> (bool, u64) {
        let cp = j.prepare(e.shards(), files, full).unwrap();
        let (is_full, bytes) = (cp.is_full(), cp.bytes());
        j.switch(cp, e.shards()).unwrap();
        if is_full {
            j.remove_stale_deltas();
        }
        (is_full, bytes)
    }

    /// The full snapshot of what `j`'s directory holds, loaded afresh.
    fn reload(base: &Path) -> (Vec<u64>, Vec<u8>) {
        let mut j = StateJournal::new(base);
        let (files, set) = j.load::<Vec<u64>>(&cfg()).unwrap().expect("state");
        let json = snapshot::to_json(Kind::FollowState, &set, Some(&files));
        (files, json)
    }

    /// What a full snapshot of the live state restores to.
    fn restored_full(e: &Engine, files: &Vec<u64>) -> Vec<u8> {
        let json = snapshot::to_json(Kind::FollowState, e.shards(), Some(files));
        let (f, set) =
            snapshot::parse::<Vec<u64>>(Path::new("x"), &json, Kind::FollowState, &cfg()).unwrap();
        snapshot::to_json(Kind::FollowState, &set, f.as_ref())
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn deltas_hold_only_changed_shards_and_reload_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("follow-state.json");
        let mut e = engine();
        let mut warm = String::new();
        for s in 0..200 {
            for i in 0..4 {
                warm.push_str(&line(s, 8, i));
            }
        }
        feed(&mut e, &warm);
        let mut j = StateJournal::new(&base);
        assert!(j.load::<Vec<u64>>(&cfg()).unwrap().is_none());
        let files = vec![1u64];
        let (full, base_bytes) = checkpoint(&mut j, &e, &files, false);
        assert!(full, "the first checkpoint is a compaction");
        assert_eq!(names(dir.path()), ["follow-state.json"]);
        // One source changes per checkpoint; a new source appears in the third.
        for round in 0..5usize {
            feed(&mut e, &line(round * 7, 8, 10 + round));
            if round == 2 {
                feed(&mut e, &line(999, 3, 0));
            }
            let files = vec![2 + round as u64];
            let (full, bytes) = checkpoint(&mut j, &e, &files, false);
            assert!(!full);
            assert!(
                bytes * 50 < base_bytes,
                "delta {round}: {bytes} bytes against a base of {base_bytes}"
            );
            let (got_files, got) = reload(&base);
            assert_eq!(got_files, files);
            assert_eq!(got, restored_full(&e, &files), "round {round}");
        }
        assert_eq!(j.deltas(), 5);
        // Nothing changed: a delta of positions only.
        let (_, bytes) = checkpoint(&mut j, &e, &vec![9], false);
        assert!(bytes < 300, "{bytes}");
        // The last checkpoint of a run compacts and removes the deltas.
        let (full, _) = checkpoint(&mut j, &e, &vec![10], true);
        assert!(full);
        assert_eq!(names(dir.path()), ["follow-state.json"]);
        assert_eq!(reload(&base).1, restored_full(&e, &vec![10]));
    }

    /// The semantic and template layers live in the shards too: a delta carries them,
    /// and base + deltas restore what a full snapshot restores (with eviction at work).
    #[test]
    fn deltas_carry_the_semantic_and_template_layers() {
        let cfg = Config {
            warmup: 3,
            semantic: true,
            templates: true,
            max_templates: 3,
            ..Config::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("follow-state.json");
        let mut e = Engine::new(cfg.clone(), InputFormat::JsonLines);
        let text_line = |s: usize, i: usize| {
            let kind = ["open", "read block", "close file", "ERROR disk", "retry"][i % 5];
            format!("{{\"source\": \"s{s}\", \"message\": \"{kind} {i} at 0x{i:x}\"}}\n")
        };
        for s in 0..30 {
            for i in 0..6 {
                feed(&mut e, &text_line(s, i));
            }
        }
        let mut j = StateJournal::new(&base);
        assert!(checkpoint(&mut j, &e, &vec![0], false).0);
        let reload = |files: &Vec<u64>| {
            let mut k = StateJournal::new(&base);
            let (f, set) = k.load::<Vec<u64>>(&cfg).unwrap().expect("state");
            assert_eq!(&f, files);
            snapshot::to_json(Kind::FollowState, &set, Some(&f))
        };
        let full = |e: &Engine, files: &Vec<u64>| {
            let json = snapshot::to_json(Kind::FollowState, e.shards(), Some(files));
            let (f, set) =
                snapshot::parse::<Vec<u64>>(Path::new("x"), &json, Kind::FollowState, &cfg)
                    .unwrap();
            snapshot::to_json(Kind::FollowState, &set, f.as_ref())
        };
        for round in 1..6usize {
            // New kinds of line in a few sources: templates are created and evicted.
            for s in [round, round * 3] {
                feed(&mut e, &text_line(s, 6 + round));
                feed(&mut e, &text_line(s, 11 + round * 2));
            }
            let files = vec![round as u64];
            assert!(!checkpoint(&mut j, &e, &files, false).0);
            let got = reload(&files);
            assert!(
                String::from_utf8_lossy(&got).contains("\"templates\""),
                "the template layer is in the state"
            );
            assert_eq!(got, full(&e, &files), "round {round}");
        }
    }

    #[test]
    fn deltas_outgrowing_the_base_trigger_a_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("follow-state.json");
        let mut e = engine();
        feed(&mut e, &line(0, 2, 0));
        let mut j = StateJournal::new(&base);
        assert!(checkpoint(&mut j, &e, &vec![0], false).0);
        let mut kinds = Vec::new();
        for i in 1..8 {
            // Every shard changes every time: each delta is about the base's size.
            feed(&mut e, &line(0, 2, i));
            kinds.push(checkpoint(&mut j, &e, &vec![i as u64], false).0);
            assert_eq!(reload(&base).1, restored_full(&e, &vec![i as u64]));
        }
        // Two deltas of about the base's size each, then a compaction.
        assert_eq!(
            kinds,
            [false, false, true, false, false, true, false],
            "compactions"
        );
        assert!(names(dir.path()).len() <= 3, "{:?}", names(dir.path()));
    }

    #[test]
    fn an_unswitched_checkpoint_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("follow-state.json");
        let mut e = engine();
        for s in 0..20 {
            feed(&mut e, &line(s, 4, 0));
        }
        let mut j = StateJournal::new(&base);
        checkpoint(&mut j, &e, &vec![0], false);
        feed(&mut e, &line(3, 4, 1));
        // A crash between writing the delta and renaming it: dropped, nothing on disk.
        drop(j.prepare(e.shards(), &vec![1u64], false).unwrap());
        assert_eq!(names(dir.path()), ["follow-state.json"]);
        feed(&mut e, &line(5, 4, 1));
        // The next delta still carries shard 3 (changed before the lost one).
        checkpoint(&mut j, &e, &vec![2], false);
        assert_eq!(reload(&base).1, restored_full(&e, &vec![2]));
        assert_eq!(
            names(dir.path()),
            ["follow-state.delta-1-1.json", "follow-state.json"]
        );
    }

    #[test]
    fn a_restart_continues_the_generation_and_ignores_stale_deltas() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("follow-state.json");
        let mut e = engine();
        for s in 0..20 {
            feed(&mut e, &line(s, 4, 0));
        }
        let mut j = StateJournal::new(&base);
        checkpoint(&mut j, &e, &vec![0], false);
        feed(&mut e, &line(1, 4, 1));
        checkpoint(&mut j, &e, &vec![1], false);
        // A delta of an older generation (a crash after a compaction's rename, before
        // its clean-up) is never applied.
        std::fs::write(dir.path().join("follow-state.delta-0-1.json"), "garbage").unwrap();
        let mut k = StateJournal::new(&base);
        let (files, set) = k.load::<Vec<u64>>(&cfg()).unwrap().unwrap();
        assert_eq!(files, vec![1]);
        e.set_shards(set);
        feed(&mut e, &line(2, 4, 1));
        let (full, _) = checkpoint(&mut k, &e, &vec![2], false);
        assert!(!full, "a restart goes on with deltas");
        assert_eq!(reload(&base).1, restored_full(&e, &vec![2]));
        checkpoint(&mut k, &e, &vec![3], true);
        assert_eq!(names(dir.path()), ["follow-state.json"]);
    }

    #[test]
    fn a_crafted_last_generation_wraps_and_stale_deltas_of_the_new_one_go() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("follow-state.json");
        let mut e = engine();
        feed(&mut e, &line(0, 2, 0));
        let json = snapshot::to_json(Kind::FollowState, e.shards(), Some(&vec![0u64]));
        let text = String::from_utf8(json).unwrap().replacen(
            "\"kind\":\"follow-state\",",
            &format!("\"kind\":\"follow-state\",\"generation\":{},", u64::MAX),
            1,
        );
        std::fs::write(&base, text).unwrap();
        // A delta of generation 0 from another life: not part of the state.
        std::fs::write(dir.path().join("follow-state.delta-0-1.json"), "old").unwrap();
        let mut j = StateJournal::new(&base);
        let (_, set) = j.load::<Vec<u64>>(&cfg()).unwrap().unwrap();
        e.set_shards(set);
        let (full, _) = checkpoint(&mut j, &e, &vec![1], true);
        assert!(full);
        assert_eq!(names(dir.path()), ["follow-state.json"]);
        feed(&mut e, &line(0, 2, 1));
        checkpoint(&mut j, &e, &vec![2], false);
        assert_eq!(reload(&base).1, restored_full(&e, &vec![2]));
    }

    #[test]
    fn damaged_deltas_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("follow-state.json");
        let mut e = engine();
        for s in 0..5 {
            feed(&mut e, &line(s, 2, 0));
        }
        let mut j = StateJournal::new(&base);
        checkpoint(&mut j, &e, &vec![0], false);
        for i in 1..4 {
            feed(&mut e, &line(i, 2, i));
            checkpoint(&mut j, &e, &vec![i as u64], false);
        }
        let d2 = dir.path().join("follow-state.delta-1-2.json");
        let good = std::fs::read_to_string(&d2).unwrap();
        let load = || {
            StateJournal::new(&base)
                .load::<Vec<u64>>(&cfg())
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let cases = [
            ("", "corrupt or truncated"),
            ("{\"format\": \"x\"}", "not a trace-sentinel snapshot"),
            (
                &good.replace("\"sequence\":2", "\"sequence\":3"),
                "under the name",
            ),
            (
                &good.replace("\"shard_count\":5", "\"shard_count\":6"),
                "shards",
            ),
            (&good.replace("\"index\":2", "\"index\":9"), "is new"),
            (
                &good.replace("\"name\":\"s2\"", "\"name\":\"zz\""),
                "here but",
            ),
            (
                &good.replace("\"kind\":\"follow-state-delta\"", "\"kind\":\"baseline\""),
                "expected a \"follow-state-delta\"",
            ),
        ];
        for (text, want) in cases {
            std::fs::write(&d2, text).unwrap();
            let err = load();
            assert!(
                err.contains("follow-state.delta-1-2.json") && err.contains(want),
                "{text:?}: {err}"
            );
        }
        std::fs::remove_file(&d2).unwrap();
        let err = load();
        assert!(err.contains("a delta is missing"), "{err}");
    }
}
