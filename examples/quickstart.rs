//! Quickstart: a `Sentinel` over a log file, printing anomalies.
//!
//! ```sh
//! cargo run --example quickstart                       # datasets/demo.log
//! cargo run --example quickstart -- path/to/app.log
//! ```

use std::io::{BufRead, BufReader};
use trace_sentinel_core::{Event, Sentinel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/demo.log").into());
    let source = std::path::Path::new(&path)
        .file_name()
        .map_or("log".into(), |n| n.to_string_lossy().into_owned());

    // The CLI's defaults (threshold 3σ, warmup 30, z-score) plus the semantic layer.
    let mut sentinel = Sentinel::builder().semantic(true).build()?;

    let reader = BufReader::new(std::fs::File::open(&path)?);
    let events = reader
        .split(b'\n')
        .map_while(Result::ok)
        .map(|raw| {
            let line = String::from_utf8_lossy(&raw);
            Event::from_line(line.trim_end_matches('\r'), &source)
        })
        .filter(|ev| !ev.message.is_empty());

    let mut count = 0;
    for anomaly in sentinel.watch(events) {
        count += 1;
        println!(
            "[{}] {:<8} {}",
            anomaly.severity.as_str().to_uppercase(),
            anomaly.metric,
            anomaly.explanation()
        );
    }
    let c = sentinel.counters();
    println!(
        "{count} anomalies in {} events; metrics: {:?}",
        c.events,
        sentinel.metrics()
    );
    Ok(())
}
