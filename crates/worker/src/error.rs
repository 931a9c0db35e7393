//! The worker's error type.

use motcua_store::StoreError;

/// Why a worker step failed. A single message that cannot be rendered or sent is not an error
/// of the step: it is recorded on its outbox row and retried.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("calendar: {0}")]
    Calendar(#[from] motcua_core::CalendarError),
    #[error("templates: {0}")]
    Template(String),
    #[error("mail configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A task the worker spawned panicked or was cancelled.
    #[error("a worker task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
