//! `iamsweep org plan` and `iamsweep org apply`.
//!
//! `org plan` reads only. `org apply` writes only with `--apply`, and before its first write,
//! whatever made the plan (a plan file, a saved snapshot, a live collection): decides every
//! unit again from the facts the plan records and refuses the whole plan if anything differs
//! (`iamsweep_core::org::plan::verify_org_plan`), refuses a plan for another management
//! account, from the future or older than `max_plan_age_hours`, refuses more changes than
//! `--max-changes`, and refuses it when the SCPs attached to a unit it changes are no longer
//! what the plan saw. Then each unit is applied on its own, its journal entry first.
//!
//! Exit codes: 0 when every planned change was made (or, dry, could be); 2 when the plan is
//! refused before any write, or when a unit failed (the others are still applied).

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, bail};
use iamsweep_aws::journal::{JournalStore, new_run_id};
use iamsweep_aws::s3::{self, S3};
use iamsweep_core::org::plan::{OrgChecks, OrgPlan, UnitPlan, verify_org_plan};
use iamsweep_core::plan::Outcome;
use time::{Duration, OffsetDateTime};

use crate::commands::org::{OrgApplyArgs, OrgPlanArgs, OrgPlanFormat, OrgRun};
use crate::commands::org_audit::users;

/// Runs `org plan`.
pub async fn plan(args: &OrgPlanArgs) -> anyhow::Result<ExitCode> {
    let run = OrgRun::resolve(&args.input, None)?;
    let aws = run.connect().await;
    let plan = run.make_plan(&aws).await?;
    if let Some(path) = &args.output {
        std::fs::write(path, plan.to_json())
            .with_context(|| format!("cannot write the plan to `{}`", path.display()))?;
    }
    super::emit(None, |out| {
        match args.format {
            OrgPlanFormat::Json => writeln!(out, "{}", plan.to_json())?,
            OrgPlanFormat::Table => out.write_all(text(&plan, false).as_bytes())?,
            OrgPlanFormat::Markdown => out.write_all(text(&plan, true).as_bytes())?,
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `org apply`.
pub async fn apply(args: &OrgApplyArgs) -> anyhow::Result<ExitCode> {
    let run = OrgRun::resolve(&args.input, args.max_changes)?;
    let aws = run.connect().await;
    let plan = match &args.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the plan `{}`", path.display()))?;
            OrgPlan::from_json(&text)
                .map_err(|error| anyhow::anyhow!("plan `{}`, {error}", path.display()))?
        }
        None => run.make_plan(&aws).await?,
    };
    let source = match &args.plan {
        Some(path) => format!("the plan `{}`", path.display()),
        None => "the plan".to_string(),
    };
    let caller = iamsweep_aws::identity::caller_identity(&aws.clients.sts, &aws.pace, &aws.retry)
        .await
        .context(
            "could not identify the caller with sts:GetCallerIdentity; check the credentials",
        )?;
    let checks = OrgChecks {
        now: OffsetDateTime::now_utc(),
        max_age: Duration::hours(i64::from(run.settings.resolved.max_plan_age_hours)),
        account_id: &caller.account_id,
    };
    verify_org_plan(&plan, &checks).context(source)?;
    let max = run.org.max_changes;
    if plan.summary.change > max {
        bail!(
            "the plan changes {} OUs, more than --max-changes / `[org] max_changes` ({max}); \
             stopped before writing anything",
            plan.summary.change
        );
    }
    // The SCPs attached may have changed since the plan was made: refuse it whole, before any
    // write, rather than apply half of a stale plan (a sixth policy attached since, say).
    let scps = aws.scps();
    let mut moved = Vec::new();
    for unit in plan.changes() {
        let recorded = plan.facts.live.iter().find(|target| target.target_id == unit.target_id);
        match scps.live(&unit.target_id).await {
            Ok(now) if Some(&now) == recorded => {}
            Ok(_) => moved.push(format!(
                "the SCPs attached to {} changed since the plan was made",
                unit.target_id
            )),
            Err(error) => moved.push(error.to_string()),
        }
    }
    if !moved.is_empty() {
        bail!("refusing the plan, nothing written: {}\nhint: make a new plan", moved.join("; "));
    }
    if !args.apply {
        for unit in plan.changes() {
            println!("would change {} ({}): {}", unit.path, unit.target_id, describe(unit));
        }
        for unit in plan.units.iter().filter(|unit| unit.outcome == Outcome::Skipped) {
            println!("skip {} ({}): {}", unit.path, unit.target_id, unit.skips.join("; "));
        }
        eprintln!(
            "dry run, nothing written: {} OUs would change, {} unchanged, {} skipped; add --apply \
             to write",
            plan.summary.change, plan.summary.unchanged, plan.summary.skipped
        );
        return Ok(ExitCode::SUCCESS);
    }
    let journal = journal_store(&aws, &args.journal).await?;
    let run_id = new_run_id(OffsetDateTime::now_utc());
    let mut failed = 0;
    let mut changed = 0;
    for (sequence, unit) in plan.changes().enumerate() {
        let result =
            scps.apply_unit(unit, &journal, &plan.management_account_id, &run_id, sequence).await;
        match &result.error {
            None => {
                changed += 1;
                println!(
                    "changed {} ({}): {}",
                    unit.path,
                    unit.target_id,
                    result.actions.join("; ")
                );
            }
            Some(error) => {
                failed += 1;
                let done = if result.actions.is_empty() {
                    String::new()
                } else {
                    format!(" (done before the failure: {})", result.actions.join("; "))
                };
                println!("failed {} ({}): {error}{done}", unit.path, unit.target_id);
            }
        }
    }
    eprintln!(
        "{changed} OUs changed, {} unchanged, {} skipped, {failed} failed",
        plan.summary.unchanged, plan.summary.skipped
    );
    if changed + failed > 0 {
        eprintln!(
            "journal: {} (run {run_id}); undo with `iamsweep org rollback --run {run_id} --apply \
             --journal {}`",
            journal.describe(),
            journal.describe()
        );
    }
    Ok(if failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

async fn journal_store(
    aws: &crate::commands::org::OrgAws,
    location: &str,
) -> anyhow::Result<JournalStore> {
    let s3 = S3 { client: s3::client(&aws.sdk), retry: aws.retry };
    JournalStore::parse(location, Some(s3))
        .with_context(|| format!("invalid journal location `{location}`"))
}

fn describe(unit: &UnitPlan) -> String {
    let Some(change) = &unit.change else { return String::new() };
    let mut steps = Vec::new();
    if change.create_policy {
        steps.push(format!("create SCP `{}`", change.policy_name));
    }
    if change.update_policy {
        steps.push(format!("update SCP `{}`", change.policy_name));
    }
    if change.attach {
        steps.push(format!("attach it to {}", unit.target_id));
    }
    steps.push(format!(
        "deny {} ({} accounts below)",
        if unit.denied.is_empty() {
            "nothing they were allowed".to_string()
        } else {
            unit.denied.join(" ")
        },
        unit.accounts.len()
    ));
    steps.join("; ")
}

/// The plan for people: per unit its outcome, then, for a change, what it denies, the accounts
/// it caps, and why each kept service stays.
fn text(plan: &OrgPlan, markdown: bool) -> String {
    let mut out = String::new();
    let heading = if markdown { "### " } else { "" };
    let item = if markdown { "- " } else { "  " };
    for unit in &plan.units {
        let outcome = match unit.outcome {
            Outcome::Change => "change",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skip",
        };
        let _ = writeln!(out, "{heading}{} ({}): {outcome}", unit.path, unit.target_id);
        for reason in &unit.skips {
            let _ = writeln!(out, "{item}why: {reason}");
        }
        if unit.outcome == Outcome::Skipped {
            continue;
        }
        if let Some(change) = &unit.change {
            let _ = writeln!(out, "{item}writes: {}", describe(unit));
            let _ = writeln!(
                out,
                "{item}SCP `{}`: {} characters",
                change.policy_name,
                change.document.chars().count()
            );
        }
        let accounts: Vec<String> = unit
            .accounts
            .iter()
            .map(|account| match &account.name {
                Some(name) => format!("{} ({name})", account.id),
                None => account.id.clone(),
            })
            .collect();
        let _ = writeln!(out, "{item}accounts below: {}", accounts.join(", "));
        let _ = writeln!(
            out,
            "{item}denies: {}",
            if unit.denied.is_empty() {
                "nothing they are allowed now".to_string()
            } else {
                unit.denied.join(" ")
            }
        );
        for kept in &unit.kept {
            let why = match (kept.used, kept.always_allow) {
                (true, true) => "used, always_allow",
                (true, false) => "used",
                (false, true) => "always_allow",
                (false, false) => "kept",
            };
            let service = iamsweep_core::org::report::OrgServiceReport {
                namespace: kept.namespace.clone(),
                name: String::new(),
                state: iamsweep_core::report::ServiceState::Used,
                last_authenticated: None,
                used_by: kept.used_by.clone(),
            };
            let by = users(&service);
            let by = if by.is_empty() { String::new() } else { format!(": last used by {by}") };
            let _ = writeln!(out, "{item}keeps {} ({why}){by}", kept.namespace);
        }
    }
    let _ = writeln!(
        out,
        "{} OUs change, {} unchanged, {} skipped (window {} days; nothing written by `org plan`)",
        plan.summary.change, plan.summary.unchanged, plan.summary.skipped, plan.window_days
    );
    out
}
