//! What the worker counts, and where it reports it. The binary implements [`WorkerMetrics`]
//! with the exporter's typed instance metrics; tests and a bare worker leave it out. This crate
//! knows no metrics library.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use motcua_core::AgencyCode;
use motcua_core::letters::{ApologyTimeliness, EmailResult};

/// Where the worker reports what it did.
pub trait WorkerMetrics: Send + Sync + fmt::Debug {
    /// One send attempt of an outbox message of `kind` (reminder, escalation, apology, …).
    fn email_sent(&self, kind: &str, result: EmailResult);
    /// A reminder queued to a holder before the due date.
    fn reminder_queued(&self, agency: &AgencyCode);
    /// An overdue dossier escalated to the head of the responsible agency.
    fn escalation_queued(&self, agency: &AgencyCode);
    /// An apology letter delivered, by responsible agency and timeliness.
    fn apology_issued(&self, agency: &AgencyCode, timeliness: ApologyTimeliness);
    /// A finished scheduler tick: how long it took, and its "now".
    fn scheduler_tick(&self, took: Duration, now: DateTime<Utc>);
    /// A digest written, gathering `notices` notices.
    fn digest_gathered(&self, _notices: usize) {}
    /// A notice of `kind` held over the daily cap of its recipient: it rolls into the next
    /// digest.
    fn notice_capped(&self, _kind: &str) {}
    /// The most messages sent today to one recipient of a class (`staff`, `citizen`, `desk`).
    fn notices_per_recipient_day(&self, _recipient: &str, _max: u64) {}
}
