//! What to follow ([`FollowSpec`]) and how ([`FollowOptions`]).

use std::path::PathBuf;
use std::time::Duration;

/// Tuning of the follower.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Read files that have no checkpoint from their start instead of their end.
    pub from_start: bool,
    /// Re-check interval when no filesystem events are available.
    pub poll_interval: Duration,
    /// How long a rotated-away (renamed or deleted) file must be quiet before it is closed.
    pub rotate_wait: Duration,
    /// Use filesystem events (inotify); `false` polls only.
    pub use_events: bool,
    /// Line cap (`--max-line-bytes`): a longer line keeps only this prefix in memory.
    pub max_line_bytes: usize,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            from_start: false,
            poll_interval: Duration::from_millis(250),
            rotate_wait: Duration::from_secs(5),
            use_events: true,
            max_line_bytes: trace_sentinel_core::input::DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// One path to follow.
#[derive(Debug, Clone)]
pub struct FollowSpec {
    /// The path (need not exist yet).
    pub path: PathBuf,
    /// Source label of its lines.
    pub source: String,
}
