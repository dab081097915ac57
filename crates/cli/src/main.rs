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
mod stdout;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// The version `--version` prints: the package's, and the commit when built from git
/// (`0.1.0 (abc1234)`; see `build.rs`).
pub const VERSION: &str = env!("IAMSWEEP_VERSION");

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions(args) = &cli.command {
        return commands::completions::run(args);
    }
    logging::init(cli.log_format, cli.quiet);
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
            Command::Heal(args) => commands::heal::run(args).await,
            Command::Org(args) => commands::org::run(args).await,
            Command::Completions(args) => Ok(commands::completions::run(args)),
            Command::Findings(args) => commands::findings::run(args).await,
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
