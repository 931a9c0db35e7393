//! motcua-exporter: the Prometheus side of motcua — what `GET /metrics` returns.
//!
//! Two kinds of metrics share one app-owned registry per process. Instance metrics
//! ([`Metrics`]: e-mails sent, reminders, escalations, apology letters, scheduler ticks, HTTP
//! requests) are counters the binary updates in code on behalf of the worker and the server
//! (which know only their own small metrics traits, not this crate). Service figures (open,
//! overdue and at-risk dossiers, received and finished totals, on-time ratios per agency over
//! configured windows, handoff and dwell histograms, outbox health) are read from the store's
//! projections, aggregates and counters at scrape time, and judged with motcua-core's rules
//! and status vocabulary (`motcua_core::vocab`), so that they agree with `motcua report` for
//! the same instant.
//!
//! This crate must not scan the event log or count over the projection at scrape time (a scrape
//! costs the same with 1 M open dossiers or ten years of history), must not do working-day
//! arithmetic itself (core does), must not read the wall clock (the scrape's "now" is a
//! parameter, or an injected [`http::NowFn`]; only the outermost caller picks it), and must not
//! put a dossier code, a citizen or a procedure in a label. Two reads are allowed more, each at
//! most once per refresh interval of scrape instants and written from what was kept in between:
//! the chair's scorecard (module [`scorecard`]), read through the store's scorecard — its sums,
//! plus the dossiers open and overdue at the instant and the petitions — and the reception
//! hall's day (module [`hall`]): the day's tickets and calls, never a ticket or an officer in a
//! label.
//!
//! A scrape reads again only what changed since the one before: each [`Exporter`] keeps the
//! past days' window sums and the working-time histograms between scrapes, and the store tells
//! it which agencies' past days or which histogram cells changed. The service families are
//! written straight into the text format; the instance metrics go through the `prometheus`
//! crate's registry and encoder.
//!
//! Modules:
//! - `instance`: [`Metrics`], the typed instance metrics;
//! - `exporter`: [`Exporter`], renders the exposition and keeps what does not change between
//!   scrapes;
//! - [`service`]: the service figures and their definitions;
//! - [`scorecard`]: the chair's scorecard per agency and indicator, read again at most once per
//!   refresh interval of scrape instants;
//! - [`hall`]: the reception hall's series (tickets waiting, waiting and service times, calls,
//!   no-shows) of the local day, read again at most once per refresh interval;
//! - `text`: the exposition format;
//! - [`working_time`]: measuring handoffs and dwell into histograms;
//! - [`http`]: the axum `/metrics` route, the request-tracking middleware and [`http::NowFn`].

mod exporter;
pub mod hall;
pub mod http;
mod instance;
pub mod scorecard;
pub mod service;
mod text;
pub mod working_time;

pub use exporter::{Exporter, Rendered};
pub use hall::HallSeries;
pub use instance::Metrics;
pub use scorecard::ScorecardSeries;
pub use service::Window;

/// The content type of the Prometheus text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why a scrape or a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    #[error("metrics registry: {0}")]
    Prometheus(#[from] prometheus::Error),
    #[error(transparent)]
    Store(#[from] motcua_store::StoreError),
}
