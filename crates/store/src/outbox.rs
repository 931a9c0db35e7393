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
//!
//! This module holds the trait, its types and what both backends share (row decoding, the
//! candidate clauses, whose running statuses are core's `vocab::AGENCY_CLOCK`); SQLite's claim
//! and inserts are in `sqlite/outbox.rs`, PostgreSQL's in `pg/outbox.rs`.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use motcua_core::letters::{LetterError, MessageIntent, Recipient};
use motcua_core::{AgencyCode, DomainError, DossierCode, DossierError};
use serde::Serialize;
use sqlx::query::Query;
use sqlx::{Database, Encode, Type};

use crate::error::StoreError;
pub use crate::error::is_transient;
use crate::sql::{self, At};
use crate::write::counters::CounterDeltas;
use motcua_core::calendar::truncate_to_micros;

/// The recipient of the letters printed at this agency's desk, as stored.
pub(crate) fn desk_recipient(agency: &AgencyCode) -> String {
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
            at: truncate_to_micros(i.at),
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
    /// `None`: it goes alone; `held`: it waits for its recipient's next digest; else the
    /// dedupe key of the digest it was gathered into (migration 20).
    pub digest: Option<String>,
}

/// What one [`OutboxStore::gather_digest`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gathered {
    /// The digest's dedupe key, `digest:<recipient>:<local date>`.
    pub key: String,
    /// Notices gathered into it (marked sent, with the digest's key).
    pub notices: usize,
    /// Dossiers it lists.
    pub dossiers: usize,
    /// Notices whose payload was not a letter: parked as dead with the reason.
    pub dead: usize,
    /// Notices that no longer apply (the dossier finished, or waits for the citizen, since):
    /// settled without being listed (status `sent`, `digest = 'dropped'`, the reason in
    /// `last_error`).
    pub dropped: usize,
}

/// The `digest` marker of a staff notice settled unlisted because it no longer applies.
pub const DROPPED: &str = "dropped";

/// Messages sent since an instant to one recipient, of one kind (alone or as a digest; the
/// notices gathered into a digest are not counted, their digest is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentCount {
    pub recipient: String,
    pub kind: String,
    pub messages: u64,
}

/// The `last_error` of a notice held over the daily cap.
pub const HELD_OVER_CAP: &str = "over the daily cap for its recipient: rolled into the next digest";

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

    /// As [`OutboxStore::claim`], leaving out pending rows of `held_kinds` (the kinds the
    /// worker sends in digests). Neither claims a row held for a digest (`digest = 'held'`).
    fn claim_except(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        held_kinds: &[String],
    ) -> impl Future<Output = Result<Vec<OutboxMessage>, StoreError>> + Send;

    /// Gives back leased rows to wait for their recipient's next digest (`digest = 'held'`,
    /// the attempt not counted, `last_error` = [`HELD_OVER_CAP`]), only those `owner` still
    /// holds a live lease on. Returns the ids held.
    fn hold_for_digest(
        &self,
        ids: &[i64],
        owner: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;

    /// The recipients with pending rows to gather at `until`: held ones, or of `held_kinds`,
    /// queued at or before `until`.
    fn digest_recipients(
        &self,
        held_kinds: &[String],
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Writes the digest of `recipient` for local day `date` at `now`, in one transaction:
    /// the digest row (dedupe key `digest:<recipient>:<date>`, core's `letters::Digest` as
    /// payload, gathered by core from the rows' letters) and every pending row it gathers —
    /// held ones and those of `held_kinds`, queued at or before `until`, not leased at `now` —
    /// marked sent with the digest's key. Nothing when that digest exists already (rows
    /// queued since wait for the next day's) or there is nothing to gather. A crash leaves
    /// either all of it or none of it.
    fn gather_digest(
        &self,
        domain: &motcua_core::Domain,
        recipient: &str,
        held_kinds: &[String],
        date: chrono::NaiveDate,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Gathered>, StoreError>> + Send;

    /// Messages sent at or after `since` per recipient and kind (digests counted, the notices
    /// gathered into them not).
    fn sent_since(&self, since: DateTime<Utc>) -> impl Future<Output = Result<Vec<SentCount>, StoreError>> + Send;

    /// Marks rows sent at `now`, only those `owner` still holds a live lease on. Returns the
    /// ids marked.
    fn mark_sent(
        &self,
        ids: &[i64],
        owner: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;

    /// Records a failed attempt: retried at `retry_at`, or parked as dead when `None`. Only
    /// while `owner` holds a live lease; false otherwise. An attempt that was not `counted` (the
    /// server could not be reached: its fault, not the message's) is given back, so that an
    /// outage does not use up a message's attempts.
    fn mark_failed(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        failure: Failure<'_>,
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

    /// Revives every dead row (of one kind, with `kind`) as [`OutboxStore::retry_message`]
    /// does one, in one transaction; the number revived.
    fn retry_dead(
        &self,
        kind: Option<&str>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

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
    /// order after `cursor`. Not those brought in as history already in that state
    /// ([`OutboxStore::imported_overdue`]): the automatic apology is for deadlines that pass
    /// while motcua runs.
    fn overdue_candidates(
        &self,
        now: DateTime<Utc>,
        cursor: Cursor,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Candidate>, StoreError>> + Send;

    /// Dossiers brought in as history (`Store::record_history`) already past due, their
    /// clock running and no apology, and still so at `now` with the same due instant: left to
    /// a person, not to the automatic apology. Held or received by one of `agencies` (every
    /// agency when empty), by due instant then code, at most `limit`.
    fn imported_overdue(
        &self,
        now: DateTime<Utc>,
        agencies: &[AgencyCode],
        limit: u32,
    ) -> impl Future<Output = Result<Vec<crate::DossierRow>, StoreError>> + Send;
}

/// The columns of an [`OutboxMessage`], `payload` as text on both backends.
pub(crate) const COLUMNS: &str = "id, dedupe_key, kind, dossier_code, deadline_revision, recipient, \
     CAST(payload AS TEXT) AS payload, status, attempts, next_attempt_at, locked_by, locked_until, created_at, sent_at, \
     last_error, digest";

/// Reads an [`OutboxMessage`] from a row of [`COLUMNS`].
macro_rules! decode_message {
    ($r:expr) => {{
        let r = $r;
        let status: String = r.try_get("status")?;
        let code: Option<String> = r.try_get("dossier_code")?;
        let revision: Option<i32> = r.try_get("deadline_revision")?;
        let attempts: i32 = r.try_get("attempts")?;
        Ok::<$crate::outbox::OutboxMessage, $crate::error::StoreError>($crate::outbox::OutboxMessage {
            id: r.try_get("id")?,
            dedupe_key: r.try_get("dedupe_key")?,
            kind: r.try_get("kind")?,
            dossier_code: $crate::sql::parse_opt("outbox", "dossier_code", code)?,
            deadline_revision: revision.map(|n| $crate::sql::uint(n, "outbox.deadline_revision")).transpose()?,
            recipient: r.try_get("recipient")?,
            payload: r.try_get("payload")?,
            status: status.parse().map_err($crate::error::StoreError::Corrupt)?,
            attempts: $crate::sql::uint(attempts, "outbox.attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            locked_by: r.try_get("locked_by")?,
            locked_until: r.try_get("locked_until")?,
            created_at: r.try_get("created_at")?,
            sent_at: r.try_get("sent_at")?,
            last_error: r.try_get("last_error")?,
            digest: r.try_get("digest")?,
        })
    }};
}
pub(crate) use decode_message;

pub(crate) fn rev(n: Option<u32>) -> Option<i32> {
    n.map(sql::int)
}

pub(crate) fn candidate(code: String, due: DateTime<Utc>) -> Result<Candidate, StoreError> {
    Ok(Candidate { code: sql::parse("dossiers", "code", &code)?, due_at: due })
}

/// The clauses both backends use (the partial index `dossiers_running_unapologised` is chosen
/// by SQLite only when its terms appear as written).
pub(crate) static RUNNING: LazyLock<String> =
    LazyLock::new(|| format!("{} AND d.reschedule_count = 0", *sql::AGENCY_CLOCK));
pub(crate) const NOT_REMINDED: &str = "NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dossier_code = d.code AND o.kind = 'reminder' \
     AND o.deadline_revision = d.deadline_revision)";

/// The cursor as bind values; with no cursor, a position before everything from `floor` on.
pub(crate) fn cursor_parts(cursor: Cursor, floor: DateTime<Utc>) -> (DateTime<Utc>, String) {
    match cursor {
        Some((due, code)) => (due, code.to_string()),
        None => (floor, String::new()),
    }
}

/// A stored status as the counters name it.
pub(crate) fn status_name(s: &str) -> Result<&'static str, StoreError> {
    s.parse::<OutboxStatus>().map(OutboxStatus::name).map_err(StoreError::Corrupt)
}

/// What `n` messages of each kind moving from `from` to `to` do to `metric_outbox`.
pub(crate) fn moved<'a>(
    kinds: impl IntoIterator<Item = &'a str>,
    from: Option<&'static str>,
    to: &'static str,
) -> CounterDeltas {
    let mut deltas = CounterDeltas::default();
    for kind in kinds {
        deltas.move_messages(kind, from, to, 1);
    }
    deltas
}

/// A failed attempt, as [`OutboxStore::mark_failed`] records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    /// The row's `last_error`.
    pub error: &'a str,
    /// When to try again; `None` parks the row as dead.
    pub retry_at: Option<DateTime<Utc>>,
    /// Whether the attempt counts against the message (false when the server could not be
    /// reached at all).
    pub counted: bool,
}

/// [`OutboxStore::mark_failed`]'s statement, for either backend.
pub(crate) fn mark_failed_query<'q, DB: Database>(
    id: i64,
    owner: &'q str,
    now: DateTime<Utc>,
    failure: Failure<'q>,
) -> Query<'q, DB, DB::Arguments<'q>>
where
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    At: Encode<'q, DB> + Type<DB>,
    Option<At>: Encode<'q, DB> + Type<DB>,
{
    let status = if failure.retry_at.is_some() { "pending" } else { "dead" };
    sqlx::query(
        "UPDATE outbox SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3, \
         locked_by = NULL, locked_until = NULL, attempts = attempts - $7 \
         WHERE id = $4 AND status = 'pending' AND locked_by = $5 AND locked_until > $6 RETURNING kind",
    )
    .bind(status)
    .bind(failure.retry_at.map(At))
    .bind(failure.error)
    .bind(id)
    .bind(owner)
    .bind(At(now))
    .bind(if failure.counted { 0_i64 } else { 1 })
}

/// [`OutboxStore::retry_message`]'s statement, for either backend.
pub(crate) fn retry_query<'q, DB: Database>(id: i64, now: DateTime<Utc>) -> Query<'q, DB, DB::Arguments<'q>>
where
    i64: Encode<'q, DB> + Type<DB>,
    At: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_by = NULL, \
         locked_until = NULL, last_error = NULL WHERE id = $2 AND status IN ('pending', 'dead')",
    )
    .bind(At(now))
    .bind(id)
}

/// The scheduler's candidates: running dossiers due in `($1, $2]`, after the cursor
/// `($3, $4)` in (due, code) order; reminders only for those not reminded yet.
pub(crate) static REMINDER_CANDIDATES: LazyLock<String> = LazyLock::new(|| candidates_sql(true));
pub(crate) static OVERDUE_CANDIDATES: LazyLock<String> = LazyLock::new(|| candidates_sql(false));

fn candidates_sql(reminders: bool) -> String {
    format!(
        "SELECT d.code, d.due_at FROM dossiers d WHERE {running} AND d.due_at > $1 AND d.due_at <= $2 \
         AND (d.due_at, d.code) > ($3, $4){also} ORDER BY d.due_at, d.code LIMIT $5",
        running = *RUNNING,
        also = if reminders { format!(" AND {NOT_REMINDED}") } else { format!(" AND NOT {IMPORTED_OVERDUE}") }
    )
}

/// The dossier `d` was brought in as history past due with this due instant.
pub(crate) const IMPORTED_OVERDUE: &str =
    "EXISTS (SELECT 1 FROM imported_overdue i WHERE i.dossier_code = d.code AND i.due_at = d.due_at)";

/// [`REMINDER_CANDIDATES`] or [`OVERDUE_CANDIDATES`] with its values, for either backend.
pub(crate) fn candidates_query<'q, DB: Database>(
    sql: &'q str,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    cursor: Cursor,
    limit: u32,
) -> Query<'q, DB, DB::Arguments<'q>>
where
    String: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    At: Encode<'q, DB> + Type<DB>,
{
    let (c_due, c_code) = cursor_parts(cursor, after);
    sqlx::query(sql).bind(At(after)).bind(At(until)).bind(At(c_due)).bind(c_code).bind(i64::from(limit))
}

/// The outbox's writes of one message, written once for both backends and expanded inside
/// each backend's `impl OutboxStore`: `$begin` opens its write transaction, `$lock` ends the
/// read that precedes an update (`FOR UPDATE` where rows are locked one by one), `$skip` ends
/// a claim's choice of rows (`FOR UPDATE SKIP LOCKED` where workers claim side by side), `$ids` reads
/// the ids of a JSON array bound as `$2`; the backend's
/// `insert_keys` inserts messages and `add_to_counters` adds a move to `metric_outbox`, in the
/// same transaction.
macro_rules! outbox_writes {
    (|$store:ident| $begin:expr, lock: $lock:literal, skip: $skip:literal, ids: $ids:literal, texts: $texts:literal) => {
        async fn claim(
            &self,
            owner: &str,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<OutboxMessage>, StoreError> {
            self.claim_except(owner, now, lease_until, limit, &[]).await
        }

        async fn claim_except(
            &self,
            owner: &str,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
            limit: u32,
            held_kinds: &[String],
        ) -> Result<Vec<OutboxMessage>, StoreError> {
            let $store = self;
            let mut tx = $begin.await?;
            let q = format!(
                "UPDATE outbox SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $3 \
                 AND (locked_until IS NULL OR locked_until <= $3) AND digest IS NULL \
                 AND kind NOT IN ({}) ORDER BY next_attempt_at, id LIMIT $4{}) \
                 RETURNING {}",
                $texts.replace("$X", "$5"),
                $skip,
                $crate::outbox::COLUMNS
            );
            let kinds = serde_json::to_string(held_kinds).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let rows = sqlx::query(&q)
                .bind(owner)
                .bind($crate::sql::At(lease_until))
                .bind($crate::sql::At(now))
                .bind(i64::from(limit))
                .bind(kinds)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            let mut out = rows.iter().map(|r| $crate::outbox::decode_message!(r)).collect::<Result<Vec<_>, _>>()?;
            out.sort_by_key(|m| (m.next_attempt_at, m.id));
            Ok(out)
        }

        async fn mark_sent(&self, ids: &[i64], owner: &str, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let $store = self;
            let mut tx = $begin.await?;
            let ids = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mark = concat!(
                "UPDATE outbox SET status = 'sent', sent_at = $1, locked_by = NULL, locked_until = NULL, ",
                "last_error = NULL WHERE id IN (",
                $ids,
                ") AND status = 'pending' AND locked_by = $3 AND locked_until > $1 RETURNING id, kind"
            );
            let marked: Vec<(i64, String)> =
                sqlx::query_as(mark).bind($crate::sql::At(now)).bind(ids).bind(owner).fetch_all(&mut *tx).await?;
            let kinds = marked.iter().map(|(_, k)| k.as_str());
            add_to_counters(&mut tx, &$crate::outbox::moved(kinds, Some("pending"), "sent")).await?;
            tx.commit().await?;
            Ok(marked.into_iter().map(|(id, _)| id).collect())
        }

        async fn hold_for_digest(&self, ids: &[i64], owner: &str, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let $store = self;
            let mut tx = $begin.await?;
            let ids = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let hold = concat!(
                "UPDATE outbox SET digest = 'held', locked_by = NULL, locked_until = NULL, attempts = attempts - 1, ",
                "last_error = $4 WHERE id IN (",
                $ids,
                ") AND status = 'pending' AND locked_by = $3 AND locked_until > $1 RETURNING id"
            );
            let held: Vec<i64> = sqlx::query_scalar(hold)
                .bind($crate::sql::At(now))
                .bind(ids)
                .bind(owner)
                .bind($crate::outbox::HELD_OVER_CAP)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(held)
        }

        async fn gather_digest(
            &self,
            domain: &motcua_core::Domain,
            recipient: &str,
            held_kinds: &[String],
            date: chrono::NaiveDate,
            until: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<Option<$crate::outbox::Gathered>, StoreError> {
            use motcua_core::letters::{Digest, Letter, MessageKind};
            let $store = self;
            let key = Digest::dedupe_key(recipient, date);
            let mut tx = $begin.await?;
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM outbox WHERE dedupe_key = $1").bind(&key).fetch_optional(&mut *tx).await?;
            if exists.is_some() {
                return Ok(None);
            }
            let q = format!(
                "SELECT {} FROM outbox WHERE status = 'pending' AND recipient = $1 \
                 AND (digest = 'held' OR (digest IS NULL AND kind IN ({}))) \
                 AND created_at <= $3 AND (locked_until IS NULL OR locked_until <= $4) ORDER BY id{}",
                $crate::outbox::COLUMNS,
                $texts.replace("$X", "$2"),
                $lock
            );
            let kinds = serde_json::to_string(held_kinds).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let rows = sqlx::query(&q)
                .bind(recipient)
                .bind(kinds)
                .bind($crate::sql::At(until))
                .bind($crate::sql::At(now))
                .fetch_all(&mut *tx)
                .await?;
            let rows = rows.iter().map(|r| $crate::outbox::decode_message!(r)).collect::<Result<Vec<_>, _>>()?;
            if rows.is_empty() {
                return Ok(None);
            }
            let (mut letters, mut ids, mut kinds, mut dead) = (Vec::new(), Vec::new(), Vec::new(), 0);
            for row in &rows {
                match serde_json::from_str::<Letter>(&row.payload) {
                    Ok(l) => {
                        letters.push(l);
                        ids.push(row.id);
                        kinds.push(row.kind.as_str());
                    }
                    Err(e) => {
                        let why = format!("the payload is not a letter: {e}");
                        sqlx::query("UPDATE outbox SET status = 'dead', last_error = $1 WHERE id = $2")
                            .bind(why)
                            .bind(row.id)
                            .execute(&mut *tx)
                            .await?;
                        add_to_counters(&mut tx, &$crate::outbox::moved([row.kind.as_str()], Some("pending"), "dead"))
                            .await?;
                        dead += 1;
                    }
                }
            }
            // A notice is listed as the dossier stands now: left out when the dossier has
            // finished (or waits for the citizen) since, with the due date it has now.
            let codes: Vec<String> = letters.iter().map(|l| l.dossier.code.to_string()).collect();
            let codes = serde_json::to_string(&codes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let q = format!("SELECT code, status, due_at FROM dossiers WHERE code IN ({})", $texts.replace("$X", "$1"));
            let mut current: std::collections::HashMap<String, (i32, Option<DateTime<Utc>>)> = std::collections::HashMap::new();
            for r in sqlx::query(&q).bind(codes).fetch_all(&mut *tx).await? {
                current.insert(r.try_get("code")?, (r.try_get("status")?, r.try_get("due_at")?));
            }
            let (mut dropped, mut dropped_kinds, mut listed_ids, mut listed_kinds) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut listed = Vec::with_capacity(letters.len());
            for ((mut l, id), kind) in letters.into_iter().zip(ids).zip(kinds) {
                let now_stands = current.get(l.dossier.code.as_str()).and_then(|(status, due)| {
                    let status = u8::try_from(*status).ok().and_then(motcua_core::Status::from_code)?;
                    Some((status, *due))
                });
                if let Some((_, due)) = now_stands {
                    l.dossier.due_at = due;
                }
                if now_stands.is_some_and(|(status, _)| !motcua_core::letters::notice_still_applies(status)) {
                    dropped.push(id);
                    dropped_kinds.push(kind);
                } else {
                    listed.push(l);
                    listed_ids.push(id);
                    listed_kinds.push(kind);
                }
            }
            let (letters, ids, kinds) = (listed, listed_ids, listed_kinds);
            if !dropped.is_empty() {
                let drop_ids = serde_json::to_string(&dropped).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let q = concat!(
                    "UPDATE outbox SET status = 'sent', sent_at = $1, digest = $3, locked_by = NULL, locked_until = NULL, ",
                    "last_error = 'no longer applies: the dossier finished or waits for the citizen' WHERE id IN (",
                    $ids,
                    ") AND status = 'pending'"
                );
                sqlx::query(q)
                    .bind($crate::sql::At(now))
                    .bind(drop_ids)
                    .bind($crate::outbox::DROPPED)
                    .execute(&mut *tx)
                    .await?;
                add_to_counters(&mut tx, &$crate::outbox::moved(dropped_kinds, Some("pending"), "sent")).await?;
            }
            let dropped = dropped.len();
            let Some(digest) = Digest::gather(domain, recipient, date, now, &letters) else {
                tx.commit().await?;
                return Ok((dead + dropped > 0).then(|| $crate::outbox::Gathered { key, notices: 0, dossiers: 0, dead, dropped }));
            };
            let payload = serde_json::to_string(&digest).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let message = NewMessage {
                dedupe_key: key.clone(),
                kind: MessageKind::Digest.name().to_string(),
                dossier_code: None,
                deadline_revision: None,
                recipient: recipient.to_string(),
                payload,
                at: motcua_core::calendar::truncate_to_micros(now),
            };
            if insert_keys(&mut tx, std::slice::from_ref(&message)).await?.is_empty() {
                // Another worker wrote this digest meanwhile: its rows stay for the next one.
                return Ok(None);
            }
            let ids_json = serde_json::to_string(&ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mark = concat!(
                "UPDATE outbox SET status = 'sent', sent_at = $1, digest = $3, locked_by = NULL, locked_until = NULL, ",
                "last_error = NULL WHERE id IN (",
                $ids,
                ") AND status = 'pending'"
            );
            sqlx::query(mark).bind($crate::sql::At(now)).bind(ids_json).bind(&key).execute(&mut *tx).await?;
            add_to_counters(&mut tx, &$crate::outbox::moved(kinds, Some("pending"), "sent")).await?;
            tx.commit().await?;
            Ok(Some($crate::outbox::Gathered { key, notices: ids.len(), dossiers: digest.entries.len(), dead, dropped }))
        }

        async fn enqueue(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, StoreError> {
            if messages.is_empty() {
                return Ok(Vec::new());
            }
            let $store = self;
            let mut tx = $begin.await?;
            let keys = insert_keys(&mut tx, &messages).await?;
            tx.commit().await?;
            Ok(keys)
        }

        async fn mark_failed(
            &self,
            id: i64,
            owner: &str,
            now: DateTime<Utc>,
            failure: $crate::outbox::Failure<'_>,
        ) -> Result<bool, StoreError> {
            let $store = self;
            let mut tx = $begin.await?;
            let kind: Option<String> = $crate::outbox::mark_failed_query(id, owner, now, failure)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let to = if failure.retry_at.is_some() { "pending" } else { "dead" };
            add_to_counters(&mut tx, &$crate::outbox::moved(kind.as_deref(), Some("pending"), to)).await?;
            tx.commit().await?;
            Ok(kind.is_some())
        }

        async fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
            let $store = self;
            let mut tx = $begin.await?;
            let read =
                concat!("SELECT status, kind FROM outbox WHERE id = $1 AND status IN ('pending', 'dead')", $lock);
            let was: Option<(String, String)> = sqlx::query_as(read).bind(id).fetch_optional(&mut *tx).await?;
            let done = $crate::outbox::retry_query(id, now).execute(&mut *tx).await?.rows_affected();
            if let Some((status, kind)) = &was {
                let from = $crate::outbox::status_name(status)?;
                add_to_counters(&mut tx, &$crate::outbox::moved([kind.as_str()], Some(from), "pending")).await?;
            }
            tx.commit().await?;
            Ok(done == 1)
        }

        async fn retry_dead(&self, kind: Option<&str>, now: DateTime<Utc>) -> Result<u64, StoreError> {
            let $store = self;
            let mut tx = $begin.await?;
            let kinds: Vec<String> = sqlx::query_scalar(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_by = NULL, \
                 locked_until = NULL, last_error = NULL WHERE status = 'dead' AND ($2 IS NULL OR kind = $2) RETURNING kind",
            )
            .bind($crate::sql::At(now))
            .bind(kind)
            .fetch_all(&mut *tx)
            .await?;
            add_to_counters(&mut tx, &$crate::outbox::moved(kinds.iter().map(String::as_str), Some("dead"), "pending"))
                .await?;
            tx.commit().await?;
            Ok(kinds.len() as u64)
        }
    };
}
pub(crate) use outbox_writes;

/// The outbox's plain reads, written once for both backends, expanded inside each backend's
/// `impl OutboxStore`; `$pool` names the method giving the pool it reads from.
macro_rules! outbox_reads {
    ($pool:ident, texts: $texts:literal) => {
        async fn digest_recipients(&self, held_kinds: &[String], until: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
            let q = format!(
                "SELECT DISTINCT recipient FROM outbox WHERE status = 'pending' \
                 AND (digest = 'held' OR (digest IS NULL AND kind IN ({}))) AND created_at <= $2 ORDER BY recipient",
                $texts.replace("$X", "$1")
            );
            let kinds = serde_json::to_string(held_kinds).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(sqlx::query_scalar(&q).bind(kinds).bind($crate::sql::At(until)).fetch_all(self.$pool()).await?)
        }

        async fn sent_since(&self, since: DateTime<Utc>) -> Result<Vec<$crate::outbox::SentCount>, StoreError> {
            let rows: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT recipient, kind, COUNT(*) FROM outbox WHERE status = 'sent' AND sent_at >= $1 \
                 AND digest IS NULL GROUP BY recipient, kind ORDER BY recipient, kind",
            )
            .bind($crate::sql::At(since))
            .fetch_all(self.$pool())
            .await?;
            rows.into_iter()
                .map(|(recipient, kind, n)| {
                    Ok($crate::outbox::SentCount { recipient, kind, messages: $crate::sql::count(n, "outbox sent")? })
                })
                .collect()
        }

        async fn reminder_candidates(
            &self,
            after: DateTime<Utc>,
            until: DateTime<Utc>,
            cursor: Cursor,
            limit: u32,
        ) -> Result<Vec<Candidate>, StoreError> {
            let q = &*$crate::outbox::REMINDER_CANDIDATES;
            let rows = $crate::outbox::candidates_query(q, after, until, cursor, limit).fetch_all(self.$pool()).await?;
            rows.iter().map(|r| $crate::outbox::candidate(r.try_get("code")?, r.try_get("due_at")?)).collect()
        }

        async fn overdue_candidates(
            &self,
            now: DateTime<Utc>,
            cursor: Cursor,
            limit: u32,
        ) -> Result<Vec<Candidate>, StoreError> {
            let q = &*$crate::outbox::OVERDUE_CANDIDATES;
            let rows = $crate::outbox::candidates_query(q, DateTime::<Utc>::UNIX_EPOCH, now, cursor, limit)
                .fetch_all(self.$pool())
                .await?;
            rows.iter().map(|r| $crate::outbox::candidate(r.try_get("code")?, r.try_get("due_at")?)).collect()
        }

        async fn imported_overdue(
            &self,
            now: DateTime<Utc>,
            agencies: &[AgencyCode],
            limit: u32,
        ) -> Result<Vec<$crate::DossierRow>, StoreError> {
            let list = $texts.replace("$X", "$3");
            let q = format!(
                "{} d WHERE {} AND {} AND d.due_at < $1 \
                 AND ($2 = 0 OR d.holder IN ({list}) OR d.receiving_agency IN ({list})) \
                 ORDER BY d.due_at, d.code LIMIT $4",
                $crate::sql::select_dossiers(),
                *$crate::outbox::RUNNING,
                $crate::outbox::IMPORTED_OVERDUE,
            );
            let codes: Vec<&str> = agencies.iter().map(AgencyCode::as_str).collect();
            let codes = serde_json::to_string(&codes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let rows = sqlx::query(&q)
                .bind($crate::sql::At(now))
                .bind(i64::try_from(agencies.len()).unwrap_or(i64::MAX))
                .bind(codes)
                .bind(i64::from(limit))
                .fetch_all(self.$pool())
                .await?;
            rows.iter().map(|r| $crate::sql::decode_dossier!(r)).collect()
        }

        async fn outbox(&self, status: Option<OutboxStatus>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
            let q = format!(
                "SELECT {} FROM outbox WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) ORDER BY id DESC LIMIT $2",
                $crate::outbox::COLUMNS
            );
            let rows = sqlx::query(&q)
                .bind(status.map(OutboxStatus::name))
                .bind(i64::from(limit))
                .fetch_all(self.$pool())
                .await?;
            rows.iter().map(|r| $crate::outbox::decode_message!(r)).collect()
        }

        async fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError> {
            let q = format!("SELECT {} FROM outbox WHERE id = $1", $crate::outbox::COLUMNS);
            let row = sqlx::query(&q).bind(id).fetch_optional(self.$pool()).await?;
            row.as_ref().map(|r| $crate::outbox::decode_message!(r)).transpose()
        }

        async fn outbox_for(&self, code: &DossierCode) -> Result<Vec<OutboxMessage>, StoreError> {
            let q = format!("SELECT {} FROM outbox WHERE dossier_code = $1 ORDER BY id", $crate::outbox::COLUMNS);
            let rows = sqlx::query(&q).bind(code.as_str()).fetch_all(self.$pool()).await?;
            rows.iter().map(|r| $crate::outbox::decode_message!(r)).collect()
        }
    };
}
pub(crate) use outbox_reads;
