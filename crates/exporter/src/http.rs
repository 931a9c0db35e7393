//! The HTTP side: the `/metrics` route (served by `motcua metrics serve` and mountable in the
//! web server's router) and a middleware that counts requests by route template.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use motcua_core::Domain;
use motcua_store::metrics::ServiceFigures;
use motcua_store::scorecard::ScorecardStore;
use motcua_store::{HallStore, PetitionStore, StaffStore, Store};

use crate::{Exporter, ExporterError, Metrics, Rendered};

/// "Now", injected as a function: the wall clock in production, a fixed instant in tests.
#[derive(Clone)]
pub struct NowFn(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl NowFn {
    pub fn new(f: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Always `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self::new(move || at)
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl fmt::Debug for NowFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NowFn")
    }
}

/// What the `/metrics` route needs: the exporter, the store, the domain and where "now" comes
/// from.
#[derive(Debug, Clone)]
pub struct Endpoint<S> {
    pub exporter: Arc<Exporter>,
    pub store: S,
    pub domain: Arc<Domain>,
    pub now: NowFn,
}

/// What a store must answer for a scrape: the service figures, the scorecard and what the
/// scorecard reads beside its sums (ratings, petitions).
pub trait ScrapeStore: Store + ServiceFigures + ScorecardStore + StaffStore + PetitionStore + HallStore {}

impl<S: Store + ServiceFigures + ScorecardStore + StaffStore + PetitionStore + HallStore> ScrapeStore for S {}

impl<S: ScrapeStore> Endpoint<S> {
    /// The exposition as of `now`.
    pub async fn render(&self) -> Result<Rendered, ExporterError> {
        self.exporter.render(&self.store, &self.domain, self.now.now()).await
    }
}

async fn metrics_page<S: ScrapeStore + Clone + 'static>(State(ep): State<Endpoint<S>>) -> Response {
    match ep.render().await {
        Ok(r) => ([(header::CONTENT_TYPE, r.content_type)], r.body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("motcua: cannot read the service figures: {e}\n"))
            .into_response(),
    }
}

/// Counts every request by method, route template and status (unmatched paths as `unmatched`).
pub async fn track_requests(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    metrics.http_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

/// A router with `GET /metrics` (and request tracking).
pub fn router<S: ScrapeStore + Clone + 'static>(endpoint: Endpoint<S>) -> Router {
    let metrics = Arc::clone(endpoint.exporter.metrics());
    Router::new()
        .route("/metrics", get(metrics_page::<S>))
        .with_state(endpoint)
        .layer(middleware::from_fn_with_state(metrics, track_requests))
}

/// Serves `router` on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
