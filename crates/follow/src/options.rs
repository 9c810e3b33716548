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
    /// How often a path that does not exist is reported again as a notice
    /// ([`crate::Follower::take_notices`]). Default 10 s.
    pub missing_notice_every: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            from_start: false,
            poll_interval: Duration::from_millis(250),
            rotate_wait: Duration::from_secs(5),
            use_events: true,
            max_line_bytes: trace_sentinel_core::input::DEFAULT_MAX_LINE_BYTES,
            missing_notice_every: Duration::from_secs(10),
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

/// Where a followed path is read from when following starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPoint {
    /// From its end (only lines written from now on).
    End,
    /// From its start (`from_start`).
    Start,
    /// From the position its checkpoint recorded.
    Checkpoint,
    /// The path does not exist yet: it is read from its start once created.
    Missing,
}

impl std::fmt::Display for StartPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StartPoint::End => "from the end",
            StartPoint::Start => "from the start",
            StartPoint::Checkpoint => "from its checkpoint",
            StartPoint::Missing => "not there yet, read from its start once created",
        })
    }
}
