//! The write path both backends share: the batch engine, the group commit and the counters
//! the exporter reads ([`counters`]: how they are kept) and the watch list's tables
//! ([`watch`]). Each backend
//! supplies its SQL through the engine's small traits ([`engine::WriteTx`],
//! [`engine::ScanTx`], [`group::Committer`]); nothing here names a backend.

pub(crate) mod counters;
pub(crate) mod engine;
pub(crate) mod group;
pub(crate) mod watch;
