//! The register ([`Store`]) on PostgreSQL: reads on the pool, writes through the group commit
//! or one transaction that locks the projection rows it touches.

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::{Domain, Dossier, DossierCode, Event};
use sqlx::Row;

use super::{MIGRATOR, PgStore, counts_from, dossier_from};
use crate::error::StoreError;
use crate::model::{
    BatchItem, DailyCountRow, DossierRow, LoggedEvent, NewDossier, OpenFacts, OpenTally, RecomputeDiff, Totals,
};
use crate::register::Store;
use crate::sql::{self, decode_open_facts};
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
    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn intake(
        &self,
        domain: &Domain,
        new: NewDossier,
        at: DateTime<Utc>,
        by: Option<String>,
    ) -> Result<Dossier, StoreError> {
        self.group.intake(self, domain, new, at, by).await
    }

    async fn record(&self, domain: &Domain, code: &DossierCode, event: Event) -> Result<Dossier, StoreError> {
        self.group.record(self, domain, code, event).await
    }

    async fn record_batch(
        &self,
        domain: &Domain,
        items: Vec<BatchItem>,
    ) -> Result<Vec<Result<Dossier, StoreError>>, StoreError> {
        let mut tx = self.begin().await?;
        let results = engine::run_batch(&mut tx, domain, items).await?;
        tx.tx.commit().await?;
        Ok(results)
    }

    async fn events(&self, code: &DossierCode) -> Result<Vec<Event>, StoreError> {
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

    async fn dossier_row(&self, code: &DossierCode) -> Result<Option<DossierRow>, StoreError> {
        let row = sqlx::query(&format!("{} WHERE code = $1", sql::select_dossiers()))
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dossier_from).transpose()
    }

    async fn event_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossier_events").fetch_one(&self.pool).await?;
        sql::count(n, "event count")
    }

    async fn events_after(&self, after_id: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
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

    async fn daily_counts(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DailyCountRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM daily_counts WHERE day >= $1 AND day <= $2 ORDER BY day, agency, procedure, channel",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(counts_from).collect()
    }

    async fn count_totals(
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

    async fn finished_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        let q = format!(
            "{} WHERE finished_at >= $1 AND finished_at < $2 ORDER BY finished_at, code",
            sql::select_dossiers()
        );
        self.rows(&q, a, Some(b)).await
    }

    async fn received_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Vec<DossierRow>, StoreError> {
        let q = format!(
            "{} WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at, code",
            sql::select_dossiers()
        );
        self.rows(&q, a, Some(b)).await
    }

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

    async fn dossiers_page(&self, after: Option<&DossierCode>, limit: u32) -> Result<Vec<DossierRow>, StoreError> {
        let q = format!("{} WHERE code > $1 ORDER BY code LIMIT $2", sql::select_dossiers());
        let rows = sqlx::query(&q)
            .bind(after.map(DossierCode::as_str).unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(dossier_from).collect()
    }

    async fn recompute(&self, domain: &Domain, dry_run: bool) -> Result<RecomputeDiff, StoreError> {
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
