//! The desk's letters to print and their marks ([`crate::letters::DeskLetterStore`]) on SQLite:
//! reads on the read-only pool, marks on the writer. The implementation is the one both
//! backends share.

use super::SqliteStore;

crate::letters::letters_store!(SqliteStore, reader, writer);
