//! `iamsweep`: least privilege for IAM users, roles and groups, from Access Advisor data.
//!
//! Exit codes: 0 success; 1 findings (`check`); 2 bad input or a run that could not finish.

mod accounts;
mod cli;
mod commands;
mod enforce;
mod env_vars;
mod logging;
mod progress;
mod render;
mod settings;
mod source;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Audit(args) => commands::audit::run(args, cli.log_format).await,
            Command::Check(args) => commands::check::run(args, cli.log_format).await,
            Command::Plan(args) => commands::plan::run(args).await,
            Command::Apply(args) => commands::apply::run(args).await,
            Command::Rollback(args) => commands::rollback::run(args).await,
            Command::Org(args) => commands::org::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` prints the whole cause chain on one line: what failed, then why.
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
