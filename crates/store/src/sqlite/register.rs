//! The register ([`Store`]) on SQLite: reads on the read-only pool, writes through the group
//! commit or one `BEGIN IMMEDIATE` transaction on the writer.

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{Domain, Dossier, DossierCode, Event};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::tx::SqliteTx;
use super::{MIGRATOR, SqliteStore, dossier_from, ts};
use crate::error::StoreError;
use crate::model::{
    BatchItem, DailyCountRow, DossierRow, LoggedEvent, NewDossier, OpenFacts, OpenTally, RecomputeDiff, Totals,
};
use crate::register::{Store, register_shared};
use crate::sql::{self, At, decode_open_facts};
use crate::write::engine;

impl SqliteStore {
    async fn rows(&self, sql: &str, binds: &[String]) -> Result<Vec<DossierRow>, StoreError> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b.as_str());
        }
        q.fetch_all(&self.reader).await?.iter().map(dossier_from).collect()
    }
}

impl Store for SqliteStore {
    register_shared!(reader, writer);

    async fn open_at(&self, p1: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        // Two index-friendly halves: still open (the partial index on open statuses) and
        // finished after p1 (the finished_at index). Open statuses have no finish.
        let select = sql::select_dossiers();
        let q = format!(
            "{select} WHERE {open} AND +received_at <= ? \
             UNION ALL {select} WHERE finished_at > ? AND +received_at <= ?",
            open = *sql::OPEN
        );
        // Sorted here: an ORDER BY would make SQLite walk the whole table in key order.
        let mut rows = self.rows(&q, &[ts(p1), ts(p1), ts(p1)]).await?;
        rows.sort_unstable_by(|a, b| a.code.cmp(&b.code));
        Ok(rows)
    }

    async fn open_tallies(&self, p1: DateTime<Utc>, by: Totals) -> Result<Vec<(String, OpenTally)>, StoreError> {
        // Read from the covering index of open dossiers alone (migration 0008); named, since
        // the planner would otherwise walk the whole table in grouping order.
        let (key, group) = by.dossier_key();
        let q = format!(
            "SELECT {key} AS k, COUNT(*) AS open, SUM(due_at < ?1 AND {running}) AS past_due, \
             SUM({waiting}) AS waiting, SUM(original_due_at >= ?1 AND supplement_count <= 1) AS ahead \
             FROM dossiers INDEXED BY dossiers_open_facts \
             WHERE {open} AND received_at <= ?1 AND last_event_at <= ?1 \
             AND due_at IS NOT NULL AND original_due_at IS NOT NULL{group}",
            open = *sql::OPEN,
            running = sql::CLOCK_NOT_STOPPED,
            waiting = sql::WAITING_FOR_CITIZEN,
        );
        let rows = sqlx::query(&q).bind(ts(p1)).fetch_all(&self.reader).await?;
        tallies(&rows)
    }

    async fn open_to_judge(&self, p1: DateTime<Utc>) -> Result<Vec<OpenFacts>, StoreError> {
        let q = format!(
            "SELECT {c} FROM dossiers INDEXED BY dossiers_open_facts \
             WHERE {open} AND received_at <= ?1 AND (last_event_at > ?1 \
             OR (due_at IS NOT NULL AND original_due_at IS NOT NULL AND (original_due_at < ?1 OR supplement_count > 1))) \
             UNION ALL SELECT {c} FROM dossiers WHERE finished_at > ?1 AND +received_at <= ?1",
            c = sql::OPEN_FACTS_COLUMNS,
            open = *sql::OPEN
        );
        let rows = sqlx::query(&q).bind(ts(p1)).fetch_all(&self.reader).await?;
        let mut out = rows.iter().map(|r| decode_open_facts!(r)).collect::<Result<Vec<_>, _>>()?;
        out.sort_unstable_by(|a, b| a.code.cmp(&b.code));
        Ok(out)
    }

    async fn recompute(&self, domain: &Domain, dry_run: bool) -> Result<RecomputeDiff, StoreError> {
        if dry_run {
            // A read transaction: one snapshot of the log for the whole scan.
            let mut tx = SqliteTx::new(self.reader.acquire().await?, "BEGIN;\n");
            let diff = engine::run_recompute(&mut tx, domain, true).await?;
            tx.rollback().await?;
            Ok(diff)
        } else {
            let mut tx = self.begin_write().await?;
            let diff = engine::run_recompute(&mut tx, domain, false).await?;
            tx.commit().await?;
            Ok(diff)
        }
    }
}

/// The rows of an open-tallies query (`k`, `open`, `past_due`, `waiting`, `ahead`); an empty total is
/// no row.
fn tallies(rows: &[SqliteRow]) -> Result<Vec<(String, OpenTally)>, StoreError> {
    let mut out = Vec::new();
    for r in rows {
        let open: i64 = r.try_get("open")?;
        if open == 0 {
            continue;
        }
        let n = |c: &str| r.try_get::<Option<i64>, _>(c).map(Option::unwrap_or_default);
        let t = OpenTally { open, past_due: n("past_due")?, waiting: n("waiting")?, appointment_ahead: n("ahead")? };
        out.push((r.try_get("k")?, t));
    }
    Ok(out)
}
