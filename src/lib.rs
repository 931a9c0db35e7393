//! The `motcua` application: configuration loading and the command-line commands, on top of the
//! focused crates (`motcua-core` for the rules, `motcua-store` for durability). This crate wires
//! things together; it must not hold domain rules of its own — every clock value comes from
//! `motcua-core`, and every write goes through `motcua-store`'s one transactional path. It is
//! also where the worker's and the server's metrics traits meet the exporter's typed metrics.
//!
//! Modules: `cli` (the clap command tree and its dispatch), `config` (motcua.toml, calendars,
//! catalog), `input` (values typed on the command line), `process` (logging and the stop
//! signal of long-running commands), and one module per command family: `desk` (intake,
//! transitions, `show`, `catalog`), `calendar_cmd`, `bulk` (`simulate`, `recompute`), `exchange_cmd`,
//! `hall_cmd`, `metrics_cmd`, `petition_cmd`, `serve_cmd`, `staff_cmd`, `worker_cmd` (`worker`, `outbox`, `letter`).

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
pub mod form_cmd;
pub mod hall_cmd;
pub mod input;
pub mod metrics_cmd;
pub mod petition_cmd;
pub mod process;
pub mod serve_cmd;
pub mod staff_cmd;
pub mod worker_cmd;
