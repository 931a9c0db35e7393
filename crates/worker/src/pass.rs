//! What one pass of each job did, and where the last reminder pass reached: the values the
//! loop ([`crate::Worker`]), the scheduler and the dispatcher share.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What one [`crate::Worker::run_pending_jobs`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Rows leased.
    pub claimed: usize,
    /// E-mails accepted by the backend and marked sent.
    pub sent: usize,
    /// Letters written to the desk's print queue and marked sent.
    pub printed: usize,
    /// Failed attempts that will be retried.
    pub retried: usize,
    /// Rows parked as dead.
    pub dead: usize,
    /// Delivered, but the lease had expired by the time it was to be marked: another worker
    /// may send it again, with the same Message-ID.
    pub lost_lease: usize,
    /// Staff notices over their recipient's daily cap, left for the next digest.
    pub held: usize,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Self) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.printed += o.printed;
        self.retried += o.retried;
        self.dead += o.dead;
        self.lost_lease += o.lost_lease;
        self.held += o.held;
    }
}

/// What one [`crate::Worker::tick`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TickStats {
    /// Reminder rows queued (officers and heads of holders entering the last working day).
    pub reminders: usize,
    /// Automatic apologies recorded (each queues the letter and an escalation).
    pub apologies: usize,
    pub escalations: usize,
    /// Candidates another worker (or a person) had dealt with first.
    pub already_done: usize,
    /// Candidates whose log no longer replays, or whose event core refused; left for a person.
    pub failed: usize,
    /// Daily digests written (one per staff address and working day).
    pub digests: usize,
    /// Notices gathered into them.
    pub digested: usize,
    /// Notices settled unlisted: their dossier finished, or waits for the citizen, since.
    pub notices_dropped: usize,
    /// Petitions' at-risk warnings and last-day reminders queued (to the responsible agency).
    pub petition_notices: usize,
}

/// The last reminder pass of a worker: its instant, its horizon, and its last full pass (see
/// `scheduler.rs`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReminderMark {
    pub(crate) at: DateTime<Utc>,
    pub(crate) horizon: DateTime<Utc>,
    pub(crate) full: DateTime<Utc>,
}
