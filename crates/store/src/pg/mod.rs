//! The PostgreSQL register: many stateless server and worker processes on one database.
//!
//! A read-modify-write locks the projection rows of the dossiers it touches with
//! `SELECT … FOR UPDATE` (in code order, so two batches never wait on each other in a cycle)
//! before it reads their logs; code counters are serialised with transaction-scoped advisory
//! locks, so a rejected intake writes nothing, not even a counter row. A dossier created
//! concurrently by two imports of the same code is caught by the primary key: one of them fails
//! as a duplicate.
//!
//! Concurrent single writes of one process share transactions through the group commit
//! ([`crate::write::group`]), as on SQLite: intakes at one desk all wait for the same code counter's
//! lock, so one transaction per intake would serialise them behind one commit each.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{Domain, Dossier, DossierCode, Event};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use crate::write::engine::{self, CounterKey, ScanTx, WriteTx, Writes};
use crate::error::{StoreError, is_unique_violation};
use crate::write::group::{self, Committer, GroupCommit};
use crate::model::{
    BatchItem, CountChange, DailyCountRow, DossierRow, LoggedEvent, NewDossier, OpenFacts, OpenTally, RecomputeDiff,
    Totals,
};
use crate::sql::{
    self, Dialect, bind_counts, bind_dossier, decode_counts, decode_dossier, decode_open_facts, persistent,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

const D: Dialect = Dialect::Postgres;

fn same(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

fn dossier_from(r: &PgRow) -> Result<DossierRow, StoreError> {
    decode_dossier!(r)
}

fn counts_from(r: &PgRow) -> Result<DailyCountRow, StoreError> {
    decode_counts!(r)
}

fn codes_text(codes: &[DossierCode]) -> Vec<String> {
    codes.iter().map(ToString::to_string).collect()
}

/// The advisory lock key text of a code counter.
fn counter_lock(agency: &str, day: NaiveDate) -> String {
    format!("motcua:dossier_sequences:{agency}:{day}")
}

/// The dossier register on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    group: GroupCommit,
}

impl PgStore {
    /// Connects to `postgres://…` and migrates the database.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let options = options.statement_cache_capacity(sql::STATEMENT_CACHE);
        let pool = PgPoolOptions::new().max_connections(10).connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, group: GroupCommit::new(group::DEFAULT_CAP) })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<PgTx, StoreError> {
        Ok(PgTx { tx: self.pool.begin().await? })
    }

    async fn rows(&self, q: &str, a: DateTime<Utc>, b: Option<DateTime<Utc>>) -> Result<Vec<DossierRow>, StoreError> {
        let mut query = sqlx::query(q).bind(a);
        if let Some(b) = b {
            query = query.bind(b);
        }
        query.fetch_all(&self.pool).await?.iter().map(dossier_from).collect()
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn intake(
        &self,
        domain: &Domain,
        new: NewDossier,
        at: DateTime<Utc>,
        by: Option<String>,
    ) -> Result<Dossier, StoreError> {
        let result = self.batch_one(domain, BatchItem::Intake { new, at, by }).await;
        match result {
            Err(StoreError::Database(e)) if is_unique_violation(&e) => Err(StoreError::Corrupt(format!(
                "the next dossier number clashes with a stored dossier ({e}); dossier_sequences is behind the dossiers table"
            ))),
            other => other,
        }
    }

    pub async fn record(&self, domain: &Domain, code: &DossierCode, event: Event) -> Result<Dossier, StoreError> {
        let result = self.batch_one(domain, BatchItem::Record { code: code.clone(), event }).await;
        match result {
            Err(StoreError::Database(e)) if is_unique_violation(&e) => Err(StoreError::Duplicate(code.clone())),
            other => other,
        }
    }

    /// One item through the group commit: in one transaction with the other single writes
    /// of this process queued meanwhile, answered after the commit.
    async fn batch_one(&self, domain: &Domain, item: BatchItem) -> Result<Dossier, StoreError> {
        self.group.write(self, domain, item).await
    }

    pub async fn record_batch(
        &self,
        domain: &Domain,
        items: Vec<BatchItem>,
    ) -> Result<Vec<Result<Dossier, StoreError>>, StoreError> {
        let mut tx = self.begin().await?;
        let results = engine::run_batch(&mut tx, domain, items).await?;
        tx.tx.commit().await?;
        Ok(results)
    }

    pub async fn events(&self, code: &DossierCode) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, payload::text AS payload FROM dossier_events WHERE dossier_code = $1 ORDER BY seq",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                sql::parse_event(
                    code.as_str(),
                    i64::from(r.try_get::<i32, _>("seq")?),
                    &r.try_get::<String, _>("payload")?,
                )
            })
            .collect()
    }

    pub async fn dossier_row(&self, code: &DossierCode) -> Result<Option<DossierRow>, StoreError> {
        let row = sqlx::query(&format!("{} WHERE code = $1", sql::select_dossiers()))
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dossier_from).transpose()
    }

    pub async fn event_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossier_events").fetch_one(&self.pool).await?;
        sql::count(n, "event count")
    }

    pub async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, dossier_code, seq, payload::text AS payload, recorded_at FROM dossier_events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let code: String = r.try_get("dossier_code")?;
                let seq: i32 = r.try_get("seq")?;
                Ok(LoggedEvent {
                    id: r.try_get("id")?,
                    event: sql::parse_event(&code, i64::from(seq), &r.try_get::<String, _>("payload")?)?,
                    code: sql::parse("dossier_events", "dossier_code", &code)?,
                    seq: sql::uint(seq, "dossier_events.seq")?,
                    recorded_at: r.try_get("recorded_at")?,
                })
            })
            .collect()
    }

    pub async fn daily_counts(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyCountRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM daily_counts WHERE day >= $1 AND day <= $2 ORDER BY day, agency, procedure, channel",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(counts_from).collect()
    }

    pub async fn count_totals(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        by: crate::model::Totals,
    ) -> Result<Vec<(String, crate::model::CountValues)>, StoreError> {
        use sqlx::Row as _;
        let rows =
            sqlx::query(&by.sql(|i| format!("${i}"), "::bigint")).bind(from).bind(to).fetch_all(&self.pool).await?;
        // An empty sum (no day in range, `All`) is NULL: no row.
        rows.iter()
            .filter(|r| !matches!(r.try_get::<Option<i64>, _>(1), Ok(None)))
            .map(|r| {
                let n = |i: usize| r.try_get::<Option<i64>, _>(i).map(|v| v.unwrap_or(0));
                Ok((
                    r.try_get::<String, _>(0)?,
                    crate::model::CountValues {
                        received: n(1)?,
                        finished: n(2)?,
                        early: n(3)?,
                        on_time: n(4)?,
                        late: n(5)?,
                        national_on_time: n(6)?,
                    },
                ))
            })
            .collect()
    }

    pub async fn finished_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        let q = format!(
            "{} WHERE finished_at >= $1 AND finished_at < $2 ORDER BY finished_at, code",
            sql::select_dossiers()
        );
        self.rows(&q, a, Some(b)).await
    }

    pub async fn received_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        let q = format!(
            "{} WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at, code",
            sql::select_dossiers()
        );
        self.rows(&q, a, Some(b)).await
    }

    pub async fn open_at(&self, p1: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        // Two index-friendly halves: still open (the partial index on open statuses) and
        // finished after p1 (the finished_at index). Open statuses have no finish.
        let select = sql::select_dossiers();
        let q = format!(
            "{select} WHERE {open} AND received_at <= $1 \
             UNION ALL {select} WHERE finished_at > $1 AND received_at <= $1",
            open = *sql::OPEN
        );
        let mut rows = self.rows(&q, p1, None).await?;
        rows.sort_unstable_by(|a, b| a.code.cmp(&b.code));
        Ok(rows)
    }

    pub async fn open_tallies(&self, p1: DateTime<Utc>, by: Totals) -> Result<Vec<(String, OpenTally)>, StoreError> {
        let (key, group) = by.dossier_key();
        let q = format!(
            "SELECT {key}::text AS k, COUNT(*) AS open, COUNT(*) FILTER (WHERE due_at < $1) AS past_due, \
             COUNT(*) FILTER (WHERE original_due_at >= $1 AND supplement_count <= 1) AS ahead \
             FROM dossiers WHERE {open} AND received_at <= $1 AND last_event_at <= $1 \
             AND due_at IS NOT NULL AND original_due_at IS NOT NULL{group}",
            open = *sql::OPEN
        );
        let rows = sqlx::query(&q).bind(p1).fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for r in rows {
            let open: i64 = r.try_get("open")?;
            if open > 0 {
                let t = OpenTally { open, past_due: r.try_get("past_due")?, appointment_ahead: r.try_get("ahead")? };
                out.push((r.try_get("k")?, t));
            }
        }
        Ok(out)
    }

    pub async fn open_to_judge(&self, p1: DateTime<Utc>) -> Result<Vec<OpenFacts>, StoreError> {
        let q = format!(
            "SELECT {c} FROM dossiers WHERE {open} AND received_at <= $1 AND (last_event_at > $1 \
             OR (due_at IS NOT NULL AND original_due_at IS NOT NULL AND (original_due_at < $1 OR supplement_count > 1))) \
             UNION ALL SELECT {c} FROM dossiers WHERE finished_at > $1 AND received_at <= $1 ORDER BY code",
            c = sql::OPEN_FACTS_COLUMNS,
            open = *sql::OPEN
        );
        let rows = sqlx::query(&q).bind(p1).fetch_all(&self.pool).await?;
        rows.iter().map(|r| decode_open_facts!(r)).collect()
    }

    pub async fn dossiers_page(&self, after: Option<&DossierCode>, limit: u32) -> Result<Vec<DossierRow>, StoreError> {
        let q = format!("{} WHERE code > $1 ORDER BY code LIMIT $2", sql::select_dossiers());
        let rows = sqlx::query(&q)
            .bind(after.map(DossierCode::as_str).unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(dossier_from).collect()
    }

    pub async fn recompute(&self, domain: &Domain, dry_run: bool) -> Result<RecomputeDiff, StoreError> {
        let mut tx = self.begin().await?;
        if dry_run {
            // One snapshot for the whole scan.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx.tx).await?;
            let diff = engine::run_recompute(&mut tx, domain, true).await?;
            tx.tx.rollback().await?;
            Ok(diff)
        } else {
            // Writers lock projection rows first, then append events: taking the projection
            // table first keeps every writer out until the rebuild commits.
            sqlx::query("LOCK TABLE dossiers IN EXCLUSIVE MODE").execute(&mut *tx.tx).await?;
            sqlx::query("LOCK TABLE dossier_events IN SHARE MODE").execute(&mut *tx.tx).await?;
            sqlx::query("LOCK TABLE daily_counts IN EXCLUSIVE MODE").execute(&mut *tx.tx).await?;
            let diff = engine::run_recompute(&mut tx, domain, false).await?;
            tx.tx.commit().await?;
            Ok(diff)
        }
    }
}

pub(crate) struct PgTx {
    tx: Transaction<'static, Postgres>,
}

impl Committer for PgStore {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, StoreError> {
        PgStore::begin(self).await
    }

    async fn rollback(tx: PgTx) -> Result<(), StoreError> {
        Ok(tx.tx.rollback().await?)
    }

    async fn flush_commit(mut tx: PgTx, writes: &Writes) -> Result<(), StoreError> {
        if let Err(e) = tx.flush(writes).await {
            let _ = tx.tx.rollback().await;
            return Err(e);
        }
        Ok(tx.tx.commit().await?)
    }
}

impl WriteTx for PgTx {
    const WRITES_IN_PARTS: bool = false;

    async fn load(&mut self, codes: &[DossierCode]) -> Result<HashMap<DossierCode, Vec<Event>>, StoreError> {
        let codes = codes_text(codes);
        sqlx::query("SELECT code FROM dossiers WHERE code = ANY($1) ORDER BY code FOR UPDATE")
            .bind(&codes)
            .fetch_all(&mut *self.tx)
            .await?;
        let rows = sqlx::query(
            "SELECT dossier_code, seq, payload::text AS payload FROM dossier_events WHERE dossier_code = ANY($1) ORDER BY dossier_code, seq",
        )
        .bind(&codes)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out: HashMap<DossierCode, Vec<Event>> = HashMap::new();
        for r in rows {
            let code: String = r.try_get("dossier_code")?;
            let event =
                sql::parse_event(&code, i64::from(r.try_get::<i32, _>("seq")?), &r.try_get::<String, _>("payload")?)?;
            out.entry(sql::parse("dossier_events", "dossier_code", &code)?).or_default().push(event);
        }
        Ok(out)
    }

    async fn counters(&mut self, keys: &[CounterKey]) -> Result<HashMap<CounterKey, u32>, StoreError> {
        let locks: Vec<String> = keys.iter().map(|(a, d)| counter_lock(a.as_str(), *d)).collect();
        // Keys arrive sorted: every transaction takes these locks in the same order.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
        )
        .bind(&locks)
        .fetch_all(&mut *self.tx)
        .await?;
        let agencies: Vec<String> = keys.iter().map(|(a, _)| a.to_string()).collect();
        let days: Vec<NaiveDate> = keys.iter().map(|(_, d)| *d).collect();
        let rows = sqlx::query(
            "SELECT s.agency, s.day, s.last_seq FROM dossier_sequences s \
             JOIN unnest($1::text[], $2::date[]) AS k(agency, day) ON s.agency = k.agency AND s.day = k.day",
        )
        .bind(&agencies)
        .bind(&days)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            let agency: String = r.try_get("agency")?;
            let last: i32 = r.try_get("last_seq")?;
            out.insert(
                (sql::parse("dossier_sequences", "agency", &agency)?, r.try_get("day")?),
                sql::uint(last, "dossier_sequences.last_seq")?,
            );
        }
        Ok(out)
    }

    async fn flush(&mut self, w: &Writes) -> Result<(), StoreError> {
        if !w.events.is_empty() {
            let mut codes = Vec::with_capacity(w.events.len());
            let mut seqs = Vec::with_capacity(w.events.len());
            let mut ats = Vec::with_capacity(w.events.len());
            let mut kinds = Vec::with_capacity(w.events.len());
            let mut bys = Vec::with_capacity(w.events.len());
            let mut payloads = Vec::with_capacity(w.events.len());
            for e in &w.events {
                codes.push(e.code.as_str());
                seqs.push(sql::int(e.seq));
                ats.push(e.at);
                kinds.push(e.kind);
                bys.push(e.by.as_deref());
                payloads.push(e.payload.as_str());
            }
            sqlx::query(
                "INSERT INTO dossier_events (dossier_code, seq, at, kind, by_staff, payload, recorded_at) \
                 SELECT c, s, a, k, b, p::jsonb, $7 \
                 FROM unnest($1::text[], $2::int4[], $3::timestamptz[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS t(c, s, a, k, b, p, n) \
                 ORDER BY n",
            )
            .bind(&codes)
            .bind(&seqs)
            .bind(&ats)
            .bind(&kinds)
            .bind(&bys)
            .bind(&payloads)
            .bind(w.recorded_at)
            .execute(&mut *self.tx)
            .await?;
        }
        self.write_rows(&w.created, false).await?;
        self.write_rows(&w.updated, true).await?;
        let per = sql::rows_per_statement(sql::COUNT_COLUMNS.len());
        for chunk in w.counts.chunks(per) {
            let q = sql::upsert_counts(D, chunk.len(), true);
            let mut query = sqlx::query(&q).persistent(persistent(chunk.len(), per));
            for (k, v) in chunk {
                query = bind_counts!(query, k, v);
            }
            query.execute(&mut *self.tx).await?;
        }
        if !w.counters.is_empty() {
            let agencies: Vec<&str> = w.counters.iter().map(|((a, _), _)| a.as_str()).collect();
            let days: Vec<NaiveDate> = w.counters.iter().map(|((_, d), _)| *d).collect();
            let lasts: Vec<i32> = w.counters.iter().map(|(_, last)| sql::int(*last)).collect();
            sqlx::query(
                "INSERT INTO dossier_sequences (agency, day, last_seq) \
                 SELECT * FROM unnest($1::text[], $2::date[], $3::int4[]) \
                 ON CONFLICT (agency, day) DO UPDATE SET last_seq = GREATEST(dossier_sequences.last_seq, excluded.last_seq)",
            )
            .bind(&agencies)
            .bind(&days)
            .bind(&lasts)
            .execute(&mut *self.tx)
            .await?;
        }
        crate::outbox::insert_pg(&mut self.tx, &w.outbox).await?;
        Ok(())
    }

    /// PostgreSQL writes a batch at once ([`WriteTx::WRITES_IN_PARTS`]): nothing to prepare ahead.
    type Ready = Writes;

    fn ready(w: Writes) -> Result<Writes, StoreError> {
        Ok(w)
    }

    async fn send(&mut self, w: Writes) -> Result<(), StoreError> {
        self.flush(&w).await
    }
}

impl PgTx {
    async fn write_rows(&mut self, rows: &[DossierRow], upsert: bool) -> Result<(), StoreError> {
        let per = sql::rows_per_statement(sql::DOSSIER_COLUMNS.len());
        for chunk in rows.chunks(per) {
            let q = sql::insert_dossiers(D, chunk.len(), upsert);
            let mut query = sqlx::query(&q).persistent(persistent(chunk.len(), per));
            for r in chunk {
                query = bind_dossier!(query, r, same);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

impl ScanTx for PgTx {
    async fn codes_after(&mut self, after: Option<&DossierCode>, limit: u32) -> Result<Vec<DossierCode>, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT dossier_code FROM dossier_events WHERE dossier_code > $1 ORDER BY dossier_code LIMIT $2",
        )
        .bind(after.map(DossierCode::as_str).unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        codes.iter().map(|c| sql::parse("dossier_events", "dossier_code", c)).collect()
    }

    async fn logs_between(
        &mut self,
        first: &DossierCode,
        last: &DossierCode,
    ) -> Result<Vec<(DossierCode, Event)>, StoreError> {
        let rows = sqlx::query(
            "SELECT dossier_code, seq, payload::text AS payload FROM dossier_events \
             WHERE dossier_code >= $1 AND dossier_code <= $2 ORDER BY dossier_code, seq",
        )
        .bind(first.as_str())
        .bind(last.as_str())
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out: Vec<(DossierCode, Event)> = Vec::with_capacity(rows.len());
        for r in rows {
            let code: String = r.try_get("dossier_code")?;
            let event =
                sql::parse_event(&code, i64::from(r.try_get::<i32, _>("seq")?), &r.try_get::<String, _>("payload")?)?;
            let code = match out.last() {
                Some((c, _)) if c.as_str() == code => c.clone(),
                _ => sql::parse("dossier_events", "dossier_code", &code)?,
            };
            out.push((code, event));
        }
        Ok(out)
    }

    async fn rows_between(&mut self, first: &DossierCode, last: &DossierCode) -> Result<Vec<DossierRow>, StoreError> {
        let q = format!("{} WHERE code >= $1 AND code <= $2", sql::select_dossiers());
        let rows = sqlx::query(&q).bind(first.as_str()).bind(last.as_str()).fetch_all(&mut *self.tx).await?;
        rows.iter().map(dossier_from).collect()
    }

    async fn orphans(&mut self) -> Result<Vec<DossierCode>, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar(
            "SELECT code FROM dossiers d WHERE NOT EXISTS (SELECT 1 FROM dossier_events e WHERE e.dossier_code = d.code) ORDER BY code",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        codes.iter().map(|c| sql::parse("dossiers", "code", c)).collect()
    }

    async fn all_counts(&mut self) -> Result<Vec<DailyCountRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM daily_counts").fetch_all(&mut *self.tx).await?;
        rows.iter().map(counts_from).collect()
    }

    async fn upsert_rows(&mut self, rows: &[DossierRow]) -> Result<(), StoreError> {
        self.write_rows(rows, true).await
    }

    async fn delete_rows(&mut self, codes: &[DossierCode]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM dossiers WHERE code = ANY($1)").bind(codes_text(codes)).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn set_counts(&mut self, changes: &[CountChange]) -> Result<(), StoreError> {
        let (zero, set): (Vec<&CountChange>, Vec<&CountChange>) = changes.iter().partition(|c| c.new.is_zero());
        let per = sql::rows_per_statement(sql::COUNT_COLUMNS.len());
        for chunk in set.chunks(per) {
            let q = sql::upsert_counts(D, chunk.len(), false);
            let mut query = sqlx::query(&q).persistent(false);
            for c in chunk {
                query = bind_counts!(query, &c.key, &c.new);
            }
            query.execute(&mut *self.tx).await?;
        }
        for c in zero {
            sqlx::query("DELETE FROM daily_counts WHERE day = $1 AND agency = $2 AND procedure = $3 AND channel = $4")
                .bind(c.key.day)
                .bind(c.key.agency.as_str())
                .bind(c.key.procedure.as_str())
                .bind(c.key.channel.name())
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }
}
