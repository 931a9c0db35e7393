//! motcua-store: the durable dossier register, on SQLite (embedded default) or PostgreSQL.
//!
//! It keeps the append-only event log (`dossier_events`, the source of truth), the projection
//! of every dossier's current state (`dossiers`), daily aggregates (`daily_counts`), the
//! per-agency per-day code counters, the outbox, staff accounts and the counters the exporter
//! reads. Every command is ONE transaction: the dossier is locked, its log replayed and the new
//! event applied by motcua-core, and only an accepted event is appended, projected and counted.
//! This crate must not compute clock values itself: due dates, classification and the
//! national on-time figure all come from core (`Domain::apply`, `analysis::classify`,
//! `analysis::national_on_time`), no SQL here does working-day arithmetic, and which statuses
//! count as open (or running, or waiting) is core's `vocab`. It must not update or delete an
//! event (triggers refuse it), and it never reads the wall clock for a domain decision: "now"
//! arrives with each command.
//!
//! Modules, by trait then backend:
//! - [`register`] — [`Store`], the dossier register; [`outbox`] — [`OutboxStore`], the
//!   transactional outbox and the scheduler's candidates; `staff` — [`StaffStore`], accounts,
//!   sessions, tokens, ratings, work queues, audit; [`metrics`] — [`ServiceFigures`], what the
//!   exporter reads; [`report`] — the period report, over [`Store`]; [`watchlist`] — the
//!   inspector's watch list, over [`Store`]; [`letters`] — [`DeskLetterStore`], the desk's
//!   letters to print, paged, and its marks on them (printed, handed over);
//! - [`petitions`] — [`PetitionStore`], petitions, complaints and denunciations: their own
//!   append-only log and projection, written like a dossier's;
//! - [`hall`] — [`HallStore`], the reception hall: tickets, bookings and counter sign-ins on
//!   the hall's own append-only log, numbered per area and day inside the write transaction;
//! - [`model`] — rows and commands; `error` — [`StoreError`], [`is_transient`];
//! - `write` — the write path both backends share: the batch engine, the group commit and the
//!   counters the exporter reads (`write::counters`: how each is kept);
//! - `sql` — SQL text and row mapping both backends share, the vocabulary's SQL lists;
//! - `sqlite` and `pg` — one backend each ([`SqliteStore`], [`PgStore`]), with the same files:
//!   `mod.rs` (connection and pools), `tx.rs` (the write transaction), `register.rs`,
//!   `outbox.rs`, `staff.rs`, `figures.rs` (the traits above, implemented directly);
//! - here: [`AnyStore`] and [`open`], one backend chosen by URL, and the one dispatch from
//!   [`AnyStore`] to it.
//!
//! Top-level modules and `write` never name a backend; only the backends and this file do.

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{AgencyCode, Domain, Dossier, DossierCode, Event};

mod error;
pub mod hall;
pub mod letters;
pub mod metrics;
pub mod model;
pub mod outbox;
pub mod petitions;
mod pg;
pub mod register;
pub mod report;
pub mod scorecard;
mod sql;
mod sqlite;
mod staff;
pub mod watchlist;
mod write;

pub use error::{StoreError, is_transient, is_unavailable};
pub use hall::{
    AreaFigures, Buckets, Called, CounterCall, CounterSession, HALL_BOUNDS, HALL_REPORT_CSV_HEAD, HallFigures,
    HallLogEntry, HallReport, HallReportBy, HallStore, LinkedDossier, LogCursor, NewTicket, minutes_text,
};
pub use letters::{DeskLetter, DeskLetterStore, LetterFilter, LetterMark, MarkRecord, Marked};
pub use metrics::ServiceFigures;
pub use model::{
    BatchItem, CountChange, CountKey, CountValues, DailyCountRow, DossierChange, DossierRow, FieldChange, LoggedEvent,
    NewDossier, RecomputeDiff, ReplayFailure,
};
pub use model::{OpenFacts, OpenTally, Totals};
pub use outbox::{Candidate, Gathered, NewMessage, OutboxMessage, OutboxStatus, OutboxStore, SentCount};
pub use petitions::{
    ItemChange, ItemFieldChange, ItemFilter, ItemRecompute, ItemReport, ItemRow, NewItem, PetitionStore, ReportBy,
};
pub use pg::PgStore;
pub use register::Store;
pub use sqlite::SqliteStore;
pub use staff::{
    AuditRow, Capability, DeskList, DossierSearch, LoginFailures, NewPersonalDataRead, NewStaff, NewToken, Paged,
    PersonalDataRead, Rating, RatingCounts, ReadOf, Role, Scope, SessionRow, StaffRow, StaffStore, TokenRow, TokenUse,
    UnknownCapability, UnknownRole, Window, agencies_that_held,
};

use metrics::{Figures, FiguresQuery, QueuedEvent, WorkingTimeObservation};
use outbox::Cursor;

/// One of the two backends, chosen at run time by [`open`].
#[derive(Debug, Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Pg(PgStore),
}

/// Implements a trait for [`AnyStore`] by handing every method to the backend it holds.
macro_rules! dispatch {
    ($trait:ident { $(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* }) => {
        impl $trait for AnyStore {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match self {
                        AnyStore::Sqlite(s) => s.$name($($arg),*).await,
                        AnyStore::Pg(s) => s.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

dispatch!(Store {
    fn migrate(&self) -> Result<(), StoreError>;
    fn intake(&self, domain: &Domain, new: NewDossier, at: DateTime<Utc>, by: Option<String>) -> Result<Dossier, StoreError>;
    fn intake_stamped(&self, domain: &Domain, new: NewDossier, at: DateTime<Utc>, by: Option<String>, backdate_reason: Option<String>, recorded_at: DateTime<Utc>) -> Result<Dossier, StoreError>;
    fn record(&self, domain: &Domain, code: &DossierCode, event: Event) -> Result<Dossier, StoreError>;
    fn record_stamped(&self, domain: &Domain, code: &DossierCode, event: Event, recorded_at: DateTime<Utc>) -> Result<Dossier, StoreError>;
    fn record_batch(&self, domain: &Domain, items: Vec<BatchItem>, recorded_at: DateTime<Utc>) -> Result<Vec<Result<Dossier, StoreError>>, StoreError>;
    fn record_all(&self, domain: &Domain, code: &DossierCode, events: Vec<Event>, recorded_at: DateTime<Utc>) -> Result<Dossier, StoreError>;
    fn record_history(&self, domain: &Domain, items: Vec<BatchItem>, recorded_at: DateTime<Utc>) -> Result<Vec<Result<Dossier, StoreError>>, StoreError>;
    fn events(&self, code: &DossierCode) -> Result<Vec<Event>, StoreError>;
    fn logged_events(&self, code: &DossierCode) -> Result<Vec<LoggedEvent>, StoreError>;
    fn backdated_events(&self, a: DateTime<Utc>, b: DateTime<Utc>, by: Option<&str>, limit: u32) -> Result<Vec<LoggedEvent>, StoreError>;
    fn dossier_row(&self, code: &DossierCode) -> Result<Option<DossierRow>, StoreError>;
    fn lookup_id_number(&self, code: &str) -> Result<Option<String>, StoreError>;
    fn event_count(&self) -> Result<u64, StoreError>;
    fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError>;
    fn daily_counts(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyCountRow>, StoreError>;
    fn count_totals(&self, from: NaiveDate, to: NaiveDate, by: Totals) -> Result<Vec<(String, CountValues)>, StoreError>;
    fn finished_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError>;
    fn received_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError>;
    fn open_at(&self, p1: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError>;
    fn open_tallies(&self, p1: DateTime<Utc>, by: Totals) -> Result<Vec<(String, OpenTally)>, StoreError>;
    fn open_to_judge(&self, p1: DateTime<Utc>) -> Result<Vec<OpenFacts>, StoreError>;
    fn dossiers_page(&self, after: Option<&DossierCode>, limit: u32) -> Result<Vec<DossierRow>, StoreError>;
    fn recompute(&self, domain: &Domain, dry_run: bool) -> Result<RecomputeDiff, StoreError>;
    fn watch_facts(&self, start: DateTime<Utc>, end: DateTime<Utc>, from: NaiveDate, to: NaiveDate, agency: Option<&AgencyCode>) -> Result<motcua_core::watchlist::WatchFacts, StoreError>;
    fn watch_counts(&self, q: &motcua_core::watchlist::WatchQuery) -> Result<motcua_core::watchlist::WatchCounts, StoreError>;
    fn watch_dossiers(&self, q: &motcua_core::watchlist::WatchQuery, cell: &motcua_core::watchlist::WatchCellRef, window: Window) -> Result<Paged<DossierCode>, StoreError>;
});

dispatch!(OutboxStore {
    fn enqueue(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, StoreError>;
    fn claim(&self, owner: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError>;
    fn claim_except(&self, owner: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32, held_kinds: &[String]) -> Result<Vec<OutboxMessage>, StoreError>;
    fn hold_for_digest(&self, ids: &[i64], owner: &str, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError>;
    fn digest_recipients(&self, held_kinds: &[String], until: DateTime<Utc>) -> Result<Vec<String>, StoreError>;
    fn gather_digest(&self, domain: &Domain, recipient: &str, held_kinds: &[String], date: NaiveDate, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<Option<outbox::Gathered>, StoreError>;
    fn sent_since(&self, since: DateTime<Utc>) -> Result<Vec<outbox::SentCount>, StoreError>;
    fn mark_sent(&self, ids: &[i64], owner: &str, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError>;
    fn mark_failed(&self, id: i64, owner: &str, now: DateTime<Utc>, failure: outbox::Failure<'_>) -> Result<bool, StoreError>;
    fn outbox(&self, status: Option<OutboxStatus>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError>;
    fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError>;
    fn desk_letters(&self, agencies: &[AgencyCode], limit: u32) -> Result<Vec<OutboxMessage>, StoreError>;
    fn outbox_for(&self, code: &DossierCode) -> Result<Vec<OutboxMessage>, StoreError>;
    fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    fn retry_dead(&self, kind: Option<&str>, now: DateTime<Utc>) -> Result<u64, StoreError>;
    fn reminder_candidates(&self, after: DateTime<Utc>, until: DateTime<Utc>, cursor: Cursor, limit: u32) -> Result<Vec<Candidate>, StoreError>;
    fn overdue_candidates(&self, now: DateTime<Utc>, cursor: Cursor, limit: u32) -> Result<Vec<Candidate>, StoreError>;
    fn imported_overdue(&self, now: DateTime<Utc>, agencies: &[AgencyCode], limit: u32) -> Result<Vec<DossierRow>, StoreError>;
});

dispatch!(DeskLetterStore {
    fn desk_letter_page(&self, agencies: &[AgencyCode], filter: LetterFilter, window: Window) -> Result<Paged<DeskLetter>, StoreError>;
    fn mark_letter(&self, id: i64, agencies: &[AgencyCode], mark: LetterMark, by: &str, at: DateTime<Utc>) -> Result<Marked, StoreError>;
});

dispatch!(StaffStore {
    fn add_staff(&self, new: NewStaff) -> Result<Option<StaffRow>, StoreError>;
    fn staff_list(&self) -> Result<Vec<StaffRow>, StoreError>;
    fn staff_credentials(&self, username: &str) -> Result<Option<(StaffRow, String)>, StoreError>;
    fn set_staff_disabled(&self, username: &str, disabled: bool, at: DateTime<Utc>) -> Result<bool, StoreError>;
    fn set_capability(&self, username: &str, capability: Capability, granted: bool, at: DateTime<Utc>) -> Result<bool, StoreError>;
    fn set_staff_password(&self, username: &str, password_hash: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
    fn create_session(&self, id_hash: &str, staff_id: i64, csrf: &str, at: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
    fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>, StoreError>;
    fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
    fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
    fn create_token(&self, new: NewToken) -> Result<i64, StoreError>;
    fn token_staff(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<TokenUse>, StoreError>;
    fn touch_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
    fn tokens(&self, staff_id: Option<i64>) -> Result<Vec<TokenRow>, StoreError>;
    fn revoke_token(&self, id: i64, staff_id: Option<i64>, at: DateTime<Utc>) -> Result<Option<TokenRow>, StoreError>;
    fn login_failures(&self, account: &str) -> Result<Option<LoginFailures>, StoreError>;
    fn count_login_failure(&self, account: &str, at: DateTime<Utc>, lock_after: u32) -> Result<LoginFailures, StoreError>;
    fn clear_login_failures(&self, account: &str) -> Result<bool, StoreError>;
    fn rate(&self, rating: &Rating) -> Result<bool, StoreError>;
    fn rating(&self, code: &DossierCode) -> Result<Option<Rating>, StoreError>;
    fn rating_counts(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<(AgencyCode, RatingCounts)>, StoreError>;
    fn work_queue(&self, scope: Scope<'_>, window: Window) -> Result<Paged<DossierRow>, StoreError>;
    fn desk_list(&self, list: DeskList, scope: Scope<'_>, window: Window) -> Result<Paged<DossierRow>, StoreError>;
    fn registered_online(&self, agencies: &[AgencyCode], limit: u32) -> Result<Vec<DossierRow>, StoreError>;
    fn audit(&self, before: Option<i64>, within: Option<&[AgencyCode]>, limit: u32) -> Result<Vec<AuditRow>, StoreError>;
    fn agencies_that_held(&self, code: &DossierCode) -> Result<Vec<AgencyCode>, StoreError>;
    fn search_dossiers(&self, search: &DossierSearch, within: Option<&[AgencyCode]>, window: Window) -> Result<Paged<DossierRow>, StoreError>;
    fn record_personal_data_reads(&self, reads: &[NewPersonalDataRead]) -> Result<(), StoreError>;
    fn personal_data_reads(&self, before: Option<i64>, within: Option<&[AgencyCode]>, limit: u32) -> Result<Vec<PersonalDataRead>, StoreError>;
});

dispatch!(PetitionStore {
    fn file_item(&self, domain: &Domain, new: NewItem, at: DateTime<Utc>, by: Option<String>, recorded_at: DateTime<Utc>) -> Result<motcua_core::petition::Item, StoreError>;
    fn record_item(&self, domain: &Domain, code: &motcua_core::petition::ItemCode, event: motcua_core::petition::ItemEvent, recorded_at: DateTime<Utc>) -> Result<motcua_core::petition::Item, StoreError>;
    fn record_item_quiet(&self, domain: &Domain, code: &motcua_core::petition::ItemCode, event: motcua_core::petition::ItemEvent, recorded_at: DateTime<Utc>) -> Result<motcua_core::petition::Item, StoreError>;
    fn item_events(&self, code: &motcua_core::petition::ItemCode) -> Result<Vec<motcua_core::petition::ItemEvent>, StoreError>;
    fn item_row(&self, code: &motcua_core::petition::ItemCode) -> Result<Option<ItemRow>, StoreError>;
    fn items(&self, filter: &ItemFilter) -> Result<Vec<ItemRow>, StoreError>;
    fn items_received_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<ItemRow>, StoreError>;
    fn item_reminder_candidates(&self, after: DateTime<Utc>, until: DateTime<Utc>, cursor: Option<(DateTime<Utc>, motcua_core::petition::ItemCode)>, limit: u32) -> Result<Vec<(motcua_core::petition::ItemCode, DateTime<Utc>)>, StoreError>;
    fn recompute_items(&self, domain: &Domain, dry_run: bool) -> Result<ItemRecompute, StoreError>;
});

dispatch!(HallStore {
    fn issue_ticket(&self, domain: &Domain, new: NewTicket, at: DateTime<Utc>, by: Option<String>, recorded_at: DateTime<Utc>) -> Result<motcua_core::hall::Ticket, StoreError>;
    fn call_next(&self, domain: &Domain, hall: &motcua_core::hall::HallCode, counter: u16, at: DateTime<Utc>, by: Option<String>, recorded_at: DateTime<Utc>) -> Result<Option<Called>, StoreError>;
    fn call_next_many(&self, domain: &Domain, hall: &motcua_core::hall::HallCode, calls: &[CounterCall], at: DateTime<Utc>, recorded_at: DateTime<Utc>) -> Result<Vec<Result<Option<Called>, StoreError>>, StoreError>;
    fn record_ticket(&self, domain: &Domain, id: &motcua_core::hall::TicketId, event: motcua_core::hall::TicketEvent, recorded_at: DateTime<Utc>) -> Result<motcua_core::hall::Ticket, StoreError>;
    fn redirect(&self, domain: &Domain, id: &motcua_core::hall::TicketId, area: char, at: DateTime<Utc>, by: Option<String>, recorded_at: DateTime<Utc>) -> Result<motcua_core::hall::Ticket, StoreError>;
    fn close_day(&self, domain: &Domain, hall: &motcua_core::hall::HallCode, day: NaiveDate, at: DateTime<Utc>, recorded_at: DateTime<Utc>) -> Result<u32, StoreError>;
    fn book(&self, domain: &Domain, request: motcua_core::hall::BookingRequest, at: DateTime<Utc>, recorded_at: DateTime<Utc>) -> Result<motcua_core::hall::Booking, StoreError>;
    fn cancel_booking(&self, domain: &Domain, code: &str, at: DateTime<Utc>, by: Option<String>, recorded_at: DateTime<Utc>) -> Result<motcua_core::hall::Booking, StoreError>;
    fn check_in(&self, domain: &Domain, code: &str, at: DateTime<Utc>, by: Option<String>, recorded_at: DateTime<Utc>) -> Result<motcua_core::hall::Ticket, StoreError>;
    fn sign_counter(&self, domain: &Domain, hall: &motcua_core::hall::HallCode, counter: u16, staff: Option<&str>, at: DateTime<Utc>, recorded_at: DateTime<Utc>) -> Result<(), StoreError>;
    fn ticket(&self, id: &motcua_core::hall::TicketId) -> Result<Option<motcua_core::hall::Ticket>, StoreError>;
    fn ticket_by_number(&self, hall: &motcua_core::hall::HallCode, day: NaiveDate, number: &str) -> Result<Option<motcua_core::hall::Ticket>, StoreError>;
    fn ticket_events(&self, id: &motcua_core::hall::TicketId) -> Result<Vec<motcua_core::hall::TicketEvent>, StoreError>;
    fn day_tickets(&self, hall: &motcua_core::hall::HallCode, day: NaiveDate) -> Result<Vec<motcua_core::hall::Ticket>, StoreError>;
    fn tickets_between(&self, hall: Option<&motcua_core::hall::HallCode>, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<motcua_core::hall::Ticket>, StoreError>;
    fn hall_figures(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<hall::HallFigures, StoreError>;
    fn booking(&self, code: &str) -> Result<Option<motcua_core::hall::Booking>, StoreError>;
    fn day_bookings(&self, hall: &motcua_core::hall::HallCode, day: NaiveDate) -> Result<Vec<motcua_core::hall::Booking>, StoreError>;
    fn counter_sessions(&self, hall: &motcua_core::hall::HallCode) -> Result<Vec<CounterSession>, StoreError>;
    fn hall_log_after(&self, after: i64, limit: u32) -> Result<Vec<HallLogEntry>, StoreError>;
    fn hall_log_head(&self) -> Result<i64, StoreError>;
    fn record_hall_script(&self, domain: &Domain, hall: &motcua_core::hall::HallCode, day: NaiveDate, script: Vec<motcua_core::hall::HallCommand>, recorded_at: DateTime<Utc>) -> Result<u64, StoreError>;
    fn dossier_tickets(&self, code: &DossierCode) -> Result<Vec<motcua_core::hall::Ticket>, StoreError>;
    fn linked_finished(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<hall::LinkedDossier>, StoreError>;
});

dispatch!(ServiceFigures {
    fn figures(&self, q: &FiguresQuery<'_>) -> Result<Figures, StoreError>;
    fn handoff_queue(&self, limit: u32) -> Result<Vec<QueuedEvent>, StoreError>;
    fn record_working_time(&self, done: &[i64], observations: &[WorkingTimeObservation], wait: bool) -> Result<Option<u64>, StoreError>;
});

impl AnyStore {
    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Pg(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Pg(s) => s.close().await,
        }
    }

    /// An online copy of the register into a new file (`motcua backup --to FILE`): on SQLite a
    /// consistent snapshot taken while others keep writing; on PostgreSQL a clear error pointing
    /// to `pg_dump` (docs/deploy.md), which does the same for a server.
    pub async fn backup_to(&self, dest: &std::path::Path) -> Result<Backup, StoreError> {
        match self {
            Self::Sqlite(s) => s.backup_to(dest).await,
            Self::Pg(_) => Err(StoreError::Backup(
                "a PostgreSQL database is backed up with pg_dump (see docs/deploy.md): \
                 pg_dump --format=custom --file=FILE DATABASE_URL"
                    .into(),
            )),
        }
    }
}

/// What `motcua backup` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Backup {
    /// The backup file (written whole, then renamed into place).
    pub path: std::path::PathBuf,
    pub bytes: u64,
    /// Events in the copy's log, and its last event id: every write acknowledged before the
    /// backup began is at or below it.
    pub events: i64,
    pub last_event_id: i64,
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
