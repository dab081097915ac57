//! `iamsweep rollback`: put back what `apply` changed, from the journal, or from the
//! previous-boundary tag of an entity when the journal has nothing on it (lost or deleted).
//!
//! Without `--apply` nothing is written: the run prints what it would write. What is written
//! is derived from what IAM holds now, so a second rollback writes nothing. iamsweep's
//! policies are never deleted: those no longer used are named, for a person to delete.
//!
//! What is restored is decided in `iamsweep_core::rollback` (see "How rollback decides" in
//! README); this command reads the journal, the entities and the caller, and prints and
//! carries out the steps.
//!
//! Exit codes: 0 when every selected entity is restored, would be, or already was; 2 on bad
//! input (an invalid journal entry included: nothing is written), or when any entity was left
//! alone or failed (each is named).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use iamsweep_aws::inventory::inventory;
use iamsweep_aws::rollback::{current_default, execute};
use iamsweep_core::config::Config;
use iamsweep_core::guardrails::Caller;
use iamsweep_core::model::{EntityKind, EntityRecord};
use iamsweep_core::rollback::{
    BoundaryRestore, Decision, Outcome, Request, Rollback, Scope, Step, Summary, Target, Verdict,
    decide, select, steps, verdict,
};
use iamsweep_core::settings::{EnforceSettings, ListTexts};

use crate::enforce::{Aws, RollbackArgs};
use crate::settings::{load_config, rate_of};

/// Runs `rollback`.
pub async fn run(args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => load_config(path)?,
        None => Config::default(),
    };
    // Rollback needs the boundary path and tag keys only, not the list files.
    config.guardrails.do_not_list_file = None;
    config.boundary.base_actions_file = None;
    let settings = EnforceSettings::resolve(&config, 1, &ListTexts::default())
        .map_err(|error| anyhow::anyhow!("config file, {error}"))?;
    let connection = args.connection.connection()?;
    let rate = rate_of(&config, args.config.as_deref())?;
    let aws = Aws::connect(&connection, rate).await;
    let caller = aws.caller().await?;
    let account_id = caller.account_id.as_str();
    let scope =
        Scope { account_id, boundary_path: &settings.boundary.path, keys: &settings.tags.keys };
    let journal = aws.journal(&args.journal)?;
    // Every entry is read and checked before the first write: one bad entry stops the run.
    let entries =
        journal.read_account(&aws.pace, account_id, scope.boundary_path).await.with_context(
            || format!("cannot use the journal `{}`; nothing was written", journal.describe()),
        )?;
    let entities = inventory(
        &aws.clients.iam,
        &aws.pace,
        &aws.retry,
        &[EntityKind::User, EntityKind::Role],
        false,
    )
    .await
    .context("could not read the users and roles")?
    .entities;
    let by_arn: BTreeMap<&str, &EntityRecord> =
        entities.iter().map(|entity| (entity.arn.as_str(), entity)).collect();

    let named: Vec<String> = args
        .entity
        .iter()
        .map(|wanted| resolve(wanted, &entities).map(str::to_string))
        .collect::<anyhow::Result<_>>()?;
    let request = match (&args.run, args.all) {
        (Some(run), _) => Request::Run(run),
        (None, true) => Request::All,
        (None, false) => Request::Entities(&named),
    };
    let selection = select(request, &entries, &entities, &scope).map_err(|message| {
        let location = journal.describe();
        let runs = format!("{}/{account_id}", location.trim_end_matches('/'));
        anyhow::anyhow!(
            "{message} in `{location}`; hint: the runs are listed under `{runs}`, or roll back \
             entities with `--entity` (their previous-boundary tag is used when the journal is \
             lost)"
        )
    })?;

    let caller_principal = Caller::parse(&caller.arn);
    let mut summary = Summary::default();
    for target in &selection.targets {
        let entity = by_arn.get(target.arn.as_str()).copied();
        let label = entity
            .map_or_else(|| target.arn.clone(), |e| format!("{} {}", e.kind.as_str(), e.name));
        let outcome = match (decide(target, entity, &scope), entity) {
            (Decision::Restore(rollback), Some(entity)) => {
                let context =
                    Restoring { aws: &aws, scope: &scope, caller: caller_principal.as_ref() };
                restore(&context, target, &rollback, entity, &label, args.apply).await
            }
            (Decision::NothingToRestore, _) => {
                crate::stdout::out!(
                    "already restored {label}: it carries no iamsweep boundary and no previous-boundary tag"
                );
                Outcome::AlreadyRestored
            }
            (Decision::LeftAlone(reason), _) => {
                crate::stdout::out!("left alone {label}: {reason}");
                Outcome::LeftAlone
            }
            (Decision::Restore(_), None) => {
                crate::stdout::out!("left alone {label}: it no longer exists");
                Outcome::LeftAlone
            }
        };
        summary.add(outcome);
    }
    for arn in &selection.not_journaled {
        crate::stdout::out!(
            "note: `{arn}` carries an iamsweep boundary the journal does not record; not touched \
             (roll it back with `--entity {arn}` if it should be)"
        );
    }
    crate::logging::status!("{}", summary.line(!args.apply));
    Ok(if summary.complete() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// What restoring an entity reads its facts against.
struct Restoring<'a> {
    aws: &'a Aws,
    scope: &'a Scope<'a>,
    caller: Option<&'a Caller>,
}

/// Restores one entity (or says what it would do): the steps decided in core from what IAM
/// holds now, printed the same way in a dry run and in the apply.
async fn restore(
    context: &Restoring<'_>,
    target: &Target,
    rollback: &Rollback,
    entity: &EntityRecord,
    label: &str,
    apply: bool,
) -> Outcome {
    let aws = context.aws;
    let default = match current_default(&aws.clients.iam, &aws.pace, &aws.retry, rollback).await {
        Ok(default) => default,
        Err(error) => {
            crate::stdout::out!("failed {label}: nothing written: {error}");
            return Outcome::Failed;
        }
    };
    let planned = steps(rollback, entity, default.as_deref(), context.scope);
    let steps = match verdict(target, entity, context.caller, planned, context.scope) {
        Verdict::Write(steps) => steps,
        Verdict::AlreadyRestored => {
            crate::stdout::out!("already restored {label}");
            return Outcome::AlreadyRestored;
        }
        Verdict::LeftAlone(reason) => {
            crate::stdout::out!("left alone {label}: {reason}");
            return Outcome::LeftAlone;
        }
    };
    let described =
        |steps: &[Step]| steps.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    let outcome = if !apply {
        crate::stdout::out!("would restore {label}: {}", described(&steps));
        Outcome::Restored
    } else {
        let executed = execute(&aws.clients.iam, &aws.pace, &aws.retry, entity, &steps).await;
        if executed.failed.is_empty() && executed.not_tried.is_empty() {
            crate::stdout::out!("restored {label}: {}", described(&steps));
            Outcome::Restored
        } else {
            let failures: Vec<String> = executed
                .failed
                .iter()
                .map(|(step, error)| format!("{step} ({error})"))
                .chain(
                    executed
                        .not_tried
                        .iter()
                        .map(|step| format!("{step} (kept until the boundary is back)")),
                )
                .collect();
            let done = if executed.done.is_empty() {
                "nothing".to_string()
            } else {
                described(&executed.done)
            };
            crate::stdout::out!(
                "failed {label}: restored {done}; not restored: {}",
                failures.join("; ")
            );
            Outcome::Failed
        }
    };
    if let Some(policy) = &rollback.delete_policy
        && !matches!(&rollback.boundary, BoundaryRestore::Put(arn) if arn == policy)
    {
        crate::stdout::out!(
            "note: `{policy}` was created by iamsweep for {label} and is no longer its boundary; \
             iamsweep never deletes policies: delete it yourself once nothing uses it"
        );
    }
    outcome
}
/// The ARN of the user or role named by `wanted` (an ARN, or a name; IAM names ignore case).
fn resolve<'a>(wanted: &str, entities: &'a [EntityRecord]) -> anyhow::Result<&'a str> {
    let matches: Vec<&EntityRecord> = entities
        .iter()
        .filter(|entity| entity.arn == wanted || entity.name.eq_ignore_ascii_case(wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok(&one.arn),
        [] => bail!("no user or role `{wanted}` in the account"),
        _ => bail!(
            "`{wanted}` names both a user and a role; hint: give the ARN, one of {}",
            matches.iter().map(|entity| format!("`{}`", entity.arn)).collect::<Vec<_>>().join(", ")
        ),
    }
}
