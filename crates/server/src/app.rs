//! The router and the running server: routes, request ids, access log, metrics by route
//! template, body size limit and body-read timeout, `/healthz` and `/readyz`, and graceful shutdown (the listener
//! stops accepting, requests in flight finish, `/readyz` answers 503 meanwhile).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use motcua_store::Store;
use serde_json::json;
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::problem::{Problem, ProblemKind};
use crate::routing::Routes;
use crate::state::AppState;
use crate::{api, deadline, listener, page, public, ui};

pub const REQUEST_ID: &str = "x-request-id";

/// The route template a request matched, filled in by an inner layer for the outer one.
#[derive(Debug, Clone, Default)]
struct RouteSlot(Arc<Mutex<Option<String>>>);

/// Every route of the server with its method and path list: the API, the desk's and the
/// public pages, and the operations routes.
fn routes() -> (Routes<AppState>, Routes<AppState>, Routes<AppState>) {
    let ops = Routes::new()
        .get("/healthz", healthz)
        .get("/readyz", readyz)
        .get("/metrics", metrics)
        .get("/assets/app.js", app_js);
    (
        api::routes().merge(crate::petitions::routes()).merge(crate::hall::routes()),
        ui::routes().merge(public::routes()).merge(crate::public_items::routes()),
        ops,
    )
}

/// Every (method, path) the router answers, API routes first, then pages, then operations.
pub fn route_list() -> Vec<(Method, &'static str)> {
    let (api, pages, ops) = routes();
    api.list().iter().chain(pages.list()).chain(ops.list()).cloned().collect()
}

/// Every route of the server, with its layers, on `state`.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    let (api, pages, ops) = routes();
    let pages = pages.into_router().layer(middleware::from_fn(ui::lang_cookie));
    Router::new()
        .merge(api.into_router())
        .merge(pages)
        .merge(ops.into_router())
        .route_layer(middleware::from_fn(note_route))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), deadline::body_deadline))
        .layer(middleware::from_fn_with_state(state.clone(), request_context))
        .with_state(state)
}

/// The pages' one script (print buttons, back links), served from the binary.
async fn app_js() -> Response {
    let mut r = include_str!("../assets/app.js").into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// What every response carries: no framing by another site, no content sniffing, and a policy
/// that lets a page load only this server's script and styles (the pages keep their styles
/// inline, scripts never).
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
];

fn add_security_headers(response: &mut Response, retry_after_secs: u64) {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if response.status() == StatusCode::TOO_MANY_REQUESTS && !response.headers().contains_key(header::RETRY_AFTER) {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    // While draining, a load balancer stops sending here.
    if state.draining.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "draining"}))).into_response();
    }
    // The worker died: the process no longer does all its job, and says so.
    if let Some(reason) = state.stopped_task() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "worker stopped", "reason": reason})))
            .into_response();
    }
    match state.store.event_count().await {
        Ok(_) => Json(json!({"status": "ready", "database": state.store.backend()})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "database unavailable"}))).into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match (&state.config.metrics_token, given) {
        (Some(token), Some(given)) if crate::auth::same_secret(token, given) => {}
        (Some(_), _) => {
            let mut r = Problem::new(ProblemKind::Unauthorized, "/metrics needs its bearer token").into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"metrics\""));
            return r;
        }
        (None, _) if !state.config.bind.ip().is_loopback() => {
            return Problem::forbidden(
                "/metrics is not served to the public: start the server with --metrics-token and give the scraper that token",
            )
            .into_response();
        }
        (None, _) => {}
    }
    match &state.metrics {
        Some(m) => {
            let body = m.render().await;
            let mut r = body.into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
            r
        }
        None => Problem::not_found("metrics are not enabled in this process").into_response(),
    }
}

async fn not_found(req: Request) -> Response {
    let p = Problem::not_found(format!("no route {}", req.uri().path()));
    if req.uri().path().starts_with("/api/") {
        p.into_response()
    } else {
        let tr = crate::i18n::Tr::new(crate::i18n::Lang::of_request(req.headers(), req.uri()));
        page::error_page(tr, &p)
    }
}

async fn note_route(req: Request, next: Next) -> Response {
    if let (Some(m), Some(slot)) = (req.extensions().get::<MatchedPath>(), req.extensions().get::<RouteSlot>())
        && let Ok(mut s) = slot.0.lock()
    {
        *s = Some(m.as_str().to_string());
    }
    next.run(req).await
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A request id: the client's `X-Request-Id` if it is short and printable, else a new one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| {
            static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let p = PREFIX.get_or_init(|| crate::auth::random_hex(4));
            format!("{p}-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
        })
}

/// Request id, access log line, metrics by route template, and problem+json for the body
/// limit.
async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let slot = RouteSlot::default();
    req.extensions_mut().insert(slot.clone());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(HeaderName::from_static(REQUEST_ID), v);
    }
    let span = tracing::info_span!("request", id = %id, method = %method, path = %path);
    let mut response = next.run(req).instrument(span.clone()).await;
    if needs_error_body(&response) {
        response = error_body(&state, &path, response).await;
    }
    let route = slot.0.lock().ok().and_then(|s| s.clone()).unwrap_or_else(|| "unmatched".to_string());
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    span.in_scope(|| tracing::info!(route = %route, status, ms = seconds * 1000.0, "served"));
    if let Some(m) = &state.metrics {
        m.observe_request(method.as_str(), &route, status, seconds);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HeaderName::from_static(REQUEST_ID), v);
    }
    // A client refused by the lookup's bucket gets one token back after this many seconds.
    let retry_after = 60u64.div_ceil(u64::from(state.config.lookup_per_minute.max(1)));
    add_security_headers(&mut response, retry_after);
    response
}

/// An error answer that is neither a problem nor a page: the router's 405 (empty body), an
/// extractor's rejection (plain text: a query string or a path segment that does not parse, a
/// form with the wrong content type, a body over the limit).
fn needs_error_body(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_none_or(|c| c.starts_with("text/plain"))
}

/// The same error as problem+json under `/api/`, as an error page elsewhere, keeping the
/// status and the headers that matter (`Allow`, `Retry-After`, `WWW-Authenticate`).
async fn error_body(state: &AppState, path: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let text =
        axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let Some(kind) = ProblemKind::for_status(parts.status) else {
        tracing::warn!(status = %parts.status, "an error status with no problem kind");
        return Problem::internal(format!("status {} with a plain body", parts.status)).into_response();
    };
    let detail = match kind {
        ProblemKind::MethodNotAllowed => {
            let allow = parts.headers.get(header::ALLOW).and_then(|a| a.to_str().ok()).unwrap_or("");
            format!("{path} answers {allow}")
        }
        ProblemKind::PayloadTooLarge => format!("the body exceeds {} bytes", state.config.body_limit),
        _ if text.trim().is_empty() => kind.title().to_string(),
        _ => text.trim().to_string(),
    };
    let p = Problem::new(kind, detail);
    let mut out =
        if path.starts_with("/api/") { p.into_response() } else { page::error_page(crate::i18n::Tr::default(), &p) };
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
}

impl Application {
    /// Binds `state.config.bind` (port 0 picks a free port) and prepares the router.
    pub async fn build(state: AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(state.config.bind).await?;
        let addr = listener.local_addr()?;
        state.set_base_url(format!("http://{addr}"));
        Ok(Self { listener, addr, state })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting and waits for the requests in
    /// flight to finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let draining = self.state.draining.clone();
        draining.store(false, Ordering::Relaxed);
        let timeouts = listener::Timeouts {
            header_read: self.state.config.header_read_timeout,
            idle: self.state.config.idle_timeout,
        };
        let feed = tokio::spawn(crate::hall::feed(self.state.clone()));
        let app = router(self.state);
        tracing::info!(addr = %self.addr, "serving");
        let served = listener::serve(self.listener, app, timeouts, draining, shutdown).await;
        feed.abort();
        served
    }
}
