//! The PostgreSQL write transaction: the engine's [`WriteTx`] and [`ScanTx`] on an sqlx
//! transaction, and the group commit's [`Committer`].

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{DossierCode, Event};
use sqlx::{Postgres, Row, Transaction};

use super::{D, PgStore, codes_text, counter_lock};
use crate::error::StoreError;
use crate::model::{CountChange, DailyCountRow, DossierRow};
use crate::sql::{self, bind_counts, bind_dossier, write_chunked};
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

pub(crate) struct PgTx {
    pub(super) tx: Transaction<'static, Postgres>,
}

impl Committer for PgStore {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, StoreError> {
        PgStore::begin(self).await
    }

    async fn rollback(tx: PgTx) -> Result<(), StoreError> {
        Ok(tx.tx.rollback().await?)
    }

    async fn commit(tx: PgTx) -> Result<(), StoreError> {
        Ok(tx.tx.commit().await?)
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
            let event = sql::decode_event!(&code, &r)?;
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
            let (key, last) = sql::decode_counter!(&r)?;
            out.insert(key, last);
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
                .execute(&mut *self.tx)
                .await?;
        }
        self.write_rows(&w.created, false).await?;
        self.write_rows(&w.updated, true).await?;
        let counts = sql::COUNT_COLUMNS.len();
        write_chunked!(self.tx, w.counts, counts, |n| sql::upsert_counts(D, n, true), |query, c| bind_counts!(
            query, &c.0, &c.1
        ));
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
        for (q, rows) in w.metric.statements(D) {
            bind_counter_rows!(sqlx::query(&q).persistent(false), &rows).execute(&mut *self.tx).await?;
        }
        for (q, rows) in w.watch.statements(D) {
            bind_watch_rows!(sqlx::query(&q).persistent(false), &rows, same).execute(&mut *self.tx).await?;
        }
        super::outbox::insert_keys(&mut self.tx, &w.outbox).await?;
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

    async fn mark_imported(&mut self, marks: &[Mark]) -> Result<(), StoreError> {
        let codes: Vec<&str> = marks.iter().map(|m| m.code.as_str()).collect();
        let dues: Vec<DateTime<Utc>> = marks.iter().map(|m| m.due_at).collect();
        let at: Vec<DateTime<Utc>> = marks.iter().map(|m| m.marked_at).collect();
        sqlx::query(
            "INSERT INTO imported_overdue (dossier_code, due_at, marked_at) \
             SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) \
             ON CONFLICT (dossier_code) DO UPDATE SET due_at = excluded.due_at, marked_at = excluded.marked_at",
        )
        .bind(&codes)
        .bind(&dues)
        .bind(&at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl PgTx {
    async fn write_rows(&mut self, rows: &[DossierRow], upsert: bool) -> Result<(), StoreError> {
        let cols = sql::DOSSIER_COLUMNS.len();
        write_chunked!(self.tx, rows, cols, |n| sql::insert_dossiers(D, n, upsert), |query, r| bind_dossier!(
            query, r, same
        ));
        Ok(())
    }
}

impl PgTx {
    /// The transaction's connection: what [`sql::scan_tx!`] reads on.
    async fn scan_conn(&mut self) -> Result<&mut sqlx::PgConnection, StoreError> {
        Ok(&mut self.tx)
    }
}

impl ScanTx for PgTx {
    sql::scan_tx!(D);

    async fn delete_rows(&mut self, codes: &[DossierCode]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM dossiers WHERE code = ANY($1)").bind(codes_text(codes)).execute(&mut *self.tx).await?;
        Ok(())
    }
}
