//! The Prometheus text exposition format (0.0.4): `# HELP` and `# TYPE` lines, samples
//! with escaped label values, and histograms with cumulative `le` buckets, `_sum` and
//! `_count`. Label values often come from log data (sources, metric names derived from
//! JSON keys, paths) and are always escaped; non-finite values are written as `NaN`,
//! `+Inf`, `-Inf`.

use std::fmt::Write;
use trace_sentinel_core::stats::StageHistogram;

/// The `Content-Type` of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the latency histogram buckets, in seconds (`+Inf` is added).
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.000_01, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0,
];

/// The kind of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (name ends in `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Escape a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// A sample value as Prometheus writes it.
pub fn value(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x == f64::INFINITY {
        "+Inf".into()
    } else if x == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{x}")
    }
}

/// A document being written.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// An empty document.
    pub fn new() -> Self {
        Exposition {
            out: String::with_capacity(8192),
        }
    }

    /// Start a family: its help text and type.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample of the current family (`name` may carry a histogram suffix).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(val));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", value(v));
    }

    /// A family with a single unlabelled sample.
    pub fn one(&mut self, name: &str, kind: Kind, help: &str, v: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], v);
    }

    /// One histogram of the current family (call [`Self::family`] with
    /// [`Kind::Histogram`] first), from microsecond samples, in seconds.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &StageHistogram) {
        let bucket = format!("{name}_bucket");
        for le in LATENCY_BUCKETS {
            let le_text = value(le);
            let mut with_le: Vec<(&str, &str)> = labels.to_vec();
            with_le.push(("le", &le_text));
            let us = (le * 1e6).round() as u64;
            self.sample(&bucket, &with_le, h.count_at_most(us) as f64);
        }
        let mut with_le: Vec<(&str, &str)> = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&bucket, &with_le, h.count() as f64);
        self.sample(&format!("{name}_sum"), labels, h.sum_us() as f64 / 1e6);
        self.sample(&format!("{name}_count"), labels, h.count() as f64);
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn samples_and_escaping() {
        let mut e = Exposition::new();
        e.family("x_total", Kind::Counter, "X.");
        e.sample("x_total", &[("a", "q\"\\\n")], 3.0);
        e.one("y", Kind::Gauge, "Y.", f64::INFINITY);
        assert_eq!(
            e.finish(),
            "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"q\\\"\\\\\\n\"} 3\n\
             # HELP y Y.\n# TYPE y gauge\ny +Inf\n"
        );
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(-2.5), "-2.5");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = StageHistogram::default();
        for us in [5, 50, 700, 2_000_000] {
            h.record(Duration::from_micros(us));
        }
        let mut e = Exposition::new();
        e.family("d_seconds", Kind::Histogram, "D.");
        e.histogram("d_seconds", &[("stage", "s")], &h);
        let text = e.finish();
        for want in [
            "d_seconds_bucket{stage=\"s\",le=\"0.00001\"} 1\n",
            "d_seconds_bucket{stage=\"s\",le=\"0.0001\"} 2\n",
            "d_seconds_bucket{stage=\"s\",le=\"0.001\"} 3\n",
            "d_seconds_bucket{stage=\"s\",le=\"1\"} 3\n",
            "d_seconds_bucket{stage=\"s\",le=\"5\"} 4\n",
            "d_seconds_bucket{stage=\"s\",le=\"+Inf\"} 4\n",
            "d_seconds_sum{stage=\"s\"} 2.000755\n",
            "d_seconds_count{stage=\"s\"} 4\n",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
    }
}
