//! `/metrics`: the HUD's Prometheus exposition. The engine and delivery families come
//! from `trace-sentinel-metrics` (the same names and renderer as `--metrics-addr`); the
//! dashboard's own gauges (threat, sigma meters, rates, stream clients) follow.

use crate::state::HudState;
use trace_sentinel_core::stats::{DeliveryStats, RunStats};
use trace_sentinel_metrics::exposition::{Exposition, Kind};
use trace_sentinel_metrics::run::{render_deliveries, render_engine};

/// Extra facts only the server knows.
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    /// Connected Server-Sent-Events clients.
    pub sse_clients: usize,
    /// Seconds since the HUD started.
    pub uptime_seconds: f64,
    /// The delivery endpoints' counts (`--webhook`, `--alertmanager`).
    pub deliveries: Vec<DeliveryStats>,
}

/// The engine's part of the state as run statistics (live events: seeding excluded).
fn run_stats(st: &HudState, facts: &ServerFacts) -> RunStats {
    let mut stats = RunStats {
        events: st.events(),
        anomalies: st.anomaly_counts().clone(),
        sources: st.sources,
        deliveries: facts.deliveries.clone(),
        ..Default::default()
    };
    stats.set_engine_counters(&st.counters);
    stats
}

/// Render the exposition for `st`.
pub fn render(st: &HudState, facts: ServerFacts) -> String {
    let mut o = Exposition::new();
    let stats = run_stats(st, &facts);
    render_engine(&stats, &mut o);
    render_deliveries(&stats, &mut o);
    let info = st.info();
    o.family(
        "trace_sentinel_hud_info",
        Kind::Gauge,
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
        "trace_sentinel_lines_per_second",
        Kind::Gauge,
        "Events observed per second over the last 5 seconds.",
        st.lines_per_second(),
    );
    o.one(
        "trace_sentinel_lag_seconds",
        Kind::Gauge,
        "Read time minus event time of the newest event (0 without event timestamps).",
        st.lag_seconds(),
    );
    o.one(
        "trace_sentinel_seeded_events",
        Kind::Gauge,
        "Benign events the baselines were primed with.",
        st.seeded as f64,
    );
    o.one(
        "trace_sentinel_running",
        Kind::Gauge,
        "1 while the source is being read.",
        f64::from(u8::from(st.running)),
    );
    o.one(
        "trace_sentinel_source_error",
        Kind::Gauge,
        "1 when the source stopped with an error (see /api/state).",
        f64::from(u8::from(st.error.is_some())),
    );
    o.one(
        "trace_sentinel_peak_sigma",
        Kind::Gauge,
        "Largest |sigma| seen after any event.",
        st.peak_sigma(),
    );
    o.one(
        "trace_sentinel_threat",
        Kind::Gauge,
        "Threat index, 0-100.",
        st.threat(),
    );
    o.family(
        "trace_sentinel_metric_sigma",
        Kind::Gauge,
        "Live deviation (last score) of each metric.",
    );
    for (name, m) in st.meters() {
        o.sample("trace_sentinel_metric_sigma", &[("metric", name)], m.sigma);
    }
    o.family(
        "trace_sentinel_metric_ready",
        Kind::Gauge,
        "1 when the metric's baseline finished warming up.",
    );
    for (name, m) in st.meters() {
        let ready = f64::from(u8::from(m.ready));
        o.sample("trace_sentinel_metric_ready", &[("metric", name)], ready);
    }
    o.one(
        "trace_sentinel_hud_sse_clients",
        Kind::Gauge,
        "Connected live-stream (Server-Sent Events) clients.",
        facts.sse_clients as f64,
    );
    o.one(
        "trace_sentinel_hud_uptime_seconds",
        Kind::Gauge,
        "Seconds since the HUD started.",
        facts.uptime_seconds,
    );
    o.finish()
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
        assert!(text.contains("# TYPE trace_sentinel_anomalies_total counter\n"));
        assert!(text.contains("mode=\"REPLAY · a\\\"b\\\\c\\nd\""));
        assert!(text.contains("trace_sentinel_metric_sigma{metric=\"attr.we\\\"ird\"} +Inf\n"));
        assert!(text.contains("trace_sentinel_lag_seconds 0.5\n"));
        assert!(text.contains("trace_sentinel_overflow_events_total 0\n"));
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
