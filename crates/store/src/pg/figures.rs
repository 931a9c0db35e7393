//! The service figures ([`ServiceFigures`]) on PostgreSQL: one repeatable-read snapshot per
//! scrape, rows read as rows.

use std::collections::BTreeSet;

use super::PgStore;
use crate::error::StoreError;
use crate::metrics::{
    Cells, Figures, FiguresQuery, POSTGRES, QueuedEvent, Rows, ServiceFigures, WorkingTimeObservation,
    WorkingTimeVersion, cells_to_read, queue_read, read_past, record_cells,
};
use crate::sql::Dialect;

impl ServiceFigures for PgStore {
    async fn figures(&self, q: &FiguresQuery<'_>) -> Result<Figures, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        // The instant bound to the range conditions decides between an index range and a scan:
        // plan each execution with it, never with a generic plan. Each query reads a few
        // thousand index entries at most: starting parallel workers (or compiling with JIT)
        // would cost more than the query.
        sqlx::query(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), \
             set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)",
        )
        .execute(&mut *tx)
        .await?;
        let qs = &*POSTGRES;
        let (version, resets): (i64, i64) = sqlx::query_as(qs.working_time_version).fetch_one(&mut *tx).await?;
        let version = WorkingTimeVersion { version, resets };
        let cells = cells_to_read(q.known_working_time, version);
        let rows = Rows {
            open: sqlx::query_as(&qs.open).fetch_all(&mut *tx).await?,
            totals: sqlx::query_as(&qs.totals).fetch_all(&mut *tx).await?,
            live: sqlx::query_as(&qs.live).bind(q.today).fetch_all(&mut *tx).await?,
            overdue: sqlx::query_as(&qs.overdue).bind(q.now).fetch_all(&mut *tx).await?,
            national: sqlx::query_as(&qs.national).bind(q.now).fetch_all(&mut *tx).await?,
            outbox: sqlx::query_as(&qs.outbox).fetch_all(&mut *tx).await?,
            oldest_pending: sqlx::query_scalar(&qs.oldest_pending).fetch_one(&mut *tx).await?,
            working_time: match cells {
                Cells::Unchanged => Vec::new(),
                Cells::Since(v) => sqlx::query_as(&qs.working_time_since).bind(v).fetch_all(&mut *tx).await?,
                Cells::All => sqlx::query_as(&qs.working_time).fetch_all(&mut *tx).await?,
            },
            queue_length: sqlx::query_scalar(qs.queue_length).fetch_one(&mut *tx).await?,
        };
        let mut f = rows.into_figures(q.today, version, cells)?;
        read_past!(tx, Dialect::Postgres, q, &mut f, |query, agencies| query.bind(agencies));
        tx.rollback().await?;
        Ok(f)
    }

    queue_read!(pool);

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
        record_cells!(tx, observations, &removed);
        tx.commit().await?;
        Ok(Some(removed.len() as u64))
    }
}
