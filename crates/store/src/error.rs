//! The store's error type: what went wrong, in words a desk officer can read.

use chrono::NaiveDate;
use motcua_core::{AgencyCode, DomainError, DossierCode};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Core refused the command (illegal transition, unknown agency, event before the last
    /// one…). Nothing was written.
    #[error("rejected: {0}")]
    Rejected(#[from] DomainError),
    /// Core refused a command on a petition, complaint or denunciation. Nothing was written.
    #[error("rejected: {0}")]
    ItemRejected(#[from] motcua_core::petition::ItemError),
    /// Core refused a command of the reception hall. Nothing was written.
    #[error("rejected: {0}")]
    HallRejected(#[from] motcua_core::hall::HallError),
    /// No such ticket or booking of the hall.
    #[error("{0} does not exist")]
    HallNotFound(String),
    #[error("item {0} does not exist")]
    ItemNotFound(motcua_core::petition::ItemCode),
    #[error("dossier {0} does not exist")]
    NotFound(DossierCode),
    #[error("dossier {0} already exists")]
    Duplicate(DossierCode),
    /// History brought in again (`Store::record_history`): the event is already in the
    /// dossier's log, identical, as its `seq`-th event. Nothing was written.
    #[error("event {seq} of dossier {code} is already in the log")]
    AlreadyPresent { code: DossierCode, seq: u32 },
    /// An intake event (an import with its own code) recorded under another code.
    #[error("the intake event carries code {intake} but was recorded for dossier {given}")]
    CodeMismatch { given: DossierCode, intake: DossierCode },
    #[error("agency {agency} has already issued all 9999 dossier numbers of {day}")]
    SequenceExhausted { agency: AgencyCode, day: NaiveDate },
    /// The stored events of a dossier no longer replay with the current calendar and catalog
    /// (a calendar year removed, a procedure dropped…). The log is intact.
    #[error(
        "the stored events of dossier {code} no longer replay with the current calendar and catalog ({source}); \
         `motcua recompute --dry-run` lists every such dossier"
    )]
    Unreplayable { code: DossierCode, source: DomainError },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A failure of the transaction this write shared with other concurrent writes (group
    /// commit): none of them was written.
    #[error("{0} (in a transaction shared with other writes; none of them was written)")]
    GroupCommit(std::sync::Arc<StoreError>),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Something stored cannot be read back (a payload that does not parse, a bad code).
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),
    /// The database URL names no backend this store knows. Only the scheme is kept, so that
    /// a password in the URL is never printed.
    #[error("unsupported database URL scheme {0:?}: expected sqlite://path or postgres://…")]
    UnsupportedUrl(String),
    /// `motcua backup` could not make its copy (the message says why and what to do).
    #[error("backup: {0}")]
    Backup(String),
    #[error("cannot prepare the database file: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// True if the command was refused by the domain rules (as opposed to a storage failure).
    pub fn is_rejected(&self) -> bool {
        matches!(self, Self::Rejected(_) | Self::ItemRejected(_) | Self::HallRejected(_))
    }
}

/// A failure that a retry of the same transaction may not meet again: a deadlock or a
/// serialization failure on PostgreSQL (the whole transaction was rolled back), or SQLite's
/// busy or locked database.
pub fn is_transient(e: &StoreError) -> bool {
    if let StoreError::GroupCommit(shared) = e {
        return is_transient(shared);
    }
    let StoreError::Database(e) = e else { return false };
    match e {
        sqlx::Error::Database(d) => {
            matches!(d.code().as_deref(), Some("40P01" | "40001" | "5" | "6" | "517" | "262"))
        }
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

/// The database cannot be used right now — not the request's fault: the server is away or
/// restarting (a refused or dropped connection, PostgreSQL's admin shutdown or "cannot connect
/// now", no connection free in time), or the SQLite file's disk is full or read-only. A server
/// answers 503 for it and a command exits 2 saying so; trying again later may succeed.
pub fn is_unavailable(e: &StoreError) -> bool {
    match e {
        StoreError::GroupCommit(shared) => is_unavailable(shared),
        StoreError::Io(_) => true,
        StoreError::Database(e) => match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(d) => {
                let code = d.code();
                let code = code.as_deref().unwrap_or("");
                // PostgreSQL: class 08 (connection exception), 57P01–57P03 (admin/crash
                // shutdown, cannot connect now), 53100 (disk full), 25006 (read-only
                // transaction: a standby). SQLite primary codes (extended codes keep them in
                // the low byte): 8 read-only, 10 I/O error, 13 full, 14 cannot open.
                code.starts_with("08")
                    || matches!(code, "57P01" | "57P02" | "57P03" | "53100" | "25006")
                    || code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 8 | 10 | 13 | 14))
            }
            _ => false,
        },
        _ => false,
    }
}

/// The database refused a row because a unique key already holds it.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}
