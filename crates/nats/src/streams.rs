//! The streams and buckets on the server: the log stream with its layout, the anomaly
//! stream, and the key-value buckets next to the log stream (`ts-<stream>-state` for the
//! layout and checkpoints, `ts-<stream>-leases` for leases). Each is created when missing
//! and checked when present; nothing here reads or writes lines.

use crate::{Nats, NatsError};
use async_nats::jetstream::{self, kv, stream};
use std::time::Duration;
use trace_sentinel_bus::Layout;

/// How long the log and anomaly streams remember message ids: a line or anomaly
/// published again within it is dropped as a duplicate.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(120);

/// The key of the layout in the state bucket.
pub const LAYOUT_KEY: &str = "layout";

/// The bucket holding a log stream's layout and its partitions' checkpoints.
pub fn state_bucket(stream: &str) -> String {
    format!("ts-{stream}-state")
}

/// The bucket holding a log stream's partition leases and its live workers.
pub fn lease_bucket(stream: &str) -> String {
    format!("ts-{stream}-leases")
}

/// The name of the stream created for an anomaly subject prefix that no stream holds:
/// the prefix upper-cased, dots as `_` (`anomalies` → `ANOMALIES`).
pub fn anomaly_stream_name(prefix: &str) -> String {
    prefix.replace('.', "_").to_ascii_uppercase()
}

fn not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(j)
            if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// A key-value bucket, created with `config` when missing (a bucket that exists is used
/// as it is). The bucket's stream is created here rather than by the client's
/// `create_key_value`, which first asks for the account's details in a form nats-server
/// 2.9 does not answer with; the stream is the one the client would create.
pub(crate) fn kv_bucket(nats: &Nats, config: kv::Config) -> Result<kv::Store, NatsError> {
    let what = format!("key-value bucket {}", config.bucket);
    let js = nats.js();
    if let Ok(store) = nats.block_on(js.get_key_value(config.bucket.clone())) {
        return Ok(store);
    }
    let stream = stream::Config {
        name: format!("KV_{}", config.bucket),
        description: Some(config.description.clone()),
        subjects: vec![format!("$KV.{}.>", config.bucket)],
        max_messages_per_subject: config.history.max(1),
        max_age: config.max_age,
        storage: config.storage,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        num_replicas: config.num_replicas.max(1),
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    };
    let created = nats.block_on(js.create_stream(stream));
    match nats.block_on(js.get_key_value(config.bucket.clone())) {
        Ok(store) => Ok(store),
        Err(e) => Err(match created {
            Err(c) => NatsError::request(what, c),
            Ok(_) => NatsError::request(what, e),
        }),
    }
}

/// The state bucket of `stream` (created when missing).
pub(crate) fn state_store(
    nats: &Nats,
    stream: &str,
    replicas: usize,
) -> Result<kv::Store, NatsError> {
    kv_bucket(
        nats,
        kv::Config {
            bucket: state_bucket(stream),
            description: format!(
                "trace-sentinel: layout and partition checkpoints of stream {stream}"
            ),
            history: 1,
            storage: stream::StorageType::File,
            num_replicas: replicas.max(1),
            ..Default::default()
        },
    )
}

/// The layout of `stream`, if a shipper stored one.
pub fn load_layout(nats: &Nats, stream: &str) -> Result<Option<Layout>, NatsError> {
    let bucket = state_bucket(stream);
    let store = match nats.block_on(nats.js().get_key_value(bucket.clone())) {
        Ok(s) => s,
        Err(_) => return Ok(None),
    };
    let what = format!("key {LAYOUT_KEY} of bucket {bucket}");
    let value = nats
        .block_on(store.get(LAYOUT_KEY))
        .map_err(|e| NatsError::request(&what, e))?;
    match value {
        None => Ok(None),
        Some(bytes) => Layout::parse(&bytes, &what)
            .map(Some)
            .map_err(|e| NatsError::request(what, e)),
    }
}

/// Make sure the log stream `stream` exists with a layout: the stored one when there is
/// one (refusing a `partitions` request that differs), else `subject` cut into
/// `partitions` (16 when not given). Returns the layout in force.
pub fn ensure_log_stream(
    nats: &Nats,
    stream: &str,
    subject: &str,
    partitions: Option<u32>,
    replicas: usize,
) -> Result<Layout, NatsError> {
    let store = state_store(nats, stream, replicas)?;
    let what = format!("key {LAYOUT_KEY} of bucket {}", state_bucket(stream));
    let wanted = Layout::new(subject, partitions.unwrap_or(16));
    let layout = match nats
        .block_on(store.get(LAYOUT_KEY))
        .map_err(|e| NatsError::request(&what, e))?
    {
        Some(bytes) => Layout::parse(&bytes, &what).map_err(|e| NatsError::request(&what, e))?,
        None => match nats.block_on(store.create(LAYOUT_KEY, wanted.to_json().into())) {
            Ok(_) => wanted.clone(),
            Err(e) => {
                let bytes = nats
                    .block_on(store.get(LAYOUT_KEY))
                    .ok()
                    .flatten()
                    .ok_or_else(|| NatsError::request(&what, e))?;
                Layout::parse(&bytes, &what).map_err(|e| NatsError::request(&what, e))?
            }
        },
    };
    if layout.subject != subject {
        return Err(NatsError::request(
            format!("stream {stream}"),
            format!(
                "its lines travel on subject '{}', not '{subject}' (see --subject)",
                layout.subject
            ),
        ));
    }
    if let Some(n) = partitions {
        if n != layout.partitions {
            return Err(NatsError::request(
                format!("stream {stream}"),
                format!(
                    "it has {} partitions, not {n} (see --partitions; a layout is fixed when the stream is created)",
                    layout.partitions
                ),
            ));
        }
    }
    ensure_stream(
        nats,
        stream::Config {
            name: stream.to_string(),
            description: Some(format!(
                "trace-sentinel log lines: {}.<partition 0-{}>.<source token>",
                layout.subject,
                layout.partitions - 1
            )),
            subjects: vec![layout.stream_subjects()],
            duplicate_window: DEDUP_WINDOW,
            storage: stream::StorageType::File,
            num_replicas: replicas.max(1),
            ..Default::default()
        },
    )?;
    Ok(layout)
}

/// Make sure a stream named `config.name` exists (created with `config` when missing).
pub(crate) fn ensure_stream(
    nats: &Nats,
    config: stream::Config,
) -> Result<stream::Stream, NatsError> {
    let what = format!("stream {}", config.name);
    let js = nats.js();
    match nats.block_on(js.get_stream(config.name.clone())) {
        Ok(s) => Ok(s),
        Err(e) if not_found(&e) => match nats.block_on(js.create_stream(config.clone())) {
            Ok(s) => Ok(s),
            Err(e) => nats
                .block_on(js.get_stream(config.name.clone()))
                .map_err(|_| NatsError::request(what, e)),
        },
        Err(e) => Err(NatsError::request(what, e)),
    }
}

/// The stream holding `<prefix>.>`: an existing stream whose subjects cover it, else a
/// new one named [`anomaly_stream_name`]. Returns its name.
pub fn ensure_anomaly_stream(
    nats: &Nats,
    prefix: &str,
    replicas: usize,
) -> Result<String, NatsError> {
    if let Some(name) = find_anomaly_stream(nats, prefix)? {
        return Ok(name);
    }
    let name = anomaly_stream_name(prefix);
    ensure_stream(
        nats,
        stream::Config {
            name: name.clone(),
            description: Some(format!(
                "trace-sentinel anomalies: {prefix}.<source token>, one JSON object each"
            )),
            subjects: vec![format!("{prefix}.>")],
            duplicate_window: DEDUP_WINDOW,
            storage: stream::StorageType::File,
            num_replicas: replicas.max(1),
            ..Default::default()
        },
    )?;
    Ok(name)
}

/// The stream that holds `<prefix>.>`, if any.
pub fn find_anomaly_stream(nats: &Nats, prefix: &str) -> Result<Option<String>, NatsError> {
    match nats.block_on(nats.js().stream_by_subject(format!("{prefix}.x"))) {
        Ok(name) => Ok(Some(name)),
        Err(e) => {
            use jetstream::context::GetStreamByNameErrorKind as K;
            match e.kind() {
                K::NotFound => Ok(None),
                _ => Err(NatsError::request(
                    format!("the stream holding {prefix}.>"),
                    e,
                )),
            }
        }
    }
}
