//! Event timestamps with Python `datetime` semantics: `fromtimestamp(x, tz=utc)`,
//! `fromisoformat` (3.11), `.timestamp()` and `.isoformat()`.

/// A Python `datetime` (microsecond precision), naive or with a fixed UTC offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// Wall-clock fields as microseconds since 0001-01-01T00:00:00 (proleptic Gregorian).
    pub local_us: i64,
    /// UTC offset in microseconds; `None` for a naive datetime.
    pub offset_us: Option<i64>,
}

impl Timestamp {
    /// `datetime.now(timezone.utc)`.
    pub fn now_utc() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp { local_us: EPOCH_LOCAL_US + d.as_micros() as i64, offset_us: Some(0) }
    }

    /// `datetime.fromtimestamp(x, tz=timezone.utc)`; `None` where Python raises.
    pub fn from_epoch_seconds(_x: f64) -> Option<Self> {
        None
    }

    /// The reference's string handling: `datetime.fromisoformat(s.replace("Z", "+00:00"))`;
    /// `None` where Python raises.
    pub fn parse_json_string(_s: &str) -> Option<Self> {
        None
    }

    /// Python `.timestamp()`; a naive datetime is taken as UTC (documented deviation from
    /// Python's local-time rule, identical when `TZ` is UTC).
    pub fn epoch_seconds(&self) -> f64 {
        (self.local_us - self.offset_us.unwrap_or(0) - EPOCH_LOCAL_US) as f64 / 1e6
    }

    /// Append Python `.isoformat()`.
    pub fn write_isoformat(&self, out: &mut String) {
        out.push_str(&format!("{}", self.local_us));
    }
}

/// 1970-01-01T00:00:00 as microseconds since 0001-01-01T00:00:00.
pub const EPOCH_LOCAL_US: i64 = 62_135_596_800_000_000;
