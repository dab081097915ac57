//! `iamsweep org audit | plan | apply | rollback`: service control policies per OU from
//! Organizations access reports, run with the management account's credentials.
//!
//! This module holds the flags and what the subcommands share (settings, the facts a plan is
//! made from); `org_audit`, `org_apply` and `org_rollback` run them.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use iamsweep_aws::clients::Clients;
use iamsweep_aws::journal::DEFAULT_JOURNAL;
use iamsweep_aws::org::reports::collect_org;
use iamsweep_aws::org::scp::Scps;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_core::org::plan::{OrgPlan, build_org_plan};
use iamsweep_core::org::settings::OrgSettings;
use iamsweep_core::org::snapshot::OrgSnapshot;
use iamsweep_core::resolve::{Given, Overrides};
use time::OffsetDateTime;

use crate::cli::InputArgs;
use crate::settings::AuditSettings;

/// `iamsweep org`.
#[derive(Debug, Args)]
pub struct OrgArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub command: OrgCommand,
}

/// The `org` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Audit every OU and account: services the SCPs allow, used (by which accounts, when),
    /// stale and unused.
    Audit(OrgAuditArgs),
    /// Show the SCP each OU would get, what it denies and why each kept service stays. Writes
    /// nothing.
    Plan(OrgPlanArgs),
    /// Write the plan's SCPs (only with `--apply`), journaling each change.
    Apply(OrgApplyArgs),
    /// Undo what `org apply` wrote, from the journal (only with `--apply`).
    Rollback(OrgRollbackArgs),
}

/// Where an Organization's data comes from.
#[derive(Debug, Clone, Args)]
pub struct OrgInputArgs {
    /// A service last used more than this many days ago is stale, 1..=400 [default: 180].
    #[arg(long, value_name = "DAYS")]
    pub window_days: Option<u32>,
    /// Analyse a saved Organization snapshot instead of collecting one.
    #[arg(long, value_name = "FILE", conflicts_with = "save_snapshot")]
    pub snapshot: Option<PathBuf>,
    /// Save what was collected as an Organization snapshot.
    #[arg(long, value_name = "FILE")]
    pub save_snapshot: Option<PathBuf>,
    /// A TOML configuration file (`[org]` and the other sections; see README).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// AWS profile to use instead of the default chain.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (also `AWS_ENDPOINT_URL`).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Access report jobs in flight at once, 1..=1000 [default: twice --rate, at least 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// IAM and Organizations calls per second at most, 0.1..=1000 [default: 10].
    #[arg(long, value_name = "CALLS_PER_SECOND")]
    pub rate: Option<f64>,
}

impl OrgInputArgs {
    /// The shared inputs, as the account commands take them.
    fn as_input(&self) -> InputArgs {
        InputArgs {
            window_days: self.window_days,
            kinds: None,
            // The org commands judge services per OU, not per entity: no selection.
            names: Vec::new(),
            paths: Vec::new(),
            tags: Vec::new(),
            granularity: None,
            attribute: false,
            snapshot: self.snapshot.clone(),
            save_snapshot: self.save_snapshot.clone(),
            config: self.config.clone(),
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            concurrency: self.concurrency,
            rate: self.rate,
            accounts: None,
            organization: false,
            assume_role: None,
            account_concurrency: None,
        }
    }
}

/// `iamsweep org audit`.
#[derive(Debug, Clone, Args)]
pub struct OrgAuditArgs {
    /// Inputs.
    #[command(flatten)]
    pub input: OrgInputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OrgFormat::Table)]
    pub format: OrgFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `org audit` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrgFormat {
    /// Tables for the terminal.
    Table,
    /// The `iamsweep.org-audit/v1` JSON document.
    Json,
    /// One row per unit or account and service.
    Csv,
    /// Markdown tables.
    Markdown,
    /// One self-contained HTML page: units and accounts, each with its services.
    Html,
}

/// `iamsweep org plan`.
#[derive(Debug, Clone, Args)]
pub struct OrgPlanArgs {
    /// Inputs.
    #[command(flatten)]
    pub input: OrgInputArgs,
    /// How to show the plan on stdout.
    #[arg(long, value_enum, default_value_t = OrgPlanFormat::Table)]
    pub format: OrgPlanFormat,
    /// Also write the plan (`iamsweep.org-plan/v1` JSON) to this file, for `org apply --plan`.
    #[arg(long, value_name = "PLAN.json")]
    pub output: Option<PathBuf>,
}

/// `org plan` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrgPlanFormat {
    /// A table per OU for the terminal.
    Table,
    /// The `iamsweep.org-plan/v1` JSON document.
    Json,
    /// Markdown, for a change ticket.
    Markdown,
}

/// `iamsweep org apply`.
#[derive(Debug, Clone, Args)]
pub struct OrgApplyArgs {
    /// Inputs, when no `--plan` is given: a plan is made from them first.
    #[command(flatten)]
    pub input: OrgInputArgs,
    /// Apply this plan file (from `org plan --output`) instead of planning now.
    #[arg(long, value_name = "PLAN.json", conflicts_with_all = ["snapshot", "save_snapshot"])]
    pub plan: Option<PathBuf>,
    /// Really write. Without it, print what would be written and write nothing.
    #[arg(long)]
    pub apply: bool,
    /// At most this many OUs changed in this run [default: `[org] max_changes`, else 5].
    #[arg(long, value_name = "N")]
    pub max_changes: Option<usize>,
    /// Journal location: a directory or `s3://bucket/prefix` [default: ./iamsweep-journal].
    #[arg(long, value_name = "DIR_OR_S3_URI", default_value = DEFAULT_JOURNAL)]
    pub journal: String,
}

/// `iamsweep org rollback`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["ou", "run", "all"])))]
pub struct OrgRollbackArgs {
    /// Roll back these OUs (or the root), by id.
    #[arg(long, value_name = "OU_ID", num_args = 1..)]
    pub ou: Vec<String>,
    /// Roll back every change of one run.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Roll back everything the journal records.
    #[arg(long)]
    pub all: bool,
    /// Really write. Without it, print what would be written and write nothing.
    #[arg(long)]
    pub apply: bool,
    /// Journal location: a directory or `s3://bucket/prefix` [default: ./iamsweep-journal].
    #[arg(long, value_name = "DIR_OR_S3_URI", default_value = DEFAULT_JOURNAL)]
    pub journal: String,
    /// A TOML configuration file (for `[audit] rate`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// AWS profile to use instead of the default chain.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (also `AWS_ENDPOINT_URL`).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Runs an `org` subcommand.
pub async fn run(args: &OrgArgs) -> anyhow::Result<std::process::ExitCode> {
    match &args.command {
        OrgCommand::Audit(args) => super::org_audit::run(args).await,
        OrgCommand::Plan(args) => super::org_apply::plan(args).await,
        OrgCommand::Apply(args) => super::org_apply::apply(args).await,
        OrgCommand::Rollback(args) => super::org_rollback::run(args).await,
    }
}

/// Everything an `org` run needs, resolved before any AWS call.
pub struct OrgRun {
    /// The shared settings (connection, rate, window, config).
    pub settings: AuditSettings,
    /// `[org]`, resolved.
    pub org: OrgSettings,
}

impl OrgRun {
    /// Resolves flags and config; `max_changes` is `org apply --max-changes`.
    pub fn resolve(input: &OrgInputArgs, max_changes: Option<usize>) -> anyhow::Result<OrgRun> {
        let settings = AuditSettings::resolve_with(&input.as_input(), Overrides::default())?;
        let file = input.config.as_ref().map(|path| path.display().to_string());
        let org = OrgSettings::resolve(
            &settings.config.org,
            file.as_deref(),
            settings.window_days,
            max_changes.map(|n| Given::new(n, "--max-changes")),
        )?;
        Ok(OrgRun { settings, org })
    }

    /// The AWS side: clients, one pace, retries.
    pub async fn connect(&self) -> OrgAws {
        let sdk = self.settings.connection.load().await;
        let retry = RetryPolicy::default();
        OrgAws {
            clients: Clients::new(&sdk),
            pace: Pace::new(self.settings.collect.rate),
            retry,
            sdk,
        }
    }

    /// The snapshot: read from `--snapshot` (checked strictly), or collected (and saved when
    /// asked).
    pub async fn snapshot(&self, aws: Option<&OrgAws>) -> anyhow::Result<OrgSnapshot> {
        if let Some(path) = &self.settings.snapshot {
            return load_org_snapshot(path);
        }
        let aws = match aws {
            Some(aws) => aws,
            None => &self.connect().await,
        };
        let snapshot = collect_org(&aws.clients, &self.settings.collect).await?;
        if let Some(path) = &self.settings.save_snapshot {
            std::fs::write(path, snapshot.to_json())
                .with_context(|| format!("cannot write the snapshot to `{}`", path.display()))?;
            tracing::info!(path = %path.display(), "Organization snapshot saved");
        }
        Ok(snapshot)
    }

    /// Makes a plan now: the snapshot, then the SCPs attached to each unit.
    pub async fn make_plan(&self, aws: &OrgAws) -> anyhow::Result<OrgPlan> {
        let snapshot = self.snapshot(Some(aws)).await?;
        let caller = iamsweep_aws::identity::caller_identity(
            &aws.clients.sts,
            &aws.pace,
            &aws.retry,
        )
        .await
        .context(
            "could not identify the caller with sts:GetCallerIdentity; check the credentials",
        )?;
        if caller.account_id != snapshot.management_account_id {
            bail!(
                "the snapshot is of the Organization managed by {}, but the credentials are of \
                 account {}; SCPs are planned and written with the management account's credentials",
                snapshot.management_account_id,
                caller.account_id
            );
        }
        let ids: Vec<String> = snapshot.units.iter().map(|unit| unit.id.clone()).collect();
        let live = aws.scps().live_all(&ids).await.context("could not read the SCPs attached")?;
        Ok(build_org_plan(&snapshot, &live, &self.org, OffsetDateTime::now_utc()))
    }
}

/// The AWS side of an `org` run.
pub struct OrgAws {
    /// The clients.
    pub clients: Clients,
    /// The run's pace.
    pub pace: Pace,
    /// Retries.
    pub retry: RetryPolicy,
    /// The SDK configuration (for the S3 client of an `s3://` journal).
    pub sdk: aws_config::SdkConfig,
}

impl OrgAws {
    /// SCP reads and writes.
    pub fn scps(&self) -> Scps<'_> {
        Scps { organizations: &self.clients.organizations, pace: &self.pace, retry: self.retry }
    }
}

/// Reads and checks an Organization snapshot file, naming the file, line and field of any
/// problem.
pub fn load_org_snapshot(path: &std::path::Path) -> anyhow::Result<OrgSnapshot> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the snapshot `{}`", path.display()))?;
    OrgSnapshot::from_slice(&bytes)
        .map_err(|error| anyhow::anyhow!("Organization snapshot `{}`, {error}", path.display()))
}
