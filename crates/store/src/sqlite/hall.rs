//! The reception hall ([`crate::HallStore`]) on SQLite: writes under `BEGIN IMMEDIATE` on the
//! writer (which holds the database's write lock), reads on the read-only pool. The
//! implementation is the one both backends share.

use super::SqliteStore;
use crate::hall::hall_store;

hall_store!(SqliteStore, |s| s.writer().begin_with("BEGIN IMMEDIATE"), reader: reader, lock: "", json: "$8", counter: "CAST(json_extract(e.payload, '$.counter') AS INTEGER)");
