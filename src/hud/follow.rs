//! Followed files for the HUD (`--follow`): replay the last `backfill` lines of each
//! file, then hand every appended block of complete lines to the monitor, through
//! rotation and truncation, using the crate's follow-mode code.

use super::monitor::Monitor;
use super::source::FileInput;
use super::HudError;

/// Follow `files` until a stop is requested.
pub fn run(_monitor: &mut Monitor, _files: &[FileInput], _backfill: usize) -> Result<(), HudError> {
    Err(HudError::Follow("follow mode is not available yet".into()))
}
