//! `motcua`: the command line of the one-stop-shop engine.

use std::process::ExitCode;

use clap::Parser;
use motcua::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap says only that some argument is not UTF-8: say which.
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidUtf8 => {
            eprintln!("error: {}", motcua::process::not_utf8_input());
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away before the end of the output: the command ends quietly.
        Err(e) if motcua::process::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", motcua::process::error_line(&e));
            ExitCode::from(2)
        }
    }
}
