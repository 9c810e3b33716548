//! Reading owned partitions: one ordered consumer per partition (an ephemeral consumer
//! filtered on `<subject>.<partition>.*`, recreated by the client at the right sequence
//! whenever it sees a gap), each on a task of the client's runtime, all feeding one
//! bounded channel that [`NatsPartitionFeed::recv`] drains. A partition's lines arrive in
//! stream order; closing a partition (or opening it again) discards what its earlier
//! reader had queued.

use crate::{Nats, NatsError};
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;
use trace_sentinel_bus::layout::Layout;
use trace_sentinel_bus::transport::{InLine, PartitionFeed};
use trace_sentinel_bus::{token, wire, Result};

/// Lines queued between the readers and the worker.
const QUEUE: usize = 4096;
/// How long a partition's reader waits for a message before it asks the stream whether
/// the partition has lines after the last one read: an ordered consumer whose server
/// went away does not always notice, and is then created again.
const STALL_CHECK: Duration = Duration::from_secs(5);

enum Item {
    Line(u64, InLine),
    /// A reader's failure: its generation, and the reason.
    Error(u64, String),
}

/// The lines of the partitions a worker owns.
pub struct NatsPartitionFeed {
    nats: Nats,
    stream: String,
    layout: Layout,
    tx: mpsc::Sender<Item>,
    rx: mpsc::Receiver<Item>,
    /// Per open partition: the generation of its reader, and the reader.
    open: BTreeMap<u32, (u64, tokio::task::JoinHandle<()>)>,
    generation: u64,
}

impl NatsPartitionFeed {
    /// A feed over the log stream `stream` laid out by `layout`.
    pub fn new(nats: &Nats, stream: &str, layout: Layout) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        NatsPartitionFeed {
            nats: nats.clone(),
            stream: stream.to_string(),
            layout,
            tx,
            rx,
            open: BTreeMap::new(),
            generation: 0,
        }
    }
}

/// A stored message as a line of `partition`.
fn to_line(
    partition: u32,
    seq: u64,
    subject: &str,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> InLine {
    let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
    let source = header(wire::SOURCE)
        .and_then(|v| wire::unescape(v).map(|s| s.into_owned()))
        .or_else(|| subject.rsplit('.').next().and_then(token::decode))
        .unwrap_or_else(|| subject.rsplit('.').next().unwrap_or("").to_string());
    InLine {
        partition,
        seq,
        source,
        line: header(wire::LINE).and_then(|v| v.parse().ok()),
        payload: payload.to_vec(),
        long: header(wire::LONG).and_then(wire::parse_pair),
        jsonl: header(wire::FORMAT).map(|v| v == "jsonl"),
    }
}

/// Read `partition` after `after` forever, into `tx`.
async fn read_partition(
    js: async_nats::jetstream::Context,
    stream: String,
    filter: String,
    partition: u32,
    mut after: u64,
    generation: u64,
    tx: mpsc::Sender<Item>,
) {
    loop {
        let consumer = async {
            let s = js.get_stream(&stream).await.map_err(|e| e.to_string())?;
            let c = s
                .create_consumer(pull::OrderedConfig {
                    filter_subject: filter.clone(),
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
            let m = c.messages().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((s, m))
        }
        .await;
        let (stream_handle, mut messages) = match consumer {
            Ok(m) => m,
            Err(e) => {
                let msg = crate::error::one_line(&e);
                if tx.send(Item::Error(generation, msg)).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            let m = match tokio::time::timeout(STALL_CHECK, messages.next()).await {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(_) => {
                    use async_nats::jetstream::stream::LastRawMessageErrorKind as K;
                    match stream_handle.get_last_raw_message_by_subject(&filter).await {
                        Ok(last) if last.sequence <= after => continue,
                        Err(e) if e.kind() == K::NoMessageFound => continue,
                        // Lines the consumer has not delivered, or no answer: read
                        // again from a new consumer.
                        _ => break,
                    }
                }
            };
            match m {
                Ok(msg) => {
                    let Ok(info) = msg.info() else { continue };
                    let seq = info.stream_sequence;
                    if seq <= after {
                        continue;
                    }
                    let line = to_line(
                        partition,
                        seq,
                        msg.subject.as_str(),
                        msg.headers.as_ref(),
                        &msg.payload,
                    );
                    after = seq;
                    if tx.send(Item::Line(generation, line)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let msg = crate::error::one_line(&e.to_string());
                    if tx.send(Item::Error(generation, msg)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl PartitionFeed for NatsPartitionFeed {
    fn open(&mut self, partition: u32, after_seq: u64) -> Result<()> {
        self.close(partition);
        self.generation += 1;
        let task = self.nats.handle().spawn(read_partition(
            self.nats.js().clone(),
            self.stream.clone(),
            self.layout.partition_filter(partition),
            partition,
            after_seq,
            self.generation,
            self.tx.clone(),
        ));
        self.open.insert(partition, (self.generation, task));
        Ok(())
    }

    fn close(&mut self, partition: u32) {
        if let Some((_, task)) = self.open.remove(&partition) {
            task.abort();
        }
    }

    fn recv(&mut self, max: usize, wait: Duration, out: &mut Vec<InLine>) -> Result<()> {
        let mut first_error: Option<String> = None;
        let open = &self.open;
        let rx = &mut self.rx;
        let current = |g: u64, p: u32| open.get(&p).is_some_and(|(gen, _)| *gen == g);
        let is_current_error = |g: u64| open.values().any(|(gen, _)| *gen == g);
        self.nats.block_on(async {
            let mut taken = 0;
            let first = match tokio::time::timeout(wait, rx.recv()).await {
                Ok(Some(item)) => item,
                _ => return,
            };
            let mut item = Some(first);
            while let Some(it) = item.take() {
                match it {
                    Item::Line(g, line) if current(g, line.partition) => {
                        out.push(line);
                        taken += 1;
                    }
                    Item::Error(g, msg) if is_current_error(g) => {
                        first_error.get_or_insert(msg);
                    }
                    _ => {}
                }
                if taken >= max {
                    break;
                }
                item = rx.try_recv().ok();
            }
        });
        match first_error {
            Some(reason) => Err(NatsError::request(
                format!("reading a partition of stream {}", self.stream),
                reason,
            )
            .into()),
            None => Ok(()),
        }
    }
}
