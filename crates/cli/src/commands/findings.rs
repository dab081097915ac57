//! `iamsweep findings import`: the audit's findings into AWS Security Hub, keeping Security Hub
//! in step with the account: new findings created, existing ones updated in place (their first
//! observation kept, the customer's workflow untouched), those of entities now compliant or
//! deleted archived. Without `--apply` it only reads (`GetFindings`) and says what it would do.
//!
//! Exit codes: 0 when every finding was imported (or, without `--apply`, could be); 2 on bad
//! input, when iamsweep's earlier findings cannot be read (nothing is sent), or when Security Hub
//! refused some findings (each is named; the others are imported).

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use iamsweep_aws::clients::Clients;
use iamsweep_aws::identity::caller_identity;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::securityhub::sync::{self, Request, line};
use iamsweep_core::analysis::analyze_owned;
use iamsweep_core::securityhub::Scope;
use time::OffsetDateTime;

use crate::cli::InputArgs;
use crate::settings::{AuditSettings, Targets};
use crate::source;

/// `iamsweep findings`.
#[derive(Debug, Clone, Args)]
pub struct FindingsArgs {
    /// What to do with the findings.
    #[command(subcommand)]
    pub command: FindingsCommand,
}

/// The `findings` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum FindingsCommand {
    /// Import the audit's findings into AWS Security Hub (ASFF, `BatchImportFindings`), and
    /// archive those of entities now compliant or deleted. Dry run unless `--apply`.
    Import(ImportArgs),
}

/// `iamsweep findings import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Inputs, as `audit` takes them; `--region` is Security Hub's.
    #[command(flatten)]
    pub input: InputArgs,
    /// Import (without it: read Security Hub and say what would be imported or archived).
    #[arg(long)]
    pub apply: bool,
}

/// Runs `findings`.
pub async fn run(args: &FindingsArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        FindingsCommand::Import(args) => import(args).await,
    }
}

async fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let settings = AuditSettings::resolve(&args.input)?;
    if settings.targets != Targets::Caller {
        bail!(
            "findings import works on the account of the credentials: Security Hub takes an \
             account's findings only from that account\nhint: run it with each account's \
             credentials, or deploy the Lambda with EnableSecurityHub (it imports in every \
             account of the fan-out)"
        );
    }
    // The snapshot is read and checked before any AWS call.
    let facts = source::obtain(&settings).await?;
    let config = settings.connection.load().await;
    let region = config
        .region()
        .map(ToString::to_string)
        .context("no region for Security Hub\nhint: pass --region or set AWS_REGION")?;
    let clients = Clients::new(&config);
    let retry = settings.collect.retry;
    let caller = caller_identity(&clients.sts, &Pace::new(settings.collect.rate), &retry)
        .await
        .context("could not identify the account with sts:GetCallerIdentity")?;
    let report =
        analyze_owned(facts.snapshot, &settings.default_rules(), OffsetDateTime::now_utc());
    if report.account_id != caller.account_id {
        bail!(
            "the audit is of account {} and the credentials are of account {}: Security Hub \
             takes an account's findings only from that account (`AwsAccountId` must be the \
             caller's)\nhint: use credentials of account {}",
            report.account_id,
            caller.account_id,
            report.account_id
        );
    }
    let scope = scope(&settings, &report);
    let request = Request {
        report: &report,
        region: &region,
        importer_account_id: &caller.account_id,
        scope,
        apply: args.apply,
        stop: None,
        iam: &clients.iam,
        iam_rate: settings.collect.rate,
    };
    let outcome = sync::sync(&clients.securityhub, &retry, &request)
        .await
        .context("cannot read iamsweep's findings in Security Hub, so nothing was imported")?;
    let mut text = String::new();
    for entry in &outcome.entries {
        text.push_str(&line(entry));
        text.push('\n');
    }
    super::emit(None, |out| Ok(out.write_all(text.as_bytes())?))?;
    let counts = outcome.counts;
    let failed = outcome.failed();
    if args.apply {
        eprintln!(
            "Security Hub {region}: {} findings sent in {} calls ({} created, {} updated, {} \
             archived), {failed} failed, {} left as they were",
            outcome.sent(),
            outcome.calls,
            counts.create,
            counts.update,
            counts.archive,
            counts.leave
        );
    } else {
        eprintln!(
            "dry run, nothing imported: Security Hub {region} holds {} of iamsweep's findings for \
             account {}; would create {}, update {}, archive {}, leave {}\nhint: add --apply to \
             import",
            outcome.existing,
            report.account_id,
            counts.create,
            counts.update,
            counts.archive,
            counts.leave
        );
    }
    Ok(if failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// What the report covers: the kinds audited. From a snapshot only the kinds it holds count,
/// since a snapshot does not say which kinds were collected: an entity of a kind the snapshot
/// lacks is never taken for deleted.
fn scope(settings: &AuditSettings, report: &iamsweep_core::report::AuditReport) -> Scope {
    let kinds = settings
        .collect
        .kinds
        .iter()
        .copied()
        .filter(|kind| {
            settings.snapshot.is_none() || report.entities.iter().any(|entity| entity.kind == *kind)
        })
        .collect();
    // A selection by name, path or tag leaves entities of the audited kinds out of the report:
    // their absence says nothing about their deletion.
    let narrowed = !settings
        .selection
        .clone()
        .with_kinds(&iamsweep_core::model::EntityKind::ALL)
        .is_everything();
    Scope { kinds, narrowed }
}
