//! The reference metrics measured per template: message length, token count and the
//! continuous numeric attributes, each against the lines of the same template, with a
//! noise floor (see [`NoiseFloor`]).

use crate::detect::detector::{Detector, DetectorKind, NoiseFloor};
use serde::{Deserialize, Serialize};

/// Numeric attributes a template keeps baselines for; later keys use the source's.
pub(crate) const MAX_TEMPLATE_ATTRS: usize = 16;

/// The noise floor of per-template baselines: 10 % of the centre, and one unit.
pub(crate) const FLOOR: NoiseFloor = NoiseFloor { rel: 0.1, abs: 1.0 };

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

    /// The baseline of attribute `key`, created with `make` while there is room.
    pub(crate) fn attr(
        &mut self,
        key: &str,
        make: impl FnOnce() -> Detector,
    ) -> Option<&mut Detector> {
        if let Some(i) = self.attrs.iter().position(|(k, _)| k == key) {
            return Some(&mut self.attrs[i].1);
        }
        if self.attrs.len() >= MAX_TEMPLATE_ATTRS {
            return None;
        }
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
