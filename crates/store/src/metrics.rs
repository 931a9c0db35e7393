//! What the Prometheus exporter (motcua-exporter) reads at scrape time, and the one thing it
//! writes: measured handoff and dwell times.
//!
//! Every query here is sized by the number of agencies, statuses or outbox kinds, or by the
//! small set of open dossiers past their appointment — never by history or by the number of
//! open dossiers. The counters are kept by the triggers of migration 0004. Rows come back raw:
//! classification, national facts and working time are the exporter's business (through core).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::clock::WaitKind;
use motcua_core::{Channel, DossierCode, Status};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::error::StoreError;
use crate::model::CountValues;
use crate::{AnyStore, PgStore, SqliteStore, sql};

/// Non-terminal dossiers of one lead agency in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCount {
    pub agency: String,
    pub status: Status,
    pub dossiers: u64,
}

/// `daily_counts` summed over days and procedures, for one lead agency and channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyTotals {
    pub agency: String,
    pub channel: Channel,
    pub counts: CountValues,
}

/// `daily_counts` summed over a range of local days and every procedure and channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyWindow {
    pub agency: String,
    pub counts: CountValues,
}

/// An open dossier (status 2, 4, 5, 6) that is overdue or may be late by the national rule:
/// past its due date, past its receipt's appointment, or with a second supplement request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLateCandidate {
    pub agency: String,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub original_due_at: Option<DateTime<Utc>>,
    pub supplement_count: u32,
    pub reschedule_count: u32,
    pub waiting_kind: Option<WaitKind>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub waited_seconds_closed: i64,
}

/// Outbox messages of one kind in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxCount {
    pub kind: String,
    pub status: String,
    pub messages: u64,
}

/// One bucket of a working-time histogram (not cumulative): observations whose value is at
/// most `le_seconds` and above the next smaller bound (`-1` is +Inf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingTimeBucket {
    /// `handoff_delay` or `dwell`.
    pub metric: String,
    pub agency: String,
    pub le_seconds: i64,
    pub observations: u64,
    pub seconds: i64,
}

/// An event that may have completed a handoff (`accepted`) or an agency's dwell (`transferred`,
/// `resolved`, `withdrawn`, `stopped`), waiting to be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    pub id: i64,
    pub code: DossierCode,
    pub seq: u32,
}

/// A measured working time, to be added to a histogram bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingTimeObservation {
    /// The queue row it was measured for; it is added only if this call removes that row.
    pub queue_id: i64,
    /// `handoff_delay` or `dwell`.
    pub metric: &'static str,
    pub agency: String,
    pub le_seconds: i64,
    pub seconds: i64,
}

/// What one scrape asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiguresQuery {
    pub now: DateTime<Utc>,
    /// Local day ranges (inclusive) to sum `daily_counts` over, per agency.
    pub windows: Vec<(NaiveDate, NaiveDate)>,
}

/// Everything a scrape reads, from one consistent snapshot of the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub open: Vec<OpenCount>,
    pub totals: Vec<AgencyTotals>,
    /// One list per window of the query, in its order.
    pub windows: Vec<Vec<AgencyWindow>>,
    pub late_candidates: Vec<OpenLateCandidate>,
    /// Open dossiers at risk per agency (core's flag, kept in the projection since migration 0002).
    pub at_risk: Option<Vec<(String, u64)>>,
    pub outbox: Vec<OutboxCount>,
    pub oldest_pending_message: Option<DateTime<Utc>>,
    pub working_time: Vec<WorkingTimeBucket>,
    /// Events waiting to be measured into `working_time`.
    pub handoff_queue: u64,
}

/// The exporter's queries, on each backend.
pub trait ServiceFigures: Send + Sync {
    /// Reads every figure of a scrape in one read transaction.
    fn figures(&self, q: &FiguresQuery) -> impl Future<Output = Result<Figures, StoreError>> + Send;

    /// The oldest `limit` events waiting to be measured.
    fn handoff_queue(&self, limit: u32) -> impl Future<Output = Result<Vec<QueuedEvent>, StoreError>> + Send;

    /// Removes the queue rows `done` and adds the observations of the rows this call removed
    /// (a row another process removed first is not counted twice), in one transaction. With
    /// `wait = false` on SQLite, gives up (`Ok(None)`) when the writer is busy rather than
    /// waiting for it. Returns the number of queue rows removed.
    fn record_working_time(
        &self,
        done: &[i64],
        observations: &[WorkingTimeObservation],
        wait: bool,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;
}

const OPEN_STATUSES: &str = "status IN (2, 4, 5, 6)";
/// PostgreSQL's SUM(bigint) is numeric: cast back on both backends.
const WINDOW_SUMS: &str = "CAST(SUM(received) AS BIGINT) AS received, CAST(SUM(finished) AS BIGINT) AS finished, \
     CAST(SUM(early) AS BIGINT) AS early, CAST(SUM(on_time) AS BIGINT) AS on_time, CAST(SUM(late) AS BIGINT) AS late, \
     CAST(SUM(national_on_time) AS BIGINT) AS national_on_time";
const CANDIDATE_COLUMNS: &str = "lead_agency, received_at, due_at, original_due_at, supplement_count, \
     reschedule_count, waiting_kind, waiting_since, waited_seconds_closed";

fn u64_of(n: i64, what: &str) -> Result<u64, StoreError> {
    sql::count(n, what)
}

fn status_of(n: i64) -> Result<Status, StoreError> {
    u8::try_from(n)
        .ok()
        .and_then(Status::from_code)
        .ok_or_else(|| StoreError::Corrupt(format!("metric_open_dossiers.status = {n}")))
}

fn channel_of(s: &str) -> Result<Channel, StoreError> {
    Channel::parse(s).ok_or_else(|| StoreError::Corrupt(format!("metric_agency_totals.channel = {s:?}")))
}

/// The three disjoint sets of open late candidates: overdue; not overdue but past the
/// receipt's appointment; neither, with a second supplement request.
fn candidate_queries(p: impl Fn(usize) -> String) -> [String; 3] {
    [
        format!("SELECT {CANDIDATE_COLUMNS} FROM dossiers WHERE {OPEN_STATUSES} AND due_at < {}", p(1)),
        format!(
            "SELECT {CANDIDATE_COLUMNS} FROM dossiers WHERE {OPEN_STATUSES} AND original_due_at < {} AND due_at >= {}",
            p(1),
            p(2)
        ),
        format!(
            "SELECT {CANDIDATE_COLUMNS} FROM dossiers WHERE {OPEN_STATUSES} AND supplement_count > 1 \
             AND original_due_at >= {} AND due_at >= {}",
            p(1),
            p(2)
        ),
    ]
}

fn window_query(p: impl Fn(usize) -> String) -> String {
    format!(
        "SELECT agency, {WINDOW_SUMS} FROM metric_agency_days WHERE day >= {} AND day <= {} GROUP BY agency ORDER BY agency",
        p(1),
        p(2)
    )
}

const OPEN_QUERY: &str =
    "SELECT agency, status, dossiers FROM metric_open_dossiers WHERE dossiers <> 0 ORDER BY agency, status";
const TOTALS_QUERY: &str = "SELECT agency, channel, received, finished, early, on_time, late, national_on_time \
     FROM metric_agency_totals ORDER BY agency, channel";
const OUTBOX_QUERY: &str = "SELECT kind, status, messages FROM metric_outbox WHERE messages <> 0 ORDER BY kind, status";
const OLDEST_PENDING: &str = "SELECT MIN(created_at) AS oldest FROM outbox WHERE status = 'pending'";
const WORKING_TIME_QUERY: &str = "SELECT metric, agency, le_seconds, observations, seconds FROM metric_working_time \
     ORDER BY metric, agency, le_seconds";
const QUEUE_LENGTH: &str = "SELECT COUNT(*) FROM metric_handoff_queue";
/// Open dossiers at risk, through the partial index of migration 0002 (its WHERE, verbatim).
const AT_RISK_SQLITE: &str = "SELECT lead_agency, COUNT(*) AS n FROM dossiers WHERE at_risk = 1 AND status IN (2, 4, 5, 6) \
     GROUP BY lead_agency ORDER BY lead_agency";
const AT_RISK_PG: &str = "SELECT lead_agency, COUNT(*) AS n FROM dossiers WHERE at_risk AND status IN (2, 4, 5, 6) \
     GROUP BY lead_agency ORDER BY lead_agency";

macro_rules! counts_of {
    ($r:expr) => {{
        let r = $r;
        CountValues {
            received: r.try_get("received")?,
            finished: r.try_get("finished")?,
            early: r.try_get("early")?,
            on_time: r.try_get("on_time")?,
            late: r.try_get("late")?,
            national_on_time: r.try_get("national_on_time")?,
        }
    }};
}

/// Observations summed per histogram cell, for the rows actually removed.
fn cells(
    observations: &[WorkingTimeObservation],
    removed: &BTreeSet<i64>,
) -> BTreeMap<(&'static str, String, i64), (i64, i64)> {
    let mut out: BTreeMap<(&'static str, String, i64), (i64, i64)> = BTreeMap::new();
    for o in observations.iter().filter(|o| removed.contains(&o.queue_id)) {
        let c = out.entry((o.metric, o.agency.clone(), o.le_seconds)).or_default();
        c.0 += 1;
        c.1 += o.seconds;
    }
    out
}

const UPSERT_WORKING_TIME_SQLITE: &str = "INSERT INTO metric_working_time (metric, agency, le_seconds, observations, seconds) \
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (metric, agency, le_seconds) DO UPDATE SET \
     observations = observations + excluded.observations, seconds = seconds + excluded.seconds";
const UPSERT_WORKING_TIME_PG: &str = "INSERT INTO metric_working_time AS t (metric, agency, le_seconds, observations, seconds) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (metric, agency, le_seconds) DO UPDATE SET \
     observations = t.observations + excluded.observations, seconds = t.seconds + excluded.seconds";

// ---------------------------------------------------------------------------------------------
// SQLite

/// An instant column as SQLite holds it: fixed-width UTC text, or integer microseconds.
fn sqlite_instant(r: &SqliteRow, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    use sqlx::{TypeInfo, ValueRef};
    let raw = r.try_get_raw(col)?;
    if raw.is_null() {
        return Ok(None);
    }
    if raw.type_info().name() == "INTEGER" {
        let micros: i64 = r.try_get(col)?;
        return DateTime::from_timestamp_micros(micros)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("{col} = {micros}: not an instant")));
    }
    Ok(Some(r.try_get(col)?))
}

fn sqlite_candidate(r: &SqliteRow) -> Result<OpenLateCandidate, StoreError> {
    let waiting_kind: Option<String> = r.try_get("waiting_kind")?;
    Ok(OpenLateCandidate {
        agency: r.try_get("lead_agency")?,
        received_at: sqlite_instant(r, "received_at")?,
        due_at: sqlite_instant(r, "due_at")?,
        original_due_at: sqlite_instant(r, "original_due_at")?,
        supplement_count: sql::uint(r.try_get("supplement_count")?, "supplement_count")?,
        reschedule_count: sql::uint(r.try_get("reschedule_count")?, "reschedule_count")?,
        waiting_kind: waiting_kind.as_deref().map(sql::wait_kind_from).transpose()?,
        waiting_since: sqlite_instant(r, "waiting_since")?,
        waited_seconds_closed: r.try_get("waited_seconds_closed")?,
    })
}

impl ServiceFigures for SqliteStore {
    async fn figures(&self, q: &FiguresQuery) -> Result<Figures, StoreError> {
        // One read transaction: WAL gives every query below the same snapshot.
        let mut tx = self.reader().begin().await?;
        let mut f = Figures::default();
        for r in sqlx::query(OPEN_QUERY).fetch_all(&mut *tx).await? {
            f.open.push(OpenCount {
                agency: r.try_get("agency")?,
                status: status_of(r.try_get("status")?)?,
                dossiers: u64_of(r.try_get("dossiers")?, "metric_open_dossiers.dossiers")?,
            });
        }
        for r in sqlx::query(TOTALS_QUERY).fetch_all(&mut *tx).await? {
            let channel: String = r.try_get("channel")?;
            f.totals.push(AgencyTotals {
                agency: r.try_get("agency")?,
                channel: channel_of(&channel)?,
                counts: counts_of!(&r),
            });
        }
        let wq = window_query(|_| "?".to_string());
        for (first, last) in &q.windows {
            let rows = sqlx::query(&wq).bind(*first).bind(*last).fetch_all(&mut *tx).await?;
            let mut w = Vec::with_capacity(rows.len());
            for r in rows {
                w.push(AgencyWindow { agency: r.try_get("agency")?, counts: counts_of!(&r) });
            }
            f.windows.push(w);
        }
        for (i, cq) in candidate_queries(|_| "?".to_string()).iter().enumerate() {
            let mut query = sqlx::query(cq).bind(crate::sqlite::ts(q.now));
            if i > 0 {
                query = query.bind(crate::sqlite::ts(q.now));
            }
            for r in query.fetch_all(&mut *tx).await? {
                f.late_candidates.push(sqlite_candidate(&r)?);
            }
        }
        let mut at_risk = Vec::new();
        for r in sqlx::query(AT_RISK_SQLITE).fetch_all(&mut *tx).await? {
            at_risk.push((r.try_get("lead_agency")?, u64_of(r.try_get("n")?, "at-risk count")?));
        }
        f.at_risk = Some(at_risk);
        for r in sqlx::query(OUTBOX_QUERY).fetch_all(&mut *tx).await? {
            f.outbox.push(OutboxCount {
                kind: r.try_get("kind")?,
                status: r.try_get("status")?,
                messages: u64_of(r.try_get("messages")?, "metric_outbox.messages")?,
            });
        }
        let oldest = sqlx::query(OLDEST_PENDING).fetch_one(&mut *tx).await?;
        f.oldest_pending_message = sqlite_instant(&oldest, "oldest")?;
        for r in sqlx::query(WORKING_TIME_QUERY).fetch_all(&mut *tx).await? {
            f.working_time.push(WorkingTimeBucket {
                metric: r.try_get("metric")?,
                agency: r.try_get("agency")?,
                le_seconds: r.try_get("le_seconds")?,
                observations: u64_of(r.try_get("observations")?, "metric_working_time.observations")?,
                seconds: r.try_get("seconds")?,
            });
        }
        let n: i64 = sqlx::query_scalar(QUEUE_LENGTH).fetch_one(&mut *tx).await?;
        f.handoff_queue = u64_of(n, "metric_handoff_queue length")?;
        tx.rollback().await?;
        Ok(f)
    }

    async fn handoff_queue(&self, limit: u32) -> Result<Vec<QueuedEvent>, StoreError> {
        let rows = sqlx::query("SELECT id, dossier_code, seq FROM metric_handoff_queue ORDER BY id LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                let code: String = r.try_get("dossier_code")?;
                Ok(QueuedEvent {
                    id: r.try_get("id")?,
                    code: sql::parse("metric_handoff_queue", "dossier_code", &code)?,
                    seq: sql::uint(r.try_get("seq")?, "metric_handoff_queue.seq")?,
                })
            })
            .collect()
    }

    async fn record_working_time(
        &self,
        done: &[i64],
        observations: &[WorkingTimeObservation],
        wait: bool,
    ) -> Result<Option<u64>, StoreError> {
        if done.is_empty() {
            return Ok(Some(0));
        }
        let mut conn = if wait {
            self.writer().acquire().await?
        } else {
            match self.writer().try_acquire() {
                Some(c) => c,
                None => return Ok(None),
            }
        };
        let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
        let mut removed = BTreeSet::new();
        for chunk in done.chunks(500) {
            let q = format!(
                "DELETE FROM metric_handoff_queue WHERE id IN ({}) RETURNING id",
                sql::list(sql::Dialect::Sqlite, chunk.len())
            );
            let mut query = sqlx::query_scalar::<_, i64>(&q);
            for id in chunk {
                query = query.bind(*id);
            }
            removed.extend(query.fetch_all(&mut *tx).await?);
        }
        for ((metric, agency, le), (n, secs)) in cells(observations, &removed) {
            sqlx::query(UPSERT_WORKING_TIME_SQLITE)
                .bind(metric)
                .bind(agency)
                .bind(le)
                .bind(n)
                .bind(secs)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(removed.len() as u64))
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

fn pg_candidate(r: &PgRow) -> Result<OpenLateCandidate, StoreError> {
    let waiting_kind: Option<String> = r.try_get("waiting_kind")?;
    Ok(OpenLateCandidate {
        agency: r.try_get("lead_agency")?,
        received_at: r.try_get("received_at")?,
        due_at: r.try_get("due_at")?,
        original_due_at: r.try_get("original_due_at")?,
        supplement_count: sql::uint(r.try_get("supplement_count")?, "supplement_count")?,
        reschedule_count: sql::uint(r.try_get("reschedule_count")?, "reschedule_count")?,
        waiting_kind: waiting_kind.as_deref().map(sql::wait_kind_from).transpose()?,
        waiting_since: r.try_get("waiting_since")?,
        waited_seconds_closed: r.try_get("waited_seconds_closed")?,
    })
}

fn pg_param(i: usize) -> String {
    format!("${i}")
}

impl ServiceFigures for PgStore {
    async fn figures(&self, q: &FiguresQuery) -> Result<Figures, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        let mut f = Figures::default();
        for r in sqlx::query(OPEN_QUERY).fetch_all(&mut *tx).await? {
            let status: i32 = r.try_get("status")?;
            f.open.push(OpenCount {
                agency: r.try_get("agency")?,
                status: status_of(i64::from(status))?,
                dossiers: u64_of(r.try_get("dossiers")?, "metric_open_dossiers.dossiers")?,
            });
        }
        for r in sqlx::query(TOTALS_QUERY).fetch_all(&mut *tx).await? {
            let channel: String = r.try_get("channel")?;
            f.totals.push(AgencyTotals {
                agency: r.try_get("agency")?,
                channel: channel_of(&channel)?,
                counts: counts_of!(&r),
            });
        }
        let wq = window_query(pg_param);
        for (first, last) in &q.windows {
            let rows = sqlx::query(&wq).bind(*first).bind(*last).fetch_all(&mut *tx).await?;
            let mut w = Vec::with_capacity(rows.len());
            for r in rows {
                w.push(AgencyWindow { agency: r.try_get("agency")?, counts: counts_of!(&r) });
            }
            f.windows.push(w);
        }
        for (i, cq) in candidate_queries(pg_param).iter().enumerate() {
            let mut query = sqlx::query(cq).bind(q.now);
            if i > 0 {
                query = query.bind(q.now);
            }
            for r in query.fetch_all(&mut *tx).await? {
                f.late_candidates.push(pg_candidate(&r)?);
            }
        }
        let mut at_risk = Vec::new();
        for r in sqlx::query(AT_RISK_PG).fetch_all(&mut *tx).await? {
            at_risk.push((r.try_get("lead_agency")?, u64_of(r.try_get("n")?, "at-risk count")?));
        }
        f.at_risk = Some(at_risk);
        for r in sqlx::query(OUTBOX_QUERY).fetch_all(&mut *tx).await? {
            f.outbox.push(OutboxCount {
                kind: r.try_get("kind")?,
                status: r.try_get("status")?,
                messages: u64_of(r.try_get("messages")?, "metric_outbox.messages")?,
            });
        }
        f.oldest_pending_message = sqlx::query_scalar(OLDEST_PENDING).fetch_one(&mut *tx).await?;
        for r in sqlx::query(WORKING_TIME_QUERY).fetch_all(&mut *tx).await? {
            f.working_time.push(WorkingTimeBucket {
                metric: r.try_get("metric")?,
                agency: r.try_get("agency")?,
                le_seconds: r.try_get("le_seconds")?,
                observations: u64_of(r.try_get("observations")?, "metric_working_time.observations")?,
                seconds: r.try_get("seconds")?,
            });
        }
        let n: i64 = sqlx::query_scalar(QUEUE_LENGTH).fetch_one(&mut *tx).await?;
        f.handoff_queue = u64_of(n, "metric_handoff_queue length")?;
        tx.rollback().await?;
        Ok(f)
    }

    async fn handoff_queue(&self, limit: u32) -> Result<Vec<QueuedEvent>, StoreError> {
        let rows = sqlx::query("SELECT id, dossier_code, seq FROM metric_handoff_queue ORDER BY id LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let code: String = r.try_get("dossier_code")?;
                Ok(QueuedEvent {
                    id: r.try_get("id")?,
                    code: sql::parse("metric_handoff_queue", "dossier_code", &code)?,
                    seq: sql::uint(r.try_get("seq")?, "metric_handoff_queue.seq")?,
                })
            })
            .collect()
    }

    async fn record_working_time(
        &self,
        done: &[i64],
        observations: &[WorkingTimeObservation],
        _wait: bool,
    ) -> Result<Option<u64>, StoreError> {
        if done.is_empty() {
            return Ok(Some(0));
        }
        let mut tx = self.pool().begin().await?;
        // Concurrent exporters: the DELETE decides which one counts a row.
        let removed: BTreeSet<i64> =
            sqlx::query_scalar::<_, i64>("DELETE FROM metric_handoff_queue WHERE id = ANY($1) RETURNING id")
                .bind(done)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        for ((metric, agency, le), (n, secs)) in cells(observations, &removed) {
            sqlx::query(UPSERT_WORKING_TIME_PG)
                .bind(metric)
                .bind(agency)
                .bind(le)
                .bind(n)
                .bind(secs)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(removed.len() as u64))
    }
}

// ---------------------------------------------------------------------------------------------

impl ServiceFigures for AnyStore {
    async fn figures(&self, q: &FiguresQuery) -> Result<Figures, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.figures(q).await,
            AnyStore::Pg(s) => s.figures(q).await,
        }
    }

    async fn handoff_queue(&self, limit: u32) -> Result<Vec<QueuedEvent>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.handoff_queue(limit).await,
            AnyStore::Pg(s) => s.handoff_queue(limit).await,
        }
    }

    async fn record_working_time(
        &self,
        done: &[i64],
        observations: &[WorkingTimeObservation],
        wait: bool,
    ) -> Result<Option<u64>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.record_working_time(done, observations, wait).await,
            AnyStore::Pg(s) => s.record_working_time(done, observations, wait).await,
        }
    }
}
