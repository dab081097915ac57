//! `iamsweep apply`: carry out a plan (from `--plan`, or made now from the audit inputs).
//!
//! Without `--apply` nothing is written: the run prints what it would write. Before any write
//! the whole plan is checked, whatever made it (a plan file, a saved snapshot, a live
//! collection): every change is decided again from the facts the plan records and must be
//! identical, every document and tag must be one IAM accepts, the plan's times must not be in
//! the future and its snapshot not older than `max_plan_age_hours`, and it must change nobody
//! running iamsweep (`iamsweep_core::verify`); then the per-run cap (`--max-changes`) and, for a
//! plan file, that IAM still holds what the plan saw for every entity it restricts. Then each entity
//! is applied on its own (see `iamsweep_aws::applier`), one failure never stopping the others.
//!
//! Exit codes: 0 when every planned change was made (or, in a dry run, could be); 2 when the
//! plan is refused before any write, or when any entity failed (the others are still applied;
//! run `apply` again to converge).

use std::process::ExitCode;

use anyhow::{Context, bail};
use iamsweep_aws::applier::{Applied, Applier, Status, describe};
use iamsweep_aws::journal::new_run_id;
use iamsweep_core::plan::{Outcome, Plan, check_max_changes};
use iamsweep_core::resolve::{Given, Overrides};
use iamsweep_core::verify::{Checks, verify_plan};
use time::{Duration, OffsetDateTime};

use crate::enforce::{ApplyArgs, Aws, make_plan, resolve_settings};
use crate::settings::AuditSettings;

/// Runs `apply`.
pub async fn run(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let max_changes = args.max_changes.map(|n| Given::new(n, "--max-changes"));
    let settings = AuditSettings::resolve_with(
        &args.input,
        Overrides { max_changes, ..Overrides::default() },
    )?;
    let aws = Aws::connect(&settings.connection, settings.collect.rate).await;
    let plan = match &args.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the plan `{}`", path.display()))?;
            Plan::from_json(&text)
                .map_err(|error| anyhow::anyhow!("plan `{}`, {error}", path.display()))?
        }
        None => {
            let enforce = resolve_settings(
                &settings.config,
                args.input.config.as_deref(),
                settings.window_days,
                &aws,
                args.replace_foreign_boundaries,
            )
            .await?;
            make_plan(&settings, &enforce, &aws).await?
        }
    };
    let source = match &args.plan {
        Some(path) => format!("the plan `{}`", path.display()),
        None => match &settings.snapshot {
            Some(path) => format!("the plan made from the snapshot `{}`", path.display()),
            None => "the plan".to_string(),
        },
    };
    // Every path that applies is verified alike: a plan file, a saved snapshot (its collection
    // time is the plan's age) and a live collection.
    let caller = aws.caller().await?;
    let hours = settings.resolved.max_plan_age_hours;
    let checks = Checks {
        now: OffsetDateTime::now_utc(),
        max_age: Duration::hours(i64::from(hours)),
        account_id: &caller.account_id,
        caller_arn: &caller.arn,
    };
    verify_plan(&plan, &checks).context(source)?;
    check_max_changes(&plan, settings.resolved.max_changes)
        .context("stopped before writing anything")?;
    let journal = aws.journal(&args.journal)?;
    let applier = Applier {
        iam: &aws.clients.iam,
        pace: &aws.pace,
        retry: aws.retry,
        journal: &journal,
        run_id: new_run_id(OffsetDateTime::now_utc()),
    };
    if args.plan.is_some() {
        // A plan file may be hours old: refuse it whole, before any write, when an entity it
        // restricts has changed since, rather than apply half of a stale plan.
        let mut changed = Vec::new();
        for entity in plan.changes() {
            if let Err(reason) = applier.verify(entity).await {
                changed.push(reason);
            }
        }
        if !changed.is_empty() {
            bail!("refusing the plan, nothing written: {}", changed.join("; "));
        }
    }
    if !args.apply {
        print_dry_run(&plan);
        return Ok(ExitCode::SUCCESS);
    }
    let results = applier.apply(&plan, OffsetDateTime::now_utc).await;
    let failed = print_results(&results);
    if results.iter().any(|result| !result.actions.is_empty() || result.status == Status::Failed) {
        crate::logging::status!(
            "journal: {} (run {}); undo with `iamsweep rollback --run {} --apply --journal {}`",
            journal.describe(),
            applier.run_id,
            applier.run_id,
            journal.describe()
        );
    }
    Ok(if failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn print_dry_run(plan: &Plan) {
    for entity in &plan.entities {
        let label = format!("{} {}", entity.kind.as_str(), entity.name);
        match entity.outcome {
            Outcome::Change => {
                crate::stdout::out!("would change {label}: {}", describe(entity).join("; "))
            }
            Outcome::Skipped => crate::stdout::out!(
                "skip {label}: {}",
                entity.skips.iter().map(|skip| skip.reason.as_str()).collect::<Vec<_>>().join("; ")
            ),
            Outcome::Unchanged => {}
        }
    }
    let summary = &plan.summary;
    crate::logging::status!(
        "dry run, nothing written: {} entities would change ({} boundaries), {} unchanged, {} \
         skipped; add --apply to write",
        summary.change,
        summary.restricted,
        summary.unchanged,
        summary.skipped
    );
}

/// Prints one line per changed, skipped or failed entity; returns how many failed.
fn print_results(results: &[Applied]) -> usize {
    let mut counts = [0usize; 4];
    for result in results {
        let label = format!("{} {}", result.kind.as_str(), result.name);
        let detail = result.detail.as_deref().unwrap_or("");
        match result.status {
            Status::Changed => {
                counts[0] += 1;
                crate::stdout::out!("changed {label}: {}", result.actions.join("; "));
            }
            Status::Unchanged => counts[1] += 1,
            Status::Skipped => {
                counts[2] += 1;
                crate::stdout::out!("skipped {label}: {detail}");
            }
            Status::Failed => {
                counts[3] += 1;
                let done = if result.actions.is_empty() {
                    String::new()
                } else {
                    format!(" (done before the failure: {})", result.actions.join("; "))
                };
                crate::stdout::out!("failed {label}: {detail}{done}");
            }
        }
    }
    crate::logging::status!(
        "{} changed, {} unchanged, {} skipped, {} failed",
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    counts[3]
}
