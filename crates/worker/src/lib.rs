//! motcua-worker: the part of motcua that tells people things, durably.
//!
//! Two jobs share one [`Worker`]. The **scheduler** ([`Worker::tick`]) asks core when a dossier
//! enters its last working day or passes its due instant, finds those dossiers through the
//! store's due-instant index (never a scan), queues reminders, and records the automatic
//! apology (a `Rescheduled` event issued on the agency's behalf) through the store's one write
//! path, which also queues the letter and the escalation in the same transaction. The
//! **dispatcher** ([`Worker::run_pending_jobs`]) leases due outbox rows, reads each payload as
//! core's [`Letter`](motcua_core::letters::Letter) (a payload that is not one fails its row
//! with the reason), renders them with the editable templates of `config/templates/`, sends
//! them through a [`Mailer`] (SMTP, `.eml` files, or memory) outside any transaction, and marks
//! a row sent only while it still holds the lease; failures are retried with exponential
//! backoff and parked as dead after N attempts.
//!
//! This crate must not decide domain rules (core says who is owed what and when), must not
//! write events or outbox rows except through motcua-store, and must not read the wall clock
//! for a decision: every step takes "now" from its caller, and only [`Worker::run`] asks the
//! injected [`NowSource`]. It knows no metrics library: it reports through [`WorkerMetrics`],
//! which the binary implements. It logs with `tracing` and must never log or print SMTP
//! credentials.
//!
//! Modules:
//! - `worker`: [`Worker`], its parts and the loop that runs both jobs;
//! - `scheduler`: [`Worker::tick`] (reminders and automatic apologies);
//! - `digest`: [`Worker::gather_digests`] (the day's digests to staff) and the daily cap;
//! - `dispatch`: [`Worker::run_pending_jobs`] (lease, render, send, mark);
//! - `pass`: what one pass did ([`Stats`], [`TickStats`]) and where the last reminder pass
//!   reached;
//! - `retry`: store operations run again after a transient failure;
//! - [`config`]: settings, the `[mail]` section;
//! - [`mailer`]: the mail backends;
//! - [`templates`]: minijinja letters;
//! - [`compose`]: a rendered row as an e-mail with its deterministic Message-ID;
//! - [`metrics`]: the [`WorkerMetrics`] trait;
//! - [`now`]: where "now" comes from ([`NowSource`]);
//! - [`papers`]: the official forms the print queue prints ([`Papers`], drawn by the binary);
//! - `error`: [`WorkerError`].

pub mod compose;
pub mod config;
mod digest;
mod dispatch;
mod error;
pub mod mailer;
pub mod metrics;
pub mod now;
pub mod papers;
mod pass;
mod retry;
mod scheduler;
pub mod templates;
mod worker;

pub use config::{DigestMode, DigestSettings, MailSettings, WorkerConfig};
pub use digest::DigestStats;
pub use error::WorkerError;
pub use mailer::{Mailer, MemoryMailbox, SentMail};
pub use metrics::WorkerMetrics;
pub use now::{FixedNow, NowSource, SystemNow};
pub use papers::{PaperFuture, Papers, PrintedPaper};
pub use pass::{Stats, TickStats};
pub use templates::{Rendered, Templates};
pub use worker::Worker;
