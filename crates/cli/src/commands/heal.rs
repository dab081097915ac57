//! `iamsweep heal`: give a bounded user or role back, at once, a service its iamsweep boundary
//! denied it since it was bounded (see `iamsweep_core::heal`).
//!
//! Reads only the bounded entities (inventory, Access Advisor, iamsweep's boundary policies)
//! and the journal. Without `--apply` nothing is written: it prints what it would restore.
//! With it, each widening is a new default version of the entity's boundary policy, journaled
//! first, so `rollback` undoes it like any change. A second `heal` writes nothing.
//!
//! Exit codes: 0 when every restoration was made (or could be, in a dry run), entities whose
//! boundary time is unknown included (each is named); 2 on bad input (config, journal) or when
//! any entity failed (the others are still healed).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use iamsweep_aws::applier::{Applier, Status};
use iamsweep_aws::collector::CollectSettings;
use iamsweep_aws::heal::heal_pass;
use iamsweep_aws::journal::{DEFAULT_JOURNAL, new_run_id};
use iamsweep_core::config::Config;
use iamsweep_core::resolve::{Overrides, resolve};
use time::OffsetDateTime;

use crate::cli::ConnectionArgs;
use crate::enforce::{Aws, resolve_settings};
use crate::progress::Bar;
use crate::settings::load_config;

/// `iamsweep heal`.
#[derive(Debug, Clone, Args)]
pub struct HealArgs {
    /// Really write. Without it, print what would be restored and write nothing.
    #[arg(long)]
    pub apply: bool,
    /// Journal location: a directory or `s3://bucket/prefix`; tells when each boundary was
    /// attached, and records each widening.
    #[arg(long, value_name = "DIR_OR_S3_URI", default_value = DEFAULT_JOURNAL)]
    pub journal: String,
    /// A TOML configuration file (the boundary path, the guardrails).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// IAM calls per second at most [default: the config's `audit.rate`, else 10].
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// How to reach AWS.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `heal`.
pub async fn run(args: &HealArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => load_config(path)?,
        None => Config::default(),
    };
    let file = args.config.as_ref().map(|path| path.display().to_string());
    let overrides = Overrides {
        rate: args.rate.map(|rate| iamsweep_core::resolve::Given::new(rate, "--rate")),
        poll_first_ms: crate::env_vars::poll_first_ms()?
            .map(|ms| iamsweep_core::resolve::Given::new(ms, crate::env_vars::POLL_FIRST_MS)),
        ..Overrides::default()
    };
    let resolved = resolve(&config, file.as_deref(), &overrides)?;
    let connection = args.connection.connection()?;
    let aws = Aws::connect(&connection, resolved.rate).await;
    let enforce =
        resolve_settings(&config, args.config.as_deref(), resolved.window_days, &aws, false)
            .await?;
    let journal = aws.journal(&args.journal)?;
    let bar = Bar::new();
    let pass = heal_pass(
        &aws.clients,
        &CollectSettings::resolved(&resolved),
        &bar,
        &journal,
        &enforce,
        OffsetDateTime::now_utc(),
    )
    .await
    .with_context(|| format!("heal could not decide (journal `{}`)", journal.describe()))?;
    bar.finish();
    for healing in &pass.healings {
        if let Some(unknown) = &healing.unknown {
            println!("{} {}: {unknown}", healing.kind, healing.name);
        }
    }
    let count: usize = pass.healings.iter().map(|healing| healing.restored.len()).sum();
    if !args.apply {
        for healing in &pass.healings {
            for line in healing.lines("would restore") {
                println!("{line}");
            }
        }
        eprintln!(
            "dry run, nothing written: {count} services would be restored to {} entities; add \
             --apply to write",
            pass.plan.entities.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let applier = Applier {
        iam: &aws.clients.iam,
        pace: &aws.pace,
        retry: aws.retry,
        journal: &journal,
        run_id: new_run_id(OffsetDateTime::now_utc()),
    };
    let results = applier.apply(&pass.plan, OffsetDateTime::now_utc).await;
    let mut failed = 0;
    for result in &results {
        let healing = pass.healings.iter().find(|healing| healing.arn == result.arn);
        match (result.status, healing) {
            (Status::Changed, Some(healing)) => {
                for line in healing.lines("restored") {
                    println!("{line}");
                }
            }
            (Status::Failed, _) => {
                failed += 1;
                println!(
                    "failed {} {}: {}",
                    result.kind,
                    result.name,
                    result.detail.as_deref().unwrap_or("")
                );
            }
            _ => {}
        }
    }
    eprintln!("{count} services restored to {} entities, {failed} failed", results.len() - failed);
    if !results.is_empty() {
        eprintln!(
            "journal: {} (run {}); undo with `iamsweep rollback --run {} --apply --journal {}`",
            journal.describe(),
            applier.run_id,
            applier.run_id,
            journal.describe()
        );
    }
    Ok(if failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
