//! The [`Worker`]: its parts, its step counters, and the loop that runs both jobs.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use motcua_core::Domain;
use motcua_exporter::Metrics;
use motcua_store::{OutboxStore, Store};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::WorkerConfig;
use crate::error::WorkerError;
use crate::mailer::Mailer;
use crate::templates::Templates;

/// Runs a store operation again (up to 5 times in all) when it failed in a way a retry may not
/// meet again: with several workers on PostgreSQL, writers of the outbox and of its
/// trigger-maintained counters can deadlock, and the database then rolls one of them back whole.
pub(crate) async fn transient_retry<T, F, Fut>(mut op: F) -> Result<T, motcua_store::StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, motcua_store::StoreError>>,
{
    let mut tries = 0;
    loop {
        match op().await {
            Err(e) if tries < 4 && motcua_store::outbox::is_transient(&e) => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5 * (1 << tries))).await;
            }
            other => return other,
        }
    }
}

/// What one [`Worker::run_pending_jobs`] did.
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
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Self) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.printed += o.printed;
        self.retried += o.retried;
        self.dead += o.dead;
        self.lost_lease += o.lost_lease;
    }
}

/// What one [`Worker::tick`] did.
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
}

/// The scheduler and the outbox dispatcher over one store.
#[derive(Debug)]
pub struct Worker<S> {
    pub(crate) store: S,
    pub(crate) domain: Arc<Domain>,
    pub(crate) mailer: Mailer,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: WorkerConfig,
    pub(crate) templates: Templates,
    pub(crate) from: Mailbox,
    pub(crate) metrics: Option<Metrics>,
    pub(crate) stop: AtomicBool,
    /// Where the last reminder pass of this worker reached (see `scheduler.rs`).
    pub(crate) reminder_mark: std::sync::Mutex<Option<crate::scheduler::Mark>>,
}

impl<S> Worker<S>
where
    S: Store + OutboxStore + Clone + Send + Sync + 'static,
{
    /// Loads the templates and checks the sender; nothing runs until asked.
    pub fn new(
        store: S,
        domain: Arc<Domain>,
        mailer: Mailer,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
    ) -> Result<Self, WorkerError> {
        let templates = Templates::load(&config.templates_dir)?;
        let from: Mailbox =
            config.from.parse().map_err(|e| WorkerError::Config(format!("mail.from {:?}: {e}", config.from)))?;
        Ok(Self {
            store,
            domain,
            mailer,
            clock,
            config,
            templates,
            from,
            metrics: None,
            stop: AtomicBool::new(false),
            reminder_mark: std::sync::Mutex::new(None),
        })
    }

    /// Counts what the worker does in these instance metrics.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Another lease owner name (each worker process needs its own).
    pub fn with_owner(mut self, owner: String) -> Self {
        self.config.owner = owner;
        self
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// One scheduler tick and the outbox drained, at `now` (`motcua worker --once`).
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<(TickStats, Stats), WorkerError> {
        let tick = self.tick(now).await?;
        let sent = self.run_pending_jobs(now).await?;
        Ok((tick, sent))
    }

    /// Runs until `shutdown` completes: a tick and the pending jobs at the clock's now, then a
    /// pause of `tick_interval`. On shutdown the work in flight is finished (the batch being
    /// sent is sent and marked) before this returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
        let mut shutdown = pin!(shutdown);
        loop {
            let now = self.clock.now();
            let cycle = async {
                if let Err(e) = self.tick(now).await {
                    eprintln!("worker: scheduler tick failed: {e}");
                }
                if let Err(e) = self.run_pending_jobs(now).await {
                    eprintln!("worker: dispatcher failed: {e}");
                }
            };
            let mut cycle = pin!(cycle);
            tokio::select! {
                () = &mut cycle => {}
                () = &mut shutdown => {
                    self.stop.store(true, Ordering::SeqCst);
                    cycle.await;
                    return Ok(());
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.tick_interval) => {}
                () = &mut shutdown => return Ok(()),
            }
        }
    }
}
