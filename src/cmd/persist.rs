//! Plumbing every driver shares for `--source`, `--baseline`, `--save-baseline` and the
//! end-of-run template summary: flags in, library calls out. No detection logic lives
//! here.

use crate::cli::PersistArgs;
use std::path::Path;
use trace_sentinel_core::detect::ShardSet;
use trace_sentinel_core::engine::Engine;
use trace_sentinel_core::fsutil;
use trace_sentinel_core::input;
use trace_sentinel_core::snapshot;
use trace_sentinel_core::Error;

/// Check the persistence flags before any work starts.
pub fn validate(args: &PersistArgs) -> Result<(), Error> {
    if args.source.as_deref() == Some("") {
        return Err(Error::Config {
            flag: "--source",
            reason: "must not be empty".into(),
        });
    }
    Ok(())
}

/// Check every file the run will write (`--stats-json`, `--save-baseline`) before any
/// input is read, so a bad path fails at once instead of after the whole input.
pub fn check_outputs(stats_json: Option<&Path>, args: &PersistArgs) -> Result<(), Error> {
    for path in stats_json.into_iter().chain(args.save_baseline.as_deref()) {
        fsutil::check_writable(path)?;
    }
    Ok(())
}

/// The source label of `path`'s plain-text lines: `--source`, else the file name.
pub fn source_for(path: &Path, args: &PersistArgs) -> String {
    match &args.source {
        Some(s) => s.clone(),
        None => input::source_name(path),
    }
}

/// Replace the engine's detector state with the `--baseline` snapshot, if one is given.
pub fn load_baseline(engine: &mut Engine, args: &PersistArgs) -> Result<(), Error> {
    if let Some(path) = &args.baseline {
        let shards = snapshot::load_baseline(path, engine.shards().config())?;
        engine.set_shards(shards);
    }
    Ok(())
}

/// Write the `--save-baseline` snapshot, if one is asked for.
pub fn save_baseline(engine: &Engine, args: &PersistArgs) -> Result<(), Error> {
    if let Some(path) = &args.save_baseline {
        snapshot::save_baseline(engine.shards(), path)?;
    }
    Ok(())
}

/// Templates the stats and the end-of-run summary name.
pub const TOP_TEMPLATES: usize = 5;

/// The end-of-run lines about templates (with `--templates`): how many, and the ones
/// that carried the most anomalies.
pub fn template_report(shards: &ShardSet) -> Option<String> {
    let t = shards.template_summary(TOP_TEMPLATES)?;
    let mut out = format!(
        "templates: {} held, {} learned, {} evicted",
        t.templates, t.created, t.evicted
    );
    if !t.top.is_empty() {
        out.push_str("; most anomalies:");
    }
    for c in &t.top {
        let mut text = String::new();
        trace_sentinel_core::sink::push_sanitized(&mut text, &c.template);
        let text: String = if text.chars().count() > 120 {
            text.chars().take(119).chain(['…']).collect()
        } else {
            text
        };
        let mut source = String::new();
        trace_sentinel_core::sink::push_sanitized(&mut source, &c.source);
        out.push_str(&format!(
            "\n  {:>6}  {source} #{} ({} lines): {text}",
            c.anomalies, c.id, c.lines
        ));
    }
    Some(out)
}
