//! Petitions, complaints and denunciations ([`crate::PetitionStore`]) on PostgreSQL: a filing
//! locks the projection against other filings (the code's sequence is counted in it); an event
//! locks its item's row. The implementation is the one both backends share.

use super::PgStore;
use crate::petitions::{Backend, petition_store};

/// Writes an item's messages to the outbox in the event's transaction.
async fn queue(conn: &mut sqlx::PgConnection, rows: &[crate::outbox::NewMessage]) -> Result<(), crate::StoreError> {
    super::outbox::insert_keys(conn, rows).await.map(drop)
}

impl Backend for PgStore {
    type Db = sqlx::Postgres;
}

petition_store!(PgStore, |s| s.pool().begin(), reader: pool, lock_table: "LOCK TABLE petitions IN SHARE ROW EXCLUSIVE MODE", lock_row: " FOR UPDATE", json: "CAST($6 AS jsonb)", texts: "SELECT jsonb_array_elements_text($X::jsonb)");
