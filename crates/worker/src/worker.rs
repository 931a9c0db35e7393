//! The [`Worker`]: its parts, its step counters, and the loop that runs both jobs.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use motcua_core::Domain;
use motcua_store::{OutboxStore, PetitionStore, Store};

use crate::config::WorkerConfig;
use crate::error::WorkerError;
use crate::mailer::Mailer;
use crate::metrics::WorkerMetrics;
use crate::now::NowSource;
use crate::papers::Papers;
use crate::pass::{ReminderMark, Stats, TickStats};
use crate::templates::Templates;

/// The scheduler and the outbox dispatcher over one store.
#[derive(Debug)]
pub struct Worker<S> {
    pub(crate) store: S,
    pub(crate) domain: Arc<Domain>,
    pub(crate) mailer: Mailer,
    pub(crate) now: Arc<dyn NowSource>,
    pub(crate) config: WorkerConfig,
    pub(crate) templates: Templates,
    pub(crate) from: Mailbox,
    pub(crate) metrics: Option<Arc<dyn WorkerMetrics>>,
    /// The official forms the print queue prints (the letter's template without them).
    pub(crate) papers: Option<Arc<dyn Papers>>,
    pub(crate) stop: AtomicBool,
    /// Where the last reminder pass of this worker reached (see `scheduler.rs`).
    pub(crate) reminder_mark: std::sync::Mutex<Option<ReminderMark>>,
}

impl<S> Worker<S>
where
    S: Store + OutboxStore + PetitionStore + Clone + Send + Sync + 'static,
{
    /// Loads the templates and checks the sender; nothing runs until asked.
    pub fn new(
        store: S,
        domain: Arc<Domain>,
        mailer: Mailer,
        now: Arc<dyn NowSource>,
        config: WorkerConfig,
    ) -> Result<Self, WorkerError> {
        let templates = Templates::load(&config.templates_dir)?;
        let from: Mailbox =
            config.from.parse().map_err(|e| WorkerError::Config(format!("mail.from {:?}: {e}", config.from)))?;
        Ok(Self {
            store,
            domain,
            mailer,
            now,
            config,
            templates,
            from,
            metrics: None,
            papers: None,
            stop: AtomicBool::new(false),
            reminder_mark: std::sync::Mutex::new(None),
        })
    }

    /// Prints the official form ([`Papers`]) for a desk letter that has one.
    pub fn with_papers(mut self, papers: Arc<dyn Papers>) -> Self {
        self.papers = Some(papers);
        self
    }

    /// Reports what the worker does to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn WorkerMetrics>) -> Self {
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

    /// Reports to the metrics, if any.
    pub(crate) fn metric(&self, f: impl FnOnce(&dyn WorkerMetrics)) {
        if let Some(m) = &self.metrics {
            f(m.as_ref());
        }
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

    /// Runs until `shutdown` completes: a tick and the pending jobs at the source's now, then a
    /// pause of `tick_interval`. On shutdown the work in flight is finished (the batch being
    /// sent is sent and marked) before this returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
        let mut shutdown = pin!(shutdown);
        loop {
            let now = self.now.now();
            let cycle = async {
                if let Err(e) = self.tick(now).await {
                    tracing::error!(error = %e, "scheduler tick failed");
                }
                if let Err(e) = self.run_pending_jobs(now).await {
                    tracing::error!(error = %e, "dispatcher failed");
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
