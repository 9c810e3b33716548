//! A log stream's layout: the subject prefix and the partition count every shipper and
//! worker must agree on, stored once next to the stream by the first shipper and checked
//! by everyone after. Plain data; the transport stores it.

use serde::{Deserialize, Serialize};

/// Value of [`Layout::format`].
pub const FORMAT: &str = "trace-sentinel-layout";
/// The partition function's name ([`crate::partition::partition_of`]).
pub const PARTITION_HASH: &str = "fnv1a32-token";

/// How a log stream is cut into partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version (1).
    pub version: u32,
    /// Subject prefix: lines travel on `<subject>.<partition>.<source token>`.
    pub subject: String,
    /// Number of partitions (1 to 1024).
    pub partitions: u32,
    /// Always [`PARTITION_HASH`].
    pub partition_hash: String,
}

/// Most partitions a stream may have.
pub const MAX_PARTITIONS: u32 = 1024;

impl Layout {
    /// A layout for `subject` cut into `partitions`.
    pub fn new(subject: &str, partitions: u32) -> Self {
        Layout {
            format: FORMAT.into(),
            version: 1,
            subject: subject.into(),
            partitions,
            partition_hash: PARTITION_HASH.into(),
        }
    }

    /// The subject a line of the source with token `token` travels on.
    pub fn line_subject(&self, partition: u32, token: &str) -> String {
        format!("{}.{partition}.{token}", self.subject)
    }

    /// The subject filter of one partition's lines.
    pub fn partition_filter(&self, partition: u32) -> String {
        format!("{}.{partition}.*", self.subject)
    }

    /// The subjects the stream holds.
    pub fn stream_subjects(&self) -> String {
        format!("{}.*.*", self.subject)
    }

    /// Parse a stored layout, checking it is one this build can use; `what` names where
    /// it was read from.
    pub fn parse(bytes: &[u8], what: &str) -> crate::error::Result<Layout> {
        let bad = |reason: String| crate::error::BusError::invalid(what, reason);
        let l: Layout = serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("not a trace-sentinel layout ({e})")))?;
        if l.format != FORMAT || l.version != 1 {
            return Err(bad(format!(
                "unsupported layout {:?} version {}",
                l.format, l.version
            )));
        }
        if l.partition_hash != PARTITION_HASH {
            return Err(bad(format!(
                "unknown partition function {:?}",
                l.partition_hash
            )));
        }
        if !(1..=MAX_PARTITIONS).contains(&l.partitions) {
            return Err(bad(format!("{} partitions", l.partitions)));
        }
        Ok(l)
    }

    /// The stored form.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Check a subject prefix given on the command line (`--subject`, `--anomalies`): tokens
/// of `[A-Za-z0-9_-]` separated by single dots.
pub fn check_subject_prefix(prefix: &str) -> Result<(), String> {
    let ok = !prefix.is_empty()
        && prefix.split('.').all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{prefix}' (must be dot-separated tokens of letters, digits, '-' and '_')"
        ))
    }
}

/// Check a stream or bucket name (`--stream`): `[A-Za-z0-9_-]`, at most 64 bytes.
pub fn check_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(format!(
            "'{name}' (must be 1 to 64 letters, digits, '-' and '_')"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip_and_bad_ones_are_refused() {
        let l = Layout::new("logs", 16);
        assert_eq!(Layout::parse(&l.to_json(), "x").unwrap(), l);
        assert_eq!(l.line_subject(3, "api"), "logs.3.api");
        assert_eq!(l.partition_filter(3), "logs.3.*");
        assert_eq!(l.stream_subjects(), "logs.*.*");
        let mut bad = l.clone();
        bad.partitions = 0;
        assert!(Layout::parse(&bad.to_json(), "x").is_err());
        assert!(Layout::parse(b"{", "x").is_err());
        assert!(Layout::parse(b"{}", "x").is_err());
    }

    #[test]
    fn subject_prefixes_and_names() {
        for ok in ["logs", "a.b", "x-1_y"] {
            assert!(check_subject_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "a..b", "a.", "a b", "a.*", ">"] {
            assert!(check_subject_prefix(bad).is_err(), "{bad}");
        }
        assert!(check_name("LOGS").is_ok());
        assert!(check_name("a.b").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
