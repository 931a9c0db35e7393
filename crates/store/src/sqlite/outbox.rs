//! The outbox ([`OutboxStore`]) on SQLite: every write under `BEGIN IMMEDIATE` on the writer;
//! a claim is one `UPDATE … RETURNING` there, so two workers never lease the same row.

use chrono::{DateTime, Utc};
use motcua_core::{AgencyCode, DossierCode};
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, add_to_counters};
use crate::error::StoreError;
use crate::outbox::{
    COLUMNS, Candidate, Cursor, NewMessage, OutboxMessage, OutboxStatus, OutboxStore, decode_message, desk_recipient,
    outbox_reads, outbox_writes,
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

/// Inserts messages, skipping known dedupe keys, and returns the keys inserted.
async fn insert_keys(conn: &mut SqliteConnection, rows: &[NewMessage]) -> Result<Vec<String>, StoreError> {
    insert(conn, rows, true).await
}

/// Inserts messages in an open SQLite transaction, skipping known dedupe keys, and counts
/// them ([`COUNT_INSERTED_MESSAGES`]); returns the keys inserted if `keys` (the write path
/// does not need them: sending every key back is a trip between threads per row).
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
    outbox_writes!(|s| s.writer().begin_with("BEGIN IMMEDIATE"), lock: "", skip: "", ids: "SELECT value FROM json_each($2)", texts: "SELECT value FROM json_each($X)");

    outbox_reads!(reader, texts: "SELECT value FROM json_each($X)");

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
}
