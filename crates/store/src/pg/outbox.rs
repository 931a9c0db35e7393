//! The outbox ([`OutboxStore`]) on PostgreSQL: a claim takes its rows `FOR UPDATE SKIP
//! LOCKED`, so concurrent workers lease disjoint rows.

use chrono::{DateTime, Utc};
use motcua_core::{AgencyCode, DossierCode};
use sqlx::{PgConnection, Row};

use super::{PgStore, add_to_counters};
use crate::error::StoreError;
use crate::outbox::{
    COLUMNS, Candidate, Cursor, NewMessage, OutboxMessage, OutboxStatus, OutboxStore, decode_message, desk_recipient,
    moved, outbox_reads, outbox_writes, rev,
};

/// Inserts messages in an open PostgreSQL transaction, skipping known dedupe keys; returns
/// the keys inserted.
pub(crate) async fn insert_keys(conn: &mut PgConnection, rows: &[NewMessage]) -> Result<Vec<String>, StoreError> {
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
    // One count per row inserted, even when a key comes twice in `rows` (the first is kept).
    let mut counted = std::collections::HashSet::new();
    let added = rows
        .iter()
        .filter(|m| inserted.contains(&m.dedupe_key) && counted.insert(m.dedupe_key.as_str()))
        .map(|m| m.kind.as_str());
    add_to_counters(conn, &moved(added, None, "pending")).await?;
    Ok(inserted)
}

impl OutboxStore for PgStore {
    outbox_writes!(|s| s.pool().begin(), lock: " FOR UPDATE", skip: " FOR UPDATE SKIP LOCKED", ids: "SELECT jsonb_array_elements_text($2::jsonb)::bigint", texts: "SELECT jsonb_array_elements_text($X::jsonb)");

    outbox_reads!(pool, texts: "SELECT jsonb_array_elements_text($X::jsonb)");

    async fn desk_letters(&self, agencies: &[AgencyCode], limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let recipients: Vec<String> = agencies.iter().map(desk_recipient).collect();
        let q = format!(
            "SELECT {COLUMNS} FROM outbox WHERE recipient = ANY($1) AND recipient LIKE 'desk:%' ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(&q).bind(&recipients).bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(|r| decode_message!(r)).collect()
    }
}
