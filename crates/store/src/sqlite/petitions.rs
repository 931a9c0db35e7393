//! Petitions, complaints and denunciations ([`crate::PetitionStore`]) on SQLite: writes under
//! `BEGIN IMMEDIATE` on the writer (which holds the write lock: reading is locking), reads on
//! the read-only pool. The implementation is the one both backends share.

use super::SqliteStore;
use crate::petitions::{Backend, petition_store};

/// Writes an item's messages to the outbox in the event's transaction.
async fn queue(conn: &mut sqlx::SqliteConnection, rows: &[crate::outbox::NewMessage]) -> Result<(), crate::StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    super::outbox::insert(conn, rows, false).await.map(drop)
}

impl Backend for SqliteStore {
    type Db = sqlx::Sqlite;
}

petition_store!(SqliteStore, |s| s.writer().begin_with("BEGIN IMMEDIATE"), reader: reader, lock_table: "", lock_row: "", json: "$6", texts: "SELECT value FROM json_each($X)");
