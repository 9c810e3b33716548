//! The metric names: the public vocabulary of anomalies (`Anomaly::metric`), snapshots
//! and the HUD, kept exactly as the reference spells them.

/// Metric name of the message length (Unicode scalars).
pub const LENGTH: &str = "message.length";
/// Metric name of the `\w+` token count.
pub const TOKENS: &str = "message.tokens";
/// Metric name of the per-source inter-arrival time.
pub const INTERARRIVAL: &str = "event.interarrival_s";
/// Prefix of numeric-attribute metrics.
pub const ATTR_PREFIX: &str = "attr.";

/// Metric name of semantic anomalies.
pub const SEMANTIC: &str = "message.semantic_novelty";

/// Metric name of template novelty (with the template layer): how surprising a line's
/// template is in its source.
pub const TEMPLATE_NOVELTY: &str = "template.novelty";
