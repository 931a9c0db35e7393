//! Group commit: concurrent single writes (`intake`, `record`) gathered into one transaction.
//!
//! With `synchronous=FULL` a commit costs a WAL fsync (about 2 ms on a cloud disk), so one
//! transaction per request caps a desk's write rate at a few hundred per second. Here every
//! caller queues its item with a oneshot reply channel; whoever then holds the lead lock takes
//! the first pending item and everything else already queued (up to [`GroupCommit::cap`]),
//! with no waiting beyond that, and runs them through the engine's batch path in ONE
//! transaction; each caller is answered with its own result only after the commit. So the
//! semantics are those of one transaction per item:
//!
//! - an item core rejects writes nothing and does not affect the others (the engine's batch
//!   rule: later items see the state the accepted earlier ones left);
//! - a database failure fails every item of that batch, each caller getting an error (the
//!   caller of a batch of one gets the error itself); a transient one (a deadlock or
//!   serialization failure on PostgreSQL, a busy SQLite file), after which nothing was
//!   written, first sends the batch back to the queue, up to [`ATTEMPTS`] runs in all;
//! - durability is unchanged: the reply is sent after `COMMIT` returns.
//!
//! The store's API takes `&Domain`, so nothing here can keep the domain past a call. Items are
//! therefore batched with those of callers holding the same `Domain` object (compared by
//! address while both callers are still waiting, so the object is the same one), and the
//! leader applies them with its own reference. The database work of a batch (begin, locked
//! reads, writes, commit, replies) runs in a task of its own that holds the lead lock, and
//! only the in-memory step runs in the leader's future: if the leader is cancelled (a client
//! hanging up) before handing over that step, the task rolls back and puts the items back at
//! the head of the queue for the next leader; once handed over, the commit and the replies
//! happen whatever becomes of the leader. A caller that gave up before its item was taken is
//! skipped.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use motcua_core::{Domain, Dossier};
use tokio::sync::{OwnedMutexGuard, oneshot};

use crate::write::engine::{self, Loaded, WriteTx, Writes};
use chrono::{DateTime, Utc};
use motcua_core::{DossierCode, Event};

use crate::error::{StoreError, is_transient, is_unavailable, is_unique_violation};
use crate::model::BatchItem;

/// Items per group commit by default.
pub(crate) const DEFAULT_CAP: usize = 256;

/// Runs of an item whose transaction failed transiently, before its caller gets the error.
const ATTEMPTS: u8 = 3;

/// A backend's write transactions, as a batch task needs them.
pub(crate) trait Committer: Clone + Send + Sync + 'static {
    type Tx: WriteTx + 'static;
    /// Opens a write transaction (on SQLite, `BEGIN IMMEDIATE` on the writer connection).
    fn begin(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;
    fn rollback(tx: Self::Tx) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn commit(tx: Self::Tx) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes and commits; on failure the transaction is rolled back (or its connection
    /// closed), never left open.
    fn flush_commit(tx: Self::Tx, writes: &Writes) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One batch in one transaction of its own, committed: `record_batch` (`history` false) and
/// `record_history` (true).
pub(crate) async fn record_in_own_tx<S: Committer>(
    store: &S,
    domain: &Domain,
    items: Vec<BatchItem>,
    recorded_at: DateTime<Utc>,
    history: bool,
) -> Result<Vec<Result<Dossier, StoreError>>, StoreError> {
    let mut tx = store.begin().await?;
    let results = crate::write::engine::run_batch(&mut tx, domain, items, recorded_at, history).await?;
    S::commit(tx).await?;
    Ok(results)
}

/// `record_all`: the events of one dossier in one transaction of their own, committed only if
/// core accepts every one of them (rolled back at the first refusal, which is the answer).
pub(crate) async fn record_all_or_none<S: Committer>(
    store: &S,
    domain: &Domain,
    code: &DossierCode,
    events: Vec<Event>,
    recorded_at: DateTime<Utc>,
) -> Result<Dossier, StoreError> {
    let items: Vec<BatchItem> =
        events.into_iter().map(|event| BatchItem::Record { code: code.clone(), event }).collect();
    if items.is_empty() {
        return Err(StoreError::Corrupt(format!("record_all on {code} with no event")));
    }
    let mut tx = store.begin().await?;
    let results = match crate::write::engine::run_batch(&mut tx, domain, items, recorded_at, false).await {
        Ok(r) => r,
        Err(e) => {
            let _ = S::rollback(tx).await;
            return Err(e);
        }
    };
    let mut last = None;
    for r in results {
        match r {
            Ok(d) => last = Some(d),
            Err(e) => {
                let _ = S::rollback(tx).await;
                return Err(e);
            }
        }
    }
    S::commit(tx).await?;
    last.ok_or_else(|| StoreError::Corrupt(format!("record_all on {code}: no result")))
}

type Reply = oneshot::Sender<Result<Dossier, StoreError>>;
type Computed = Result<(Vec<Result<Dossier, StoreError>>, Writes), StoreError>;

/// One caller's write, waiting for a batch.
#[derive(Debug)]
struct Pending {
    /// The address of the caller's `Domain`.
    domain: usize,
    item: BatchItem,
    /// The caller's "now": the `recorded_at` of the item's events.
    recorded_at: DateTime<Utc>,
    reply: Reply,
    /// Runs of this item that failed transiently.
    failed: u8,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<VecDeque<Pending>>,
    /// Held by the task of the batch in progress: one batch at a time.
    lead: Arc<tokio::sync::Mutex<()>>,
    cap: usize,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, VecDeque<Pending>> {
        // No code panics while holding it; a poisoned queue is still a valid queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The queued items of callers with this domain, oldest first, at most `cap`; callers that
    /// gave up are dropped from the queue.
    fn take(&self, domain: usize) -> Vec<Pending> {
        let mut queue = self.queue();
        let mut taken = Vec::new();
        let mut kept = VecDeque::new();
        while let Some(p) = queue.pop_front() {
            if p.reply.is_closed() {
                continue;
            }
            if p.domain == domain && taken.len() < self.cap {
                taken.push(p);
            } else {
                kept.push_back(p);
            }
        }
        *queue = kept;
        taken
    }

    /// Puts a batch that was not run back at the head of the queue, in its order.
    fn requeue(&self, batch: Vec<Pending>) {
        let mut queue = self.queue();
        for p in batch.into_iter().rev() {
            if !p.reply.is_closed() {
                queue.push_front(p);
            }
        }
    }
}

/// The group-commit queue of one store (shared by its clones).
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
}

impl GroupCommit {
    /// A queue that commits at most `cap` items per transaction.
    pub fn new(cap: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: Mutex::new(VecDeque::new()),
                lead: Arc::new(tokio::sync::Mutex::new(())),
                cap: cap.max(1),
            }),
        }
    }

    /// [`crate::Store::intake`] through the group commit: `intake` is a [`BatchItem::Intake`].
    pub(crate) async fn intake<C: Committer>(
        &self,
        backend: &C,
        domain: &Domain,
        intake: BatchItem,
        recorded_at: DateTime<Utc>,
    ) -> Result<Dossier, StoreError> {
        match self.write(backend, domain, intake, recorded_at).await {
            Err(StoreError::Database(e)) if is_unique_violation(&e) => Err(StoreError::Corrupt(format!(
                "the next dossier number clashes with a stored dossier ({e}); dossier_sequences is behind the dossiers table"
            ))),
            other => other,
        }
    }

    /// [`crate::Store::record`] through the group commit.
    pub(crate) async fn record<C: Committer>(
        &self,
        backend: &C,
        domain: &Domain,
        code: &DossierCode,
        event: Event,
        recorded_at: DateTime<Utc>,
    ) -> Result<Dossier, StoreError> {
        match self.write(backend, domain, BatchItem::Record { code: code.clone(), event }, recorded_at).await {
            Err(StoreError::Database(e)) if is_unique_violation(&e) => Err(StoreError::Duplicate(code.clone())),
            other => other,
        }
    }

    /// Writes one item, in a transaction with whatever other items are queued when it runs,
    /// and returns its own result once that transaction is committed.
    pub async fn write<C: Committer>(
        &self,
        backend: &C,
        domain: &Domain,
        item: BatchItem,
        recorded_at: DateTime<Utc>,
    ) -> Result<Dossier, StoreError> {
        let me = std::ptr::from_ref(domain).addr();
        let (reply, mut answer) = oneshot::channel();
        self.shared.queue().push_back(Pending { domain: me, item, recorded_at, reply, failed: 0 });
        loop {
            tokio::select! {
                biased;
                r = &mut answer => {
                    // The reply is dropped unsent only if the batch task died (a runtime
                    // shutting down): the transaction was not committed.
                    return r.unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)));
                }
                guard = Arc::clone(&self.shared.lead).lock_owned() => {
                    let batch = self.shared.take(me);
                    // Empty: an earlier batch took this item and has answered already.
                    if !batch.is_empty() {
                        self.lead(backend, domain, batch, guard).await;
                    }
                }
            }
        }
    }

    /// Runs `batch`: its database work in a task that holds the lead lock, the in-memory step
    /// here, with this caller's domain.
    async fn lead<C: Committer>(&self, backend: &C, domain: &Domain, batch: Vec<Pending>, guard: OwnedMutexGuard<()>) {
        let items: Vec<(BatchItem, DateTime<Utc>)> = batch.iter().map(|p| (p.item.clone(), p.recorded_at)).collect();
        let (loaded_tx, loaded_rx) = oneshot::channel();
        let (computed_tx, computed_rx) = oneshot::channel();
        let shared = Arc::clone(&self.shared);
        tokio::spawn(commit_batch(backend.clone(), shared, batch, guard, loaded_tx, computed_rx));
        // An error loading: the task answers everyone.
        if let Ok(loaded) = loaded_rx.await {
            let _ = computed_tx.send(engine::compute(domain, items, loaded, false));
        }
    }
}

enum Outcome {
    Committed(Vec<Result<Dossier, StoreError>>),
    Failed(StoreError),
    /// The leader went away before computing: nothing was written, run it again.
    LeaderGone,
}

/// A batch's task: the transaction, then the replies; the lead lock is released last.
async fn commit_batch<C: Committer>(
    backend: C,
    shared: Arc<Shared>,
    batch: Vec<Pending>,
    guard: OwnedMutexGuard<()>,
    loaded_tx: oneshot::Sender<Loaded>,
    computed_rx: oneshot::Receiver<Computed>,
) {
    match run(&backend, &batch, loaded_tx, computed_rx).await {
        Outcome::Committed(results) => {
            for (p, r) in batch.into_iter().zip(results) {
                let _ = p.reply.send(r);
            }
        }
        // A deadlock or a busy file is run again; a database that is away (no connection within
        // the pool's wait, a refused or dropped connection) is not: its callers are answered now
        // (503 on the server) rather than after every attempt's wait.
        Outcome::Failed(e)
            if is_transient(&e) && !is_unavailable(&e) && batch.iter().all(|p| p.failed + 1 < ATTEMPTS) =>
        {
            shared.requeue(batch.into_iter().map(|p| Pending { failed: p.failed + 1, ..p }).collect());
        }
        Outcome::Failed(e) => fail(batch, e),
        Outcome::LeaderGone => shared.requeue(batch),
    }
    drop(guard);
}

async fn run<C: Committer>(
    backend: &C,
    batch: &[Pending],
    loaded_tx: oneshot::Sender<Loaded>,
    computed_rx: oneshot::Receiver<Computed>,
) -> Outcome {
    let mut tx = match backend.begin().await {
        Ok(tx) => tx,
        Err(e) => return Outcome::Failed(e),
    };
    let loaded = match engine::load(&mut tx, batch.iter().map(|p| &p.item)).await {
        Ok(l) => l,
        Err(e) => {
            let _ = C::rollback(tx).await;
            return Outcome::Failed(e);
        }
    };
    if loaded_tx.send(loaded).is_err() {
        let _ = C::rollback(tx).await;
        return Outcome::LeaderGone;
    }
    let (results, writes) = match computed_rx.await {
        Ok(Ok(computed)) => computed,
        Ok(Err(e)) => {
            let _ = C::rollback(tx).await;
            return Outcome::Failed(e);
        }
        Err(_) => {
            let _ = C::rollback(tx).await;
            return Outcome::LeaderGone;
        }
    };
    if writes.is_empty() {
        // Every item was refused: nothing to make durable.
        let _ = C::rollback(tx).await;
        return Outcome::Committed(results);
    }
    match C::flush_commit(tx, &writes).await {
        Ok(()) => Outcome::Committed(results),
        Err(e) => Outcome::Failed(e),
    }
}

/// Every caller of a failed batch gets an error: the error itself for a batch of one, the
/// shared error otherwise.
fn fail(batch: Vec<Pending>, e: StoreError) {
    if batch.len() == 1 {
        if let Some(p) = batch.into_iter().next() {
            let _ = p.reply.send(Err(e));
        }
        return;
    }
    let e = Arc::new(e);
    for p in batch {
        let _ = p.reply.send(Err(StoreError::GroupCommit(Arc::clone(&e))));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use chrono::NaiveDate;
    use motcua_core::calendar::from_local;
    use motcua_core::{Applicant, Calendar, CalendarData, Catalog, Channel, ClassifyMode, OfficeHours};

    use super::*;
    use crate::{NewDossier, SqliteStore, Store};

    fn domain() -> Domain {
        let config = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"));
        let mut years = Vec::new();
        for entry in std::fs::read_dir(config.join("calendars/vn")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                years.push(CalendarData::parse_year(&path.display().to_string(), &text).unwrap());
            }
        }
        let calendar = Calendar::new(&CalendarData::new(years).unwrap(), OfficeHours::standard());
        let read = |name: &str| std::fs::read_to_string(config.join("catalog").join(name)).unwrap();
        let catalog = Catalog::from_toml(&read("agencies.toml"), &read("procedures.toml")).unwrap();
        Domain::new(calendar, catalog, ClassifyMode::DateTime)
    }

    fn new_dossier(name: &str) -> NewDossier {
        NewDossier {
            procedure: "1.004628".parse().unwrap(),
            agency: "000.00.02.H17".parse().unwrap(),
            applicant: Applicant { name: name.into(), ..Applicant::default() },
            channel: Channel::InPerson,
            online: false,
            documents: Vec::new(),
            digitised: None,
        }
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..2000 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("timed out waiting until {what}");
    }

    /// A leader cancelled while its batch waits for the database: the batch is rolled back and
    /// the other caller's item is run by the next leader; the cancelled one is not written.
    #[tokio::test(flavor = "current_thread")]
    async fn a_cancelled_leader_hands_its_batch_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("g.db")).await.unwrap();
        let d = Arc::new(domain());
        let at = from_local(NaiveDate::from_ymd_opt(2025, 3, 3).unwrap().and_hms_opt(9, 0, 0).unwrap());
        let shared = Arc::clone(&store.group().shared);
        // Hold the lead lock so that both callers queue, A first.
        let lead = Arc::clone(&shared.lead).lock_owned().await;
        let spawn = |name: &'static str| {
            let (s, d) = (store.clone(), Arc::clone(&d));
            tokio::spawn(async move { s.intake(&d, new_dossier(name), at, None).await })
        };
        let a = spawn("A");
        until("A is queued", || shared.queue().len() == 1).await;
        let b = spawn("B");
        until("B is queued", || shared.queue().len() == 2).await;
        // Hold the writer connection so that the batch task waits in BEGIN.
        let conn = store.writer().acquire().await.unwrap();
        drop(lead);
        until("A leads a batch of both", || shared.queue().is_empty()).await;
        a.abort();
        assert!(a.await.unwrap_err().is_cancelled());
        drop(conn);
        let b = b.await.unwrap().unwrap();
        assert_eq!(b.applicant.name, "B");
        assert_eq!(b.code.unwrap().as_str(), "000.00.02.H17-250303-0001", "A's number was never used");
        assert_eq!(store.event_count().await.unwrap(), 1);
        store.close().await;
    }
}
