//! Reading the anomaly stream back (`trace-sentinel tail-anomalies`): an ordered consumer
//! over `<anomalies>.>` from the start, each message as its JSON body with the headers
//! the text rendering needs. Without `follow` it ends at the last anomaly there was when
//! it started.

use crate::{Nats, NatsError};
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures_util::StreamExt;
use std::time::Duration;
use trace_sentinel_bus::wire;

/// One published anomaly.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyMessage {
    /// Its position in the anomaly stream.
    pub seq: u64,
    /// The JSON object as `watch --format json` prints it.
    pub body: Vec<u8>,
    /// The source label (header).
    pub source: Option<String>,
    /// The threshold in force.
    pub threshold: Option<f64>,
    /// The unrounded value.
    pub value: Option<f64>,
    /// The unrounded score.
    pub score: Option<f64>,
    /// A semantic-novelty anomaly.
    pub semantic: bool,
    /// `(seen, out of)` for a score by rarity.
    pub rarity: Option<(u64, u64)>,
    /// The timestamp is the event's own.
    pub timed: bool,
}

/// Reads the anomaly stream.
pub struct AnomalyReader {
    nats: Nats,
    messages: Option<pull::Ordered>,
    follow: bool,
    done: bool,
    what: String,
}

impl AnomalyReader {
    /// Read the anomalies under `prefix` in stream `stream` from the start; with
    /// `follow`, keep waiting for new ones.
    pub fn open(nats: &Nats, stream: &str, prefix: &str, follow: bool) -> Result<Self, NatsError> {
        let what = format!("reading stream {stream}");
        let consumer = nats.block_on(async {
            let s = nats
                .js()
                .get_stream(stream)
                .await
                .map_err(|e| e.to_string())?;
            let c = s
                .create_consumer(pull::OrderedConfig {
                    filter_subject: format!("{prefix}.>"),
                    deliver_policy: DeliverPolicy::All,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            let pending = c.cached_info().num_pending;
            let m = c.messages().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((pending, m))
        });
        let (pending, messages) = consumer.map_err(|e| NatsError::request(&what, e))?;
        Ok(AnomalyReader {
            nats: nats.clone(),
            messages: Some(messages),
            follow,
            done: !follow && pending == 0,
            what,
        })
    }

    /// The next anomaly; `None` after `wait` without one, or at the end (then
    /// [`Self::finished`] says so).
    pub fn next(&mut self, wait: Duration) -> Result<Option<AnomalyMessage>, NatsError> {
        if self.done {
            return Ok(None);
        }
        let Some(messages) = self.messages.as_mut() else {
            return Ok(None);
        };
        let got = self
            .nats
            .block_on(async { tokio::time::timeout(wait, messages.next()).await });
        let msg = match got {
            Err(_) => return Ok(None),
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Ok(Some(Err(e))) => return Err(NatsError::request(&self.what, e)),
            Ok(Some(Ok(m))) => m,
        };
        let info = msg.info().map_err(|e| NatsError::request(&self.what, e))?;
        let (seq, pending) = (info.stream_sequence, info.pending);
        if !self.follow && pending == 0 {
            self.done = true;
        }
        let h = msg.headers.as_ref();
        let header = |name: &str| h.and_then(|h| h.get(name)).map(|v| v.as_str().to_string());
        let float = |name: &str| header(name).and_then(|v| v.parse::<f64>().ok());
        Ok(Some(AnomalyMessage {
            seq,
            body: msg.payload.to_vec(),
            source: header(wire::SOURCE).and_then(|v| wire::unescape(&v).map(|s| s.into_owned())),
            threshold: float(wire::THRESHOLD),
            value: float(wire::VALUE),
            score: float(wire::SCORE),
            semantic: header(wire::SEMANTIC).as_deref() == Some("1"),
            rarity: header(wire::RARITY).and_then(|v| wire::parse_pair(&v)),
            timed: header(wire::TIMED).as_deref() == Some("1"),
        }))
    }

    /// Whether the end was reached (never with `follow`).
    pub fn finished(&self) -> bool {
        self.done
    }
}
