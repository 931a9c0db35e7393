//! The register ([`Store`]) on PostgreSQL: reads on the pool, writes through the group commit
//! or one transaction that locks the projection rows it touches.

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{Domain, Dossier, DossierCode, Event};
use sqlx::Row;

use super::{MIGRATOR, PgStore, dossier_from};
use crate::error::StoreError;
use crate::model::{
    BatchItem, DailyCountRow, DossierRow, LoggedEvent, NewDossier, OpenFacts, OpenTally, RecomputeDiff, Totals,
};
use crate::register::{Store, register_shared};
use crate::sql::{self, At, decode_open_facts};
use crate::write::engine;

impl PgStore {
    async fn rows(&self, q: &str, a: DateTime<Utc>, b: Option<DateTime<Utc>>) -> Result<Vec<DossierRow>, StoreError> {
        let mut query = sqlx::query(q).bind(a);
        if let Some(b) = b {
            query = query.bind(b);
        }
        query.fetch_all(&self.pool).await?.iter().map(dossier_from).collect()
    }
}

impl Store for PgStore {
    register_shared!(pool, pool);

    async fn open_at(&self, p1: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
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

    async fn open_tallies(&self, p1: DateTime<Utc>, by: Totals) -> Result<Vec<(String, OpenTally)>, StoreError> {
        let (key, group) = by.dossier_key();
        let q = format!(
            "SELECT {key}::text AS k, COUNT(*) AS open, COUNT(*) FILTER (WHERE due_at < $1 AND {running}) AS past_due, \
             COUNT(*) FILTER (WHERE {waiting}) AS waiting, \
             COUNT(*) FILTER (WHERE original_due_at >= $1 AND supplement_count <= 1) AS ahead \
             FROM dossiers WHERE {open} AND received_at <= $1 AND last_event_at <= $1 \
             AND due_at IS NOT NULL AND original_due_at IS NOT NULL{group}",
            open = *sql::OPEN,
            running = sql::CLOCK_NOT_STOPPED,
            waiting = sql::WAITING_FOR_CITIZEN,
        );
        let rows = sqlx::query(&q).bind(p1).fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for r in rows {
            let open: i64 = r.try_get("open")?;
            if open > 0 {
                let t = OpenTally {
                    open,
                    past_due: r.try_get("past_due")?,
                    waiting: r.try_get("waiting")?,
                    appointment_ahead: r.try_get("ahead")?,
                };
                out.push((r.try_get("k")?, t));
            }
        }
        Ok(out)
    }

    async fn open_to_judge(&self, p1: DateTime<Utc>) -> Result<Vec<OpenFacts>, StoreError> {
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

    async fn recompute(&self, domain: &Domain, dry_run: bool) -> Result<RecomputeDiff, StoreError> {
        let mut tx = self.begin().await?;
        if dry_run {
            // One snapshot for the whole scan.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut **tx.conn().await?)
                .await?;
            let diff = engine::run_recompute(&mut tx, domain, true).await?;
            tx.rollback().await?;
            Ok(diff)
        } else {
            // Writers lock projection rows first, then append events: taking the projection
            // table first keeps every writer out until the rebuild commits.
            sqlx::query("LOCK TABLE dossiers IN EXCLUSIVE MODE").execute(&mut **tx.conn().await?).await?;
            sqlx::query("LOCK TABLE dossier_events IN SHARE MODE").execute(&mut **tx.conn().await?).await?;
            sqlx::query("LOCK TABLE daily_counts IN EXCLUSIVE MODE").execute(&mut **tx.conn().await?).await?;
            let diff = engine::run_recompute(&mut tx, domain, false).await?;
            tx.commit().await?;
            Ok(diff)
        }
    }
}
