//! Partition leases in a key-value bucket whose entries expire after the lease TTL
//! (`ts-<stream>-leases`, bucket `max_age` = TTL): key `p<N>` holds partition N's lease,
//! key `w.<id>` says worker `<id>` is alive. A lease is claimed by creating its key (the
//! server refuses a second creator), renewed by rewriting it at the revision this worker
//! holds (refused once anyone else wrote it), released by deleting it at that revision,
//! and taken over once its key has expired because its holder stopped renewing it.
//! Each worker aims at a fair share — the partitions divided by the live workers,
//! rounded up — claiming free partitions below it and handing surplus ones back.

use crate::streams::{kv_bucket, lease_bucket};
use crate::{Nats, NatsError};
use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use trace_sentinel_bus::partition::fnv1a32;
use trace_sentinel_bus::transport::{Coordinator, LeaseEvent};
use trace_sentinel_bus::Result;

/// A lease this worker holds.
#[derive(Debug, Clone, Copy)]
struct Held {
    revision: u64,
    /// When the request of the last successful write left: the server's expiry is at
    /// least TTL after it.
    renewed: Instant,
}

/// Leases of one worker over one log stream.
pub struct NatsCoordinator {
    nats: Nats,
    store: kv::Store,
    bucket: String,
    id: String,
    value: Bytes,
    partitions: u32,
    ttl: Duration,
    held: BTreeMap<u32, Held>,
    surrendering: Vec<u32>,
    /// Live workers when last counted.
    live: usize,
}

fn lease_key(p: u32) -> String {
    format!("p{p}")
}

impl NatsCoordinator {
    /// Join the group of workers of `stream` as `id` (unique per worker process), with
    /// leases that expire `ttl` after their last renewal. The bucket is created with
    /// that TTL when missing; an existing bucket's TTL wins (it is what the server
    /// enforces), so every worker of a stream should be given the same `--lease-ttl`.
    pub fn join(
        nats: &Nats,
        stream: &str,
        partitions: u32,
        id: &str,
        ttl: Duration,
        replicas: usize,
    ) -> Result<NatsCoordinator, NatsError> {
        let bucket = lease_bucket(stream);
        let store = kv_bucket(
            nats,
            kv::Config {
                bucket: bucket.clone(),
                description: format!("trace-sentinel: partition leases of stream {stream}"),
                history: 1,
                max_age: ttl,
                storage: async_nats::jetstream::stream::StorageType::File,
                num_replicas: replicas.max(1),
                ..Default::default()
            },
        )?;
        let ttl = match nats.block_on(store.status()) {
            Ok(s) if s.max_age() > Duration::ZERO => s.max_age(),
            _ => ttl,
        };
        let value = serde_json::json!({
            "worker": id,
            "pid": std::process::id(),
        })
        .to_string();
        Ok(NatsCoordinator {
            nats: nats.clone(),
            store,
            bucket,
            id: id.to_string(),
            value: Bytes::from(value),
            partitions,
            ttl,
            held: BTreeMap::new(),
            surrendering: Vec::new(),
            live: 1,
        })
    }

    /// The lease TTL in force (the bucket's).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn what(&self, key: &str) -> String {
        format!("key {key} of bucket {}", self.bucket)
    }

    /// Say this worker is alive (its key expires with its leases).
    fn heartbeat(&self) -> Result<(), NatsError> {
        let key = format!("w.{}", self.id);
        self.nats
            .block_on(self.store.put(key.as_str(), self.value.clone()))
            .map(|_| ())
            .map_err(|e| NatsError::request(self.what(&key), e))
    }

    /// Live workers (at least this one).
    fn live_workers(&self) -> Result<usize, NatsError> {
        let what = format!("the live workers in bucket {}", self.bucket);
        let keys = self.nats.block_on(async {
            let mut keys = self.store.keys().await?;
            let mut n = 0usize;
            while let Some(k) = keys.next().await {
                if k?.starts_with("w.") {
                    n += 1;
                }
            }
            Ok::<usize, Box<dyn std::error::Error + Send + Sync>>(n)
        });
        keys.map(|n| n.max(1))
            .map_err(|e| NatsError::request(what, e))
    }

    /// Renew every held lease; the lost ones are returned.
    fn renew(&mut self) -> Vec<u32> {
        let mut lost = Vec::new();
        let held: Vec<(u32, Held)> = self.held.iter().map(|(p, h)| (*p, *h)).collect();
        for (p, h) in held {
            let sent = Instant::now();
            let got = self.nats.block_on(self.store.update(
                lease_key(p),
                self.value.clone(),
                h.revision,
            ));
            match got {
                Ok(revision) => {
                    self.held.insert(
                        p,
                        Held {
                            revision,
                            renewed: sent,
                        },
                    );
                }
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    self.held.remove(&p);
                    lost.push(p);
                }
                // A timeout: keep it; `holds` stops the work if renewals keep failing.
                Err(_) => {}
            }
        }
        lost
    }

    /// Try to claim `p`; whether it is now held.
    fn claim(&mut self, p: u32) -> Result<bool, NatsError> {
        let sent = Instant::now();
        match self
            .nats
            .block_on(self.store.create(lease_key(p), self.value.clone()))
        {
            Ok(revision) => {
                self.held.insert(
                    p,
                    Held {
                        revision,
                        renewed: sent,
                    },
                );
                Ok(true)
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(NatsError::request(self.what(&lease_key(p)), e)),
        }
    }
}

impl Coordinator for NatsCoordinator {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    fn tick_every(&self) -> Duration {
        self.ttl / 4
    }

    fn tick(&mut self, events: &mut Vec<LeaseEvent>) -> Result<()> {
        events.extend(self.renew().into_iter().map(LeaseEvent::Lost));
        // A failed heartbeat or count does not stop the claims: the count last known
        // stands in (listing the keys needs a consumer, which a cluster missing a node
        // may fail to place now and then).
        let mut first_err = self.heartbeat().err();
        match self.live_workers() {
            Ok(n) => self.live = n,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
        let share = (self.partitions as usize).div_ceil(self.live);
        let owned = self.held.len() - self.surrendering.len();
        if owned < share {
            // Start at a place of our own so that workers do not all race for partition 0.
            let n = self.partitions;
            let start = fnv1a32(self.id.as_bytes()) % n;
            let mut want = share - owned;
            for i in 0..n {
                if want == 0 {
                    break;
                }
                let p = (start + i) % n;
                if self.held.contains_key(&p) {
                    continue;
                }
                match self.claim(p) {
                    Ok(true) => {
                        events.push(LeaseEvent::Gained(p));
                        want -= 1;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        first_err.get_or_insert(e);
                        break;
                    }
                }
            }
        } else if owned > share {
            let surplus: Vec<u32> = self
                .held
                .keys()
                .rev()
                .filter(|p| !self.surrendering.contains(p))
                .take(owned - share)
                .copied()
                .collect();
            for p in surplus {
                self.surrendering.push(p);
                events.push(LeaseEvent::Surrender(p));
            }
        }
        match first_err {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn holds(&self, partition: u32) -> bool {
        // Three quarters of the TTL after the last renewal left: the server keeps the
        // lease for at least the whole TTL after it arrived.
        self.held
            .get(&partition)
            .is_some_and(|h| h.renewed.elapsed() < self.ttl * 3 / 4)
    }

    fn release(&mut self, partition: u32) -> Result<()> {
        self.surrendering.retain(|p| *p != partition);
        let Some(h) = self.held.remove(&partition) else {
            return Ok(());
        };
        let key = lease_key(partition);
        self.nats
            .block_on(
                self.store
                    .delete_expect_revision(key.as_str(), Some(h.revision)),
            )
            .map_err(|e| NatsError::request(self.what(&key), e).into())
    }

    fn leave(&mut self) -> Result<()> {
        let held: Vec<u32> = self.held.keys().copied().collect();
        let mut first_err = None;
        for p in held {
            if let Err(e) = self.release(p) {
                first_err.get_or_insert(e);
            }
        }
        let key = format!("w.{}", self.id);
        if let Err(e) = self.nats.block_on(self.store.delete(key.as_str())) {
            first_err.get_or_insert(NatsError::request(self.what(&key), e).into());
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
