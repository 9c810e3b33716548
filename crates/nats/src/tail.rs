//! Reading the anomaly stream back (`trace-sentinel tail-anomalies`): an ordered consumer
//! over `<anomalies>.>` from the start, each message as its JSON body with the headers
//! the text rendering needs, created again after the last anomaly read whenever it fails
//! or stalls. Without `follow` it ends at the last anomaly there was when it started.

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

/// How long the reader waits for a message before it asks the stream whether there are
/// anomalies after the last one read (a consumer whose server went away is then created
/// again).
const STALL_CHECK: Duration = Duration::from_secs(5);

/// Reads the anomaly stream.
pub struct AnomalyReader {
    nats: Nats,
    stream: String,
    prefix: String,
    messages: Option<pull::Ordered>,
    follow: bool,
    /// The last stream position read.
    after: u64,
    /// Without `follow`: the last anomaly's position when reading started.
    end: u64,
    done: bool,
    /// Time spent waiting since the last message or check.
    idle: Duration,
    what: String,
}

impl AnomalyReader {
    /// Read the anomalies under `prefix` in stream `stream` from the start; with
    /// `follow`, keep waiting for new ones.
    pub fn open(nats: &Nats, stream: &str, prefix: &str, follow: bool) -> Result<Self, NatsError> {
        let mut r = AnomalyReader {
            nats: nats.clone(),
            stream: stream.to_string(),
            prefix: prefix.to_string(),
            messages: None,
            follow,
            after: 0,
            end: 0,
            done: false,
            idle: Duration::ZERO,
            what: format!("reading stream {stream}"),
        };
        if !follow {
            r.end = r.last_position()?;
            r.done = r.end == 0;
        }
        if !r.done {
            r.start()?;
        }
        Ok(r)
    }

    /// The position of the last anomaly in the stream now (0: none).
    fn last_position(&self) -> Result<u64, NatsError> {
        use async_nats::jetstream::stream::LastRawMessageErrorKind as K;
        let subject = format!("{}.>", self.prefix);
        self.nats
            .block_on(async {
                let s = self
                    .nats
                    .js()
                    .get_stream(&self.stream)
                    .await
                    .map_err(|e| e.to_string())?;
                match s.get_last_raw_message_by_subject(&subject).await {
                    Ok(m) => Ok(m.sequence),
                    Err(e) if e.kind() == K::NoMessageFound => Ok(0),
                    Err(e) => Err(e.to_string()),
                }
            })
            .map_err(|e| NatsError::request(&self.what, e))
    }

    /// A consumer reading on after the last position read.
    fn start(&mut self) -> Result<(), NatsError> {
        let after = self.after;
        let filter = format!("{}.>", self.prefix);
        let messages = self
            .nats
            .block_on(async {
                let s = self
                    .nats
                    .js()
                    .get_stream(&self.stream)
                    .await
                    .map_err(|e| e.to_string())?;
                let c = s
                    .create_consumer(pull::OrderedConfig {
                        filter_subject: filter,
                        deliver_policy: if after == 0 {
                            DeliverPolicy::All
                        } else {
                            DeliverPolicy::ByStartSequence {
                                start_sequence: after + 1,
                            }
                        },
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                c.messages().await.map_err(|e| e.to_string())
            })
            .map_err(|e| NatsError::request(&self.what, e))?;
        self.messages = Some(messages);
        self.idle = Duration::ZERO;
        Ok(())
    }

    /// The next anomaly; `None` after `wait` without one, or at the end (then
    /// [`Self::finished`] says so). An error leaves the reader usable: the next call
    /// reads on from a new consumer after the last anomaly returned.
    pub fn next(&mut self, wait: Duration) -> Result<Option<AnomalyMessage>, NatsError> {
        if self.done {
            return Ok(None);
        }
        if self.messages.is_none() {
            self.start()?;
        }
        let Some(messages) = self.messages.as_mut() else {
            return Ok(None);
        };
        let got = self
            .nats
            .block_on(async { tokio::time::timeout(wait, messages.next()).await });
        let msg = match got {
            Err(_) => {
                self.idle += wait;
                if self.idle >= STALL_CHECK {
                    self.idle = Duration::ZERO;
                    if self.last_position()? > self.after {
                        self.messages = None;
                    }
                }
                return Ok(None);
            }
            Ok(None) => {
                self.messages = None;
                return Ok(None);
            }
            Ok(Some(Err(e))) => {
                self.messages = None;
                return Err(NatsError::request(&self.what, e));
            }
            Ok(Some(Ok(m))) => m,
        };
        self.idle = Duration::ZERO;
        let info = msg.info().map_err(|e| NatsError::request(&self.what, e))?;
        let seq = info.stream_sequence;
        if seq <= self.after {
            return Ok(None);
        }
        self.after = seq;
        if !self.follow && seq >= self.end {
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
