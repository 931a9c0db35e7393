//! The transactional outbox and the scheduler's candidate queries.
//!
//! Rows arrive two ways: the messages an event implies (core's
//! `letters::implied_messages`) are inserted by the write path in the event's own transaction,
//! and the scheduler's reminders through [`OutboxStore::enqueue`]. Both insert with
//! `ON CONFLICT (dedupe_key) DO NOTHING`: a rerun, a second worker or a replayed import adds
//! nothing.
//!
//! Delivery is leased: [`OutboxStore::claim`] takes due rows for an owner until an expiry
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, one `UPDATE … RETURNING` under `BEGIN IMMEDIATE`
//! on SQLite), the caller sends outside any transaction, and [`OutboxStore::mark_sent`] /
//! [`OutboxStore::mark_failed`] only take effect while the caller still holds the lease. A row
//! whose owner died is claimed again once its lease has expired. Every instant is a parameter:
//! nothing here reads the clock.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use motcua_core::letters::{LetterError, MessageIntent, Recipient};
use motcua_core::{AgencyCode, DomainError, DossierCode, DossierError};
use serde::Serialize;
use sqlx::{PgConnection, Row, SqliteConnection};

pub use crate::error::is_transient;
use crate::error::StoreError;
use crate::model::micros;
use crate::sql;
use crate::sqlite::ts;
use crate::{AnyStore, PgStore, SqliteStore};

/// The recipient of the letters printed at this agency's desk, as stored.
fn desk_recipient(agency: &AgencyCode) -> String {
    Recipient::Desk(agency.clone()).to_string()
}

/// A message to write to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// `kind:dossier:revision:recipient`, unique.
    pub dedupe_key: String,
    pub kind: String,
    pub dossier_code: Option<DossierCode>,
    pub deadline_revision: Option<u32>,
    /// An e-mail address, or `desk:<agency>` for a letter printed at the desk.
    pub recipient: String,
    /// JSON: what the template needs (core's `letters::Letter`).
    pub payload: String,
    /// Not to be sent before this instant; also the row's `created_at`.
    pub at: DateTime<Utc>,
}

impl NewMessage {
    pub fn from_intent(i: &MessageIntent) -> Result<Self, StoreError> {
        let payload =
            i.payload().map_err(|e| StoreError::Corrupt(format!("cannot serialise a message of {}: {e}", i.code)))?;
        Ok(Self {
            dedupe_key: i.dedupe_key(),
            kind: i.kind.name().to_string(),
            dossier_code: Some(i.code.clone()),
            deadline_revision: Some(i.deadline_revision),
            recipient: i.recipient.to_string(),
            payload,
            at: micros(i.at),
        })
    }
}

/// Core could not work out a dossier's messages: the write is refused like any other
/// domain error.
pub(crate) fn letter_error(code: &DossierCode, e: LetterError) -> StoreError {
    match e {
        LetterError::Domain(d) => StoreError::Rejected(d),
        LetterError::Calendar(c) => StoreError::Rejected(DomainError::Dossier(DossierError::Calendar(c))),
        LetterError::Missing(what) => StoreError::Corrupt(format!("dossier {code} has no {what}")),
    }
}

/// Where a row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    Pending,
    Sent,
    Dead,
}

impl OutboxStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OutboxStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(Self::Pending),
            "sent" => Ok(Self::Sent),
            "dead" => Ok(Self::Dead),
            _ => Err(format!("unknown outbox status {s:?}: expected pending, sent or dead")),
        }
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub dedupe_key: String,
    pub kind: String,
    pub dossier_code: Option<DossierCode>,
    pub deadline_revision: Option<u32>,
    pub recipient: String,
    /// JSON text.
    #[serde(skip)]
    pub payload: String,
    pub status: OutboxStatus,
    /// Claims so far (a claim counts as an attempt, so a message that kills its sender is
    /// parked all the same).
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A dossier the scheduler should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub code: DossierCode,
    pub due_at: DateTime<Utc>,
}

/// Position of a page of candidates: the last (due instant, code) seen.
pub type Cursor = Option<(DateTime<Utc>, DossierCode)>;

/// The outbox and the scheduler's reads.
pub trait OutboxStore: Send + Sync {
    /// Inserts messages; those whose dedupe key exists already are skipped. Returns the keys
    /// actually inserted.
    fn enqueue(&self, messages: Vec<NewMessage>) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Leases up to `limit` pending rows due at `now` (and not leased by a live owner) to
    /// `owner` until `lease_until`, counting an attempt for each.
    fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, StoreError>> + Send;

    /// Marks rows sent at `now`, only those `owner` still holds a live lease on. Returns the
    /// ids marked.
    fn mark_sent(
        &self,
        ids: &[i64],
        owner: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;

    /// Records a failed attempt: retried at `retry_at`, or parked as dead when `None`. Only
    /// while `owner` holds a live lease; false otherwise.
    fn mark_failed(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Rows by id, newest first, optionally of one status.
    fn outbox(
        &self,
        status: Option<OutboxStatus>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, StoreError>> + Send;

    fn outbox_message(&self, id: i64) -> impl Future<Output = Result<Option<OutboxMessage>, StoreError>> + Send;

    /// The letters addressed to the desks of `agencies` (recipient `desk:<agency>`: citizens
    /// with no e-mail address get theirs printed at the receiving desk), every status, newest
    /// first.
    fn desk_letters(
        &self,
        agencies: &[AgencyCode],
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, StoreError>> + Send;

    /// The rows of one dossier, in id order.
    fn outbox_for(&self, code: &DossierCode) -> impl Future<Output = Result<Vec<OutboxMessage>, StoreError>> + Send;

    /// Revives a dead (or pending) row: pending, no attempts, due at `now`, unleased. False if
    /// there is no such row or it was sent.
    fn retry_message(&self, id: i64, now: DateTime<Utc>) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Dossiers whose clock runs, with no new date, due in `(after, until]`, and no reminder
    /// row for their current deadline revision; in (due, code) order after `cursor`.
    fn reminder_candidates(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cursor: Cursor,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Candidate>, StoreError>> + Send;

    /// Dossiers whose clock runs, with no apology, due at or before `now`; in (due, code)
    /// order after `cursor`.
    fn overdue_candidates(
        &self,
        now: DateTime<Utc>,
        cursor: Cursor,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Candidate>, StoreError>> + Send;
}

const COLUMNS: &str = "id, dedupe_key, kind, dossier_code, deadline_revision, recipient, payload, status, attempts, \
     next_attempt_at, locked_by, locked_until, created_at, sent_at, last_error";
const PG_COLUMNS: &str = "id, dedupe_key, kind, dossier_code, deadline_revision, recipient, payload::text AS payload, \
     status, attempts, next_attempt_at, locked_by, locked_until, created_at, sent_at, last_error";

macro_rules! decode_message {
    ($r:expr) => {{
        let r = $r;
        let status: String = r.try_get("status")?;
        let code: Option<String> = r.try_get("dossier_code")?;
        let revision: Option<i32> = r.try_get("deadline_revision")?;
        let attempts: i32 = r.try_get("attempts")?;
        Ok::<OutboxMessage, StoreError>(OutboxMessage {
            id: r.try_get("id")?,
            dedupe_key: r.try_get("dedupe_key")?,
            kind: r.try_get("kind")?,
            dossier_code: sql::parse_opt("outbox", "dossier_code", code)?,
            deadline_revision: revision.map(|n| sql::uint(n, "outbox.deadline_revision")).transpose()?,
            recipient: r.try_get("recipient")?,
            payload: r.try_get("payload")?,
            status: status.parse().map_err(StoreError::Corrupt)?,
            attempts: sql::uint(attempts, "outbox.attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            locked_by: r.try_get("locked_by")?,
            locked_until: r.try_get("locked_until")?,
            created_at: r.try_get("created_at")?,
            sent_at: r.try_get("sent_at")?,
            last_error: r.try_get("last_error")?,
        })
    }};
}

pub(crate) fn rev(n: Option<u32>) -> Option<i32> {
    n.map(sql::int)
}

/// Rows per multi-row INSERT (8 columns).
const PER_INSERT: usize = 500;

/// The SQLite statement inserting `rows` messages, skipping known dedupe keys (returning the
/// keys inserted if `keys`); its parameters are bound by [`bind_sqlite`], row after row.
pub(crate) fn insert_sqlite_sql(rows: usize, keys: bool) -> String {
    insert_sqlite_sql_from(&sql::sqlite_rows(rows, rows, MESSAGE_COLUMNS), keys)
}

/// Columns of a row of [`insert_sqlite_sql`].
pub(crate) const MESSAGE_COLUMNS: usize = 8;

/// [`insert_sqlite_sql`] from `source` (a VALUES list or a SELECT, [`sql::sqlite_rows`]).
pub(crate) fn insert_sqlite_sql_from(source: &str, keys: bool) -> String {
    format!(
        "INSERT OR ROLLBACK INTO outbox (dedupe_key, kind, dossier_code, deadline_revision, recipient, payload, next_attempt_at, created_at) \
         {source} ON CONFLICT (dedupe_key) DO NOTHING{}",
        if keys { " RETURNING dedupe_key" } else { "" }
    )
}

/// Binds one message's row of [`insert_sqlite_sql`] (any SQLite query type).
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
pub(crate) async fn insert_sqlite(
    conn: &mut SqliteConnection,
    rows: &[NewMessage],
    keys: bool,
) -> Result<Vec<String>, StoreError> {
    let mut inserted = Vec::new();
    for chunk in rows.chunks(PER_INSERT) {
        let q = insert_sqlite_sql(chunk.len(), keys);
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

/// Inserts messages in an open PostgreSQL transaction, skipping known dedupe keys; returns
/// the keys inserted.
pub(crate) async fn insert_pg(conn: &mut PgConnection, rows: &[NewMessage]) -> Result<Vec<String>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<&str> = rows.iter().map(|m| m.dedupe_key.as_str()).collect();
    let kinds: Vec<&str> = rows.iter().map(|m| m.kind.as_str()).collect();
    let codes: Vec<Option<&str>> = rows.iter().map(|m| m.dossier_code.as_ref().map(DossierCode::as_str)).collect();
    let revs: Vec<Option<i32>> = rows.iter().map(|m| rev(m.deadline_revision)).collect();
    let recipients: Vec<&str> = rows.iter().map(|m| m.recipient.as_str()).collect();
    let payloads: Vec<&str> = rows.iter().map(|m| m.payload.as_str()).collect();
    let ats: Vec<DateTime<Utc>> = rows.iter().map(|m| m.at).collect();
    let inserted = sqlx::query_scalar::<_, String>(
        "INSERT INTO outbox (dedupe_key, kind, dossier_code, deadline_revision, recipient, payload, next_attempt_at, created_at) \
         SELECT k, t, c, r, rc, p::jsonb, a, a \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[], $6::text[], $7::timestamptz[]) \
              WITH ORDINALITY AS u(k, t, c, r, rc, p, a, n) \
         ORDER BY n \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key",
    )
    .bind(&keys)
    .bind(&kinds)
    .bind(&codes)
    .bind(&revs)
    .bind(&recipients)
    .bind(&payloads)
    .bind(&ats)
    .fetch_all(&mut *conn)
    .await?;
    Ok(inserted)
}

fn candidate(code: String, due: DateTime<Utc>) -> Result<Candidate, StoreError> {
    Ok(Candidate { code: sql::parse("dossiers", "code", &code)?, due_at: due })
}

/// The clauses both backends use (the partial index `dossiers_running_unapologised` is chosen
/// by SQLite only when its terms appear as written).
static RUNNING: LazyLock<String> =
    LazyLock::new(|| format!("{} AND d.reschedule_count = 0", *sql::AGENCY_CLOCK));
const NOT_REMINDED: &str = "NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dossier_code = d.code AND o.kind = 'reminder' \
     AND o.deadline_revision = d.deadline_revision)";

impl OutboxStore for SqliteStore {
    async fn enqueue(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let keys = insert_sqlite(&mut tx, &messages, true).await?;
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
        let status = if retry_at.is_some() { "pending" } else { "dead" };
        let done = sqlx::query(
            "UPDATE outbox SET status = ?, next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?, \
             locked_by = NULL, locked_until = NULL \
             WHERE id = ? AND status = 'pending' AND locked_by = ? AND locked_until > ?",
        )
        .bind(status)
        .bind(retry_at.map(ts))
        .bind(error)
        .bind(id)
        .bind(owner)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    async fn outbox(&self, status: Option<OutboxStatus>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM outbox WHERE (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?");
        let s = status.map(OutboxStatus::name);
        let rows = sqlx::query(&q).bind(s).bind(s).bind(i64::from(limit)).fetch_all(self.reader()).await?;
        rows.iter().map(|r| decode_message!(r)).collect()
    }

    async fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM outbox WHERE id = ?");
        let row = sqlx::query(&q).bind(id).fetch_optional(self.reader()).await?;
        row.as_ref().map(|r| decode_message!(r)).transpose()
    }

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

    async fn outbox_for(&self, code: &DossierCode) -> Result<Vec<OutboxMessage>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM outbox WHERE dossier_code = ? ORDER BY id");
        let rows = sqlx::query(&q).bind(code.as_str()).fetch_all(self.reader()).await?;
        rows.iter().map(|r| decode_message!(r)).collect()
    }

    async fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, locked_by = NULL, \
             locked_until = NULL, last_error = NULL WHERE id = ? AND status IN ('pending', 'dead')",
        )
        .bind(ts(now))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
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

/// The cursor as bind values; with no cursor, a position before everything from `floor` on.
fn cursor_parts(cursor: Cursor, floor: DateTime<Utc>) -> (DateTime<Utc>, String) {
    match cursor {
        Some((due, code)) => (due, code.to_string()),
        None => (floor, String::new()),
    }
}

impl OutboxStore for PgStore {
    async fn enqueue(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool().begin().await?;
        let keys = insert_pg(&mut tx, &messages).await?;
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
        let q = format!(
            "UPDATE outbox SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $3 \
                          AND (locked_until IS NULL OR locked_until <= $3) ORDER BY next_attempt_at, id LIMIT $4 \
                          FOR UPDATE SKIP LOCKED) \
             RETURNING {PG_COLUMNS}"
        );
        let rows = sqlx::query(&q)
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        let mut out = rows.iter().map(|r| decode_message!(r)).collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|m| (m.next_attempt_at, m.id));
        Ok(out)
    }

    async fn mark_sent(&self, ids: &[i64], owner: &str, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marked = sqlx::query_scalar::<_, i64>(
            "UPDATE outbox SET status = 'sent', sent_at = $2, locked_by = NULL, locked_until = NULL, last_error = NULL \
             WHERE id = ANY($1) AND status = 'pending' AND locked_by = $3 AND locked_until > $2 RETURNING id",
        )
        .bind(ids)
        .bind(now)
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
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
        let status = if retry_at.is_some() { "pending" } else { "dead" };
        let done = sqlx::query(
            "UPDATE outbox SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3, \
             locked_by = NULL, locked_until = NULL \
             WHERE id = $4 AND status = 'pending' AND locked_by = $5 AND locked_until > $6",
        )
        .bind(status)
        .bind(retry_at)
        .bind(error)
        .bind(id)
        .bind(owner)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    async fn outbox(&self, status: Option<OutboxStatus>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let q = format!(
            "SELECT {PG_COLUMNS} FROM outbox WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2"
        );
        let rows =
            sqlx::query(&q).bind(status.map(OutboxStatus::name)).bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(|r| decode_message!(r)).collect()
    }

    async fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError> {
        let q = format!("SELECT {PG_COLUMNS} FROM outbox WHERE id = $1");
        let row = sqlx::query(&q).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(|r| decode_message!(r)).transpose()
    }

    async fn desk_letters(&self, agencies: &[AgencyCode], limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let recipients: Vec<String> = agencies.iter().map(desk_recipient).collect();
        let q = format!(
            "SELECT {PG_COLUMNS} FROM outbox WHERE recipient = ANY($1) AND recipient LIKE 'desk:%' ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(&q).bind(&recipients).bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(|r| decode_message!(r)).collect()
    }

    async fn outbox_for(&self, code: &DossierCode) -> Result<Vec<OutboxMessage>, StoreError> {
        let q = format!("SELECT {PG_COLUMNS} FROM outbox WHERE dossier_code = $1 ORDER BY id");
        let rows = sqlx::query(&q).bind(code.as_str()).fetch_all(self.pool()).await?;
        rows.iter().map(|r| decode_message!(r)).collect()
    }

    async fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_by = NULL, \
             locked_until = NULL, last_error = NULL WHERE id = $2 AND status IN ('pending', 'dead')",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
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
            "SELECT d.code, d.due_at FROM dossiers d WHERE {running} AND d.due_at > $1 AND d.due_at <= $2 \
             AND (d.due_at, d.code) > ($3, $4) AND {NOT_REMINDED} ORDER BY d.due_at, d.code LIMIT $5",
            running = *RUNNING
        );
        let rows = sqlx::query(&q)
            .bind(after)
            .bind(until)
            .bind(c_due)
            .bind(c_code)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
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
            "SELECT d.code, d.due_at FROM dossiers d WHERE {running} AND d.due_at <= $1 \
             AND (d.due_at, d.code) > ($2, $3) ORDER BY d.due_at, d.code LIMIT $4",
            running = *RUNNING
        );
        let rows =
            sqlx::query(&q).bind(now).bind(c_due).bind(c_code).bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(|r| candidate(r.try_get("code")?, r.try_get("due_at")?)).collect()
    }
}

macro_rules! either {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Pg($s) => $e,
        }
    };
}

impl OutboxStore for AnyStore {
    async fn enqueue(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, StoreError> {
        either!(self, s => s.enqueue(messages).await)
    }
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        either!(self, s => s.claim(owner, now, lease_until, limit).await)
    }
    async fn mark_sent(&self, ids: &[i64], owner: &str, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
        either!(self, s => s.mark_sent(ids, owner, now).await)
    }
    async fn mark_failed(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        either!(self, s => s.mark_failed(id, owner, now, error, retry_at).await)
    }
    async fn outbox(&self, status: Option<OutboxStatus>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        either!(self, s => s.outbox(status, limit).await)
    }
    async fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError> {
        either!(self, s => s.outbox_message(id).await)
    }
    async fn desk_letters(&self, agencies: &[AgencyCode], limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        either!(self, s => s.desk_letters(agencies, limit).await)
    }
    async fn outbox_for(&self, code: &DossierCode) -> Result<Vec<OutboxMessage>, StoreError> {
        either!(self, s => s.outbox_for(code).await)
    }
    async fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        either!(self, s => s.retry_message(id, now).await)
    }
    async fn reminder_candidates(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cursor: Cursor,
        limit: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        either!(self, s => s.reminder_candidates(after, until, cursor, limit).await)
    }
    async fn overdue_candidates(
        &self,
        now: DateTime<Utc>,
        cursor: Cursor,
        limit: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        either!(self, s => s.overdue_candidates(now, cursor, limit).await)
    }
}
