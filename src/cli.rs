//! The clap command tree and its dispatch.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::calendar_cmd;

/// motcua — một cửa: dossiers, working-day deadlines, on-time rates and apology letters.
#[derive(Debug, Parser)]
#[command(name = "motcua", version, about)]
pub struct Cli {
    /// Configuration folder (motcua.toml, calendars/, catalog/).
    #[arg(long, global = true, env = "MOTCUA_CONFIG", default_value = "config")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Working-day calendar: due dates, working time between instants, data check.
    #[command(subcommand)]
    Calendar(calendar_cmd::CalendarCommand),
}

/// Runs a parsed command line.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Calendar(cmd) => calendar_cmd::run(cli, cmd),
    }
}
