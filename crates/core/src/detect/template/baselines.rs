//! The reference metrics measured per template: message length, token count and the
//! continuous numeric attributes, each against the lines of the same template, with a
//! noise floor (see [`NoiseFloor`]).

use crate::detect::detector::{Detector, DetectorKind, NoiseFloor};
use serde::{Deserialize, Serialize};

/// Numeric attributes a template keeps baselines for; later keys use the source's.
pub(crate) const MAX_TEMPLATE_ATTRS: usize = 16;

/// Attribute baselines all templates together may hold, per template of the shared
/// template budget: with many numeric keys, the templates that meet them first get
/// their own baselines, and the rest measure against the source's.
pub(crate) const ATTRS_PER_TEMPLATE: usize = 2;

/// The noise floor of per-template length and token baselines: 10 % of the centre, and
/// one unit.
pub(crate) const FLOOR: NoiseFloor = NoiseFloor { rel: 0.1, abs: 1.0 };

/// The noise floor of baselines kept on a logarithmic scale (a tenth of an e-fold).
pub(crate) const LOG_FLOOR: NoiseFloor = NoiseFloor { rel: 0.0, abs: 0.1 };

/// Numeric attributes (latencies, sizes, counts) are skewed: per template they are
/// scored on a signed logarithmic scale, `sign(x)·ln(1 + |x|)`, so a value ten times
/// the usual is as surprising as one a tenth of it.
pub(crate) fn log_scale(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

/// Inter-arrival gaps with the template layer: `ln(gap + 1 ms)`, scored upwards only
/// (a source falling silent, not a burst).
pub(crate) fn log_gap(seconds: f64) -> f64 {
    (seconds.max(0.0) + 1e-3).ln()
}

/// Baselines of one template.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct TemplateBaselines {
    pub(crate) length: Option<Detector>,
    pub(crate) tokens: Option<Detector>,
    pub(crate) attrs: Vec<(String, Detector)>,
}

impl TemplateBaselines {
    /// Fresh baselines of `kind` learning for `warmup` values.
    pub(crate) fn new(kind: DetectorKind, warmup: u64) -> Self {
        TemplateBaselines {
            length: Some(Detector::new(kind, warmup)),
            tokens: Some(Detector::new(kind, warmup)),
            attrs: Vec::new(),
        }
    }

    /// The baseline of attribute `key`, created with `make` while there is room here
    /// and in the shared `budget` of attribute baselines.
    pub(crate) fn attr(
        &mut self,
        key: &str,
        make: impl FnOnce() -> Detector,
        budget: &mut usize,
    ) -> Option<&mut Detector> {
        if let Some(i) = self.attrs.iter().position(|(k, _)| k == key) {
            return Some(&mut self.attrs[i].1);
        }
        if self.attrs.len() >= MAX_TEMPLATE_ATTRS || *budget == 0 {
            return None;
        }
        *budget -= 1;
        self.attrs.push((key.to_string(), make()));
        self.attrs.last_mut().map(|(_, d)| d)
    }

    /// Rebuild derived state after deserialisation.
    pub(crate) fn rebuild(&mut self) {
        for d in self.length.iter_mut().chain(self.tokens.iter_mut()) {
            d.rebuild();
        }
        for (_, d) in &mut self.attrs {
            d.rebuild();
        }
    }
}
