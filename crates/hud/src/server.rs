//! The HUD's HTTP server (axum on tokio): the embedded page, `/api/state`, the
//! Server-Sent-Events stream `/api/stream`, `/healthz` and `/metrics`. It only reads the
//! shared state; the engine runs elsewhere.
//!
//! Hardening: every response carries `nosniff` and `no-referrer`; the page is served
//! with a strict Content-Security-Policy (scripts and styles only from this origin, no
//! inline code) so a hostile log line cannot run script even if it reached the DOM as
//! markup. When bound to loopback, requests whose `Host` is not a loopback name are
//! refused (421), which stops DNS-rebinding pages from reading the logs. No CORS header
//! is sent, so other origins cannot read the API either.

use crate::metrics::{self, ServerFacts};
use crate::monitor::Shared;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self as mw, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::convert::Infallible;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The page.
pub const INDEX_HTML: &str = include_str!("page/index.html");
/// The page's script.
pub const APP_JS: &str = include_str!("page/app.js");
/// The page's styles.
pub const APP_CSS: &str = include_str!("page/app.css");
/// The page's icon.
pub const FAVICON_SVG: &str = include_str!("page/favicon.svg");

/// Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Least time between two pushes to one stream client.
pub const PUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Most stream clients served at once; later ones get 503 (and retry).
pub const MAX_STREAMS: usize = 256;
/// How often `lines_per_second` is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How often the server checks for a stop request.
const STOP_POLL: Duration = Duration::from_millis(100);

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    started: Instant,
    loopback_only: bool,
}

/// The router over `shared`. With `loopback_only`, only loopback `Host` names are served.
pub fn router(shared: Arc<Shared>, loopback_only: bool) -> Router {
    let app = App {
        shared,
        started: Instant::now(),
        loopback_only,
    };
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/dashboard.html", get(index))
        .route(
            "/app.js",
            get(|| asset(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/app.css",
            get(|| asset(APP_CSS, "text/css; charset=utf-8")),
        )
        .route("/favicon.svg", get(|| asset(FAVICON_SVG, "image/svg+xml")))
        .route("/api/state", get(state))
        .route("/api/stream", get(stream))
        .route("/healthz", get(|| async { text("ok") }))
        .route("/metrics", get(prometheus))
        .fallback(|| async { (StatusCode::NOT_FOUND, text("not found")) })
        .layer(mw::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

fn text(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn asset(body: &'static str, ctype: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Where the page carries the state it was served with (a JSON data block, never run).
const INITIAL_STATE: &str = r#"<script type="application/json" id="initial-state">null</script>"#;

/// The page with the current state embedded, so it renders at once (before any request
/// of its own; also what `chromium --dump-dom` sees). `<` is written as `\u003c`, so no
/// log text can close the data block.
pub fn render_index(state_json: &str) -> String {
    let safe = state_json.replace('<', "\\u003c");
    INDEX_HTML.replacen(
        INITIAL_STATE,
        &format!(r#"<script type="application/json" id="initial-state">{safe}</script>"#),
        1,
    )
}

async fn index(State(app): State<App>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        render_index(&app.state_json()),
    )
        .into_response()
}

/// Whether `host` (a `Host` header value) names this machine's loopback interface.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    name.eq_ignore_ascii_case("localhost")
        || name
            .get(name.len().saturating_sub(".localhost".len())..)
            .is_some_and(|t| t.eq_ignore_ascii_case(".localhost"))
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    if app.loopback_only {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().host());
        if host.is_some_and(|h| !is_loopback_host(h)) {
            return (
                StatusCode::MISDIRECTED_REQUEST,
                text("this dashboard only answers to localhost"),
            )
                .into_response();
        }
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

impl App {
    fn state_json(&self) -> String {
        self.versioned_state_json().1
    }

    /// The state as JSON with its version, both read under one lock (so an SSE event's
    /// id is the `version` its data carries).
    fn versioned_state_json(&self) -> (u64, String) {
        let st = self.shared.lock();
        // The state holds only strings, numbers and booleans: serialising cannot fail.
        let json = serde_json::to_string(&*st).unwrap_or_else(|_| "{}".into());
        (st.version(), json)
    }
}

async fn state(State(app): State<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        app.state_json(),
    )
        .into_response()
}

async fn prometheus(State(app): State<App>) -> Response {
    let facts = ServerFacts {
        sse_clients: app.shared.subscribers(),
        uptime_seconds: app.started.elapsed().as_secs_f64(),
        deliveries: app.shared.deliveries(),
    };
    let body = metrics::render(&app.shared.lock(), facts);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn stream(State(app): State<App>) -> Response {
    if app.shared.subscribers() >= MAX_STREAMS {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many stream clients",
        )
            .into_response();
    }
    let rx = app.shared.subscribe();
    let events = futures_util::stream::unfold(
        (rx, app, None::<Instant>),
        |(mut rx, app, last)| async move {
            if let Some(last) = last {
                if rx.changed().await.is_err() || app.shared.stopping() {
                    return None;
                }
                // Coalesce bursts: at most one push per interval per client.
                let due = last + PUSH_INTERVAL;
                tokio::time::sleep_until(due.into()).await;
            }
            // Mark the change seen; the id comes from the state serialised below, which
            // may already be newer than the version this wake-up announced.
            rx.borrow_and_update();
            if app.shared.stopping() {
                return None;
            }
            let (version, data) = app.versioned_state_json();
            let ev = Event::default().id(version.to_string()).data(data);
            Some((Ok::<_, Infallible>(ev), (rx, app, Some(Instant::now()))))
        },
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))),
    )
        .into_response()
}

/// Serve on `listener` until a stop is requested through `shared`; also samples the
/// event rate once a second.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    loopback_only: bool,
) -> io::Result<()> {
    let sampler = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            loop {
                tick.tick().await;
                let changed = {
                    let mut st = shared.lock();
                    let before = st.lines_per_second();
                    st.sample_rate(Instant::now());
                    st.lines_per_second() != before
                };
                if changed {
                    // Push the new rate to stream clients.
                    shared.update(|_| ());
                }
            }
        })
    };
    let stop = {
        let shared = Arc::clone(&shared);
        async move {
            while !shared.stopping() {
                tokio::time::sleep(STOP_POLL).await;
            }
        }
    };
    let app = router(shared, loopback_only);
    let r = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await;
    sampler.abort();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:8787",
            "LOCALHOST.",
            "127.0.0.1:80",
            "127.1.2.3",
            "[::1]:8787",
            "[::1]",
            "app.localhost:1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "evil.example:8787",
            "localhost.evil.example",
            "10.0.0.1",
            "[::2]:80",
            "",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn embedded_state_cannot_break_out() {
        assert!(INDEX_HTML.contains(INITIAL_STATE));
        let json =
            serde_json::json!({"feed": [{"message": "</script><script>alert(1)</script><!--"}]})
                .to_string();
        let page = render_index(&json);
        let start = page.find(r#"id="initial-state">"#).unwrap() + r#"id="initial-state">"#.len();
        let end = start + page[start..].find("</script>").unwrap();
        let embedded = &page[start..end];
        assert!(!embedded.contains('<'));
        let back: serde_json::Value = serde_json::from_str(embedded).unwrap();
        assert_eq!(back.to_string(), json);
    }

    #[test]
    fn page_has_no_inline_code_or_remote_assets() {
        assert!(!INDEX_HTML.contains("<script>"));
        assert!(!INDEX_HTML.contains("style="));
        assert!(!INDEX_HTML.contains(" on"), "inline event handler");
        for page in [INDEX_HTML, APP_JS, APP_CSS] {
            assert!(!page.contains("http://") && !page.contains("https://"));
            assert!(!page.contains("@import") && !page.contains("@font-face"));
        }
        assert!(!APP_JS.contains("innerHTML"), "the page renders text only");
    }
}
