//! Everything that decides detection results: [`Config`] (threshold, warmup, detector,
//! semantic layer, inter-arrival, sharding, caps) and its range checks.

use crate::detect::detector::DetectorKind;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How events are assigned to detector shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardBy {
    /// One shard per event source (bounded by `max_sources`).
    Source,
    /// One shared shard, exactly like the reference.
    None,
}

/// Everything that decides detection results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Sigma magnitude at which a deviation is reported (> 0).
    pub threshold: f64,
    /// Observations a fresh baseline learns before it may alert.
    pub warmup: u64,
    /// Detector used for every metric.
    pub detector: DetectorKind,
    /// Whether the semantic-novelty layer runs.
    pub semantic: bool,
    /// Whether the inter-arrival metric is computed (JSON lines and follow mode).
    pub timed: bool,
    /// Shard assignment.
    pub shard_by: ShardBy,
    /// Bound on per-source shards and on tracked inter-arrival sources per shard.
    pub max_sources: usize,
    /// Bound on distinct metrics per shard.
    pub max_metrics: usize,
    /// Whether the template layer runs: template novelty, and the reference metrics
    /// measured per template (`--templates`; see `docs/detection.md`).
    #[serde(default)]
    pub templates: bool,
    /// Templates kept per shard; past it the least recently used one is evicted.
    #[serde(default = "default_max_templates")]
    pub max_templates: usize,
    /// Templates kept across all shards together.
    #[serde(default = "default_max_templates_total")]
    pub max_templates_total: usize,
}

/// Templates kept per shard by default.
pub const DEFAULT_MAX_TEMPLATES: usize = 1000;
/// Templates kept across all shards by default.
pub const DEFAULT_MAX_TEMPLATES_TOTAL: usize = 50_000;

fn default_max_templates() -> usize {
    DEFAULT_MAX_TEMPLATES
}

fn default_max_templates_total() -> usize {
    DEFAULT_MAX_TEMPLATES_TOTAL
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threshold: 3.0,
            warmup: 30,
            detector: DetectorKind::Zscore,
            semantic: false,
            timed: false,
            shard_by: ShardBy::Source,
            max_sources: 10_000,
            max_metrics: 4096,
            templates: false,
            max_templates: DEFAULT_MAX_TEMPLATES,
            max_templates_total: DEFAULT_MAX_TEMPLATES_TOTAL,
        }
    }
}

impl Config {
    /// Range checks (the CLI's rules): a threshold > 0, an EWMA alpha in (0, 1], a MAD
    /// window >= 2, caps >= 1.
    pub fn validate(&self) -> Result<()> {
        let cfg = self;
        if !(cfg.threshold > 0.0 && cfg.threshold.is_finite()) {
            return Err(invalid(
                "threshold",
                format!("{} (must be > 0)", cfg.threshold),
            ));
        }
        match cfg.detector {
            DetectorKind::Ewma { alpha } if !(alpha > 0.0 && alpha <= 1.0) => {
                return Err(invalid("alpha", format!("{alpha} (must be in (0, 1])")));
            }
            DetectorKind::Mad { window } if window < 2 => {
                return Err(invalid("window", format!("{window} (must be >= 2)")));
            }
            _ => {}
        }
        if cfg.max_sources == 0 || cfg.max_metrics == 0 {
            return Err(invalid(
                "max_sources/max_metrics",
                "must be >= 1".to_string(),
            ));
        }
        if cfg.max_templates == 0 || cfg.max_templates_total == 0 {
            return Err(invalid(
                "max_templates/max_templates_total",
                "must be >= 1".to_string(),
            ));
        }
        Ok(())
    }
}

fn invalid(flag: &'static str, reason: String) -> Error {
    Error::Config { flag, reason }
}
