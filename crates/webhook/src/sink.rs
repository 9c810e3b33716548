//! [`DeliverySink`]: the [`Sink`] side of delivery. Each anomaly is rendered once, on the
//! detecting thread, by the sink's [`Render`] (the webhook's JSON object, an
//! Alertmanager alert), and the rendering is queued at every endpoint (one for a
//! webhook, each member of an Alertmanager HA pair). Holding back until a flush, the
//! bounded final drain and the loss report are the same for every kind of sink.

use crate::delivery::{DeliveryOptions, Endpoint, Notice};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trace_sentinel_core::stats::{DeliveryCounts, DeliveryProbe, DeliveryStats};
use trace_sentinel_core::{Anomaly, Error, Sink};

/// Turns an anomaly into the JSON object one delivery sink sends.
pub trait Render: Send {
    /// Append the object for `a` (no trailing newline) to `out`.
    fn render(&mut self, a: &Anomaly<'_>, out: &mut String);
}

/// What [`DeliverySink::on_loss`] calls for each endpoint that dropped or failed to
/// deliver anomalies.
pub type LossReport = Box<dyn FnMut(&DeliveryStats) + Send>;

/// A [`Sink`] that delivers each anomaly, rendered by `R`, to one or more HTTP
/// endpoints in batches, with retries (see the crate docs). Detection never waits on
/// the network.
pub struct DeliverySink<R: Render> {
    render: R,
    endpoints: Vec<Endpoint>,
    flush_timeout: Duration,
    /// Called once per endpoint at the end when it dropped or failed anomalies.
    on_loss: Option<LossReport>,
    /// Rendered anomalies waiting for `flush` (with `hold_until_flush`).
    held: Option<Vec<Arc<str>>>,
    finished: bool,
    scratch: String,
}

impl<R: Render> std::fmt::Debug for DeliverySink<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliverySink")
            .field("endpoints", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<R: Render> DeliverySink<R> {
    /// Start one endpoint per URL (errors name `flag`).
    pub(crate) fn start(
        render: R,
        sink: &'static str,
        flag: &'static str,
        urls: &[String],
        headers: &[(String, String)],
        opts: &DeliveryOptions,
    ) -> Result<Self, Error> {
        let endpoints = urls
            .iter()
            .map(|url| Endpoint::start(sink, flag, url, headers, opts))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DeliverySink {
            render,
            endpoints,
            flush_timeout: opts.flush_timeout,
            on_loss: None,
            held: opts.hold_until_flush.then(Vec::new),
            finished: false,
            scratch: String::new(),
        })
    }

    /// Call `report` with an endpoint's final counts when the sink finishes (or is
    /// dropped) having dropped or failed to deliver anomalies there — the CLI prints a
    /// one-line summary; a library user may read [`DeliverySink::stats`] instead. The
    /// sink never prints.
    pub fn on_loss(mut self, report: impl FnMut(&DeliveryStats) + Send + 'static) -> Self {
        self.on_loss = Some(Box::new(report));
        self
    }

    /// Hand notices while running — a request failed (naming the cause), the queue is
    /// full, delivery works again — to `notice`, one line each, from the delivery
    /// threads; failure and drop notices at most once per
    /// [`DeliveryOptions::warn_interval`] each.
    pub fn on_warning(self, notice: impl Fn(&str) + Send + Sync + 'static) -> Self {
        let notice: Notice = Arc::new(notice);
        for e in &self.endpoints {
            e.set_notice(Arc::clone(&notice));
        }
        self
    }

    /// Queue one already-rendered JSON object (no trailing newline) at every endpoint.
    /// Never blocks; returns whether every endpoint queued it (false: dropped and
    /// counted where it did not fit).
    pub fn push_json(&mut self, json: String) -> bool {
        let json: Arc<str> = json.into();
        self.push_shared(json)
    }

    fn push_shared(&self, json: Arc<str>) -> bool {
        let mut all = true;
        for e in &self.endpoints {
            all &= e.push(Arc::clone(&json));
        }
        all
    }

    /// Queue everything held back by `hold_until_flush`.
    fn release(&mut self) {
        let Some(held) = self.held.as_mut() else {
            return;
        };
        for json in std::mem::take(held) {
            self.push_shared(json);
        }
    }

    /// Counts so far, summed over the endpoints (the workers may still be delivering);
    /// the failure reason is that of the last endpoint that had one.
    pub fn counts(&self) -> DeliveryCounts {
        let mut sum = DeliveryCounts::default();
        for e in &self.endpoints {
            let c = e.counts();
            sum.queued += c.queued;
            sum.delivered += c.delivered;
            sum.dropped += c.dropped;
            sum.failed += c.failed;
            sum.requests += c.requests;
            sum.retries += c.retries;
            sum.last_failure = c.last_failure.or(sum.last_failure);
        }
        sum
    }

    /// Counts so far, per endpoint.
    pub fn stats(&self) -> Vec<DeliveryStats> {
        self.endpoints.iter().map(Endpoint::stats).collect()
    }

    /// Handles that read each endpoint's live counts from any thread, also after the
    /// sink has finished (for `--stats-json` and the Prometheus endpoints).
    pub fn probes(&self) -> Vec<DeliveryProbe> {
        self.endpoints.iter().map(Endpoint::probe).collect()
    }

    /// Close the queues, deliver what is left (waiting at most the flush timeout for
    /// all endpoints together) and return the final counts, summed. Anything still
    /// undelivered after the wait counts as failed. Also runs on drop.
    pub fn finish(mut self) -> DeliveryCounts {
        self.shutdown();
        self.counts()
    }

    fn shutdown(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        // Whatever was held back goes out with the final flush.
        self.release();
        for e in &mut self.endpoints {
            e.close();
        }
        let deadline = Instant::now() + self.flush_timeout;
        for e in &mut self.endpoints {
            let stats = e.wait(deadline);
            if stats.counts.lost() {
                if let Some(report) = self.on_loss.as_mut() {
                    report(&stats);
                }
            }
        }
    }
}

impl<R: Render> Sink for DeliverySink<R> {
    fn emit(&mut self, anomaly: &Anomaly<'_>) -> io::Result<()> {
        self.scratch.clear();
        self.render.render(anomaly, &mut self.scratch);
        let json: Arc<str> = self.scratch.as_str().into();
        match &mut self.held {
            Some(held) => held.push(json),
            None => {
                self.push_shared(json);
            }
        }
        Ok(())
    }

    /// Queue the anomalies held back (with `hold_until_flush`); never blocks.
    fn flush(&mut self) -> io::Result<()> {
        self.release();
        Ok(())
    }
}

impl<R: Render> Drop for DeliverySink<R> {
    fn drop(&mut self) {
        self.shutdown();
    }
}
