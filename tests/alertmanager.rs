//! `--alertmanager` against real Alertmanagers (Debian's `prometheus-alertmanager`,
//! started here on free loopback ports): the alerts that arrive are exactly those of the
//! anomalies `--format json` prints, with the documented labels and annotations, at both
//! members of an HA pair; an Alertmanager that goes away mid-run neither slows detection
//! nor loses what it missed once it is back; the HUD's alerts link to the dashboard.

#[path = "support/logs.rs"]
mod logs;
#[path = "support/prometheus.rs"]
mod prometheus;
#[path = "support/running.rs"]
mod running;
#[path = "support/scratch.rs"]
mod scratch;

use logs::{append, normal_lines};
use prometheus::Alertmanager;
use running::Running;
use scratch::scratch;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_trace-sentinel");

/// A line far longer than normal, with an ANSI escape, a bidirectional override and a
/// bell: a length and token anomaly whose `line` annotation is escaped and truncated.
fn hostile_spike(tag: &str) -> String {
    format!(
        "ERROR {tag} \x1b[31mupstream\x1b[0m reset \u{202e}txt.exe\x07 {}\n",
        "timeout; retrying ".repeat(120)
    )
}

/// The documented `line` rule, written out independently: control, bidirectional and
/// zero-width characters as `\xHH` / `\uHHHH`, at most `max` characters, a final `…`
/// when cut.
fn escaped(text: &str, max: usize) -> String {
    let pieces: Vec<String> = text
        .chars()
        .map(|c| {
            let u = c as u32;
            if u < 0x20 || (0x7f..0xa0).contains(&u) {
                format!("\\x{u:02x}")
            } else if matches!(u, 0x200b..=0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0xfeff) {
                format!("\\u{u:04x}")
            } else {
                c.to_string()
            }
        })
        .collect();
    if pieces.iter().map(|p| p.chars().count()).sum::<usize>() <= max {
        return pieces.concat();
    }
    let mut out = String::new();
    let mut used = 0;
    for p in pieces {
        let n = p.chars().count();
        if used + n + 1 > max {
            break;
        }
        out.push_str(&p);
        used += n;
    }
    out.push('…');
    out
}

/// An event time as Alertmanager writes it back: UTC, milliseconds (truncated), `Z`.
fn am_time(iso: &str) -> String {
    let (datetime, offset) = iso.split_at(iso.len() - 6);
    assert_eq!(offset, "+00:00", "plain-text read times are UTC: {iso}");
    let (secs, frac) = datetime.split_once('.').unwrap_or((datetime, "000000"));
    format!("{secs}.{}Z", &frac[..3])
}

/// An alert's identity: source, metric, severity and template id ("" without the
/// template layer).
type Key = (String, String, String, String);

/// Anomalies printed by `--format json`, grouped into the alerts they make: by the
/// identifying labels, in order of arrival.
fn expected_alerts(stdout: &str) -> BTreeMap<Key, Vec<Value>> {
    let mut groups: BTreeMap<Key, Vec<Value>> = BTreeMap::new();
    for line in stdout.lines() {
        let a: Value = serde_json::from_str(line).expect("a JSON anomaly");
        let key = (
            a["source"].as_str().unwrap().to_string(),
            a["metric"].as_str().unwrap().to_string(),
            a["severity"].as_str().unwrap().to_string(),
            a.get("template_id")
                .map_or(String::new(), |t| t.to_string()),
        );
        groups.entry(key).or_default().push(a);
    }
    groups
}

/// The alert's identifying labels.
fn key_of(alert: &Value) -> Key {
    let l = &alert["labels"];
    let label = |name: &str| l[name].as_str().unwrap_or("").to_string();
    (
        label("source"),
        label("metric"),
        label("severity"),
        label("template_id"),
    )
}

/// The key without a template.
fn plain(source: &str, metric: &str, severity: &str) -> Key {
    (source.into(), metric.into(), severity.into(), String::new())
}

fn sources_of(alerts: &[Value]) -> Vec<String> {
    let mut s: Vec<String> = alerts.iter().map(|a| key_of(a).0).collect();
    s.sort();
    s.dedup();
    s
}

/// Check one Alertmanager's alerts against the anomalies they came from.
fn check_alerts(
    am: &Alertmanager,
    alerts: &[Value],
    groups: &BTreeMap<Key, Vec<Value>>,
    static_labels: &[(&str, &str)],
    resolve_after: Duration,
    generator_url: Option<&str>,
) {
    let mut got: Vec<_> = alerts.iter().map(key_of).collect();
    got.sort();
    let want: Vec<_> = groups.keys().cloned().collect();
    assert_eq!(got, want, "alerts at {} (log:\n{})", am.url(), am.log());
    for alert in alerts {
        let anomalies = &groups[&key_of(alert)];
        let last = anomalies.last().unwrap();
        let mut labels = BTreeMap::new();
        labels.insert("alertname".to_string(), "TraceSentinelAnomaly".to_string());
        labels.insert("source".into(), last["source"].as_str().unwrap().into());
        labels.insert("metric".into(), last["metric"].as_str().unwrap().into());
        labels.insert("severity".into(), last["severity"].as_str().unwrap().into());
        if let Some(id) = last.get("template_id") {
            labels.insert("template_id".into(), id.to_string());
        }
        for (k, v) in static_labels {
            labels.insert(k.to_string(), v.to_string());
        }
        let got_labels: BTreeMap<String, String> =
            serde_json::from_value(alert["labels"].clone()).unwrap();
        assert_eq!(got_labels, labels);
        // The newest anomaly's annotations.
        let ann = &alert["annotations"];
        let mut keys: Vec<&str> = ann
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        let mut want_keys = vec!["explanation", "line", "score", "timestamp", "value"];
        if let Some(t) = last.get("template") {
            want_keys.push("template");
            want_keys.sort_unstable();
            assert_eq!(
                ann["template"].as_str().unwrap(),
                escaped(t.as_str().unwrap(), 1000)
            );
        }
        assert_eq!(keys, want_keys);
        assert_eq!(
            ann["explanation"].as_str().unwrap(),
            escaped(last["explanation"].as_str().unwrap(), 1000)
        );
        assert_eq!(
            ann["line"].as_str().unwrap(),
            escaped(last["message"].as_str().unwrap(), 1000)
        );
        assert_eq!(ann["timestamp"], last["timestamp"]);
        let score: f64 = ann["score"].as_str().unwrap().parse().unwrap();
        assert!(
            (score - last["score"].as_f64().unwrap()).abs() < 6e-4,
            "{ann}"
        );
        let value: f64 = ann["value"].as_str().unwrap().parse().unwrap();
        let want_value = last["value"].as_f64().unwrap();
        assert!(
            (value - want_value).abs() <= 1e-6 * want_value.abs().max(1.0),
            "{ann}"
        );
        // The earliest start, an end a resolve-after past the newest detection.
        let first = am_time(anomalies[0]["timestamp"].as_str().unwrap());
        assert_eq!(alert["startsAt"].as_str().unwrap(), first, "{alert}");
        let ends = alert["endsAt"].as_str().unwrap();
        let latest = am_time(last["timestamp"].as_str().unwrap());
        assert!(
            seconds(ends) >= seconds(&latest) + resolve_after.as_secs_f64() - 1.0,
            "endsAt {ends} vs last anomaly {latest}"
        );
        assert!(
            seconds(ends) <= seconds(&latest) + resolve_after.as_secs_f64() + 120.0,
            "endsAt {ends} vs last anomaly {latest}"
        );
        assert_eq!(alert["status"]["state"], "active", "{alert}");
        let url = alert["generatorURL"].as_str().unwrap_or("");
        assert_eq!(url, generator_url.unwrap_or(""), "{alert}");
    }
}

/// Seconds of a `YYYY-MM-DDTHH:MM:SS.mmmZ` time since its day's year start, enough to
/// compare times of one run.
fn seconds(t: &str) -> f64 {
    let day_of_year = |y: i64, m: i64, d: i64| {
        let cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap = i64::from(m > 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
        cum[(m - 1) as usize] + d + leap
    };
    let n = |a: usize, b: usize| t[a..b].parse::<i64>().unwrap();
    let (y, mo, d, h, mi) = (n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16));
    let s: f64 = t[17..t.len() - 1].parse().unwrap();
    (((y * 400 + day_of_year(y, mo, d)) * 24 + h) * 60 + mi) as f64 * 60.0 + s
}

#[test]
fn watch_alerts_arrive_exactly_at_both_alertmanagers_of_a_pair() {
    const TEST: &str = "watch_alerts_arrive_exactly_at_both_alertmanagers_of_a_pair";
    let Some(am1) = Alertmanager::start(TEST) else {
        return;
    };
    let Some(am2) = Alertmanager::start(TEST) else {
        return;
    };
    let tmp = scratch("alertmanager-pair");
    let (app, db) = (tmp.path().join("app.log"), tmp.path().join("db.log"));
    append(&app, &normal_lines("web", 200, 0));
    append(&app, &hostile_spike("checkout"));
    append(&app, &normal_lines("web", 100, 200));
    append(&db, &normal_lines("db", 200, 0));
    append(&db, &hostile_spike("replica"));
    let out = Command::new(BIN)
        .arg("watch")
        .args([&app, &db])
        .args(["--format", "json", "--alert-resolve-after", "1h"])
        .args(["--alertmanager", &am1.url(), "--alertmanager", &am2.url()])
        .args(["--alert-label", "env=test", "--alert-label", "cluster=ci-1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(!stderr.contains("trace-sentinel: alertmanager"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let groups = expected_alerts(&stdout);
    // The known anomalies are among them: both spikes, as length anomalies.
    for source in ["app.log", "db.log"] {
        let spike = groups
            .get(&plain(source, "message.length", "critical"))
            .unwrap_or_else(|| panic!("no critical length anomaly of {source}:\n{stdout}"));
        assert!(spike[0]["message"]
            .as_str()
            .unwrap()
            .contains("\u{202e}txt.exe"));
    }
    let n = groups.len();
    for am in [&am1, &am2] {
        // Delivery finished before the process exited.
        let alerts = am.alerts();
        check_alerts(
            am,
            &alerts,
            &groups,
            &[("env", "test"), ("cluster", "ci-1")],
            Duration::from_secs(3600),
            None,
        );
        assert_eq!(alerts.len(), n);
        let spike = alerts
            .iter()
            .find(|a| key_of(a) == plain("app.log", "message.length", "critical"))
            .unwrap();
        let line = spike["annotations"]["line"].as_str().unwrap();
        assert!(
            line.starts_with("ERROR checkout \\x1b[31mupstream\\x1b[0m reset \\u202etxt.exe\\x07 ")
                && line.ends_with('…')
                && line.chars().count() == 1000,
            "{line}"
        );
    }
}

/// With the template layer every alert also names its template: one alert per source,
/// metric, severity and template, the template's text as an annotation.
#[test]
fn template_layer_alerts_carry_the_template() {
    const TEST: &str = "template_layer_alerts_carry_the_template";
    let Some(am) = Alertmanager::start(TEST) else {
        return;
    };
    let tmp = scratch("alertmanager-templates");
    let log = tmp.path().join("app.log");
    append(&log, &normal_lines("web", 300, 0));
    append(
        &log,
        "FATAL kernel panic: unable to mount root fs on unknown-block(0,0)\n",
    );
    append(&log, &normal_lines("web", 50, 300));
    append(
        &log,
        "ERROR disk /dev/sda1 failing: 17 reallocated sectors\n",
    );
    let out = Command::new(BIN)
        .args([
            "watch",
            log.to_str().unwrap(),
            "--templates",
            "--format",
            "json",
        ])
        .args(["--alertmanager", &am.url(), "--alert-resolve-after", "1h"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let groups = expected_alerts(&stdout);
    assert!(
        groups.keys().filter(|k| !k.3.is_empty()).count() >= 2,
        "anomalies with templates:\n{stdout}"
    );
    let alerts = am.alerts();
    check_alerts(&am, &alerts, &groups, &[], Duration::from_secs(3600), None);
    let panic = alerts
        .iter()
        .find(|a| {
            a["annotations"]["line"]
                .as_str()
                .is_some_and(|l| l.starts_with("FATAL kernel panic"))
        })
        .expect("the kernel panic's alert");
    assert!(panic["labels"]["template_id"].as_str().is_some(), "{panic}");
    assert_eq!(
        panic["annotations"]["template"],
        "FATAL kernel panic: unable to mount root fs on unknown-block(<*>,<*>)"
    );
}

/// `events` of the `--stats-json` file (0 until it exists).
fn stats_events(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["events"].as_u64())
        .unwrap_or(0)
}

fn wait_events(stats: &Path, n: u64, timeout: Duration) -> Duration {
    let t0 = Instant::now();
    while stats_events(stats) < n {
        assert!(
            t0.elapsed() < timeout,
            "{} of {n} events",
            stats_events(stats)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    t0.elapsed()
}

#[test]
fn alertmanager_outage_neither_slows_detection_nor_loses_alerts() {
    const TEST: &str = "alertmanager_outage_neither_slows_detection_nor_loses_alerts";
    let Some(mut am) = Alertmanager::start(TEST) else {
        return;
    };
    let tmp = scratch("alertmanager-outage");
    let dir = tmp.path();
    let [a, b, c] = ["a.log", "b.log", "c.log"].map(|n| dir.join(n));
    for (p, service) in [(&a, "web"), (&b, "api"), (&c, "db")] {
        append(p, &normal_lines(service, 200, 0));
    }
    let stats = dir.join("stats.json");
    let p = |x: &Path| x.to_str().unwrap().to_string();
    let follower = Running::start(
        &[
            "watch",
            "-f",
            "--from-start",
            &p(&a),
            &p(&b),
            &p(&c),
            "--format",
            "json",
            "--stats-json",
            &p(&stats),
            "--checkpoint-interval",
            "50",
            "--alertmanager",
            &am.url(),
            "--alert-resolve-after",
            "1h",
        ],
        Stdio::null(),
    );
    let mut events = 600;
    wait_events(&stats, events, Duration::from_secs(60));

    // 1. Alertmanager up: a burst of lines, then a spike; its alert arrives.
    let burst = 200_000;
    append(&a, &normal_lines("web", burst, 200));
    append(&a, &hostile_spike("first"));
    events += burst as u64 + 1;
    let up = wait_events(&stats, events, Duration::from_secs(120));
    let alerts = am.wait_for(Duration::from_secs(30), |al| {
        sources_of(al).contains(&"a.log".to_string())
    });
    assert!(sources_of(&alerts).contains(&"a.log".into()), "{alerts:?}");

    // 2. Alertmanager gone: the same burst is detected as fast, the spike printed at
    //    once, and the failure reported while the follower runs.
    am.stop();
    let t0 = Instant::now();
    append(&b, &normal_lines("api", burst, 200));
    append(&b, &hostile_spike("second"));
    events += burst as u64 + 1;
    let down = wait_events(&stats, events, Duration::from_secs(120));
    eprintln!("{burst} lines detected in {up:?} with Alertmanager, in {down:?} without");
    assert!(
        down <= up * 3 + Duration::from_secs(1),
        "detection slowed down without Alertmanager: {down:?} (with it: {up:?})"
    );
    let printed = follower
        .wait_stdout(Duration::from_secs(10), |l| {
            l.contains("\"source\": \"b.log\"")
        })
        .expect("the second spike was printed");
    assert!(printed - t0 < Duration::from_secs(10));
    let warned = Instant::now() + Duration::from_secs(20);
    let want = format!(
        "trace-sentinel: warning: alertmanager {}: request failed (",
        am.url()
    );
    while !follower.stderr_text().contains(&want) {
        assert!(
            Instant::now() < warned,
            "no warning while running:\n{}",
            follower.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // 3. Alertmanager back (its alerts were in memory): what it missed arrives, then
    //    what comes next; recovery is reported.
    am.restart();
    append(&c, &hostile_spike("third"));
    let alerts = am.wait_for(Duration::from_secs(90), |al| {
        let s = sources_of(al);
        s.contains(&"b.log".to_string()) && s.contains(&"c.log".to_string())
    });
    let s = sources_of(&alerts);
    assert!(
        s.contains(&"b.log".into()) && s.contains(&"c.log".into()),
        "after the restart: {s:?}\n{}",
        follower.stderr_text()
    );
    assert!(
        follower.stderr_text().contains(&format!(
            "trace-sentinel: warning: alertmanager {}: delivering again after",
            am.url()
        )),
        "{}",
        follower.stderr_text()
    );
    let stdout_b: Vec<Value> = follower
        .stdout_lines()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["source"] == "b.log")
        .collect();
    let stderr = follower.stderr_text();
    let printed = follower.stdout_lines().len() as u64;
    assert_eq!(follower.stop(), Some(0), "{stderr}");
    // Nothing given up or dropped: every printed anomaly was delivered.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let d = &doc["delivery"][0];
    assert_eq!(d["sink"], "alertmanager");
    assert_eq!(d["target"], am.url());
    assert_eq!(
        (d["queued"].as_u64(), d["delivered"].as_u64()),
        (Some(printed), Some(printed)),
        "{doc}"
    );
    assert_eq!(
        (d["dropped"].as_u64(), d["failed"].as_u64()),
        (Some(0), Some(0))
    );
    // The alerts of b.log carry the newest of its anomalies.
    let b_alert = alerts.iter().find(|al| key_of(al).0 == "b.log").unwrap();
    let newest = stdout_b
        .iter()
        .rev()
        .find(|v| {
            (v["metric"].as_str(), v["severity"].as_str())
                == (
                    b_alert["labels"]["metric"].as_str(),
                    b_alert["labels"]["severity"].as_str(),
                )
        })
        .unwrap();
    assert_eq!(b_alert["annotations"]["timestamp"], newest["timestamp"]);
}

#[cfg(feature = "hud")]
#[test]
fn hud_alerts_link_to_the_dashboard() {
    const TEST: &str = "hud_alerts_link_to_the_dashboard";
    let Some(am) = Alertmanager::start(TEST) else {
        return;
    };
    let tmp = scratch("alertmanager-hud");
    let log = tmp.path().join("app.log");
    append(&log, &normal_lines("web", 200, 0));
    append(&log, &hostile_spike("hud"));
    let hud = Running::start(
        &[
            "hud",
            log.to_str().unwrap(),
            "--port",
            "0",
            "--alertmanager",
            &am.url(),
            "--alert-label",
            "env=test",
        ],
        Stdio::null(),
    );
    let url = hud.stderr_after("listening on ");
    let alerts = am.wait_for(Duration::from_secs(30), |al| !al.is_empty());
    assert!(!alerts.is_empty(), "{}", hud.stderr_text());
    for a in &alerts {
        assert_eq!(a["generatorURL"].as_str(), Some(url.as_str()), "{a}");
        assert_eq!(a["labels"]["env"], "test");
        assert_eq!(a["labels"]["source"], "app.log");
    }
    assert_eq!(hud.stop(), Some(0));
}

#[test]
fn bad_alertmanager_flags_exit_2_with_one_line() {
    let log = format!("{}/datasets/demo.log", env!("CARGO_MANIFEST_DIR"));
    for (args, says) in [
        (vec!["--alertmanager", "ftp://am:9093"], "--alertmanager"),
        (vec!["--alertmanager", "am:9093"], "--alertmanager"),
        (
            vec![
                "--alertmanager",
                "http://127.0.0.1:9",
                "--alert-label",
                "severity=low",
            ],
            "'severity' is set by trace-sentinel itself",
        ),
        (
            vec![
                "--alertmanager",
                "http://127.0.0.1:9",
                "--alert-label",
                "9x=y",
            ],
            "--alert-label",
        ),
        (
            vec![
                "--alertmanager",
                "http://127.0.0.1:9",
                "--alert-label",
                "env",
            ],
            "expected 'name=value'",
        ),
        (
            vec![
                "--alertmanager",
                "http://127.0.0.1:9",
                "--alert-resolve-after",
                "5",
            ],
            "--alert-resolve-after",
        ),
        (
            vec![
                "--alertmanager",
                "http://127.0.0.1:9",
                "--alert-resolve-after",
                "0s",
            ],
            "must be longer than 0",
        ),
        (vec!["--alert-label", "env=x"], "--alertmanager"),
        (vec!["--alert-resolve-after", "1m"], "--alertmanager"),
    ] {
        for cmd in ["watch", "scan"] {
            let out = Command::new(BIN)
                .args([cmd, &log])
                .args(&args)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {args:?}: {stderr}");
            assert!(out.stdout.is_empty());
            assert!(
                stderr.starts_with("trace-sentinel: error: ")
                    && stderr.contains(says)
                    && stderr.lines().count() == 1,
                "{cmd} {args:?}: {stderr}"
            );
        }
    }
}
