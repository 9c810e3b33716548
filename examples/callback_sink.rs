//! Route anomalies to a closure: here, count them by severity and keep the critical
//! ones for a (pretend) pager, while also writing every anomaly as a `--format json`
//! line to stdout through a second sink.
//!
//! ```sh
//! cargo run --example callback_sink                    # datasets/demo.jsonl
//! cargo run --example callback_sink -- events.jsonl
//! ```

use trace_sentinel_core::sink::{CallbackSink, JsonSink, Sink, Tee};
use trace_sentinel_core::{Anomaly, Severity};
use trace_sentinel_core::{Event, Sentinel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/demo.jsonl").into());
    let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();

    // JSON lines carry timestamps, so the inter-arrival metric is meaningful.
    let mut sentinel = Sentinel::builder()
        .semantic(true)
        .interarrival(true)
        .build()?;

    let mut by_severity = [0usize; 3];
    let mut pager: Vec<String> = Vec::new();
    let callback = CallbackSink(|a: &Anomaly<'_>| {
        by_severity[a.severity as usize] += 1;
        if a.severity == Severity::Critical {
            pager.push(format!("{} ({}): {}", a.source, a.metric, a.explanation()));
        }
    });
    let mut sink = Tee(callback, JsonSink::new(std::io::stdout().lock()));

    for line in text.lines() {
        if let Some(event) = Event::from_json_line(line, "demo.jsonl") {
            // Borrowed anomalies go straight into the sinks: no copies.
            sentinel.observe_into(&event, &mut sink)?;
        }
    }
    sink.flush()?;
    drop(sink);

    eprintln!(
        "warning {}, high {}, critical {}",
        by_severity[0], by_severity[1], by_severity[2]
    );
    for page in pager.iter().take(5) {
        eprintln!("PAGE: {page}");
    }
    Ok(())
}
