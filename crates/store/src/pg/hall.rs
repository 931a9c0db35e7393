//! The reception hall ([`crate::HallStore`]) on PostgreSQL: every write of a hall's day locks
//! that day's `hall_days` row first, then the rows it changes. The implementation is the one
//! both backends share.

use super::PgStore;
use crate::hall::hall_store;

hall_store!(PgStore, |s| s.pool().begin(), reader: pool, lock: " FOR UPDATE", json: "CAST($8 AS jsonb)", counter: "CAST(e.payload ->> 'counter' AS BIGINT)");
