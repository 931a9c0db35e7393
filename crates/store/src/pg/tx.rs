//! The PostgreSQL write transaction: the engine's [`WriteTx`] and [`ScanTx`] on an sqlx
//! transaction, and the group commit's [`Committer`].

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{DossierCode, Event};
use sqlx::{PgConnection, Postgres, Row, Transaction};

use super::columns::Columns;
use super::{D, PgStore, codes_text, counter_lock};
use crate::error::StoreError;
use crate::model::{CountChange, DailyCountRow, DossierRow};
use crate::sql::{self, bind_counts, bind_dossier};
use crate::write::counters::bind_counter_rows;
use crate::write::engine::{CounterKey, Mark, ScanTx, WriteTx, Writes};
use crate::write::group::Committer;
use crate::write::watch::bind_watch_rows;

fn same(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

/// Appends events; those the exporter measures join its queue in the same statement
/// ([`crate::write::counters`]).
static INSERT_EVENTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH added AS (INSERT INTO dossier_events (dossier_code, seq, at, kind, by_staff, payload, recorded_at) \
         SELECT c, s, a, k, b, p::jsonb, r \
         FROM unnest($1::text[], $2::int4[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) WITH ORDINALITY AS t(c, s, a, k, b, p, r, n) \
         ORDER BY n RETURNING id, dossier_code, seq, kind) \
         INSERT INTO metric_handoff_queue (event_id, dossier_code, seq) \
         SELECT id, dossier_code, seq FROM added WHERE {} ORDER BY id",
        *sql::MEASURED_KINDS
    )
});

/// A write transaction on PostgreSQL. The part of a big batch is written by a task of its own
/// ([`WriteTx::send`]), which owns the transaction until its statements are answered, so that
/// core computes the next part while PostgreSQL writes this one; every other use of the
/// transaction first waits for that task and takes its error.
pub(crate) struct PgTx {
    state: State,
}

type Sent = (Transaction<'static, Postgres>, Result<(), StoreError>);

enum State {
    Idle(Transaction<'static, Postgres>),
    /// A part being written; the transaction comes back with the task's result.
    Sending(tokio::task::JoinHandle<Sent>),
    /// The task writing a part was lost (a runtime shutting down): so was the transaction,
    /// rolled back when its connection went.
    Lost,
}

impl PgTx {
    pub(super) fn new(tx: Transaction<'static, Postgres>) -> Self {
        Self { state: State::Idle(tx) }
    }

    /// The transaction, once the part in flight (if any) is written; that part's error if it
    /// failed.
    pub(super) async fn conn(&mut self) -> Result<&mut Transaction<'static, Postgres>, StoreError> {
        if matches!(self.state, State::Sending(_)) {
            let State::Sending(task) = std::mem::replace(&mut self.state, State::Lost) else {
                return Err(lost());
            };
            let (tx, written) = task.await.map_err(|_| lost())?;
            self.state = State::Idle(tx);
            written?;
        }
        match &mut self.state {
            State::Idle(tx) => Ok(tx),
            _ => Err(lost()),
        }
    }

    /// The transaction itself, to commit or roll back.
    pub(super) async fn into_inner(mut self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let written = self.conn().await.map(|_| ());
        match std::mem::replace(&mut self.state, State::Lost) {
            State::Idle(tx) => match written {
                Ok(()) => Ok(tx),
                Err(e) => {
                    let _ = tx.rollback().await;
                    Err(e)
                }
            },
            _ => Err(written.err().unwrap_or_else(lost)),
        }
    }

    pub(super) async fn commit(self) -> Result<(), StoreError> {
        Ok(self.into_inner().await?.commit().await?)
    }

    pub(super) async fn rollback(self) -> Result<(), StoreError> {
        match self.into_inner().await {
            Ok(tx) => Ok(tx.rollback().await?),
            // Rolled back already (or with its connection).
            Err(_) => Ok(()),
        }
    }
}

fn lost() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}

impl Committer for PgStore {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, StoreError> {
        PgStore::begin(self).await
    }

    async fn rollback(tx: PgTx) -> Result<(), StoreError> {
        tx.rollback().await
    }

    async fn commit(tx: PgTx) -> Result<(), StoreError> {
        tx.commit().await
    }

    async fn flush_commit(mut tx: PgTx, writes: &Writes) -> Result<(), StoreError> {
        if let Err(e) = tx.flush(writes).await {
            let _ = tx.rollback().await;
            return Err(e);
        }
        tx.commit().await
    }
}

impl WriteTx for PgTx {
    const WRITES_IN_PARTS: bool = true;
    /// A part's writes are a few round trips: parts of more events than SQLite's.
    const PART_EVENTS: usize = 1000;

    async fn load(&mut self, codes: &[DossierCode]) -> Result<HashMap<DossierCode, Vec<Event>>, StoreError> {
        let codes = codes_text(codes);
        let conn = self.conn().await?;
        sqlx::query("SELECT code FROM dossiers WHERE code = ANY($1) ORDER BY code FOR UPDATE")
            .bind(&codes)
            .fetch_all(&mut **conn)
            .await?;
        let rows = sqlx::query(
            "SELECT dossier_code, seq, payload::text AS payload FROM dossier_events WHERE dossier_code = ANY($1) ORDER BY dossier_code, seq",
        )
        .bind(&codes)
        .fetch_all(&mut **conn)
        .await?;
        let mut out: HashMap<DossierCode, Vec<Event>> = HashMap::new();
        for r in rows {
            let code: String = r.try_get("dossier_code")?;
            let event = sql::decode_event!(&code, &r)?;
            out.entry(sql::parse("dossier_events", "dossier_code", &code)?).or_default().push(event);
        }
        Ok(out)
    }

    async fn counters(&mut self, keys: &[CounterKey]) -> Result<HashMap<CounterKey, u32>, StoreError> {
        let locks: Vec<String> = keys.iter().map(|(a, d)| counter_lock(a.as_str(), *d)).collect();
        let conn = self.conn().await?;
        // Keys arrive sorted: every transaction takes these locks in the same order.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
        )
        .bind(&locks)
        .fetch_all(&mut **conn)
        .await?;
        let agencies: Vec<String> = keys.iter().map(|(a, _)| a.to_string()).collect();
        let days: Vec<NaiveDate> = keys.iter().map(|(_, d)| *d).collect();
        let rows = sqlx::query(
            "SELECT s.agency, s.day, s.last_seq FROM dossier_sequences s \
             JOIN unnest($1::text[], $2::date[]) AS k(agency, day) ON s.agency = k.agency AND s.day = k.day",
        )
        .bind(&agencies)
        .bind(&days)
        .fetch_all(&mut **conn)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            let (key, last) = sql::decode_counter!(&r)?;
            out.insert(key, last);
        }
        Ok(out)
    }

    async fn flush(&mut self, w: &Writes) -> Result<(), StoreError> {
        write(self.conn().await?, w).await
    }

    /// The values are arranged in columns by the task that writes them.
    type Ready = Writes;

    fn ready(w: Writes) -> Result<Writes, StoreError> {
        Ok(w)
    }

    /// Hands the part to a task that writes it and returns at once (after the part before is
    /// written): the next part is computed meanwhile. Its error comes with the next use of the
    /// transaction.
    async fn send(&mut self, w: Writes) -> Result<(), StoreError> {
        self.conn().await?;
        let State::Idle(mut tx) = std::mem::replace(&mut self.state, State::Lost) else {
            return Err(lost());
        };
        self.state = State::Sending(tokio::spawn(async move {
            let written = write(&mut tx, &w).await;
            (tx, written)
        }));
        Ok(())
    }

    async fn mark_imported(&mut self, marks: &[Mark]) -> Result<(), StoreError> {
        let codes: Vec<&str> = marks.iter().map(|m| m.code.as_str()).collect();
        let dues: Vec<DateTime<Utc>> = marks.iter().map(|m| m.due_at).collect();
        let at: Vec<DateTime<Utc>> = marks.iter().map(|m| m.marked_at).collect();
        let conn = self.conn().await?;
        sqlx::query(
            "INSERT INTO imported_overdue (dossier_code, due_at, marked_at) \
             SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) \
             ON CONFLICT (dossier_code) DO UPDATE SET due_at = excluded.due_at, marked_at = excluded.marked_at",
        )
        .bind(&codes)
        .bind(&dues)
        .bind(&at)
        .execute(&mut **conn)
        .await?;
        Ok(())
    }
}

/// The writes of a batch (or of a part of one) on its transaction.
async fn write(conn: &mut PgConnection, w: &Writes) -> Result<(), StoreError> {
    if !w.events.is_empty() {
        let mut codes = Vec::with_capacity(w.events.len());
        let mut seqs = Vec::with_capacity(w.events.len());
        let mut ats = Vec::with_capacity(w.events.len());
        let mut kinds = Vec::with_capacity(w.events.len());
        let mut bys = Vec::with_capacity(w.events.len());
        let mut payloads = Vec::with_capacity(w.events.len());
        let mut recorded = Vec::with_capacity(w.events.len());
        for e in &w.events {
            codes.push(e.code.as_str());
            seqs.push(sql::int(e.seq));
            ats.push(e.at);
            kinds.push(e.kind);
            bys.push(e.by.as_deref());
            payloads.push(e.payload.as_str());
            recorded.push(e.recorded_at);
        }
        sqlx::query(&INSERT_EVENTS)
            .bind(&codes)
            .bind(&seqs)
            .bind(&ats)
            .bind(&kinds)
            .bind(&bys)
            .bind(&payloads)
            .bind(&recorded)
            .execute(&mut *conn)
            .await?;
    }
    write_rows(conn, &w.created, false).await?;
    write_rows(conn, &w.updated, true).await?;
    if !w.counts.is_empty() {
        let mut c = Columns::with_capacity(w.counts.len());
        for (k, v) in &w.counts {
            c = bind_counts!(c, k, v).end_row();
        }
        let q = sql::upsert_counts_from(D, &format!("SELECT * FROM {}", c.unnest()), true);
        c.bind_to(sqlx::query(&q))?.execute(&mut *conn).await?;
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
        .execute(&mut *conn)
        .await?;
    }
    for (q, rows) in w.metric.statements(D) {
        bind_counter_rows!(sqlx::query(&q).persistent(false), &rows).execute(&mut *conn).await?;
    }
    for (q, rows) in w.watch.statements(D) {
        bind_watch_rows!(sqlx::query(&q).persistent(false), &rows, same).execute(&mut *conn).await?;
    }
    super::outbox::insert_keys(conn, &w.outbox).await?;
    Ok(())
}

/// Projection rows in one statement of column arrays, prepared once ([`Columns`]).
async fn write_rows(conn: &mut PgConnection, rows: &[DossierRow], upsert: bool) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut c = Columns::with_capacity(rows.len());
    for r in rows {
        c = bind_dossier!(c, r, same).end_row();
    }
    let q = sql::insert_dossiers_from(D, &format!("SELECT * FROM {}", c.unnest()), upsert);
    c.bind_to(sqlx::query(&q))?.execute(&mut *conn).await?;
    Ok(())
}

impl PgTx {
    /// Upserts projection rows (the recompute's writes).
    async fn write_rows(&mut self, rows: &[DossierRow], upsert: bool) -> Result<(), StoreError> {
        write_rows(self.conn().await?, rows, upsert).await
    }

    /// The transaction's connection: what [`sql::scan_tx!`] reads on.
    async fn scan_conn(&mut self) -> Result<&mut sqlx::PgConnection, StoreError> {
        Ok(&mut **self.conn().await?)
    }
}

impl ScanTx for PgTx {
    sql::scan_tx!(D);

    async fn delete_rows(&mut self, codes: &[DossierCode]) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        sqlx::query("DELETE FROM dossiers WHERE code = ANY($1)").bind(codes_text(codes)).execute(&mut **conn).await?;
        Ok(())
    }
}
