//! `iamsweep completions SHELL`: a completion script, generated from the flags themselves so it
//! never lags behind them.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

/// Writes the script for `args.shell` on stdout.
pub fn run(args: &CompletionsArgs) -> ExitCode {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "iamsweep", &mut crate::stdout::Stdout);
    ExitCode::SUCCESS
}
