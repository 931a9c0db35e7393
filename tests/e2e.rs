//! End-to-end tests of the `motcua` binary: one test binary, modules inside.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod browser;
mod bulk;
mod calendar;
mod chaos;
mod desk;
mod desk_forms;
mod dvcqg;
mod forms;
mod hall;
mod hall_figures;
mod hall_time;
mod history;
mod metrics;
mod operations;
mod petitions;
mod report;
mod scorecard_data;
mod server;
mod watchlist;
mod worker;
