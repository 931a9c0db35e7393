//! The outbox ([`OutboxStore`]) on SQLite: every write under `BEGIN IMMEDIATE` on the writer;
//! a claim is one `UPDATE … RETURNING` there, so two workers never lease the same row.

use chrono::{DateTime, Utc};
use motcua_core::{AgencyCode, DossierCode};
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, ts};
use crate::error::StoreError;
use crate::outbox::{
    COLUMNS, Candidate, Cursor, NOT_REMINDED, NewMessage, OutboxMessage, OutboxStatus, OutboxStore, RUNNING, candidate,
    cursor_parts, decode_message, desk_recipient, mark_failed_query, outbox_reads, retry_query,
};
use crate::sql;

/// Rows per multi-row INSERT (8 columns).
const PER_INSERT: usize = 500;

/// The SQLite statement inserting `rows` messages, skipping known dedupe keys (returning the
/// keys inserted if `keys`); its parameters are bound by [`bind_message`], row after row.
pub(crate) fn insert_sql(rows: usize, keys: bool) -> String {
    insert_sql_from(&sql::sqlite_rows(rows, rows, MESSAGE_COLUMNS), keys)
}

/// Columns of a row of [`insert_sql`].
pub(crate) const MESSAGE_COLUMNS: usize = 8;

/// [`insert_sql`] from `source` (a VALUES list or a SELECT, [`sql::sqlite_rows`]).
pub(crate) fn insert_sql_from(source: &str, keys: bool) -> String {
    format!(
        "INSERT OR ROLLBACK INTO outbox (dedupe_key, kind, dossier_code, deadline_revision, recipient, payload, next_attempt_at, created_at) \
         {source} ON CONFLICT (dedupe_key) DO NOTHING{}",
        if keys { " RETURNING dedupe_key" } else { "" }
    )
}

/// Binds one message's row of [`insert_sql`] (any SQLite query type).
macro_rules! bind_message {
    ($q:expr, $m:expr) => {{
        let m: &$crate::outbox::NewMessage = $m;
        let at = $crate::sqlite::ts(m.at);
        $q.bind(m.dedupe_key.as_str())
            .bind(m.kind.as_str())
            .bind(m.dossier_code.as_ref().map(motcua_core::DossierCode::as_str))
            .bind($crate::outbox::rev(m.deadline_revision))
            .bind(m.recipient.as_str())
            .bind(m.payload.as_str())
            .bind(at.clone())
            .bind(at)
    }};
}
pub(crate) use bind_message;

/// Follows an INSERT of `?` rows into the outbox (migration 0010): counts the messages it
/// added per kind and status. Every row of the INSERT, added or skipped as a known dedupe key,
/// took the next AUTOINCREMENT value, and the statement left the last one in
/// `sqlite_sequence`: the rows it added are the ones above that value less `?`.
pub(crate) const COUNT_INSERTED_MESSAGES: &str = "INSERT OR ROLLBACK INTO metric_outbox (kind, status, messages) \
     SELECT kind, status, COUNT(*) FROM outbox \
     WHERE id > (SELECT seq FROM sqlite_sequence WHERE name = 'outbox') - ? GROUP BY kind, status \
     ON CONFLICT (kind, status) DO UPDATE SET messages = messages + excluded.messages";

/// Inserts messages in an open SQLite transaction, skipping known dedupe keys; returns the
/// keys inserted if `keys` (the write path does not need them: sending every key back is
/// a trip between threads per row).
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    rows: &[NewMessage],
    keys: bool,
) -> Result<Vec<String>, StoreError> {
    let mut inserted = Vec::new();
    for chunk in rows.chunks(PER_INSERT) {
        let q = insert_sql(chunk.len(), keys);
        let mut query = sqlx::query_scalar::<_, String>(&q).persistent(sql::persistent(chunk.len(), PER_INSERT));
        for m in chunk {
            query = bind_message!(query, m);
        }
        if keys {
            inserted.extend(query.fetch_all(&mut *conn).await?);
        } else {
            query.fetch_optional(&mut *conn).await?;
        }
        sqlx::query(COUNT_INSERTED_MESSAGES).bind(chunk.len() as i64).execute(&mut *conn).await?;
    }
    Ok(inserted)
}

impl OutboxStore for SqliteStore {
    async fn enqueue(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let keys = insert(&mut tx, &messages, true).await?;
        tx.commit().await?;
        Ok(keys)
    }

    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let q = format!(
            "UPDATE outbox SET locked_by = ?, locked_until = ?, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? \
                          AND (locked_until IS NULL OR locked_until <= ?) ORDER BY next_attempt_at, id LIMIT ?) \
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&q)
            .bind(owner)
            .bind(ts(lease_until))
            .bind(ts(now))
            .bind(ts(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut out = rows.iter().map(|r| decode_message!(r)).collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|m| (m.next_attempt_at, m.id));
        Ok(out)
    }

    async fn mark_sent(&self, ids: &[i64], owner: &str, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let mut marked = Vec::new();
        for chunk in ids.chunks(PER_INSERT) {
            let q = format!(
                "UPDATE outbox SET status = 'sent', sent_at = ?, locked_by = NULL, locked_until = NULL, last_error = NULL \
                 WHERE id IN ({}) AND status = 'pending' AND locked_by = ? AND locked_until > ? RETURNING id",
                sql::list(sql::Dialect::Sqlite, chunk.len())
            );
            let mut query = sqlx::query_scalar::<_, i64>(&q).bind(ts(now));
            for id in chunk {
                query = query.bind(*id);
            }
            marked.extend(query.bind(owner).bind(ts(now)).fetch_all(&mut *tx).await?);
        }
        tx.commit().await?;
        Ok(marked)
    }

    async fn mark_failed(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let done = mark_failed_query(id, owner, now, error, retry_at).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    outbox_reads!(reader);

    async fn desk_letters(&self, agencies: &[AgencyCode], limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        if agencies.is_empty() {
            return Ok(Vec::new());
        }
        // The LIKE term is the partial index's own (migration 0007), so that it is used.
        let q = format!(
            "SELECT {COLUMNS} FROM outbox WHERE recipient IN ({}) AND recipient LIKE 'desk:%' ORDER BY id DESC LIMIT ?",
            sql::list(sql::Dialect::Sqlite, agencies.len())
        );
        let mut query = sqlx::query(&q);
        for a in agencies {
            query = query.bind(desk_recipient(a));
        }
        let rows = query.bind(i64::from(limit)).fetch_all(self.reader()).await?;
        rows.iter().map(|r| decode_message!(r)).collect()
    }

    async fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let done = retry_query(id, now).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    async fn reminder_candidates(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cursor: Cursor,
        limit: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        let (c_due, c_code) = cursor_parts(cursor, after);
        let q = format!(
            "SELECT d.code, d.due_at FROM dossiers d WHERE {running} AND d.due_at > ? AND d.due_at <= ? \
             AND (d.due_at > ? OR (d.due_at = ? AND d.code > ?)) AND {NOT_REMINDED} \
             ORDER BY d.due_at, d.code LIMIT ?",
            running = *RUNNING
        );
        let rows = sqlx::query(&q)
            .bind(ts(after))
            .bind(ts(until))
            .bind(ts(c_due))
            .bind(ts(c_due))
            .bind(c_code)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| candidate(r.try_get("code")?, r.try_get("due_at")?)).collect()
    }

    async fn overdue_candidates(
        &self,
        now: DateTime<Utc>,
        cursor: Cursor,
        limit: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        let (c_due, c_code) = cursor_parts(cursor, DateTime::<Utc>::UNIX_EPOCH);
        let q = format!(
            "SELECT d.code, d.due_at FROM dossiers d WHERE {running} AND d.due_at <= ? \
             AND (d.due_at > ? OR (d.due_at = ? AND d.code > ?)) ORDER BY d.due_at, d.code LIMIT ?",
            running = *RUNNING
        );
        let rows = sqlx::query(&q)
            .bind(ts(now))
            .bind(ts(c_due))
            .bind(ts(c_due))
            .bind(c_code)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| candidate(r.try_get("code")?, r.try_get("due_at")?)).collect()
    }
}
