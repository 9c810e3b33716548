//! Fenced per-partition checkpoints: key `p<N>` of the state bucket (`ts-<stream>-state`)
//! holds partition N's checkpoint, written only at the revision this worker read or wrote
//! last, so a worker that lost its partition cannot overwrite its successor's progress.
//! A checkpoint too large for one message is put into the object store of the same name
//! (`ts-<stream>-state`, created when first needed) and the key holds a pointer to it; the
//! object a pointer replaced is deleted after the key moved on.

use crate::streams::{state_bucket, state_store};
use crate::{Nats, NatsError};
use async_nats::jetstream::{kv, object_store, stream};
use bytes::Bytes;
use std::collections::BTreeMap;
use tokio::io::AsyncReadExt;
use trace_sentinel_bus::transport::{CheckpointStore, Saved};
use trace_sentinel_bus::{BusError, Result};

/// The `format` of a pointer to a checkpoint kept in the object store.
const POINTER: &str = "trace-sentinel-checkpoint-object";

/// Checkpoints of one log stream's partitions.
pub struct NatsCheckpointStore {
    nats: Nats,
    kv: kv::Store,
    bucket: String,
    replicas: usize,
    objects: Option<object_store::ObjectStore>,
    /// Per partition: the revision last read or written (0: the key did not exist) and
    /// the object the value points to, if any.
    known: BTreeMap<u32, (u64, Option<String>)>,
    /// Largest checkpoint kept in the key itself.
    inline_max: usize,
    serial: u64,
}

fn key(p: u32) -> String {
    format!("p{p}")
}

/// The object a pointer names, if `value` is one.
fn pointer_target(value: &[u8]) -> Option<String> {
    if !value.starts_with(b"{\"format\":\"trace-sentinel-checkpoint-object\"") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(value).ok()?;
    v.get("object")?.as_str().map(str::to_string)
}

impl NatsCheckpointStore {
    /// The checkpoints of `stream` (the state bucket is created when missing).
    pub fn open(nats: &Nats, stream: &str, replicas: usize) -> Result<Self, NatsError> {
        let kv = state_store(nats, stream, replicas)?;
        Ok(NatsCheckpointStore {
            nats: nats.clone(),
            kv,
            bucket: state_bucket(stream),
            replicas,
            objects: None,
            known: BTreeMap::new(),
            // Headroom under the server's message limit for the key and headers.
            inline_max: nats.max_payload().saturating_sub(16 << 10).max(1024),
            serial: 0,
        })
    }

    /// Keep checkpoints larger than `n` bytes in the object store (tests).
    pub fn set_inline_max(&mut self, n: usize) {
        self.inline_max = n;
    }

    fn what(&self, p: u32) -> String {
        format!("key {} of bucket {}", key(p), self.bucket)
    }

    fn objects(&mut self) -> Result<&object_store::ObjectStore, NatsError> {
        if self.objects.is_none() {
            let js = self.nats.js();
            let name = self.bucket.clone();
            let store = match self.nats.block_on(js.get_object_store(&name)) {
                Ok(s) => s,
                Err(_) => self
                    .nats
                    .block_on(js.create_object_store(object_store::Config {
                        bucket: name.clone(),
                        description: Some("trace-sentinel: large partition checkpoints".into()),
                        storage: stream::StorageType::File,
                        num_replicas: self.replicas.max(1),
                        ..Default::default()
                    }))
                    .or_else(|e| {
                        self.nats
                            .block_on(js.get_object_store(&name))
                            .map_err(|_| NatsError::request(format!("object store {name}"), e))
                    })?,
            };
            self.objects = Some(store);
        }
        // Just set above.
        self.objects
            .as_ref()
            .ok_or_else(|| NatsError::request("object store", "unavailable"))
    }

    fn read_object(&mut self, name: &str) -> Result<Vec<u8>, NatsError> {
        let what = format!("object {name} of object store {}", self.bucket);
        let nats = self.nats.clone();
        let store = self.objects()?.clone();
        nats.block_on(async {
            let mut obj = store
                .get(name)
                .await
                .map_err(|e| NatsError::request(&what, e))?;
            let mut out = Vec::new();
            obj.read_to_end(&mut out)
                .await
                .map_err(|e| NatsError::request(&what, e))?;
            Ok(out)
        })
    }

    fn delete_object(&mut self, name: &str) {
        let nats = self.nats.clone();
        if let Ok(store) = self.objects().cloned() {
            let _ = nats.block_on(store.delete(name));
        }
    }
}

impl CheckpointStore for NatsCheckpointStore {
    fn load(&mut self, p: u32) -> Result<Option<Vec<u8>>> {
        let what = self.what(p);
        let entry = self
            .nats
            .block_on(self.kv.entry(key(p)))
            .map_err(|e| NatsError::request(&what, e))?;
        let Some(entry) = entry else {
            self.known.insert(p, (0, None));
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            self.known.insert(p, (entry.revision, None));
            return Ok(None);
        }
        let target = pointer_target(&entry.value);
        self.known.insert(p, (entry.revision, target.clone()));
        match target {
            None => Ok(Some(entry.value.to_vec())),
            Some(name) => self.read_object(&name).map(Some).map_err(BusError::from),
        }
    }

    fn save(&mut self, p: u32, bytes: &[u8]) -> Result<Saved> {
        let what = self.what(p);
        let (revision, old_object) = self.known.get(&p).cloned().unwrap_or((0, None));
        let mut new_object = None;
        let value: Bytes = if bytes.len() <= self.inline_max {
            Bytes::copy_from_slice(bytes)
        } else {
            self.serial += 1;
            let name = format!("p{p}-{}-{}-{}", std::process::id(), revision, self.serial);
            let nats = self.nats.clone();
            let store = self.objects()?.clone();
            let owhat = format!("object {name} of object store {}", self.bucket);
            nats.block_on(store.put(name.as_str(), &mut &bytes[..]))
                .map_err(|e| NatsError::request(owhat, e))?;
            new_object = Some(name.clone());
            Bytes::from(
                serde_json::json!({"format": POINTER, "object": name, "bytes": bytes.len()})
                    .to_string(),
            )
        };
        let got = if revision == 0 {
            self.nats
                .block_on(self.kv.create(key(p), value))
                .map_err(|e| match e.kind() {
                    kv::CreateErrorKind::AlreadyExists => None,
                    _ => Some(NatsError::request(&what, e)),
                })
        } else {
            self.nats
                .block_on(self.kv.update(key(p), value, revision))
                .map_err(|e| match e.kind() {
                    kv::UpdateErrorKind::WrongLastRevision => None,
                    _ => Some(NatsError::request(&what, e)),
                })
        };
        match got {
            Ok(rev) => {
                self.known.insert(p, (rev, new_object));
                if let Some(old) = old_object {
                    self.delete_object(&old);
                }
                Ok(Saved::Stored)
            }
            Err(e) => {
                if let Some(obj) = new_object {
                    self.delete_object(&obj);
                }
                match e {
                    None => {
                        self.known.remove(&p);
                        Ok(Saved::Fenced)
                    }
                    Some(e) => Err(e.into()),
                }
            }
        }
    }
}
