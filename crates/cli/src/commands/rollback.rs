//! `iamsweep rollback`: put back what `apply` changed, from the journal, or from the
//! previous-boundary tag of an entity when the journal has nothing on it (lost or deleted).
//!
//! Without `--apply` nothing is written: the run prints what it would write. What is written
//! is derived from what IAM holds now, so a second rollback writes nothing. iamsweep's
//! policies are never deleted: those no longer used are named, for a person to delete.
//!
//! Exit codes: 0 when every selected entity is restored (or would be); 2 on bad input or when
//! any entity could not be restored.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use iamsweep_aws::clients::Connection;
use iamsweep_aws::inventory::inventory;
use iamsweep_aws::rollback::{current_default, execute, steps};
use iamsweep_core::config::Config;
use iamsweep_core::journal::{
    BoundaryRestore, JournalEntry, Rollback, rollback_from_journal, rollback_from_tag,
};
use iamsweep_core::model::{EntityKind, EntityRecord};
use iamsweep_core::settings::{EnforceSettings, ListTexts};

use crate::enforce::{Aws, RollbackArgs};
use crate::settings::{DEFAULT_RATE, load_config};

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
    let connection = Connection {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        timeouts: crate::env_vars::timeouts()?,
    };
    let rate = config.audit.rate.unwrap_or(DEFAULT_RATE);
    let aws = Aws::connect(&connection, rate).await;
    let caller = aws.caller().await?;
    let account_id = caller.account_id.as_str();
    let journal = aws.journal(&args.journal)?;
    let entries = journal
        .read_all(&aws.pace)
        .await
        .with_context(|| format!("cannot read the journal `{}`", journal.describe()))?;
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

    // Which entities, and which of their journal entries.
    let mut selected: Vec<(String, Vec<JournalEntry>)> = Vec::new();
    if let Some(run) = &args.run {
        entries
            .iter()
            .filter(|entry| &entry.run_id == run)
            .for_each(|e| add(&mut selected, &e.arn, Some(e)));
        if selected.is_empty() {
            bail!(
                "the journal `{}` has no entry of run `{run}`; hint: list the runs with `ls {}`, \
                 or roll back entities with `--entity` (their previous-boundary tag is used when \
                 the journal is lost)",
                journal.describe(),
                journal.describe()
            );
        }
    }
    for wanted in &args.entity {
        let arn = resolve(wanted, &entities)?;
        add(&mut selected, arn, None);
        entries
            .iter()
            .filter(|entry| entry.arn == arn)
            .for_each(|e| add(&mut selected, &e.arn, Some(e)));
    }
    if args.all {
        entries.iter().for_each(|e| add(&mut selected, &e.arn, Some(e)));
        for entity in &entities {
            if rollback_from_tag(entity, account_id, &settings.boundary.path, &settings.tags.keys)
                .is_some()
            {
                add(&mut selected, &entity.arn, None);
            }
        }
    }

    let mut failed = 0;
    let mut restored = 0;
    for (arn, entries) in &selected {
        let Some(entity) = by_arn.get(arn.as_str()).copied() else {
            failed += 1;
            println!("failed {arn}: it no longer exists");
            continue;
        };
        let label = format!("{} {}", entity.kind.as_str(), entity.name);
        let rollback = match rollback_from_journal(entries) {
            Some(rollback) => Some(rollback),
            None => {
                rollback_from_tag(entity, account_id, &settings.boundary.path, &settings.tags.keys)
            }
        };
        let Some(rollback) = rollback else {
            println!(
                "nothing to roll back for {label}: no journal entry and no previous-boundary tag on an iamsweep boundary"
            );
            continue;
        };
        let result = restore(&aws, &rollback, entity, account_id, &settings, args.apply).await;
        match result {
            Ok(()) => restored += 1,
            Err(message) => {
                failed += 1;
                println!("failed {label}: {message}");
            }
        }
    }
    let verb = if args.apply {
        "restored"
    } else {
        "would be restored (dry run, nothing written; add --apply)"
    };
    eprintln!("{restored} entities {verb}, {failed} failed");
    Ok(if failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Adds `arn` to the selection (once), with `entry` if any.
fn add(selected: &mut Vec<(String, Vec<JournalEntry>)>, arn: &str, entry: Option<&JournalEntry>) {
    let index = match selected.iter().position(|(known, _)| known == arn) {
        Some(index) => index,
        None => {
            selected.push((arn.to_string(), Vec::new()));
            selected.len() - 1
        }
    };
    selected[index].1.extend(entry.cloned());
}

/// Restores one entity (or says what it would do).
async fn restore(
    aws: &Aws,
    rollback: &Rollback,
    entity: &EntityRecord,
    account_id: &str,
    settings: &EnforceSettings,
    apply: bool,
) -> Result<(), String> {
    let label = format!("{} {}", entity.kind.as_str(), entity.name);
    let default = current_default(&aws.clients.iam, &aws.pace, &aws.retry, rollback)
        .await
        .map_err(|error| error.to_string())?;
    let steps = steps(rollback, entity, default.as_deref(), account_id, &settings.boundary.path)?;
    let described: Vec<String> = steps.iter().map(ToString::to_string).collect();
    if steps.is_empty() {
        println!("already restored {label}");
    } else if apply {
        execute(&aws.clients.iam, &aws.pace, &aws.retry, entity, &steps)
            .await
            .map_err(|error| error.to_string())?;
        println!("restored {label}: {}", described.join("; "));
    } else {
        println!("would restore {label}: {}", described.join("; "));
    }
    if let Some(policy) = &rollback.delete_policy
        && !matches!(&rollback.boundary, BoundaryRestore::Put(arn) if arn == policy)
    {
        println!(
            "note: `{policy}` was created by iamsweep for {label} and is no longer its boundary; \
             iamsweep never deletes policies: delete it yourself once nothing uses it"
        );
    }
    Ok(())
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
