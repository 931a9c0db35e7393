//! The simulated city-year the store and import benchmarks share in `target/bench-data/`.

use std::path::{Path, PathBuf};

/// The file that says the city-year database in `dir` was built by the store benchmark with
/// today's tables (the scorecard's sums, migration 26); without it the database is built again.
pub fn built_marker(dir: &Path, dossiers: u64) -> PathBuf {
    dir.join(format!("cityyear-{dossiers}-m26.done"))
}
