//! The write path both backends share: the batch engine and the group commit. Each backend
//! supplies its SQL through the engine's small traits ([`engine::WriteTx`],
//! [`engine::ScanTx`], [`group::Committer`]); nothing here names a backend.

pub(crate) mod engine;
pub(crate) mod group;
