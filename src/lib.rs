//! The `motcua` application: configuration loading and the command-line commands, on top of the
//! focused crates (`motcua-core` for the rules, `motcua-store` for durability). This crate wires
//! things together; it must not hold domain rules of its own — every clock value comes from
//! `motcua-core`, and every write goes through `motcua-store`'s one transactional path.

/// The process's allocator, for Rust's allocations and (with `override`) SQLite's C ones: the
/// bulk write path allocates and frees many small values across two threads, where mimalloc's
/// per-thread free lists beat glibc's arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod bulk;
pub mod calendar_cmd;
pub mod cli;
pub mod config;
pub mod desk;
pub mod exchange_cmd;
pub mod input;
pub mod metrics_cmd;
pub mod process;
pub mod serve_cmd;
pub mod staff_cmd;
pub mod worker_cmd;
