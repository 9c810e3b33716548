//! A run's statistics, for `--stats-json` and `--metrics-addr`: one [`RunStats`] model
//! built in one place ([`Telemetry::snapshot`]), written as JSON by the drivers and
//! published to the Prometheus endpoint, which renders it per scrape with the delivery
//! counts read live. No detection logic lives here.

use crate::cli::MetricsArgs;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use trace_sentinel_core::detect::{ShardSet, OVERFLOW_SHARD};
use trace_sentinel_core::sink::Sink;
use trace_sentinel_core::stats::{DeliveryProbe, DeliveryStats, RunStats, StatsSink};
use trace_sentinel_core::{Anomaly, Error};
use trace_sentinel_metrics::{Exposition, MetricsServer};

/// Shortest gap between two publications to the metrics endpoint.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts anomalies into the run's statistics (a sink next to the output).
#[derive(Clone, Default)]
pub struct AnomalyCounter(Arc<Mutex<StatsSink>>);

impl Sink for AnomalyCounter {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        lock(&self.0).emit(a)
    }
}

/// The statistics of one run and, with `--metrics-addr`, their endpoint.
pub struct Telemetry {
    anomalies: AnomalyCounter,
    deliveries: Vec<DeliveryProbe>,
    published: Arc<Mutex<RunStats>>,
    server: Option<MetricsServer>,
    last: Option<Instant>,
}

impl Telemetry {
    /// Start the endpoint `--metrics-addr` asks for, if any (saying where on stderr),
    /// over the counts of `deliveries`.
    pub fn start(args: &MetricsArgs, deliveries: Vec<DeliveryProbe>) -> Result<Self, Error> {
        let published = Arc::new(Mutex::new(RunStats::default()));
        let server = match &args.metrics_addr {
            None => None,
            Some(spec) => {
                let config = |e: trace_sentinel_metrics::MetricsError| Error::Config {
                    flag: "--metrics-addr",
                    reason: e.to_string(),
                };
                let addr = trace_sentinel_metrics::parse_addr(spec).map_err(config)?;
                let render = {
                    let published = Arc::clone(&published);
                    let probes = deliveries.clone();
                    Arc::new(move || {
                        let mut stats = lock(&published);
                        stats.deliveries = probes.iter().map(|p| p()).collect();
                        let mut out = Exposition::new();
                        trace_sentinel_metrics::run::render_run(&stats, &mut out);
                        out.finish()
                    })
                };
                let server = MetricsServer::start(addr, render).map_err(config)?;
                say!("trace-sentinel: metrics on {}", server.url());
                Some(server)
            }
        };
        Ok(Telemetry {
            anomalies: AnomalyCounter::default(),
            deliveries,
            published,
            server,
            last: None,
        })
    }

    /// The sink that counts anomalies for these statistics.
    pub fn counter(&self) -> AnomalyCounter {
        self.anomalies.clone()
    }

    /// Whether a publication to the endpoint is due (never without one).
    pub fn due(&mut self) -> bool {
        self.server.is_some() && self.last.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY)
    }

    /// Hand `stats` to the endpoint (a no-op without one).
    pub fn publish(&mut self, stats: RunStats) {
        if self.server.is_some() {
            *lock(&self.published) = stats;
            self.last = Some(Instant::now());
        }
    }

    /// The statistics now: the detect stage's counts, `bytes` read, the anomalies
    /// counted, the lines longer than `--max-line-bytes` (`oversized`), the deliveries'
    /// counts; stages, files and checkpoints are the caller's.
    pub fn snapshot(
        &self,
        shards: &ShardSet,
        bytes: u64,
        elapsed: Duration,
        threads: usize,
        oversized: u64,
    ) -> RunStats {
        let c = shards.counters();
        let mut stats = RunStats {
            events: c.events,
            bytes,
            anomalies: lock(&self.anomalies.0).clone(),
            elapsed,
            threads,
            sources: shards
                .shards()
                .filter(|(name, _)| *name != OVERFLOW_SHARD)
                .count() as u64,
            deliveries: self.deliveries(),
            ..Default::default()
        };
        stats.set_engine_counters(c);
        stats.counters.insert("oversized_lines", oversized);
        stats.templates = shards.template_summary(super::persist::TOP_TEMPLATES);
        stats
    }

    /// The delivery endpoints' counts now.
    pub fn deliveries(&self) -> Vec<DeliveryStats> {
        self.deliveries.iter().map(|p| p()).collect()
    }

    /// Whether any delivery endpoint is configured.
    pub fn has_deliveries(&self) -> bool {
        !self.deliveries.is_empty()
    }
}
