//! `/metrics`: the HUD state in the Prometheus text exposition format (0.0.4). Label
//! values come from log data (metric names derive from JSON attribute keys) and are
//! escaped; non-finite values are written as `NaN`, `+Inf`, `-Inf`.

use crate::state::{severity_name, HudState};
use std::fmt::Write;

/// Extra facts only the server knows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerFacts {
    /// Connected Server-Sent-Events clients.
    pub sse_clients: usize,
    /// Seconds since the HUD started.
    pub uptime_seconds: f64,
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

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(val));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", value(v));
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, v: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], v);
    }
}

/// Render the exposition for `st`.
pub fn render(st: &HudState, facts: ServerFacts) -> String {
    let mut o = Out(String::with_capacity(4096));
    let info = st.info();
    o.family(
        "trace_sentinel_hud_info",
        "gauge",
        "Static facts about this HUD run (always 1).",
    );
    o.sample(
        "trace_sentinel_hud_info",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("mode", &info.mode),
            ("detector", info.detector),
            ("semantic", if info.semantic { "true" } else { "false" }),
        ],
        1.0,
    );
    o.one(
        "trace_sentinel_events_total",
        "counter",
        "Events observed live (seeding excluded).",
        st.events() as f64,
    );
    o.family(
        "trace_sentinel_anomalies_total",
        "counter",
        "Anomalies surfaced, by severity.",
    );
    for (i, n) in st.by_severity().iter().enumerate() {
        o.sample(
            "trace_sentinel_anomalies_total",
            &[("severity", severity_name(i))],
            *n as f64,
        );
    }
    o.one(
        "trace_sentinel_lines_per_second",
        "gauge",
        "Events observed per second over the last 5 seconds.",
        st.lines_per_second(),
    );
    o.one(
        "trace_sentinel_lag_seconds",
        "gauge",
        "Read time minus event time of the newest event (0 without event timestamps).",
        st.lag_seconds(),
    );
    o.one(
        "trace_sentinel_seeded_events",
        "gauge",
        "Benign events the baselines were primed with.",
        st.seeded as f64,
    );
    o.one(
        "trace_sentinel_running",
        "gauge",
        "1 while the source is being read.",
        f64::from(u8::from(st.running)),
    );
    o.one(
        "trace_sentinel_source_error",
        "gauge",
        "1 when the source stopped with an error (see /api/state).",
        f64::from(u8::from(st.error.is_some())),
    );
    o.one(
        "trace_sentinel_peak_sigma",
        "gauge",
        "Largest |sigma| seen after any event.",
        st.peak_sigma(),
    );
    o.one(
        "trace_sentinel_threat",
        "gauge",
        "Threat index, 0-100.",
        st.threat(),
    );
    o.family(
        "trace_sentinel_metric_sigma",
        "gauge",
        "Live deviation (last score) of each metric.",
    );
    for (name, m) in st.meters() {
        o.sample("trace_sentinel_metric_sigma", &[("metric", name)], m.sigma);
    }
    o.family(
        "trace_sentinel_metric_ready",
        "gauge",
        "1 when the metric's baseline finished warming up.",
    );
    for (name, m) in st.meters() {
        let ready = f64::from(u8::from(m.ready));
        o.sample("trace_sentinel_metric_ready", &[("metric", name)], ready);
    }
    let c = st.counters;
    o.one(
        "trace_sentinel_overflow_events_total",
        "counter",
        "Events routed to the overflow shard (too many sources).",
        c.overflow_events as f64,
    );
    o.one(
        "trace_sentinel_metrics_dropped_total",
        "counter",
        "Metric values dropped at the per-shard metric cap.",
        c.metrics_dropped as f64,
    );
    o.one(
        "trace_sentinel_hud_sse_clients",
        "gauge",
        "Connected live-stream (Server-Sent Events) clients.",
        facts.sse_clients as f64,
    );
    o.one(
        "trace_sentinel_hud_uptime_seconds",
        "gauge",
        "Seconds since the HUD started.",
        facts.uptime_seconds,
    );
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RunInfo;

    #[test]
    fn exposition_is_well_formed() {
        let mut st = HudState::new(RunInfo {
            threshold: 3.0,
            warmup: 30,
            mode: "REPLAY · a\"b\\c\nd".into(),
            detector: "zscore",
            semantic: true,
        });
        st.set_meter("attr.we\"ird", f64::INFINITY, true);
        st.record_event(10.0, 0.5);
        let text = render(&st, ServerFacts::default());
        assert!(text.contains("trace_sentinel_events_total 1\n"));
        assert!(text.contains("trace_sentinel_anomalies_total{severity=\"critical\"} 0\n"));
        assert!(text.contains("mode=\"REPLAY · a\\\"b\\\\c\\nd\""));
        assert!(text.contains("trace_sentinel_metric_sigma{metric=\"attr.we\\\"ird\"} +Inf\n"));
        assert!(text.contains("trace_sentinel_lag_seconds 0.5\n"));
        for line in text.lines() {
            assert!(!line.is_empty());
            if !line.starts_with('#') {
                let v = line.rsplit(' ').next().unwrap();
                assert!(
                    v.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&v),
                    "{line}"
                );
            }
        }
    }
}
