//! The state every handler shares: the store, the domain, the injected "now" function, the
//! settings, the lookup rate limiter, the API-token cache and the optional metrics hook.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use motcua_core::Domain;
use motcua_store::AnyStore;

use crate::ratelimit::RateLimiter;

/// "Now", injected: the system clock in production, a fixed or stepped one in tests.
pub type NowFn = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// "Now" from the wall clock.
pub fn system_now() -> NowFn {
    Arc::new(Utc::now)
}

/// Where the server reports HTTP requests and gets the `/metrics` page from. The exporter
/// crate's typed metrics implement it in the binary; tests and a bare server leave it out.
pub trait HttpMetrics: Send + Sync + std::fmt::Debug {
    /// One finished request: method, the route template (`/api/v1/dossiers/{code}`, never the
    /// raw path), status code and duration.
    fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64);
    /// The Prometheus text exposition for `GET /metrics`.
    fn render(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send + '_>>;
}

/// Settings of `motcua serve`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// The public base URL printed in the receipt's QR code (default: `http://<bind>`).
    pub public_url: Option<String>,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Public lookups per client IP: burst size and refill per minute.
    pub lookup_burst: u32,
    pub lookup_per_minute: u32,
    /// The city name printed on receipts and letters ("Đà Nẵng, ngày …").
    pub place: String,
    /// The bearer token `/metrics` asks for. Without one, `/metrics` is served only when the
    /// server listens on a loopback address (a scraper on the same host); a server that faces
    /// the public refuses it.
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`, repeatable).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How far before now staff may state an action (`at`) through the API and the pages
    /// (`--backdate-window`, default one working day); earlier only with the paper-history
    /// capability and a reason.
    pub backdate_window: motcua_core::backdate::BackdateWindow,
    /// How long a client has to send a request's head: from the connection's opening, and on a
    /// kept-alive connection from the end of the previous answer (so also how long an unused
    /// kept-alive connection stays open).
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long while no request is being
    /// handled is closed.
    pub idle_timeout: Duration,
    /// How long a request's body has to arrive whole, from the end of its head; past it the
    /// request is answered 408 and the connection closed.
    pub body_read_timeout: Duration,
    /// Anonymous issuing limits of every hall — per client per hour, per hall per minute —
    /// instead of each hall's own (`halls.toml`); tests and load runs lift them.
    pub hall_issue_limits: Option<(u32, u32)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            session_ttl: Duration::from_secs(10 * 3600),
            secure_cookies: false,
            body_limit: 64 * 1024,
            lookup_burst: 10,
            lookup_per_minute: 10,
            place: "Đà Nẵng".into(),
            metrics_token: None,
            trusted_proxies: Vec::new(),
            backdate_window: motcua_core::backdate::BackdateWindow::default(),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            hall_issue_limits: None,
        }
    }
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: AnyStore,
    pub domain: Arc<Domain>,
    pub now_fn: NowFn,
    pub config: Arc<ServerConfig>,
    pub metrics: Option<Arc<dyn HttpMetrics>>,
    pub(crate) limiter: Arc<RateLimiter>,
    /// The address actually bound (port 0 resolved), for links.
    pub(crate) base_url: Arc<Mutex<String>>,
    /// Set while the server drains: `/readyz` then answers 503. Per state, so servers running
    /// side by side in one process (tests) do not see each other's shutdown.
    pub(crate) draining: Arc<AtomicBool>,
    /// Why a task the process depends on (the in-process worker) stopped: `/readyz` then
    /// answers 503 with the reason.
    pub(crate) stopped_task: Arc<Mutex<Option<String>>>,
    /// Wrong-password counts per account name and client address.
    pub(crate) login_guard: Arc<crate::login_guard::LoginGuard>,
    /// The reception halls' live events and anonymous issuing limits.
    pub hall_hub: Arc<crate::hall::HallHub>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("store", &self.store.backend()).field("config", &self.config).finish()
    }
}

impl AppState {
    pub fn new(store: AnyStore, domain: Domain, now_fn: NowFn, config: ServerConfig) -> Self {
        let limiter = RateLimiter::new(config.lookup_burst, config.lookup_per_minute);
        let base = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.bind));
        Self {
            store,
            domain: Arc::new(domain),
            now_fn,
            config: Arc::new(config),
            metrics: None,
            limiter: Arc::new(limiter),
            base_url: Arc::new(Mutex::new(base)),
            draining: Arc::new(AtomicBool::new(false)),
            stopped_task: Arc::new(Mutex::new(None)),
            login_guard: Arc::new(crate::login_guard::LoginGuard::default()),
            hall_hub: Arc::new(crate::hall::HallHub::default()),
        }
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn HttpMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.now_fn)()
    }

    /// The public base URL (`http://127.0.0.1:8080`), without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.lock().map(|b| b.trim_end_matches('/').to_string()).unwrap_or_default()
    }

    pub(crate) fn set_base_url(&self, url: String) {
        if self.config.public_url.is_none()
            && let Ok(mut b) = self.base_url.lock()
        {
            *b = url;
        }
    }

    /// Records that a task this process depends on has stopped (the in-process worker died):
    /// from now on `/readyz` answers 503 with `reason`.
    pub fn task_stopped(&self, reason: impl Into<String>) {
        let mut slot = self.stopped_task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(reason.into());
    }

    /// Why a task this process depends on has stopped, if one has.
    pub fn stopped_task(&self) -> Option<String> {
        self.stopped_task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}
