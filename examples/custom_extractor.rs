//! A user-defined metric: the HTTP status class (2 for 2xx ... 5 for 5xx) of access-log
//! lines, taken with a regex, scored next to the built-in metrics. A burst of 5xx in a
//! stream of 2xx stands out as `http.status_class` anomalies.
//!
//! ```sh
//! cargo run --example custom_extractor                  # datasets/demo.log
//! cargo run --example custom_extractor -- access.log
//! ```

use regex::Regex;
use trace_sentinel_core::{Event, Extractor, Metrics, Sentinel};

/// `"GET /path HTTP/1.1" 503 ...` → `http.status_class = 5`.
struct StatusClass {
    re: Regex,
}

impl StatusClass {
    fn new() -> Self {
        StatusClass {
            re: Regex::new(r#""[A-Z]+ [^"]*" ([1-5])\d\d "#).expect("valid regex"),
        }
    }
}

impl Extractor for StatusClass {
    fn extract(&mut self, event: &Event, out: &mut Metrics) {
        if let Some(class) = self
            .re
            .captures(&event.message)
            .and_then(|c| c[1].parse::<f64>().ok())
        {
            out.push("http.status_class", class);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/demo.log").into());
    let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();

    let mut sentinel = Sentinel::builder()
        .extractor(StatusClass::new())
        // Closures are extractors too: one for lines that carry a stack-trace marker.
        .extractor(|ev: &Event, out: &mut Metrics| {
            if ev.message.contains("Exception") {
                out.push("app.exception", 1.0);
            }
        })
        .build()?;

    let events = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| Event::from_line(l, "access"));
    let mut by_metric = std::collections::BTreeMap::<String, usize>::new();
    for a in sentinel.watch(events) {
        if a.metric == "http.status_class" {
            println!("{}  <- {}", a.explanation(), truncate(&a.message, 100));
        }
        *by_metric.entry(a.metric).or_default() += 1;
    }
    println!("anomalies by metric: {by_metric:?}");
    println!("tracked metrics: {:?}", sentinel.metrics());
    Ok(())
}

fn truncate(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}
