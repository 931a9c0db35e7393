//! The service figures ([`ServiceFigures`]) on SQLite: one read transaction per scrape, every
//! read packed into one JSON array.

use std::collections::BTreeSet;

use super::{SqliteStore, ts};
use crate::error::StoreError;
use crate::metrics::{
    Cells, Figures, FiguresQuery, JsonInstant, NationalRow, QueuedEvent, Rows, SQLITE, ServiceFigures,
    WorkingTimeObservation, WorkingTimeVersion, cells_to_read, decode, queue_read, read_past, record_cells,
};
use crate::sql::{self, Dialect};

/// The rows of one SQLite query packed as JSON (see [`select`]), decoded.
macro_rules! sqlite_rows {
    ($tx:ident, $sql:expr, $what:literal $(, $bind:expr)*) => {
        decode(sqlx::query_scalar::<_, Option<String>>($sql)$(.bind($bind))*.fetch_one(&mut *$tx).await?, $what)?
    };
}

impl ServiceFigures for SqliteStore {
    async fn figures(&self, q: &FiguresQuery<'_>) -> Result<Figures, StoreError> {
        // One read transaction: WAL gives every query below the same snapshot.
        let mut tx = self.reader().begin().await?;
        let qs = &*SQLITE;
        let now = ts(q.now);
        let (version, resets): (i64, i64) = sqlx::query_as(qs.working_time_version).fetch_one(&mut *tx).await?;
        let version = WorkingTimeVersion { version, resets };
        let cells = cells_to_read(q.known_working_time, version);
        let national: Vec<NationalRow<JsonInstant>> =
            sqlite_rows!(tx, &qs.national, "national candidates", now.as_str());
        let oldest: Vec<(Option<JsonInstant>,)> = sqlite_rows!(tx, &qs.oldest_pending, "oldest pending message");
        let rows = Rows {
            open: sqlite_rows!(tx, &qs.open, "metric_open_dossiers"),
            totals: sqlite_rows!(tx, &qs.totals, "metric_agency_totals"),
            live: sqlite_rows!(tx, &qs.live, "metric_agency_days", q.today),
            overdue: sqlite_rows!(tx, &qs.overdue, "overdue dossiers", now.as_str()),
            national: national
                .into_iter()
                .map(|(a, received, due, n, kind, since, closed)| {
                    (a, received.map(|t| t.0), due.map(|t| t.0), n, kind, since.map(|t| t.0), closed)
                })
                .collect(),
            outbox: sqlite_rows!(tx, &qs.outbox, "metric_outbox"),
            oldest_pending: oldest.first().and_then(|(t,)| t.map(|t| t.0)),
            working_time: match cells {
                Cells::Unchanged => Vec::new(),
                Cells::Since(v) => sqlite_rows!(tx, &qs.working_time_since, "metric_working_time", v),
                Cells::All => sqlite_rows!(tx, &qs.working_time, "metric_working_time"),
            },
            queue_length: sqlx::query_scalar(qs.queue_length).fetch_one(&mut *tx).await?,
        };
        let mut f = rows.into_figures(q.today, version, cells)?;
        read_past!(tx, Dialect::Sqlite, q, &mut f, |query, agencies| {
            let list = serde_json::to_string(agencies).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            query.bind(list)
        });
        tx.rollback().await?;
        Ok(f)
    }

    queue_read!(reader);

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
        record_cells!(tx, observations, &removed);
        tx.commit().await?;
        Ok(Some(removed.len() as u64))
    }
}
