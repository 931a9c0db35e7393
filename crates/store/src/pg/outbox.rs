//! The outbox ([`OutboxStore`]) on PostgreSQL: a claim takes its rows `FOR UPDATE SKIP
//! LOCKED`, so concurrent workers lease disjoint rows.

use chrono::{DateTime, Utc};
use motcua_core::{AgencyCode, DossierCode};
use sqlx::{PgConnection, Row};

use super::PgStore;
use crate::error::StoreError;
use crate::outbox::{
    COLUMNS, Candidate, Cursor, NOT_REMINDED, NewMessage, OutboxMessage, OutboxStatus, OutboxStore, RUNNING, candidate,
    cursor_parts, decode_message, desk_recipient, mark_failed_query, outbox_reads, retry_query, rev,
};

/// Inserts messages in an open PostgreSQL transaction, skipping known dedupe keys; returns
/// the keys inserted.
pub(crate) async fn insert(conn: &mut PgConnection, rows: &[NewMessage]) -> Result<Vec<String>, StoreError> {
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

impl OutboxStore for PgStore {
    async fn enqueue(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool().begin().await?;
        let keys = insert(&mut tx, &messages).await?;
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
             RETURNING {COLUMNS}"
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
        let done = mark_failed_query(id, owner, now, error, retry_at).execute(self.pool()).await?.rows_affected();
        Ok(done == 1)
    }

    outbox_reads!(pool);

    async fn desk_letters(&self, agencies: &[AgencyCode], limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let recipients: Vec<String> = agencies.iter().map(desk_recipient).collect();
        let q = format!(
            "SELECT {COLUMNS} FROM outbox WHERE recipient = ANY($1) AND recipient LIKE 'desk:%' ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(&q).bind(&recipients).bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(|r| decode_message!(r)).collect()
    }

    async fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(retry_query(id, now).execute(self.pool()).await?.rows_affected() == 1)
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
