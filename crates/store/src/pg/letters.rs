//! The desk's letters to print and their marks ([`crate::letters::DeskLetterStore`]) on
//! PostgreSQL. The implementation is the one both backends share.

use super::PgStore;

crate::letters::letters_store!(PgStore, pool, pool);
