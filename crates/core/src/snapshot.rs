//! Snapshots: versioned JSON persistence of all detector state (`--save-baseline`,
//! `--baseline`, and the detector half of follow mode's `--state` file).
//!
//! A snapshot holds the [`Config`] it was taken with, every named [`Shard`] of a
//! [`ShardSet`] and its template. Loading checks the envelope (format, version, kind),
//! refuses a snapshot taken with different detection flags, validates every detector
//! against the flags (so a crafted file cannot make the engine panic), and rebuilds a
//! `ShardSet` whose unknown sources start from a *pooled* baseline of all shards (see
//! [`pool_shards`] and `docs/snapshot.md`). This module does no line processing and knows
//! nothing of files being followed: follow mode passes its checkpoints in as an opaque
//! serialisable payload.

use crate::config::{Config, ShardBy};
use crate::detect::detector::{
    Baseline, Detector, DetectorKind, Ewma, LastScore, RollingWindow, RunningStats,
};
use crate::detect::shard::{MetricSlot, Shard};
use crate::detect::shard_set::{ShardSet, OVERFLOW_SHARD};
use crate::detect::template::TemplateContinuation;
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::Path;

/// Value of the `format` field of every snapshot.
pub const FORMAT: &str = "trace-sentinel-snapshot";
/// The snapshot version this build writes and reads.
pub const VERSION: u64 = 1;

/// What a snapshot file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Detector state only (`--save-baseline` / `--baseline`).
    Baseline,
    /// Follow-mode state: file checkpoints and detector state (`--state DIR`).
    FollowState,
    /// A partition's checkpoint on a message bus (`trace-sentinel worker`): the position
    /// in the partition and the detector state after it, restored exactly
    /// ([`parse_continuation`]).
    PartitionState,
}

impl Kind {
    /// The `kind` field's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Baseline => "baseline",
            Kind::FollowState => "follow-state",
            Kind::PartitionState => "partition-state",
        }
    }
}

/// One shard with its name, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamedShard {
    /// Source label (or the shared/overflow shard name).
    pub name: String,
    /// Whether this is the overflow shard. Written only where the name cannot tell
    /// (the overflow shard, and a source itself named `(overflow)`); when absent, the
    /// name `(overflow)` means the overflow shard, as in snapshots of older builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<bool>,
    /// Detector state.
    pub shard: Shard,
}

impl NamedShard {
    /// Whether this is the overflow shard (see [`Self::overflow`]).
    pub fn is_overflow(&self) -> bool {
        self.overflow.unwrap_or(self.name == OVERFLOW_SHARD)
    }
}

/// All detector state of a [`ShardSet`], as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectorState {
    /// The configuration the state was built with.
    pub config: Config,
    /// Named shards in creation order.
    pub shards: Vec<NamedShard>,
    /// The state new shards started from when the snapshot was taken (priming).
    pub template: Option<Shard>,
}

#[derive(Serialize)]
struct NamedShardRef<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    overflow: Option<bool>,
    shard: Cow<'a, Shard>,
}

#[derive(Serialize)]
struct DetectorStateRef<'a> {
    config: &'a Config,
    shards: Vec<NamedShardRef<'a>>,
    template: Option<Cow<'a, Shard>>,
}

#[derive(Serialize)]
struct EnvelopeOut<'a, F: Serialize> {
    format: &'static str,
    version: u64,
    kind: &'static str,
    /// Follow state written as a base of deltas (see `crate::state_journal`): which
    /// deltas belong to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<&'a F>,
    detectors: DetectorStateRef<'a>,
    /// Partition checkpoints with `--templates`: the template layer's caches, clock,
    /// vocabulary and budget, for an exact continuation.
    #[serde(skip_serializing_if = "Option::is_none")]
    template_continuation: Option<TemplateContinuation>,
}

/// The envelope fields read before anything else (unknown fields are ignored so that
/// any JSON object gets a precise complaint).
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
    kind: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvelopeIn<F> {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u64,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    pub(crate) generation: Option<u64>,
    #[serde(default = "none")]
    pub(crate) files: Option<F>,
    pub(crate) detectors: DetectorState,
    #[serde(default)]
    pub(crate) template_continuation: Option<TemplateContinuation>,
}

fn none<F>() -> Option<F> {
    None
}

pub(crate) fn snap_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Snapshot {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Replace non-finite floats (reachable only through overflow with |values| > 1e154)
/// by the largest finite value of the same sign: JSON has no infinity, and a snapshot we
/// write must load. Scores against such a baseline stay (numerically) the same.
fn finite(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(f64::MIN, f64::MAX)
    }
}

fn detector_is_finite(d: &Detector) -> bool {
    let base = match &d.baseline {
        Baseline::Zscore(s) => s.mean.is_finite() && s.m2.is_finite(),
        Baseline::Ewma(e) => e.mean.is_finite() && e.var.is_finite(),
        Baseline::Mad(_) => true, // holds only finite observed values
    };
    base && d.last.dev.is_finite() && d.last.scale.is_finite()
}

fn shard_is_finite(s: &Shard) -> bool {
    s.semantic_last.is_finite()
        && s.last_ts.values().all(|v| v.is_finite())
        && s.metrics.iter().all(|m| detector_is_finite(&m.detector))
        && s.semantic.as_ref().is_none_or(|sem| {
            sem.novelty.mean.is_finite()
                && sem.novelty.m2.is_finite()
                && sem.centroid.iter().all(|c| c.is_finite())
        })
}

fn sanitize(s: &Shard) -> Shard {
    let mut s = s.clone();
    s.semantic_last = finite(s.semantic_last);
    for v in s.last_ts.values_mut() {
        *v = finite(*v);
    }
    for m in &mut s.metrics {
        let d = &mut m.detector;
        match &mut d.baseline {
            Baseline::Zscore(st) => {
                st.mean = finite(st.mean);
                st.m2 = finite(st.m2);
            }
            Baseline::Ewma(e) => {
                e.mean = finite(e.mean);
                e.var = finite(e.var);
            }
            Baseline::Mad(_) => {}
        }
        d.last.dev = finite(d.last.dev);
        d.last.scale = finite(d.last.scale);
    }
    if let Some(sem) = &mut s.semantic {
        sem.novelty.mean = finite(sem.novelty.mean);
        sem.novelty.m2 = finite(sem.novelty.m2);
        for c in &mut sem.centroid {
            *c = finite(*c);
        }
    }
    s
}

pub(crate) fn borrow_shard(s: &Shard) -> Cow<'_, Shard> {
    if shard_is_finite(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(sanitize(s))
    }
}

fn capture(set: &ShardSet) -> DetectorStateRef<'_> {
    DetectorStateRef {
        config: set.config(),
        shards: set
            .shards()
            .enumerate()
            .map(|(i, (name, shard))| {
                let overflow = set.is_overflow(i);
                NamedShardRef {
                    name,
                    overflow: (overflow || name == OVERFLOW_SHARD).then_some(overflow),
                    shard: borrow_shard(shard),
                }
            })
            .collect(),
        template: set.template().map(borrow_shard),
    }
}

/// Serialise `set` (and, for follow state, the file checkpoints `files`) as snapshot JSON.
pub fn to_json<F: Serialize>(kind: Kind, set: &ShardSet, files: Option<&F>) -> Vec<u8> {
    let mut out = Vec::new();
    // Serialising plain data with string keys into memory cannot fail.
    let _ = write_json(&mut out, kind, set, files, None);
    out
}

/// Serialise like [`to_json`] straight into `w` (no copy of the whole snapshot in
/// memory), with the `generation` a follow-state base carries.
pub(crate) fn write_json<F: Serialize, W: std::io::Write>(
    w: W,
    kind: Kind,
    set: &ShardSet,
    files: Option<&F>,
    generation: Option<u64>,
) -> std::io::Result<()> {
    let env = EnvelopeOut {
        format: FORMAT,
        version: VERSION,
        kind: kind.as_str(),
        generation,
        files,
        detectors: capture(set),
        template_continuation: match kind {
            Kind::PartitionState => set.template_continuation(),
            Kind::Baseline | Kind::FollowState => None,
        },
    };
    serde_json::to_writer(w, &env).map_err(std::io::Error::from)
}

/// Write all detector state of `set` to `path` atomically (`--save-baseline`).
pub fn save_baseline(set: &ShardSet, path: &Path) -> Result<()> {
    crate::fsutil::write_atomic(path, &to_json::<()>(Kind::Baseline, set, None))
}

/// Read a baseline snapshot and rebuild a [`ShardSet`] for `cfg` (`--baseline`).
pub fn load_baseline(path: &Path, cfg: &Config) -> Result<ShardSet> {
    let bytes = read(path)?;
    let (_, set) = parse::<()>(path, &bytes, Kind::Baseline, cfg)?;
    Ok(set)
}

/// Read a follow-state snapshot: its file checkpoints and the rebuilt [`ShardSet`].
pub fn load_follow_state<F: DeserializeOwned>(path: &Path, cfg: &Config) -> Result<(F, ShardSet)> {
    let bytes = read(path)?;
    let (files, set) = parse::<F>(path, &bytes, Kind::FollowState, cfg)?;
    let files = files.ok_or_else(|| snap_err(path, "follow state has no \"files\" field"))?;
    Ok((files, set))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| snap_err(path, format!("cannot read: {e}")))
}

/// Parse and validate snapshot bytes of `kind` against the flags `cfg` of this run.
pub fn parse<F: DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    kind: Kind,
    cfg: &Config,
) -> Result<(Option<F>, ShardSet)> {
    let (files, state, _) = parse_state(path, bytes, kind, cfg)?;
    let set = restore(state, cfg).map_err(|r| snap_err(path, r))?;
    Ok((files, set))
}

/// Parse and validate snapshot bytes of `kind` like [`parse`], and rebuild the state as
/// an uninterrupted run would hold it: inter-arrival clocks are kept and sources the
/// snapshot does not know start from the stored template (priming), not from a pooled
/// baseline; with `--templates`, a [`Kind::PartitionState`] snapshot also carries the
/// template layer's caches, clock, vocabulary and budget, which are put back. Scoring
/// the lines after the snapshot then gives what scoring them without the stop would have
/// given — what a partition taken over by another worker needs. (A snapshot without that
/// part, or of another kind, continues with the template layer relearning its
/// vocabulary, as after `--state`.) `name` names the snapshot in errors (a path, or where
/// on a bus it was stored).
pub fn parse_continuation<F: DeserializeOwned>(
    name: &Path,
    bytes: &[u8],
    kind: Kind,
    cfg: &Config,
) -> Result<(Option<F>, ShardSet)> {
    let (files, state, continuation) = parse_state(name, bytes, kind, cfg)?;
    let mut set = restore_exact(state, cfg).map_err(|r| snap_err(name, r))?;
    if let Some(c) = continuation.filter(|_| cfg.templates) {
        set.apply_template_continuation(c)
            .map_err(|r| snap_err(name, r))?;
    }
    Ok((files, set))
}

/// The envelope checks and flag checks of every snapshot, before restoring.
fn parse_state<F: DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    kind: Kind,
    cfg: &Config,
) -> Result<(Option<F>, DetectorState, Option<TemplateContinuation>)> {
    let env: EnvelopeIn<F> = parse_envelope(path, bytes, kind.as_str())?;
    check_flags(&env.detectors.config, cfg).map_err(|r| snap_err(path, r))?;
    Ok((env.files, env.detectors, env.template_continuation))
}

/// Check stored detector state against the flags `cfg` of this run and rebuild it.
pub(crate) fn finish<F>(
    path: &Path,
    files: Option<F>,
    detectors: DetectorState,
    cfg: &Config,
) -> Result<(Option<F>, ShardSet)> {
    check_flags(&detectors.config, cfg).map_err(|r| snap_err(path, r))?;
    let set = restore(detectors, cfg).map_err(|r| snap_err(path, r))?;
    Ok((files, set))
}

/// Check the envelope of snapshot bytes (format, version, `kind`) and deserialise them.
pub(crate) fn parse_envelope<T: DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    kind: &str,
) -> Result<T> {
    check_header(path, bytes, kind)?;
    serde_json::from_slice(bytes).map_err(|e| snap_err(path, format!("corrupt: {e}")))
}

/// Check the envelope fields of snapshot bytes: format, version and `kind`.
fn check_header(path: &Path, bytes: &[u8], kind: &str) -> Result<()> {
    let header: Header = serde_json::from_slice(bytes)
        .map_err(|e| snap_err(path, format!("corrupt or truncated: {e}")))?;
    if header.format.as_ref().and_then(|v| v.as_str()) != Some(FORMAT) {
        return Err(snap_err(path, "not a trace-sentinel snapshot"));
    }
    match header.version.as_ref().and_then(|v| v.as_u64()) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(snap_err(
                path,
                format!("unsupported version {v} (this build reads version {VERSION})"),
            ))
        }
        None => return Err(snap_err(path, "missing or invalid \"version\"")),
    }
    let found = header.kind.as_ref().and_then(|v| v.as_str()).unwrap_or("");
    if found != kind {
        return Err(snap_err(
            path,
            format!("is a {found:?} snapshot, expected a {kind:?} snapshot"),
        ));
    }
    Ok(())
}

fn kind_flags(k: &DetectorKind) -> String {
    match k {
        DetectorKind::Zscore => "--detector zscore".into(),
        DetectorKind::Ewma { alpha } => format!("--detector ewma --alpha {alpha}"),
        DetectorKind::Mad { window } => format!("--detector mad --window {window}"),
    }
}

/// Refuse a snapshot taken with different detection flags. `timed` is a property of the
/// driver (follow mode and JSON lines measure inter-arrival), not a flag, and may differ.
fn check_flags(snap: &Config, run: &Config) -> std::result::Result<(), String> {
    let differ = |flag: &str, s: String, r: String| {
        Err(format!(
            "taken with different detector flags: {flag} is {s} in the snapshot, {r} in this run"
        ))
    };
    if snap.detector != run.detector {
        return differ(
            "--detector",
            kind_flags(&snap.detector),
            kind_flags(&run.detector),
        );
    }
    if snap.threshold != run.threshold {
        return differ(
            "--threshold",
            snap.threshold.to_string(),
            run.threshold.to_string(),
        );
    }
    if snap.warmup != run.warmup {
        return differ("--warmup", snap.warmup.to_string(), run.warmup.to_string());
    }
    if snap.semantic != run.semantic {
        let on = |b: bool| if b { "on" } else { "off" }.to_string();
        return differ("--semantic", on(snap.semantic), on(run.semantic));
    }
    if snap.templates != run.templates {
        let on = |b: bool| if b { "on" } else { "off" }.to_string();
        return differ("--templates", on(snap.templates), on(run.templates));
    }
    if snap.shard_by != run.shard_by {
        let name = |s: ShardBy| format!("{s:?}").to_lowercase();
        return differ("--shard-by", name(snap.shard_by), name(run.shard_by));
    }
    if snap.max_sources != run.max_sources {
        return differ(
            "--max-sources",
            snap.max_sources.to_string(),
            run.max_sources.to_string(),
        );
    }
    if snap.max_metrics != run.max_metrics {
        return differ(
            "max metrics",
            snap.max_metrics.to_string(),
            run.max_metrics.to_string(),
        );
    }
    Ok(())
}

/// Largest accepted semantic centroid (a user embedder may use any fixed dimension).
const MAX_CENTROID: usize = 1 << 16;

/// Check one shard against the flags and canonicalise what the engine relies on.
fn validate_shard(shard: &mut Shard, cfg: &Config) -> std::result::Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for m in &mut shard.metrics {
        if !names.insert(m.name.as_str()) {
            return Err(format!("metric {:?} appears twice in one shard", m.name));
        }
        let d = &mut m.detector;
        if d.warmup != cfg.warmup {
            return Err(format!(
                "metric {:?} has warmup {}, the snapshot says {}",
                m.name, d.warmup, cfg.warmup
            ));
        }
        let ok = match (&mut d.baseline, cfg.detector) {
            (Baseline::Zscore(_), DetectorKind::Zscore) => true,
            (Baseline::Ewma(e), DetectorKind::Ewma { alpha }) => e.alpha == alpha,
            (Baseline::Mad(w), DetectorKind::Mad { window }) => {
                if w.size() != window || w.len() > window {
                    false
                } else {
                    // Rebuild from the values in arrival order: the ring position and
                    // sorted view are then consistent whatever the file said.
                    let mut fresh = RollingWindow::new(window);
                    for v in w.values() {
                        if !v.is_finite() {
                            return Err(format!("metric {:?} holds a non-finite value", m.name));
                        }
                        fresh.update(v);
                    }
                    **w = fresh;
                    true
                }
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "metric {:?} has a baseline that does not match {}",
                m.name,
                kind_flags(&cfg.detector)
            ));
        }
    }
    match (&shard.semantic, cfg.semantic) {
        (Some(sem), true) => {
            if sem.warmup != cfg.warmup {
                return Err("semantic detector warmup does not match --warmup".into());
            }
            if sem.centroid.len() > MAX_CENTROID {
                return Err("semantic centroid is too large".into());
            }
        }
        (None, false) => {}
        _ => return Err("semantic state does not match --semantic".into()),
    }
    match (shard.templates.as_deref_mut(), cfg.templates) {
        (Some(layer), true) => layer.validate(cfg)?,
        (None, false) => {}
        _ => return Err("template state does not match --templates".into()),
    }
    Ok(())
}

/// Rebuild a [`ShardSet`] for `cfg` (the run's config: its `timed` wins) from stored state.
/// Inter-arrival clocks are cleared — the first event of each source after a load starts
/// its clock, so downtime is never scored as a gap. Sources the snapshot does not know
/// start from [`pool_shards`] of all stored shards (or the stored template if there are
/// none).
pub fn restore(state: DetectorState, cfg: &Config) -> std::result::Result<ShardSet, String> {
    rebuild(state, cfg, false)
}

/// Rebuild a [`ShardSet`] for `cfg` from stored state exactly as it was: inter-arrival
/// clocks kept, and sources the snapshot does not know starting from the stored template
/// (or empty), as in the run that took it (see [`parse_continuation`]).
pub fn restore_exact(state: DetectorState, cfg: &Config) -> std::result::Result<ShardSet, String> {
    rebuild(state, cfg, true)
}

fn rebuild(
    state: DetectorState,
    cfg: &Config,
    exact: bool,
) -> std::result::Result<ShardSet, String> {
    let mut set = ShardSet::new(cfg.clone());
    let mut seen = std::collections::HashSet::new();
    let mut overflow_seen = false;
    if cfg.shard_by == ShardBy::None && state.shards.len() > 1 {
        return Err("--shard-by none snapshot holds more than one shard".into());
    }
    let mut shards = Vec::with_capacity(state.shards.len());
    for mut ns in state.shards {
        if !seen.insert((ns.name.clone(), ns.is_overflow())) {
            return Err(format!("shard {:?} appears twice", ns.name));
        }
        if ns.is_overflow() {
            if overflow_seen {
                return Err("more than one overflow shard".into());
            }
            overflow_seen = true;
        }
        validate_shard(&mut ns.shard, cfg).map_err(|r| format!("shard {:?}: {r}", ns.name))?;
        if !exact {
            ns.shard.last_ts.clear();
        } else if ns.shard.last_ts.values().any(|t| !t.is_finite()) {
            return Err(format!("shard {:?} holds a non-finite event time", ns.name));
        }
        shards.push(ns);
    }
    let template = match state.template {
        Some(mut t) => {
            validate_shard(&mut t, cfg).map_err(|r| format!("template: {r}"))?;
            t.last_ts.clear();
            Some(t)
        }
        None => None,
    };
    let pooled = if exact || shards.is_empty() {
        template
    } else {
        Some(pool_shards(cfg, shards.iter().map(|ns| &ns.shard)))
    };
    for ns in shards {
        if ns.is_overflow() {
            set.insert_overflow_shard(&ns.name, ns.shard);
        } else {
            set.insert_shard(&ns.name, ns.shard);
        }
    }
    if cfg.shard_by == ShardBy::Source {
        if let Some(t) = pooled {
            set.set_template(t);
        }
    }
    Ok(set)
}

/// Pool EWMA states: weights are the observation counts; the mean is the weighted mean
/// and the variance the weighted law of total variance (within + between).
fn pool_ewma(alpha: f64, parts: &[&Ewma]) -> Ewma {
    let n: u64 = parts.iter().map(|e| e.n).sum();
    let mut out = Ewma::new(alpha);
    if n == 0 {
        return out;
    }
    let w = |e: &Ewma| e.n as f64 / n as f64;
    let mean: f64 = parts.iter().map(|e| w(e) * e.mean).sum();
    let var: f64 = parts
        .iter()
        .map(|e| w(e) * (e.var + (e.mean - mean) * (e.mean - mean)))
        .sum();
    out.n = n;
    out.mean = mean;
    out.var = var;
    out
}

/// Pool MAD windows: the newest values of every window, taken round-robin (newest first)
/// until the window is full; the oldest picked is evicted first.
fn pool_window(size: usize, parts: &[&RollingWindow]) -> RollingWindow {
    let lists: Vec<Vec<f64>> = parts.iter().map(|w| w.values().collect()).collect();
    let mut picked = Vec::with_capacity(size);
    let mut depth = 0;
    while picked.len() < size {
        let mut any = false;
        for l in &lists {
            if depth < l.len() {
                any = true;
                if picked.len() < size {
                    picked.push(l[l.len() - 1 - depth]);
                }
            }
        }
        if !any {
            break;
        }
        depth += 1;
    }
    let mut out = RollingWindow::new(size);
    for v in picked.into_iter().rev() {
        out.update(v);
    }
    out
}

/// The baseline a source unknown to a snapshot starts from, pooled over `shards`:
///
/// * z-score running stats are merged exactly (Chan et al.: the result equals one
///   Welford pass over all values);
/// * EWMA: count-weighted mean, variance by the law of total variance, count summed;
/// * MAD windows: the most recent values of all windows, round-robin, up to the size;
/// * semantic: the centroid is the count-weighted mean of the centroids (of the most
///   common dimension), novelty running stats merged exactly, counts summed;
/// * inter-arrival clocks are empty and last scores reset.
///
/// Metrics appear in order of first appearance, capped at `max_metrics`.
pub fn pool_shards<'a>(cfg: &Config, shards: impl IntoIterator<Item = &'a Shard>) -> Shard {
    let shards: Vec<&Shard> = shards.into_iter().collect();
    let mut out = Shard::new(cfg);
    let mut names: Vec<&str> = Vec::new();
    for s in &shards {
        for m in &s.metrics {
            if !names.contains(&m.name.as_str()) && names.len() < cfg.max_metrics {
                names.push(&m.name);
            }
        }
    }
    for name in names {
        let dets: Vec<&Detector> = shards
            .iter()
            .filter_map(|s| s.metrics.iter().find(|m| m.name == name))
            .map(|m| &m.detector)
            .collect();
        let mut detector = Detector::new(cfg.detector, cfg.warmup);
        detector.baseline = match cfg.detector {
            DetectorKind::Zscore => {
                let mut acc = RunningStats::default();
                for d in &dets {
                    if let Baseline::Zscore(s) = &d.baseline {
                        acc = acc.merge(s);
                    }
                }
                Baseline::Zscore(acc)
            }
            DetectorKind::Ewma { alpha } => {
                let parts: Vec<&Ewma> = dets
                    .iter()
                    .filter_map(|d| match &d.baseline {
                        Baseline::Ewma(e) => Some(e),
                        _ => None,
                    })
                    .collect();
                Baseline::Ewma(pool_ewma(alpha, &parts))
            }
            DetectorKind::Mad { window } => {
                let parts: Vec<&RollingWindow> = dets
                    .iter()
                    .filter_map(|d| match &d.baseline {
                        Baseline::Mad(w) => Some(&**w),
                        _ => None,
                    })
                    .collect();
                Baseline::Mad(Box::new(pool_window(window, &parts)))
            }
        };
        detector.last = LastScore::default();
        out.metrics.push(MetricSlot {
            name: name.to_string(),
            detector,
        });
    }
    if let Some(target) = out.semantic.as_mut() {
        let sems: Vec<_> = shards.iter().filter_map(|s| s.semantic.as_ref()).collect();
        // The most common non-empty centroid dimension (ties: the first seen).
        let mut dims: Vec<(usize, usize)> = Vec::new();
        for s in &sems {
            let d = s.centroid.len();
            if d == 0 {
                continue;
            }
            match dims.iter_mut().find(|(dim, _)| *dim == d) {
                Some((_, c)) => *c += 1,
                None => dims.push((d, 1)),
            }
        }
        let dim = dims
            .iter()
            .fold(None::<(usize, usize)>, |best, &(d, c)| match best {
                Some((_, bc)) if bc >= c => best,
                _ => Some((d, c)),
            })
            .map(|(d, _)| d);
        let mut novelty = RunningStats::default();
        let mut n = 0u64;
        for s in &sems {
            novelty = novelty.merge(&s.novelty);
            n += s.n;
        }
        if let Some(dim) = dim {
            let with: Vec<_> = sems.iter().filter(|s| s.centroid.len() == dim).collect();
            let total: f64 = with.iter().map(|s| s.n.max(1) as f64).sum();
            let mut centroid = vec![0.0; dim];
            for s in &with {
                let w = s.n.max(1) as f64 / total;
                for (c, x) in centroid.iter_mut().zip(&s.centroid) {
                    *c += w * x;
                }
            }
            target.centroid = centroid;
            target.n = n.max(1);
        }
        target.novelty = novelty;
    }
    out.reindex();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, InputFormat};
    use crate::sink::CallbackSink;

    fn cfg(detector: DetectorKind, semantic: bool) -> Config {
        Config {
            warmup: 5,
            detector,
            semantic,
            ..Config::default()
        }
    }

    fn feed(engine: &mut Engine, source: &str, lines: &str) -> Vec<String> {
        let mut got = Vec::new();
        let mut sink = CallbackSink(|a: &crate::anomaly::Anomaly<'_>| {
            got.push(format!("{} {}", a.metric, a.message))
        });
        engine
            .feed_block(lines.as_bytes(), source, &mut sink)
            .unwrap();
        got
    }

    fn normal_lines(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "request {i} served in {} ms{}\n",
                    i % 7,
                    " ok".repeat(i % 4)
                )
            })
            .collect()
    }

    fn all_kinds() -> Vec<DetectorKind> {
        vec![
            DetectorKind::Zscore,
            DetectorKind::Ewma { alpha: 0.1 },
            DetectorKind::Mad { window: 16 },
        ]
    }

    #[test]
    fn roundtrip_continues_exactly() {
        for kind in all_kinds() {
            let c = cfg(kind, true);
            let mut a = Engine::new(c.clone(), InputFormat::Text);
            feed(&mut a, "app", &normal_lines(40));
            let json = to_json::<()>(Kind::Baseline, a.shards(), None);
            let (_, restored) =
                parse::<()>(Path::new("b.json"), &json, Kind::Baseline, &c).unwrap();
            let mut b = Engine::new(c.clone(), InputFormat::Text);
            b.set_shards(restored);
            let more = format!("{}{}\n", normal_lines(10), "x".repeat(300));
            assert_eq!(
                feed(&mut a, "app", &more),
                feed(&mut b, "app", &more),
                "{kind:?}"
            );
            let (sa, sb) = (
                a.shards().shards().next().unwrap().1,
                b.shards().shards().next().unwrap().1,
            );
            for (ma, mb) in sa.metrics.iter().zip(&sb.metrics) {
                match (&ma.detector.baseline, &mb.detector.baseline) {
                    // Restoring canonicalises the ring's physical layout.
                    (Baseline::Mad(wa), Baseline::Mad(wb)) => {
                        assert!(wa.values().eq(wb.values()))
                    }
                    _ => assert_eq!(
                        serde_json::to_value(ma).unwrap(),
                        serde_json::to_value(mb).unwrap()
                    ),
                }
            }
            assert_eq!(sa.metrics.len(), sb.metrics.len());
            // Bit for bit, the semantic layer's fast path included (the snapshot carries
            // the centroid's tracked squared norm).
            let (xa, xb) = (sa.semantic.as_ref().unwrap(), sb.semantic.as_ref().unwrap());
            assert_eq!((xa.n, &xa.centroid), (xb.n, &xb.centroid));
            assert_eq!(xa.novelty.n, xb.novelty.n);
            assert_eq!(xa.novelty.mean.to_bits(), xb.novelty.mean.to_bits());
            assert_eq!(xa.novelty.m2.to_bits(), xb.novelty.m2.to_bits());
        }
    }

    #[test]
    fn a_source_named_like_the_overflow_shard_keeps_its_own_shard() {
        let c = Config {
            max_sources: 2,
            ..cfg(DetectorKind::Zscore, false)
        };
        let mut a = Engine::new(c.clone(), InputFormat::Text);
        for source in [OVERFLOW_SHARD, "a", "b", "c"] {
            feed(&mut a, source, &normal_lines(20));
        }
        let names: Vec<_> = a.shards().shards().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, [OVERFLOW_SHARD, "a", OVERFLOW_SHARD]);
        assert!(!a.shards().is_overflow(0) && a.shards().is_overflow(2));
        let json = to_json::<()>(Kind::Baseline, a.shards(), None);
        let (_, restored) = parse::<()>(Path::new("b.json"), &json, Kind::Baseline, &c).unwrap();
        assert!(!restored.is_overflow(0) && restored.is_overflow(2));
        let mut b = Engine::new(c.clone(), InputFormat::Text);
        b.set_shards(restored);
        // Each source goes on in the shard it had: the odd line of the source called
        // `(overflow)` is scored against that source's baseline in both.
        let events = |e: &Engine| {
            e.shards()
                .shards()
                .map(|(_, s)| s.events)
                .collect::<Vec<_>>()
        };
        let (before_a, before_b) = (events(&a), events(&b));
        let odd = format!("{}\n", "x".repeat(300));
        for source in [OVERFLOW_SHARD, "a", "b", "d"] {
            let more = format!("{}{odd}", normal_lines(5));
            assert_eq!(
                feed(&mut a, source, &more),
                feed(&mut b, source, &more),
                "{source}"
            );
        }
        let grew = |now: Vec<u64>, before: Vec<u64>| -> Vec<u64> {
            now.iter().zip(&before).map(|(n, b)| n - b).collect()
        };
        assert_eq!(grew(events(&a), before_a), [6, 6, 12]);
        assert_eq!(grew(events(&b), before_b), [6, 6, 12]);
        // A snapshot of an older build has no flags: the name alone marks the overflow
        // shard there.
        let text = String::from_utf8(json.clone()).unwrap();
        let legacy = text
            .replace("\"overflow\":false,", "")
            .replace("\"overflow\":true,", "");
        assert_ne!(legacy, text);
        let legacy = legacy.replacen(OVERFLOW_SHARD, "first", 1);
        let (_, old) =
            parse::<()>(Path::new("b.json"), legacy.as_bytes(), Kind::Baseline, &c).unwrap();
        assert!(!old.is_overflow(0) && old.is_overflow(2));
        // Two overflow shards are refused.
        let twice = text.replace(
            "\"name\":\"a\",\"shard\"",
            "\"name\":\"a\",\"overflow\":true,\"shard\"",
        );
        assert_ne!(twice, text);
        let err =
            parse::<()>(Path::new("b.json"), twice.as_bytes(), Kind::Baseline, &c).unwrap_err();
        assert!(
            err.to_string().contains("more than one overflow shard"),
            "{err}"
        );
    }

    #[test]
    fn unknown_source_starts_from_the_pool_without_warmup() {
        for kind in all_kinds() {
            let c = cfg(kind, true);
            let mut a = Engine::new(c.clone(), InputFormat::Text);
            feed(&mut a, "a.log", &normal_lines(30));
            feed(&mut a, "b.log.gz", &normal_lines(30));
            let json = to_json::<()>(Kind::Baseline, a.shards(), None);
            let (_, restored) =
                parse::<()>(Path::new("b.json"), &json, Kind::Baseline, &c).unwrap();
            let mut b = Engine::new(c, InputFormat::Text);
            b.set_shards(restored);
            let got = feed(&mut b, "new.log", &format!("{}\n", "zq!".repeat(150)));
            assert!(
                got.iter().any(|g| g.starts_with("message.length")),
                "{kind:?}: {got:?}"
            );
        }
    }

    #[test]
    fn zscore_pool_equals_one_pass() {
        let c = cfg(DetectorKind::Zscore, false);
        let mut a = Engine::new(c.clone(), InputFormat::Text);
        let mut all = Engine::new(c.clone(), InputFormat::Text);
        feed(&mut a, "a", &normal_lines(17));
        feed(&mut a, "b", "one\ntwo two\nthree three three\n");
        feed(&mut all, "x", &normal_lines(17));
        feed(&mut all, "x", "one\ntwo two\nthree three three\n");
        let pooled = pool_shards(&c, a.shards().shards().map(|(_, s)| s));
        let one = all.shards().shards().next().unwrap().1;
        for (p, o) in pooled.metrics.iter().zip(&one.metrics) {
            let (Baseline::Zscore(p), Baseline::Zscore(o)) =
                (&p.detector.baseline, &o.detector.baseline)
            else {
                panic!("zscore baselines")
            };
            assert_eq!(p.n, o.n);
            assert!((p.mean - o.mean).abs() < 1e-9);
            assert!((p.variance() - o.variance()).abs() < 1e-6);
        }
    }

    #[test]
    fn mad_pool_takes_recent_values_round_robin() {
        let mut a = RollingWindow::new(4);
        let mut b = RollingWindow::new(4);
        for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
            a.update(x);
        }
        b.update(10.0);
        let p = pool_window(4, &[&a, &b]);
        assert_eq!(p.values().collect::<Vec<_>>(), vec![3.0, 4.0, 10.0, 5.0]);
    }

    #[test]
    fn ewma_pool_total_variance() {
        let mut x = Ewma::new(0.5);
        x.n = 10;
        x.mean = 0.0;
        x.var = 1.0;
        let mut y = Ewma::new(0.5);
        y.n = 10;
        y.mean = 2.0;
        y.var = 1.0;
        let p = pool_ewma(0.5, &[&x, &y]);
        assert_eq!((p.n, p.mean, p.var), (20, 1.0, 2.0));
    }

    #[test]
    fn refuses_bad_snapshots() {
        let c = cfg(DetectorKind::Zscore, false);
        let mut a = Engine::new(c.clone(), InputFormat::Text);
        feed(&mut a, "app", &normal_lines(10));
        let good = String::from_utf8(to_json::<()>(Kind::Baseline, a.shards(), None)).unwrap();
        let p = Path::new("s.json");
        let bad = |text: &str, cfg: &Config| {
            let e = parse::<()>(p, text.as_bytes(), Kind::Baseline, cfg).unwrap_err();
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "one line: {msg}");
            msg
        };
        assert!(bad(&good[..good.len() / 2], &c).contains("corrupt"));
        assert!(bad("", &c).contains("corrupt"));
        assert!(bad("[1,2]", &c).contains("corrupt"));
        assert!(bad("{}", &c).contains("not a trace-sentinel snapshot"));
        assert!(bad(&good.replace("\"version\":1", "\"version\":99"), &c).contains("version 99"));
        assert!(bad(&good.replace("\"baseline\"", "\"follow-state\""), &c).contains("expected"));
        assert!(bad(&good.replace("\"n\":", "\"n\":-"), &c).contains("corrupt"));
        let other = cfg(DetectorKind::Mad { window: 8 }, false);
        assert!(bad(&good, &other).contains("--detector"));
        let sem = cfg(DetectorKind::Zscore, true);
        assert!(bad(&good, &sem).contains("--semantic"));
        let mut thr = c.clone();
        thr.threshold = 2.5;
        assert!(bad(&good, &thr).contains("--threshold"));
    }

    #[test]
    fn crafted_windows_are_refused_or_canonicalised() {
        let c = cfg(DetectorKind::Mad { window: 4 }, false);
        let mut a = Engine::new(c.clone(), InputFormat::Text);
        feed(&mut a, "app", &normal_lines(10));
        let good = String::from_utf8(to_json::<()>(Kind::Baseline, a.shards(), None)).unwrap();
        let p = Path::new("s.json");
        let head = good.replace("\"head\":2", "\"head\":99");
        let (_, set) = parse::<()>(p, head.as_bytes(), Kind::Baseline, &c).unwrap();
        let mut sink = CallbackSink(|_: &crate::anomaly::Anomaly<'_>| {});
        let mut e = Engine::new(c.clone(), InputFormat::Text);
        e.set_shards(set);
        e.feed_block(b"a\nbb\nccc\ndddd\neeeee\n", "app", &mut sink)
            .unwrap();
        let small = good.replace("\"size\":4", "\"size\":2");
        assert!(parse::<()>(p, small.as_bytes(), Kind::Baseline, &c).is_err());
    }

    #[test]
    fn non_finite_state_is_written_loadable() {
        let c = Config {
            timed: true,
            ..cfg(DetectorKind::Zscore, false)
        };
        let mut e = Engine::new(c.clone(), InputFormat::JsonLines);
        feed(
            &mut e,
            "j",
            "{\"message\":\"a\",\"x\":1e300}\n{\"message\":\"b\",\"x\":-1e300}\n",
        );
        let json = to_json::<()>(Kind::Baseline, e.shards(), None);
        assert!(parse::<()>(Path::new("s"), &json, Kind::Baseline, &c).is_ok());
    }

    #[test]
    fn follow_state_carries_files() {
        let c = cfg(DetectorKind::Zscore, false);
        let e = Engine::new(c.clone(), InputFormat::Text);
        let files = vec![1u32, 2, 3];
        let json = to_json(Kind::FollowState, e.shards(), Some(&files));
        let (got, _) = parse::<Vec<u32>>(Path::new("s"), &json, Kind::FollowState, &c).unwrap();
        assert_eq!(got, Some(files));
        let e = parse::<()>(Path::new("s"), &json, Kind::Baseline, &c).unwrap_err();
        assert!(e.to_string().contains("expected"));
    }

    /// JSON lines with event times from several sources, some of them anomalous.
    fn timed_jsonl(range: std::ops::Range<usize>) -> String {
        range
            .map(|i| {
                let source = ["api", "db", "cache"][i % 3];
                let gap = if i % 37 == 36 { 500 } else { i % 3 + 1 };
                let len = if i % 41 == 40 { 400 } else { 10 + i % 5 };
                format!(
                    "{{\"timestamp\": {}, \"source\": \"{source}\", \"message\": \"{}\", \"latency\": {}}}\n",
                    1_700_000_000 + i * 2 + gap,
                    "m".repeat(len),
                    i % 9
                )
            })
            .collect()
    }

    #[test]
    fn continuation_equals_an_uninterrupted_run() {
        for kind in all_kinds() {
            let c = Config {
                timed: true,
                ..cfg(kind, true)
            };
            let mut whole = Engine::new(c.clone(), InputFormat::JsonLines);
            let all = feed(&mut whole, "x", &timed_jsonl(0..400));
            let mut first = Engine::new(c.clone(), InputFormat::JsonLines);
            let mut got = feed(&mut first, "x", &timed_jsonl(0..200));
            let json = to_json(Kind::PartitionState, first.shards(), Some(&7u64));
            let (pos, restored) =
                parse_continuation::<u64>(Path::new("p0"), &json, Kind::PartitionState, &c)
                    .unwrap();
            assert_eq!(pos, Some(7));
            let mut second = Engine::new(c.clone(), InputFormat::JsonLines);
            second.set_shards(restored);
            // A source first seen after the checkpoint starts empty, as it would have.
            got.extend(feed(&mut second, "x", &timed_jsonl(200..400)));
            got.extend(feed(
                &mut second,
                "x",
                "{\"source\": \"new\", \"message\": \"hello\"}\n",
            ));
            let mut rest = all;
            rest.extend(feed(
                &mut whole,
                "x",
                "{\"source\": \"new\", \"message\": \"hello\"}\n",
            ));
            if kind == DetectorKind::Zscore {
                // The clocks crossed the checkpoint: gaps right after it are scored.
                assert!(got.iter().any(|a| a.starts_with("event.interarrival")));
            }
            assert_eq!(got, rest, "{kind:?}");
        }
    }

    /// Text lines of several shapes from three sources; some carry words never seen
    /// before, so the template layer's vocabulary, cache and clock all matter.
    fn template_lines(range: std::ops::Range<usize>) -> String {
        let words = ["disk", "fan", "psu", "nic", "raid", "bmc", "ssd", "dimm"];
        range
            .map(|i| {
                let source = ["api", "db", "cache"][i % 3];
                let message = match (i * 7919) % 23 {
                    0 => format!("ERROR {} {} failed on host{}", words[i % 8], i % 5, i % 7),
                    1 => format!("WARN queue q{} is {}% full", i % 4, 80 + i % 20),
                    2 => format!("novel-{i} thing-{} happened", i * 31),
                    3..=9 => format!("user u{} logged in from 10.0.0.{}", i % 50, i % 9),
                    _ => format!("GET /items/{} 200 {}ms", i * 13 % 1000, 5 + i % 4),
                };
                format!(
                    "{{\"timestamp\": {}, \"source\": \"{source}\", \"message\": \"{message}\"}}\n",
                    1_700_000_000 + i
                )
            })
            .collect()
    }

    fn feed_scored(engine: &mut Engine, lines: &str) -> Vec<String> {
        let mut got = Vec::new();
        let mut sink = CallbackSink(|a: &crate::anomaly::Anomaly<'_>| {
            got.push(format!(
                "{} {} {} {}",
                a.metric, a.message, a.score, a.value
            ))
        });
        engine.feed_block(lines.as_bytes(), "x", &mut sink).unwrap();
        got
    }

    #[test]
    fn continuation_with_templates_equals_an_uninterrupted_run() {
        // A small cap, so that eviction (the clock) runs; priming, so that new sources
        // start from the template shard.
        let c = Config {
            timed: true,
            templates: true,
            max_templates: 6,
            ..cfg(DetectorKind::Zscore, false)
        };
        let mut whole = Engine::new(c.clone(), InputFormat::JsonLines);
        whole.prime_benign(40);
        let all = feed_scored(&mut whole, &template_lines(0..900));
        assert!(
            all.iter().any(|a| a.starts_with("template.novelty")),
            "{all:?}"
        );
        for cut in [1, 97, 450, 899] {
            let mut first = Engine::new(c.clone(), InputFormat::JsonLines);
            first.prime_benign(40);
            let mut got = feed_scored(&mut first, &template_lines(0..cut));
            let json = to_json(Kind::PartitionState, first.shards(), Some(&1u64));
            let (_, restored) =
                parse_continuation::<u64>(Path::new("p"), &json, Kind::PartitionState, &c).unwrap();
            let mut second = Engine::new(c.clone(), InputFormat::JsonLines);
            second.set_shards(restored);
            got.extend(feed_scored(&mut second, &template_lines(cut..900)));
            assert_eq!(got, all, "checkpoint after line {cut}");
        }
    }

    #[test]
    fn a_template_continuation_that_does_not_fit_is_refused() {
        let c = Config {
            templates: true,
            ..cfg(DetectorKind::Zscore, false)
        };
        let mut e = Engine::new(c.clone(), InputFormat::JsonLines);
        feed_scored(&mut e, &template_lines(0..50));
        let json = to_json(Kind::PartitionState, e.shards(), Some(&1u64));
        let mut doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let tc = doc["template_continuation"].clone();
        assert!(
            tc["shards"].as_array().is_some_and(|s| s.len() == 3),
            "{tc}"
        );
        let bad = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut d = doc.clone();
            edit(&mut d["template_continuation"]);
            let bytes = serde_json::to_vec(&d).unwrap();
            parse_continuation::<u64>(Path::new("p"), &bytes, Kind::PartitionState, &c)
                .unwrap_err()
                .to_string()
        };
        type Edit<'a> = &'a dyn Fn(&mut serde_json::Value);
        let cases: [(Edit<'_>, &str); 5] = [
            (
                &|t| t["shards"].as_array_mut().unwrap().truncate(2),
                "describes 2 shards",
            ),
            (
                &|t| t["shards"][0]["store"]["hand"] = 1_000_000.into(),
                "clock hand",
            ),
            (
                &|t| t["shards"][1]["store"]["by_len"] = serde_json::json!([[3, [99]]]),
                "candidates",
            ),
            (
                &|t| t["shards"][2]["store"]["exact"] = serde_json::json!([[1, 99, 0]]),
                "cache",
            ),
            (
                &|t| t["shards"][0]["vocabulary"] = serde_json::json!([[1, 0]]),
                "vocabulary",
            ),
        ];
        for (edit, want) in cases {
            let e = bad(edit);
            assert!(e.contains(want), "{want}: {e}");
        }
        // Baselines and follow state carry none.
        let base = to_json::<()>(Kind::Baseline, e.shards(), None);
        assert!(!String::from_utf8_lossy(&base).contains("template_continuation"));
        doc.as_object_mut().unwrap().remove("template_continuation");
        let bytes = serde_json::to_vec(&doc).unwrap();
        assert!(
            parse_continuation::<u64>(Path::new("p"), &bytes, Kind::PartitionState, &c).is_ok()
        );
    }
}
