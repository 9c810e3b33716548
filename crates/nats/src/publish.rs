//! Acknowledged, deduplicated, pipelined publishing to JetStream: lines
//! ([`NatsLineSink`]) and anomalies ([`NatsAnomalySink`]).
//!
//! Messages are staged and sent in batches on the connection (which keeps their order),
//! up to [`MAX_IN_FLIGHT`] awaiting their acknowledgement. Each carries `Nats-Msg-Id`, so
//! the stream drops one it already holds (within its duplicate window) and acknowledges
//! it as a duplicate. When an acknowledgement fails (timeout, no stream leader), nothing
//! new is sent: every message in flight is awaited (all at once), then the failed ones
//! are published again in their order — the oldest alone, with backoff for up to
//! [`RETRY_FOR`], until the stream takes it, then the others pipelined. A failed
//! message whose successor in the same partition was stored is counted as `reordered`
//! (see `docs/scale-out.md`).

use crate::{Nats, NatsError};
use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::HeaderMap;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use trace_sentinel_bus::layout::Layout;
use trace_sentinel_bus::transport::{
    AckCounts, AnomalySink, LineSink, OutAnomaly, OutLine, ShipCounts,
};
use trace_sentinel_bus::{wire, Result};

/// Most messages awaiting their acknowledgement.
pub const MAX_IN_FLIGHT: usize = 2048;
/// Messages staged before they are sent as one batch.
const STAGE: usize = 256;
/// How long failed publications are retried before the run gives up.
pub const RETRY_FOR: Duration = Duration::from_secs(60);

struct Pending {
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
    /// Messages of one key (a partition, a source) must be stored in order.
    key: u32,
    ack: Option<PublishAckFuture>,
}

/// The shared publishing machinery.
struct Pipeline {
    nats: Nats,
    staged: Vec<Pending>,
    window: VecDeque<Pending>,
    counts: ShipCounts,
    /// What a message is, for errors (`line`, `anomaly`).
    what: &'static str,
}

enum Outcome {
    Stored,
    Duplicate,
    Failed(String),
}

impl Pipeline {
    fn new(nats: Nats, what: &'static str) -> Self {
        Pipeline {
            nats,
            staged: Vec::with_capacity(STAGE),
            window: VecDeque::with_capacity(MAX_IN_FLIGHT),
            counts: ShipCounts::default(),
            what,
        }
    }

    fn push(
        &mut self,
        subject: String,
        headers: HeaderMap,
        payload: Bytes,
        key: u32,
    ) -> Result<()> {
        self.staged.push(Pending {
            subject,
            headers,
            payload,
            key,
            ack: None,
        });
        if self.staged.len() >= STAGE {
            self.send_staged()?;
        }
        Ok(())
    }

    /// Send the staged messages in one go (a send that fails is retried when settled).
    fn send_staged(&mut self) -> Result<()> {
        if self.staged.is_empty() {
            return Ok(());
        }
        if self.window.len() + self.staged.len() > MAX_IN_FLIGHT {
            let n = self.window.len() + self.staged.len() - MAX_IN_FLIGHT;
            self.settle(n)?;
        }
        let js = self.nats.js().clone();
        let mut staged = std::mem::take(&mut self.staged);
        self.nats.block_on(async {
            for p in &mut staged {
                p.ack = js
                    .publish_with_headers(p.subject.clone(), p.headers.clone(), p.payload.clone())
                    .await
                    .ok();
            }
        });
        self.window.extend(staged.drain(..));
        self.staged = staged;
        Ok(())
    }

    /// Settle the oldest `n` messages in flight (all of them when one failed).
    fn settle(&mut self, n: usize) -> Result<()> {
        let n = n.min(self.window.len());
        let outcomes = self.await_acks(n);
        if outcomes.iter().all(|o| !matches!(o, Outcome::Failed(_))) {
            for o in outcomes {
                self.count(&o);
                self.window.pop_front();
            }
            return Ok(());
        }
        // Something failed: resolve everything in flight before sending anything again.
        let rest = self.window.len() - n;
        let mut all = outcomes;
        self.window.rotate_left(n);
        all.extend(self.await_acks(rest));
        self.window.rotate_right(n);
        let window: Vec<Pending> = self.window.drain(..).collect();
        let mut failed = Vec::new();
        // Per key, the position of the last message that was stored.
        let mut last_stored: std::collections::HashMap<u32, usize> = Default::default();
        for (i, (p, o)) in window.into_iter().zip(all).enumerate() {
            match o {
                Outcome::Failed(reason) => failed.push((i, p, reason)),
                ok => {
                    self.count(&ok);
                    last_stored.insert(p.key, i);
                }
            }
        }
        for (i, p, _) in &failed {
            if last_stored.get(&p.key).is_some_and(|j| j > i) {
                self.counts.reordered += 1;
            }
        }
        self.resend(failed.into_iter().map(|(_, p, r)| (p, r)).collect())
    }

    /// Publish failed messages again, in their order, before anything newer: the oldest
    /// alone until it is stored (the stream is back), then the others as one pipelined
    /// window; those that fail again go round once more.
    fn resend(&mut self, mut batch: Vec<(Pending, String)>) -> Result<()> {
        while !batch.is_empty() {
            let mut rest = batch.into_iter();
            if let Some((first, reason)) = rest.next() {
                self.retry(first, reason)?;
            }
            let mut rest: Vec<Pending> = rest.map(|(p, _)| p).collect();
            if rest.is_empty() {
                break;
            }
            self.counts.retried += rest.len() as u64;
            let js = self.nats.js().clone();
            self.nats.block_on(async {
                for p in &mut rest {
                    p.ack = js
                        .publish_with_headers(
                            p.subject.clone(),
                            p.headers.clone(),
                            p.payload.clone(),
                        )
                        .await
                        .ok();
                }
            });
            let n = rest.len();
            let saved = std::mem::replace(&mut self.window, rest.into_iter().collect());
            let outcomes = self.await_acks(n);
            let rest: Vec<Pending> = std::mem::replace(&mut self.window, saved).into();
            let mut last_stored: std::collections::HashMap<u32, usize> = Default::default();
            let mut again = Vec::new();
            for (i, (p, o)) in rest.into_iter().zip(outcomes).enumerate() {
                match o {
                    Outcome::Failed(reason) => again.push((i, p, reason)),
                    ok => {
                        self.count(&ok);
                        last_stored.insert(p.key, i);
                    }
                }
            }
            for (i, p, _) in &again {
                if last_stored.get(&p.key).is_some_and(|j| j > i) {
                    self.counts.reordered += 1;
                }
            }
            batch = again.into_iter().map(|(_, p, r)| (p, r)).collect();
        }
        Ok(())
    }

    fn await_acks(&mut self, n: usize) -> Vec<Outcome> {
        let acks: Vec<Option<PublishAckFuture>> = self
            .window
            .iter_mut()
            .take(n)
            .map(|p| p.ack.take())
            .collect();
        // All at once: each acknowledgement's timeout starts when it is awaited, so
        // awaiting them one after another would wait that long for every lost one (a
        // node going away loses the whole window's).
        self.nats
            .block_on(futures_util::future::join_all(acks.into_iter().map(
                |ack| async move {
                    match ack {
                        None => Outcome::Failed("not sent".into()),
                        Some(f) => match f.await {
                            Ok(a) if a.duplicate => Outcome::Duplicate,
                            Ok(_) => Outcome::Stored,
                            Err(e) => Outcome::Failed(crate::error::one_line(&e.to_string())),
                        },
                    }
                },
            )))
    }

    fn count(&mut self, o: &Outcome) {
        match o {
            Outcome::Stored => self.counts.stored += 1,
            Outcome::Duplicate => self.counts.duplicates += 1,
            Outcome::Failed(_) => {}
        }
    }

    /// Publish `p` again, alone, until it is stored or [`RETRY_FOR`] has passed: at once,
    /// then after pauses that double from 100 ms up to 2 s while it keeps failing.
    fn retry(&mut self, p: Pending, mut reason: String) -> Result<()> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(100);
        let mut first = true;
        loop {
            if start.elapsed() > RETRY_FOR {
                return Err(NatsError::request(
                    format!("publishing a {} on subject {}", self.what, p.subject),
                    format!("{reason} (retried for {} s)", RETRY_FOR.as_secs()),
                )
                .into());
            }
            if !first {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            first = false;
            self.counts.retried += 1;
            let js = self.nats.js().clone();
            let got = self.nats.block_on(async {
                js.publish_with_headers(p.subject.clone(), p.headers.clone(), p.payload.clone())
                    .await?
                    .await
            });
            match got {
                Ok(a) => {
                    self.count(&if a.duplicate {
                        Outcome::Duplicate
                    } else {
                        Outcome::Stored
                    });
                    return Ok(());
                }
                Err(e) => reason = crate::error::one_line(&e.to_string()),
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.send_staged()?;
        let n = self.window.len();
        self.settle(n)
    }
}

/// Publishes shipped lines on `<subject>.<partition>.<token>`.
pub struct NatsLineSink {
    pipeline: Pipeline,
    layout: Layout,
}

impl NatsLineSink {
    /// A sink publishing by `layout` over `nats`.
    pub fn new(nats: Nats, layout: Layout) -> Self {
        NatsLineSink {
            pipeline: Pipeline::new(nats, "line"),
            layout,
        }
    }
}

impl LineSink for NatsLineSink {
    fn send(&mut self, l: &OutLine<'_>) -> Result<()> {
        let mut h = HeaderMap::new();
        h.insert(NATS_MESSAGE_ID, l.msg_id);
        h.insert(wire::SOURCE, wire::escape(l.source).as_ref());
        if let Some(n) = l.line {
            h.insert(wire::LINE, n.to_string());
        }
        h.insert(wire::FORMAT, if l.jsonl { "jsonl" } else { "text" });
        if let Some((chars, words)) = l.long {
            h.insert(wire::LONG, wire::long_value(chars, words));
        }
        let subject = self.layout.line_subject(l.partition, l.token);
        self.pipeline
            .push(subject, h, Bytes::copy_from_slice(l.payload), l.partition)
    }

    fn push(&mut self) -> Result<()> {
        self.pipeline.send_staged()
    }

    fn flush(&mut self) -> Result<()> {
        self.pipeline.flush()
    }

    fn counts(&self) -> ShipCounts {
        self.pipeline.counts
    }
}

/// Publishes anomalies on `<prefix>.<token>`.
pub struct NatsAnomalySink {
    pipeline: Pipeline,
    prefix: String,
    reported: ShipCounts,
}

impl NatsAnomalySink {
    /// A sink publishing under the subject prefix `prefix` over `nats`.
    pub fn new(nats: Nats, prefix: &str) -> Self {
        NatsAnomalySink {
            pipeline: Pipeline::new(nats, "anomaly"),
            prefix: prefix.to_string(),
            reported: ShipCounts::default(),
        }
    }
}

impl AnomalySink for NatsAnomalySink {
    fn send(&mut self, a: &OutAnomaly<'_>) -> Result<()> {
        let mut h = HeaderMap::new();
        h.insert(NATS_MESSAGE_ID, a.msg_id);
        h.insert(wire::SOURCE, wire::escape(a.source).as_ref());
        h.insert(wire::LOG_SEQ, a.log_seq.to_string());
        h.insert(wire::THRESHOLD, a.threshold.to_string());
        h.insert(wire::VALUE, a.value.to_string());
        h.insert(wire::SCORE, a.score.to_string());
        if a.semantic {
            h.insert(wire::SEMANTIC, "1");
        }
        if let Some((seen, out_of)) = a.rarity {
            h.insert(wire::RARITY, wire::long_value(seen, out_of));
        }
        if a.timed {
            h.insert(wire::TIMED, "1");
        }
        let subject = format!("{}.{}", self.prefix, a.token);
        let key = trace_sentinel_bus::partition::fnv1a32(a.token.as_bytes());
        self.pipeline
            .push(subject, h, Bytes::copy_from_slice(a.body), key)
    }

    fn push(&mut self) -> Result<()> {
        self.pipeline.send_staged()
    }

    fn flush(&mut self) -> Result<AckCounts> {
        let done = self.pipeline.flush();
        let c = self.pipeline.counts;
        let out = AckCounts {
            stored: c.stored - self.reported.stored,
            duplicates: c.duplicates - self.reported.duplicates,
        };
        self.reported = c;
        done.map(|_| out)
    }
}
