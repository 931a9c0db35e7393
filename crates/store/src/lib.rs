//! motcua-store: the durable dossier register, on SQLite (embedded default) or PostgreSQL.
//!
//! It keeps the append-only event log (`dossier_events`, the source of truth), the projection
//! of every dossier's current state (`dossiers`), daily aggregates (`daily_counts`), the
//! per-agency per-day code counters and the outbox table. Every command is ONE transaction:
//! the dossier is locked, its log replayed and the new event applied by motcua-core, and only an
//! accepted event is appended, projected and counted. This crate must not compute clock values
//! itself: due dates, classification and the national on-time figure all come from core
//! (`Domain::apply`, `analysis::classify`, `analysis::national_on_time`), and no SQL here does
//! working-day arithmetic. It must not update or delete an event (triggers refuse it), and it
//! never reads the wall clock for a domain decision: "now" arrives with each command.
//!
//! Layout: [`Store`] (the trait every caller uses), [`SqliteStore`] and [`PgStore`] (two
//! hand-written implementations, SQL text per backend), [`AnyStore`] and [`open`] (pick one by
//! URL), [`model`] (rows and commands), [`StoreError`], [`StaffStore`] (staff accounts, sessions,
//! API tokens, ratings and the web server's work-queue and audit reads), [`OutboxStore`] (the
//! transactional outbox the worker delivers, and the scheduler's candidate queries).

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{Domain, Dossier, DossierCode, Event};

mod write;
mod error;
pub mod metrics;
pub mod model;
pub mod outbox;
mod pg;
pub mod report;
mod sql;
mod sqlite;
mod staff;

pub use error::{StoreError, is_transient};
pub use metrics::ServiceFigures;
pub use model::{
    BatchItem, CountChange, CountKey, CountValues, DailyCountRow, DossierChange, DossierRow, FieldChange, LoggedEvent,
    NewDossier, RecomputeDiff, ReplayFailure,
};
pub use model::{OpenFacts, OpenTally, Totals};
pub use outbox::{Candidate, NewMessage, OutboxMessage, OutboxStatus, OutboxStore};
pub use pg::PgStore;
pub use sqlite::SqliteStore;
pub use staff::{AuditRow, NewStaff, Rating, RatingCounts, Role, SessionRow, StaffRow, StaffStore, UnknownRole};

/// The dossier register. Writes are atomic: a command the domain rejects writes nothing.
///
/// Time ranges are half-open, `[a, b)`, except [`Store::open_at`], which reads the state at
/// the instant `p1`.
pub trait Store: Send + Sync {
    /// Applies the migrations that are not applied yet.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Opens a dossier: allocates the next code of the receiving agency for the local date of
    /// `at` and records `Received` (or `RegisteredOnline` for a portal submission).
    fn intake(
        &self,
        domain: &Domain,
        new: NewDossier,
        at: DateTime<Utc>,
        by: Option<String>,
    ) -> impl Future<Output = Result<Dossier, StoreError>> + Send;

    /// Records one event on a dossier and returns its new state. A `Received` or
    /// `RegisteredOnline` event for a code that does not exist yet imports that dossier with its
    /// own code (which must be the intake's).
    fn record(
        &self,
        domain: &Domain,
        code: &DossierCode,
        event: Event,
    ) -> impl Future<Output = Result<Dossier, StoreError>> + Send;

    /// Group commit: every item in one transaction, each with its own result. An item the
    /// domain rejects writes nothing and the others proceed; a database failure fails the whole
    /// batch (outer error) and writes nothing.
    fn record_batch(
        &self,
        domain: &Domain,
        items: Vec<BatchItem>,
    ) -> impl Future<Output = Result<Vec<Result<Dossier, StoreError>>, StoreError>> + Send;

    /// A dossier's log, in order (empty if there is no such dossier).
    fn events(&self, code: &DossierCode) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    fn dossier_row(&self, code: &DossierCode) -> impl Future<Output = Result<Option<DossierRow>, StoreError>> + Send;

    /// Events in the whole log.
    fn event_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The log in id order, after `after_id` (0 for the start), at most `limit` events.
    fn events_after(
        &self,
        after_id: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LoggedEvent>, StoreError>> + Send;

    /// Aggregate rows for local days `from..=to`.
    fn daily_counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<DailyCountRow>, StoreError>> + Send;

    /// The aggregates of local days `from..=to` summed per agency, per procedure or in all
    /// (key `""`): what a report reads, from the per-agency day table when it can.
    fn count_totals(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        by: Totals,
    ) -> impl Future<Output = Result<Vec<(String, CountValues)>, StoreError>> + Send;

    /// Dossiers finished in `[a, b)`.
    fn finished_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;

    /// Dossiers received in `[a, b)`.
    fn received_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;

    /// Dossiers received at or before `p1` and not finished by then.
    fn open_at(&self, p1: DateTime<Utc>) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;

    /// Per group (`by`: lead agency, procedure, or all under `""`), the dossiers open now,
    /// received at or before `p1`, with no event after `p1` (their projection is their state
    /// at `p1`) and a due instant and receipt appointment: how many, how many past due at `p1`,
    /// how many with the appointment at or after `p1` and at most one supplement request.
    fn open_tallies(
        &self,
        p1: DateTime<Utc>,
        by: Totals,
    ) -> impl Future<Output = Result<Vec<(String, OpenTally)>, StoreError>> + Send;

    /// The dossiers open at `p1` outside [`Store::open_tallies`]' third count, which a report
    /// judges one at a time: those of the tallies with the appointment before `p1` or more
    /// than one supplement request, and those with an event after `p1` (still open, or
    /// finished after `p1`). In code order.
    fn open_to_judge(&self, p1: DateTime<Utc>) -> impl Future<Output = Result<Vec<OpenFacts>, StoreError>> + Send;

    /// Projection rows in code order, after `after`.
    fn dossiers_page(
        &self,
        after: Option<&DossierCode>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;

    /// Rebuilds projections and aggregates from the log with this domain's calendar and
    /// catalog, and says what changes. With `dry_run` nothing is written; otherwise all of it
    /// is written in one transaction. The log itself is never touched.
    fn recompute(
        &self,
        domain: &Domain,
        dry_run: bool,
    ) -> impl Future<Output = Result<RecomputeDiff, StoreError>> + Send;
}

macro_rules! delegate_store {
    ($t:ty) => {
        impl Store for $t {
            async fn migrate(&self) -> Result<(), StoreError> {
                <$t>::migrate(self).await
            }
            async fn intake(
                &self,
                domain: &Domain,
                new: NewDossier,
                at: DateTime<Utc>,
                by: Option<String>,
            ) -> Result<Dossier, StoreError> {
                <$t>::intake(self, domain, new, at, by).await
            }
            async fn record(&self, domain: &Domain, code: &DossierCode, event: Event) -> Result<Dossier, StoreError> {
                <$t>::record(self, domain, code, event).await
            }
            async fn record_batch(
                &self,
                domain: &Domain,
                items: Vec<BatchItem>,
            ) -> Result<Vec<Result<Dossier, StoreError>>, StoreError> {
                <$t>::record_batch(self, domain, items).await
            }
            async fn events(&self, code: &DossierCode) -> Result<Vec<Event>, StoreError> {
                <$t>::events(self, code).await
            }
            async fn dossier_row(&self, code: &DossierCode) -> Result<Option<DossierRow>, StoreError> {
                <$t>::dossier_row(self, code).await
            }
            async fn event_count(&self) -> Result<u64, StoreError> {
                <$t>::event_count(self).await
            }
            async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
                <$t>::events_after(self, after_id, limit).await
            }
            async fn daily_counts(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyCountRow>, StoreError> {
                <$t>::daily_counts(self, from, to).await
            }
            async fn count_totals(
                &self,
                from: NaiveDate,
                to: NaiveDate,
                by: Totals,
            ) -> Result<Vec<(String, CountValues)>, StoreError> {
                <$t>::count_totals(self, from, to, by).await
            }
            async fn finished_between(
                &self,
                a: DateTime<Utc>,
                b: DateTime<Utc>,
            ) -> Result<Vec<DossierRow>, StoreError> {
                <$t>::finished_between(self, a, b).await
            }
            async fn received_between(
                &self,
                a: DateTime<Utc>,
                b: DateTime<Utc>,
            ) -> Result<Vec<DossierRow>, StoreError> {
                <$t>::received_between(self, a, b).await
            }
            async fn open_at(&self, p1: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
                <$t>::open_at(self, p1).await
            }
            async fn open_tallies(
                &self,
                p1: DateTime<Utc>,
                by: Totals,
            ) -> Result<Vec<(String, OpenTally)>, StoreError> {
                <$t>::open_tallies(self, p1, by).await
            }
            async fn open_to_judge(&self, p1: DateTime<Utc>) -> Result<Vec<OpenFacts>, StoreError> {
                <$t>::open_to_judge(self, p1).await
            }
            async fn dossiers_page(
                &self,
                after: Option<&DossierCode>,
                limit: u32,
            ) -> Result<Vec<DossierRow>, StoreError> {
                <$t>::dossiers_page(self, after, limit).await
            }
            async fn recompute(&self, domain: &Domain, dry_run: bool) -> Result<RecomputeDiff, StoreError> {
                <$t>::recompute(self, domain, dry_run).await
            }
        }
    };
}
delegate_store!(SqliteStore);
delegate_store!(PgStore);

/// One of the two backends, chosen at run time by [`open`].
#[derive(Debug, Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Pg(PgStore),
}

macro_rules! either {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Pg($s) => $e,
        }
    };
}

impl Store for AnyStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        either!(self, s => s.migrate().await)
    }
    async fn intake(
        &self,
        domain: &Domain,
        new: NewDossier,
        at: DateTime<Utc>,
        by: Option<String>,
    ) -> Result<Dossier, StoreError> {
        either!(self, s => s.intake(domain, new, at, by).await)
    }
    async fn record(&self, domain: &Domain, code: &DossierCode, event: Event) -> Result<Dossier, StoreError> {
        either!(self, s => s.record(domain, code, event).await)
    }
    async fn record_batch(
        &self,
        domain: &Domain,
        items: Vec<BatchItem>,
    ) -> Result<Vec<Result<Dossier, StoreError>>, StoreError> {
        either!(self, s => s.record_batch(domain, items).await)
    }
    async fn events(&self, code: &DossierCode) -> Result<Vec<Event>, StoreError> {
        either!(self, s => s.events(code).await)
    }
    async fn dossier_row(&self, code: &DossierCode) -> Result<Option<DossierRow>, StoreError> {
        either!(self, s => s.dossier_row(code).await)
    }
    async fn event_count(&self) -> Result<u64, StoreError> {
        either!(self, s => s.event_count().await)
    }
    async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
        either!(self, s => s.events_after(after_id, limit).await)
    }
    async fn daily_counts(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyCountRow>, StoreError> {
        either!(self, s => s.daily_counts(from, to).await)
    }
    async fn count_totals(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        by: Totals,
    ) -> Result<Vec<(String, CountValues)>, StoreError> {
        either!(self, s => s.count_totals(from, to, by).await)
    }
    async fn finished_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        either!(self, s => s.finished_between(a, b).await)
    }
    async fn received_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        either!(self, s => s.received_between(a, b).await)
    }
    async fn open_at(&self, p1: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        either!(self, s => s.open_at(p1).await)
    }
    async fn open_tallies(&self, p1: DateTime<Utc>, by: Totals) -> Result<Vec<(String, OpenTally)>, StoreError> {
        either!(self, s => s.open_tallies(p1, by).await)
    }
    async fn open_to_judge(&self, p1: DateTime<Utc>) -> Result<Vec<OpenFacts>, StoreError> {
        either!(self, s => s.open_to_judge(p1).await)
    }
    async fn dossiers_page(&self, after: Option<&DossierCode>, limit: u32) -> Result<Vec<DossierRow>, StoreError> {
        either!(self, s => s.dossiers_page(after, limit).await)
    }
    async fn recompute(&self, domain: &Domain, dry_run: bool) -> Result<RecomputeDiff, StoreError> {
        either!(self, s => s.recompute(domain, dry_run).await)
    }
}

impl AnyStore {
    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Pg(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        either!(self, s => s.close().await)
    }
}

/// Opens the register named by `url` and migrates it: `sqlite://path/to/file.db` (the file
/// and its directory are created if missing; `sqlite:path` works too) or
/// `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> Result<AnyStore, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path.starts_with(":memory:") {
            return Err(StoreError::UnsupportedUrl(
                "sqlite (an in-memory database is not supported: give a file path)".into(),
            ));
        }
        return Ok(AnyStore::Sqlite(SqliteStore::open(path).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(AnyStore::Pg(PgStore::connect(url).await?));
    }
    let scheme = url.split_once(':').map_or("", |(s, _)| s);
    Err(StoreError::UnsupportedUrl(scheme.to_string()))
}
