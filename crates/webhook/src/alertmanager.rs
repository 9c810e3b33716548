//! Alertmanager sink: every anomaly becomes an alert POSTed to the Alertmanager v2 API
//! (`POST /api/v2/alerts`) of each Alertmanager given, in batches, through the same
//! delivery as the webhook.
//!
//! An alert's identity in Alertmanager is its label set, so the labels are few and
//! bounded: `alertname="TraceSentinelAnomaly"`, `source`, `metric`, `severity`,
//! `template_id` with the template layer (see [`anomaly_labels`]) and the static labels
//! of [`AlertmanagerOptions::labels`]. Anomalies with the same labels are one alert
//! there: Alertmanager keeps the earliest `startsAt`, the latest `endsAt` and the newest
//! annotations. What varies goes into the annotations: `explanation`, `line` (the
//! event's message, escaped and truncated: [`escape_line`]), `value`, `score`, the
//! event's `timestamp` and, with the template layer, the `template` text.
//!
//! `startsAt` is the event's time (never later than the moment of detection: a clock
//! ahead, or a forged timestamp, cannot keep an alert firing), `endsAt` the moment of
//! detection plus [`AlertmanagerOptions::resolve_after`]: an alert that does not recur
//! resolves by itself. `generatorURL` is set when there is a page to link (the HUD).

use crate::delivery::{check_url, config_error, DeliveryOptions};
use crate::sink::{DeliverySink, Render};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::time::Duration;
use trace_sentinel_core::{Anomaly, Error, Timestamp};

/// The `alertname` label of every alert.
pub const ALERT_NAME: &str = "TraceSentinelAnomaly";
/// The API path alerts are POSTed to, below an Alertmanager's base URL.
pub const ALERTS_PATH: &str = "/api/v2/alerts";
/// Label names an alert always carries (or will, for `template_id`): static labels
/// cannot replace them.
pub const FIXED_LABELS: [&str; 5] = ["alertname", "source", "metric", "severity", "template_id"];
/// Longest label value, in characters; a longer one (a source name taken from a log) is
/// cut and ends in `…`.
pub const LABEL_MAX_CHARS: usize = 256;

/// Settings of an [`AlertmanagerSink`]; [`AlertmanagerOptions::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerOptions {
    /// Base URLs of the Alertmanagers (`http://am:9093`, or with a route prefix); every
    /// alert goes to each. A URL that already ends in `/api/v2/alerts` is used as is.
    pub urls: Vec<String>,
    /// Static labels added to every alert (`cluster`, `env`), validated with
    /// [`parse_label`].
    pub labels: Vec<(String, String)>,
    /// How long after its detection an alert resolves unless it recurs. Default 5 min.
    pub resolve_after: Duration,
    /// `generatorURL` of every alert (a dashboard to open); none by default.
    pub generator_url: Option<String>,
    /// Longest `line` annotation, in characters, escapes included. Default 1000.
    pub line_max_chars: usize,
    /// Queueing, batching and retries: the webhook's defaults, except 10 retries with
    /// the wait capped at 30 s, so an Alertmanager restart of up to about two minutes
    /// loses nothing.
    pub delivery: DeliveryOptions,
}

impl AlertmanagerOptions {
    /// Defaults for `urls`.
    pub fn new(urls: Vec<String>) -> Self {
        AlertmanagerOptions {
            urls,
            labels: Vec::new(),
            resolve_after: Duration::from_secs(300),
            generator_url: None,
            line_max_chars: 1000,
            delivery: DeliveryOptions {
                max_retries: 10,
                max_backoff: Duration::from_secs(30),
                ..DeliveryOptions::default()
            },
        }
    }
}

/// The alerts endpoint of an Alertmanager whose base URL is `base`.
///
/// ```
/// use trace_sentinel_webhook::alertmanager::alerts_url;
/// assert_eq!(alerts_url("http://am:9093"), "http://am:9093/api/v2/alerts");
/// assert_eq!(alerts_url("http://h/am/"), "http://h/am/api/v2/alerts");
/// assert_eq!(alerts_url("http://am:9093/api/v2/alerts"), "http://am:9093/api/v2/alerts");
/// ```
pub fn alerts_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with(ALERTS_PATH) {
        base.to_string()
    } else {
        format!("{base}{ALERTS_PATH}")
    }
}

/// Parse an `--alert-label` value, `name=value`: a Prometheus label name
/// (`[a-zA-Z_][a-zA-Z0-9_]*`, not `__`-prefixed, not one of [`FIXED_LABELS`]) and a
/// non-empty value.
///
/// ```
/// use trace_sentinel_webhook::alertmanager::parse_label;
/// assert_eq!(parse_label("env=prod").unwrap(), ("env".to_string(), "prod".to_string()));
/// assert!(parse_label("severity=low").is_err());
/// ```
pub fn parse_label(spec: &str) -> Result<(String, String), Error> {
    const FLAG: &str = "--alert-label";
    let Some((name, value)) = spec.split_once('=') else {
        return Err(config_error(
            FLAG,
            format!("'{spec}': expected 'name=value'"),
        ));
    };
    let valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with("__");
    if !valid {
        return Err(config_error(
            FLAG,
            format!("'{name}' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"),
        ));
    }
    if FIXED_LABELS.contains(&name) {
        return Err(config_error(
            FLAG,
            format!("'{name}' is set by trace-sentinel itself"),
        ));
    }
    if value.is_empty() {
        return Err(config_error(FLAG, format!("'{name}' has an empty value")));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Append the labels an anomaly's alert carries besides the static ones to `out`, in
/// this order. One push per label: adding one is one line here (and its name in
/// [`FIXED_LABELS`]).
pub fn anomaly_labels<'a>(a: &Anomaly<'a>, out: &mut Vec<(&'static str, Cow<'a, str>)>) {
    out.push(("alertname", Cow::Borrowed(ALERT_NAME)));
    out.push(("source", Cow::Borrowed(a.source)));
    out.push(("metric", Cow::Borrowed(a.metric)));
    out.push(("severity", Cow::Borrowed(a.severity.as_str())));
    if let Some(t) = a.context.template {
        out.push(("template_id", Cow::Owned(t.id.to_string())));
    }
}

/// Whether `c` is written as an escape in an annotation: C0 and C1 controls, DEL (a
/// terminal or chat client must not see them raw), and the bidirectional and
/// zero-width format characters that can make text read differently than it is.
fn needs_escape(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..0xa0).contains(&u)
        || matches!(u, 0x200b..=0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0xfeff)
}

/// Append `text` to `out` with every control (C0, DEL, C1), bidirectional and zero-width
/// format character written as a visible escape (`\x1b`, `\u202e`), cut after
/// `max_chars` characters (escapes included) with a final `…` when anything was left out.
///
/// ```
/// use trace_sentinel_webhook::alertmanager::escape_line;
/// let mut s = String::new();
/// escape_line("a\u{1b}[31mred\u{202e}", 100, &mut s);
/// assert_eq!(s, "a\\x1b[31mred\\u202e");
/// s.clear();
/// escape_line("abcdef", 4, &mut s);
/// assert_eq!(s, "abc…");
/// ```
pub fn escape_line(text: &str, max_chars: usize, out: &mut String) {
    let mut used = 0usize;
    let mut piece = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        piece.clear();
        if needs_escape(c) {
            let u = c as u32;
            if u < 0x100 {
                piece.push_str(&format!("\\x{u:02x}"));
            } else {
                piece.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            piece.push(c);
        }
        let n = piece.chars().count();
        // Room for the piece, and for a final `…` unless this is the last character.
        let last = chars.peek().is_none();
        if used + n + usize::from(!last) > max_chars {
            if max_chars > used {
                out.push('…');
            }
            return;
        }
        out.push_str(&piece);
        used += n;
    }
}

/// A label value, cut to [`LABEL_MAX_CHARS`].
fn label_value(v: &str) -> String {
    match v.char_indices().nth(LABEL_MAX_CHARS) {
        None => v.to_string(),
        Some(_) => {
            let cut = v
                .char_indices()
                .nth(LABEL_MAX_CHARS - 1)
                .map_or(v.len(), |(i, _)| i);
            format!("{}…", &v[..cut])
        }
    }
}

/// A number as an annotation: up to 6 decimals, no trailing zeros; exponent form when
/// very large or very small.
fn number(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || a >= 1e15 || (a != 0.0 && a < 1e-6) {
        return format!("{v:e}");
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// Microseconds since 0001-01-01 UTC of `ts` (a naive time is taken as UTC, as
/// everywhere in the engine).
fn utc_us(ts: &Timestamp) -> i64 {
    ts.local_us.saturating_sub(ts.offset_us.unwrap_or(0)).max(0)
}

/// RFC 3339 in UTC (`2024-05-01T12:00:00.250000+00:00`).
fn rfc3339(utc_us: i64) -> String {
    let mut s = String::with_capacity(32);
    Timestamp {
        local_us: utc_us,
        offset_us: Some(0),
    }
    .write_isoformat(&mut s);
    s
}

/// Renders anomalies as Alertmanager v2 postable alerts.
#[derive(Debug, Clone)]
pub struct AlertJson {
    labels: Vec<(String, String)>,
    resolve_after: Duration,
    generator_url: Option<String>,
    line_max_chars: usize,
}

impl AlertJson {
    /// A renderer for `opts` (labels as given: [`AlertmanagerSink::new`] checks them).
    pub fn new(opts: &AlertmanagerOptions) -> Self {
        AlertJson {
            labels: opts.labels.clone(),
            resolve_after: opts.resolve_after,
            generator_url: opts.generator_url.clone(),
            line_max_chars: opts.line_max_chars,
        }
    }

    /// The alert for `a` detected at `now` (UTC), as a JSON value.
    pub fn alert_at(&self, a: &Anomaly<'_>, now: &Timestamp) -> Value {
        let now_us = utc_us(now);
        let starts = utc_us(&a.timestamp).min(now_us);
        let resolve_us = i64::try_from(self.resolve_after.as_micros()).unwrap_or(i64::MAX);
        let ends = now_us.saturating_add(resolve_us);
        let mut fixed = Vec::with_capacity(FIXED_LABELS.len());
        anomaly_labels(a, &mut fixed);
        let mut labels = Map::new();
        for (name, value) in fixed {
            labels.insert(name.into(), label_value(&value).into());
        }
        for (name, value) in &self.labels {
            labels.insert(name.clone(), label_value(value).into());
        }
        let mut explanation = String::new();
        escape_line(&a.explanation(), self.line_max_chars, &mut explanation);
        let mut line = String::new();
        escape_line(a.message, self.line_max_chars, &mut line);
        let mut timestamp = String::new();
        a.timestamp.write_isoformat(&mut timestamp);
        let mut annotations = Map::new();
        annotations.insert("explanation".into(), explanation.into());
        annotations.insert("line".into(), line.into());
        annotations.insert("value".into(), number(a.value).into());
        annotations.insert("score".into(), format!("{:.3}", a.score).into());
        annotations.insert("timestamp".into(), timestamp.into());
        if let Some(t) = a.context.template {
            let mut template = String::new();
            escape_line(t.text, self.line_max_chars, &mut template);
            annotations.insert("template".into(), template.into());
        }
        let mut alert = Map::new();
        alert.insert("labels".into(), Value::Object(labels));
        alert.insert("annotations".into(), Value::Object(annotations));
        alert.insert("startsAt".into(), rfc3339(starts).into());
        alert.insert("endsAt".into(), rfc3339(ends).into());
        if let Some(url) = &self.generator_url {
            alert.insert("generatorURL".into(), url.clone().into());
        }
        Value::Object(alert)
    }
}

impl Render for AlertJson {
    fn render(&mut self, a: &Anomaly<'_>, out: &mut String) {
        out.push_str(&self.alert_at(a, &Timestamp::now_utc()).to_string());
    }
}

/// A sink that POSTs anomalies to Alertmanagers as alerts (see the module docs).
pub type AlertmanagerSink = DeliverySink<AlertJson>;

impl DeliverySink<AlertJson> {
    /// Validate `opts` and start one delivery thread per Alertmanager.
    pub fn new(opts: AlertmanagerOptions) -> Result<Self, Error> {
        const FLAG: &str = "--alertmanager";
        if opts.urls.is_empty() {
            return Err(config_error(FLAG, "no Alertmanager URL"));
        }
        for (name, value) in &opts.labels {
            parse_label(&format!("{name}={value}"))?;
        }
        if opts.resolve_after.is_zero() {
            return Err(config_error(
                "--alert-resolve-after",
                "must be longer than 0",
            ));
        }
        let urls: Vec<String> = opts.urls.iter().map(|u| alerts_url(u)).collect();
        for (given, url) in opts.urls.iter().zip(&urls) {
            // Check what was given (the messages quote it), then what is used.
            check_url(FLAG, given)?;
            check_url(FLAG, url)?;
        }
        DeliverySink::start(
            AlertJson::new(&opts),
            "alertmanager",
            FLAG,
            &urls,
            &[],
            &opts.delivery,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace_sentinel_core::Severity;

    fn anomaly<'a>(source: &'a str, message: &'a str, ts: f64) -> Anomaly<'a> {
        Anomaly {
            metric: "message.length",
            value: 9182.0,
            score: 245.5974,
            severity: Severity::Critical,
            threshold: 3.0,
            semantic: false,
            timestamp: Timestamp::from_epoch_seconds(ts).unwrap(),
            source,
            message,
            message_wtf8: None,
            context: Default::default(),
        }
    }

    fn labels(a: &Anomaly<'_>) -> Vec<(&'static str, String)> {
        let mut labels = Vec::new();
        anomaly_labels(a, &mut labels);
        labels
            .into_iter()
            .map(|(k, v)| (k, v.into_owned()))
            .collect()
    }

    /// The fixed labels, in order; a new label is one more row here.
    #[test]
    fn labels_of_an_anomaly() {
        let mut a = anomaly("web-01", "m", 0.0);
        let want = [
            ("alertname", "TraceSentinelAnomaly"),
            ("source", "web-01"),
            ("metric", "message.length"),
            ("severity", "critical"),
        ];
        assert_eq!(labels(&a), want.map(|(k, v)| (k, v.to_string())).to_vec());
        // With the template layer, the template's id.
        a.context.template = Some(trace_sentinel_core::TemplateRef {
            id: 42,
            text: "GET /x <*>",
        });
        let got = labels(&a);
        assert_eq!(got[..4], want.map(|(k, v)| (k, v.to_string())));
        assert_eq!(got[4], ("template_id", "42".to_string()));
        for (name, _) in &got {
            assert!(FIXED_LABELS.contains(name), "{name} is not in FIXED_LABELS");
        }
        let r = AlertJson::new(&AlertmanagerOptions::new(vec!["http://h".into()]));
        let v = r.alert_at(&a, &Timestamp::from_epoch_seconds(10.0).unwrap());
        assert_eq!(v["labels"]["template_id"], "42");
        assert_eq!(v["annotations"]["template"], "GET /x <*>");
    }

    #[test]
    fn an_alert_as_alertmanager_reads_it() {
        let mut opts = AlertmanagerOptions::new(vec!["http://127.0.0.1:9093".into()]);
        opts.labels = vec![("env".into(), "prod".into())];
        opts.generator_url = Some("http://127.0.0.1:8787/".into());
        let r = AlertJson::new(&opts);
        let now = Timestamp::from_epoch_seconds(1_700_000_100.5).unwrap();
        let a = anomaly("web-01", "GET /x \u{1b}[2J", 1_700_000_000.25);
        let v = r.alert_at(&a, &now);
        assert_eq!(
            v,
            serde_json::json!({
                "labels": {
                    "alertname": "TraceSentinelAnomaly",
                    "source": "web-01",
                    "metric": "message.length",
                    "severity": "critical",
                    "env": "prod",
                },
                "annotations": {
                    "explanation": "message.length = 9.18e+03 is 245.6σ above baseline (threshold 3.0σ)",
                    "line": "GET /x \\x1b[2J",
                    "value": "9182",
                    "score": "245.597",
                    "timestamp": "2023-11-14T22:13:20.250000+00:00",
                },
                "startsAt": "2023-11-14T22:13:20.250000+00:00",
                "endsAt": "2023-11-14T22:20:00.500000+00:00",
                "generatorURL": "http://127.0.0.1:8787/",
            })
        );
        // An event from the future starts now; an offset is taken into account.
        let future = anomaly("s", "m", 1_800_000_000.0);
        assert_eq!(
            r.alert_at(&future, &now)["startsAt"],
            "2023-11-14T22:15:00.500000+00:00"
        );
        let mut shifted = anomaly("s", "m", 0.0);
        shifted.timestamp = Timestamp::parse_json_string("2023-11-14T23:13:20+01:00").unwrap();
        assert_eq!(
            r.alert_at(&shifted, &now)["startsAt"],
            "2023-11-14T22:13:20+00:00"
        );
        // Without a HUD there is no generatorURL.
        opts.generator_url = None;
        assert!(AlertJson::new(&opts)
            .alert_at(&a, &now)
            .get("generatorURL")
            .is_none());
    }

    #[test]
    fn hostile_text_is_escaped_and_bounded() {
        let long = format!("{}\u{1b}", "é".repeat(5000));
        let source = "s".repeat(1000);
        let r = AlertJson::new(&AlertmanagerOptions::new(vec!["http://h".into()]));
        let a = anomaly(&source, &long, 0.0);
        let v = r.alert_at(&a, &Timestamp::from_epoch_seconds(10.0).unwrap());
        let line = v["annotations"]["line"].as_str().unwrap();
        assert_eq!(line.chars().count(), 1000);
        assert!(line.ends_with("é…"), "{line}");
        let src = v["labels"]["source"].as_str().unwrap();
        assert_eq!(src.chars().count(), LABEL_MAX_CHARS);
        assert!(src.ends_with('…'));
        // Edge cases of the escaper: empty, exact fit, an escape that does not fit.
        let esc = |t: &str, n: usize| {
            let mut s = String::new();
            escape_line(t, n, &mut s);
            s
        };
        assert_eq!(esc("", 5), "");
        assert_eq!(esc("abc", 3), "abc");
        assert_eq!(esc("abcd", 3), "ab…");
        assert_eq!(esc("ab\u{7}", 5), "ab…");
        assert_eq!(esc("ab\u{7}", 6), "ab\\x07");
        assert_eq!(
            esc("\t\n\r\u{85}\u{feff}", 100),
            "\\x09\\x0a\\x0d\\x85\\ufeff"
        );
        assert_eq!(esc("abc", 0), "");
    }

    #[test]
    fn static_labels_are_checked() {
        assert_eq!(
            parse_label("cluster=eu-1=a").unwrap(),
            ("cluster".into(), "eu-1=a".into())
        );
        for bad in [
            "noequals",
            "=v",
            "1abc=v",
            "a-b=v",
            "__x=v",
            "source=x",
            "template_id=1",
            "env=",
        ] {
            let e = parse_label(bad).unwrap_err().to_string();
            assert!(e.contains("--alert-label"), "{bad}: {e}");
        }
        let mut o = AlertmanagerOptions::new(vec![]);
        assert!(AlertmanagerSink::new(o.clone()).is_err());
        o.urls = vec!["ftp://x".into()];
        assert!(AlertmanagerSink::new(o.clone()).is_err());
        o.urls = vec!["http://127.0.0.1:9".into()];
        o.labels = vec![("severity".into(), "x".into())];
        assert!(AlertmanagerSink::new(o.clone()).is_err());
        o.labels.clear();
        o.resolve_after = Duration::ZERO;
        assert!(AlertmanagerSink::new(o).is_err());
    }

    #[test]
    fn numbers_in_annotations() {
        for (v, s) in [
            (9182.0, "9182"),
            (0.5, "0.5"),
            (-0.0, "0"),
            (1.0 / 3.0, "0.333333"),
            (1e20, "1e20"),
            (2.5e-9, "2.5e-9"),
        ] {
            assert_eq!(number(v), s);
        }
    }
}
