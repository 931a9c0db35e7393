//! Instance metrics: counters and histograms that the code of one process updates as things
//! happen (e-mails sent, scheduler ticks, HTTP requests). They live in the app-owned
//! [`Registry`] of a [`Metrics`] value; there is no global registry.

use std::time::Duration;

use chrono::{DateTime, Utc};
use motcua_core::AgencyCode;
use motcua_core::letters::{ApologyTimeliness, EmailResult};
use prometheus::{
    Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

use crate::ExporterError;

/// Scheduler tick durations: from a millisecond to a minute.
const TICK_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 60.0];
/// Notices gathered into one digest.
const DIGEST_BUCKETS: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];
/// The recipient classes of `motcua_notices_per_recipient_day_max` (never an address).
pub const RECIPIENT_CLASSES: [&str; 3] = ["staff", "citizen", "desk"];
/// HTTP request durations.
const HTTP_BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The typed instance metrics of one process, with their own registry. The worker, the server
/// and the exporter update them through the methods below; labels are bounded (agency, kind,
/// result, route template, method, status) — never a dossier, a citizen or a procedure.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// `motcua_email_sends_total{kind, result}`.
    pub email_sends: IntCounterVec,
    /// `motcua_reminders_total{agency}`: reminders queued to a holder before the due date.
    pub reminders: IntCounterVec,
    /// `motcua_escalations_total{agency}`: overdue dossiers escalated to the head of agency.
    pub escalations: IntCounterVec,
    /// `motcua_apology_letters_issued_total{agency, timeliness}`.
    pub apology_letters: IntCounterVec,
    /// `motcua_scheduler_tick_duration_seconds`.
    pub scheduler_tick_duration: Histogram,
    /// `motcua_scheduler_last_tick_timestamp_seconds`: the injected "now" of the last tick.
    pub scheduler_last_tick: Gauge,
    /// `motcua_digest_notices`: notices gathered into each daily digest.
    pub digest_notices: Histogram,
    /// `motcua_notices_capped_total{kind}`: staff notices over their recipient's daily cap,
    /// rolled into the next digest.
    pub notices_capped: IntCounterVec,
    /// `motcua_notices_per_recipient_day_max{recipient}`: the most messages sent today to one
    /// recipient of a class (staff, citizen, desk).
    pub notices_per_recipient_day_max: IntGaugeVec,
    /// `motcua_http_requests_total{method, route, status}`.
    pub http_requests: IntCounterVec,
    /// `motcua_http_request_duration_seconds{method, route}`.
    pub http_request_duration: HistogramVec,
    /// `motcua_working_time_unmeasured_total`: queued handoff events whose dossier could not be
    /// replayed (they are dropped from the histograms, and counted here).
    pub working_time_unmeasured: IntCounter,
    /// `motcua_scrape_errors_total{stage}`: scrapes that could not read or measure something.
    pub scrape_errors: IntCounterVec,
    /// `motcua_build_info{version, backend}`, always 1.
    pub build_info: IntGaugeVec,
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, ExporterError> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

impl Metrics {
    /// A fresh registry with every instance metric registered. `backend` ("sqlite" or
    /// "postgres") goes into `motcua_build_info`.
    pub fn new(backend: &str) -> Result<Self, ExporterError> {
        let registry = Registry::new();
        let r = &registry;
        let email_sends = counter_vec(
            r,
            "motcua_email_sends_total",
            "E-mail send attempts by message kind and result (sent, failed and retried, dead).",
            &["kind", "result"],
        )?;
        let reminders = counter_vec(
            r,
            "motcua_reminders_total",
            "Reminders queued to the holding agency before a dossier's due date, by lead agency.",
            &["agency"],
        )?;
        let escalations = counter_vec(
            r,
            "motcua_escalations_total",
            "Overdue dossiers escalated to the head of agency, by lead agency.",
            &["agency"],
        )?;
        let apology_letters = counter_vec(
            r,
            "motcua_apology_letters_issued_total",
            "Apology letters (phieu xin loi) issued, by responsible agency and timeliness: on_time = at the latest one working day before the due date.",
            &["agency", "timeliness"],
        )?;
        let scheduler_tick_duration = Histogram::with_opts(
            HistogramOpts::new(
                "motcua_scheduler_tick_duration_seconds",
                "Wall time of one scheduler tick (due-soon, overdue and apology scan).",
            )
            .buckets(TICK_BUCKETS.to_vec()),
        )?;
        r.register(Box::new(scheduler_tick_duration.clone()))?;
        let scheduler_last_tick = Gauge::with_opts(Opts::new(
            "motcua_scheduler_last_tick_timestamp_seconds",
            "Unix time of the last finished scheduler tick (its injected now).",
        ))?;
        r.register(Box::new(scheduler_last_tick.clone()))?;
        let digest_notices = Histogram::with_opts(
            HistogramOpts::new("motcua_digest_notices", "Notices (at-risk warnings, last-day reminders, notices over the daily cap) gathered into one daily digest.")
                .buckets(DIGEST_BUCKETS.to_vec()),
        )?;
        r.register(Box::new(digest_notices.clone()))?;
        let notices_capped = counter_vec(
            r,
            "motcua_notices_capped_total",
            "Staff notices held over their recipient's daily cap and rolled into the next digest, by message kind.",
            &["kind"],
        )?;
        let notices_per_recipient_day_max = IntGaugeVec::new(
            Opts::new(
                "motcua_notices_per_recipient_day_max",
                "The most messages sent today (local day) to one recipient, by recipient class: staff (officers' and heads' addresses), citizen, desk (print queue).",
            ),
            &["recipient"],
        )?;
        r.register(Box::new(notices_per_recipient_day_max.clone()))?;
        for class in RECIPIENT_CLASSES {
            notices_per_recipient_day_max.with_label_values(&[class]).set(0);
        }
        for kind in ["at_risk", "reminder", "escalation"] {
            notices_capped.with_label_values(&[kind]);
        }
        let http_requests = counter_vec(
            r,
            "motcua_http_requests_total",
            "HTTP requests by method, route template and status code.",
            &["method", "route", "status"],
        )?;
        let http_request_duration = HistogramVec::new(
            HistogramOpts::new(
                "motcua_http_request_duration_seconds",
                "HTTP request duration by method and route template.",
            )
            .buckets(HTTP_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        r.register(Box::new(http_request_duration.clone()))?;
        let working_time_unmeasured = IntCounter::with_opts(Opts::new(
            "motcua_working_time_unmeasured_total",
            "Queued handoff events dropped from the working-time histograms because their dossier could not be replayed.",
        ))?;
        r.register(Box::new(working_time_unmeasured.clone()))?;
        let scrape_errors = counter_vec(
            r,
            "motcua_scrape_errors_total",
            "Scrapes that failed a stage: figures (reading the database) or working_time (measuring handoffs).",
            &["stage"],
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("motcua_build_info", "Always 1: the motcua version and the storage backend of this process."),
            &["version", "backend"],
        )?;
        r.register(Box::new(build_info.clone()))?;
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION"), backend]).set(1);
        for result in EmailResult::ALL {
            for kind in ["reminder", "escalation", "apology", "receipt"] {
                email_sends.with_label_values(&[kind, result.name()]);
            }
        }
        for stage in ["figures", "working_time"] {
            scrape_errors.with_label_values(&[stage]);
        }
        Ok(Self {
            registry,
            email_sends,
            reminders,
            escalations,
            apology_letters,
            scheduler_tick_duration,
            scheduler_last_tick,
            digest_notices,
            notices_capped,
            notices_per_recipient_day_max,
            http_requests,
            http_request_duration,
            working_time_unmeasured,
            scrape_errors,
            build_info,
        })
    }

    /// The app-owned registry (instance metrics only; service figures are added at scrape).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Creates the zero-valued series of every agency, so that rates and alerts see a 0 before
    /// the first event rather than nothing.
    pub fn init_agencies<'a>(&self, agencies: impl IntoIterator<Item = &'a AgencyCode>) {
        for a in agencies {
            self.reminders.with_label_values(&[a.as_str()]);
            self.escalations.with_label_values(&[a.as_str()]);
            for t in ApologyTimeliness::ALL {
                self.apology_letters.with_label_values(&[a.as_str(), t.name()]);
            }
        }
    }

    /// One send attempt of an outbox message of `kind` (reminder, escalation, apology, …).
    pub fn email_sent(&self, kind: &str, result: EmailResult) {
        self.email_sends.with_label_values(&[kind, result.name()]).inc();
    }

    pub fn reminder_queued(&self, agency: &AgencyCode) {
        self.reminders.with_label_values(&[agency.as_str()]).inc();
    }

    pub fn escalation_queued(&self, agency: &AgencyCode) {
        self.escalations.with_label_values(&[agency.as_str()]).inc();
    }

    pub fn apology_issued(&self, agency: &AgencyCode, timeliness: ApologyTimeliness) {
        self.apology_letters.with_label_values(&[agency.as_str(), timeliness.name()]).inc();
    }

    /// A finished scheduler tick: how long it took, and its "now".
    pub fn scheduler_tick(&self, took: Duration, now: DateTime<Utc>) {
        self.scheduler_tick_duration.observe(took.as_secs_f64());
        self.scheduler_last_tick.set(now.timestamp_millis() as f64 / 1000.0);
    }

    /// A digest written, gathering `notices` notices.
    pub fn digest_gathered(&self, notices: usize) {
        self.digest_notices.observe(notices as f64);
    }

    /// A staff notice of `kind` held over its recipient's daily cap.
    pub fn notice_capped(&self, kind: &str) {
        self.notices_capped.with_label_values(&[kind]).inc();
    }

    /// The most messages sent today to one recipient of `class` (staff, citizen, desk).
    pub fn notices_per_recipient_day(&self, class: &str, max: u64) {
        if RECIPIENT_CLASSES.contains(&class) {
            self.notices_per_recipient_day_max.with_label_values(&[class]).set(i64::try_from(max).unwrap_or(i64::MAX));
        }
    }

    /// A finished HTTP request. `route` is the route template (`/api/v1/dossiers/{code}`),
    /// never the raw path; requests that matched no route are reported as `unmatched`.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let status = status.to_string();
        self.http_requests.with_label_values(&[method, route, status.as_str()]).inc();
        self.http_request_duration.with_label_values(&[method, route]).observe(took.as_secs_f64());
    }

    /// The names of the families this registry exposes.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .chain([
                "motcua_scheduler_tick_duration_seconds".to_string(),
                "motcua_http_request_duration_seconds".to_string(),
                "motcua_http_requests_total".to_string(),
                "motcua_reminders_total".to_string(),
                "motcua_escalations_total".to_string(),
                "motcua_apology_letters_issued_total".to_string(),
            ])
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
