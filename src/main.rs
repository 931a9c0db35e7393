//! `motcua`: the command line of the one-stop-shop engine.

use std::process::ExitCode;

use clap::Parser;
use motcua::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away before the end of the output: the command ends quietly.
        Err(e) if motcua::process::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
