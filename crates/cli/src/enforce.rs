//! What `plan`, `apply` and `rollback` share: their flags, the enforcement settings (config,
//! list files from disk or S3, flags), and the facts a plan is made from.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use iamsweep_aws::clients::Clients;
use iamsweep_aws::collector::{Collection, collect};
use iamsweep_aws::identity::{CallerIdentity, caller_identity};
use iamsweep_aws::inventory::LocalPolicy;
use iamsweep_aws::journal::{DEFAULT_JOURNAL, JournalStore};
use iamsweep_aws::live::{live_state, read_live_state};
use iamsweep_aws::location::ListFiles;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_aws::s3::{self, S3};
use iamsweep_aws::state_store::{DEFAULT_STATE, StateStore, observe};
use iamsweep_core::analysis::analyze;
use iamsweep_core::config::Config;
use iamsweep_core::error::Location as ErrorLocation;
use iamsweep_core::plan::{LiveState, Plan, build_plan_with};
use iamsweep_core::report::AuditReport;
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::snapshot::Snapshot;
use time::OffsetDateTime;

use crate::cli::{ConnectionArgs, InputArgs};
use crate::progress::Bar;
use crate::settings::AuditSettings;
use crate::source::load_snapshot;

/// `iamsweep plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Inputs (a live collection, or `--snapshot`).
    #[command(flatten)]
    pub input: InputArgs,
    /// How to show the plan on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// Also write the plan (`iamsweep.plan/v3` JSON) to this file, for `apply --plan`.
    #[arg(long, value_name = "PLAN.json")]
    pub output: Option<PathBuf>,
    /// Replace boundaries that iamsweep did not create (default: leave them and report them).
    #[arg(long)]
    pub replace_foreign_boundaries: bool,
    /// State store: a directory or `s3://bucket/prefix` holding each entity's grant history
    /// (read for `boundary.grace_days`, and updated with what this run saw).
    #[arg(long, value_name = "DIR_OR_S3_URI", default_value = DEFAULT_STATE)]
    pub state: String,
}

/// `iamsweep apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// Inputs, when no `--plan` is given: a plan is made from them first.
    #[command(flatten)]
    pub input: InputArgs,
    /// Apply this plan file (from `plan --output`) instead of planning now.
    /// A plan file is applied whole, as reviewed: the selection flags (`--kinds`, `--name`,
    /// `--path`, `--tag`) are refused with it; select when running `plan`.
    #[arg(long, value_name = "PLAN.json", conflicts_with_all = ["snapshot", "save_snapshot",
          "replace_foreign_boundaries", "kinds", "names", "paths", "tags"])]
    pub plan: Option<PathBuf>,
    /// Really write. Without it, print what would be written and write nothing.
    #[arg(long)]
    pub apply: bool,
    /// At most this many entities restricted (boundary changed) in this run
    /// [default: guardrails.max_changes, else 10].
    #[arg(long, value_name = "N")]
    pub max_changes: Option<usize>,
    /// Journal location: a directory or `s3://bucket/prefix`.
    #[arg(long, value_name = "DIR_OR_S3_URI", default_value = DEFAULT_JOURNAL)]
    pub journal: String,
    /// Replace boundaries that iamsweep did not create (default: leave them and report them).
    #[arg(long)]
    pub replace_foreign_boundaries: bool,
    /// State store: a directory or `s3://bucket/prefix` holding each entity's grant history
    /// (read for `boundary.grace_days`, and updated with what this run saw; not used with
    /// `--plan`, whose facts hold what it was decided from).
    #[arg(long, value_name = "DIR_OR_S3_URI", default_value = DEFAULT_STATE)]
    pub state: String,
}

/// `iamsweep rollback`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["entity", "run", "all"])))]
pub struct RollbackArgs {
    /// Roll back these users or roles (ARN or name), from the journal, or from their
    /// previous-boundary tag when the journal has nothing on them.
    #[arg(long, value_name = "ARN_OR_NAME", num_args = 1..)]
    pub entity: Vec<String>,
    /// Roll back every change of one run.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Roll back everything the journal (or, without one, the previous-boundary tags) records.
    #[arg(long)]
    pub all: bool,
    /// Really write. Without it, print what would be written and write nothing.
    #[arg(long)]
    pub apply: bool,
    /// Journal location: a directory or `s3://bucket/prefix`.
    #[arg(long, value_name = "DIR_OR_S3_URI", default_value = DEFAULT_JOURNAL)]
    pub journal: String,
    /// A TOML configuration file (the boundary path and tag keys come from it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How to reach AWS.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `plan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A table for the terminal.
    Table,
    /// The `iamsweep.plan/v3` JSON document.
    Json,
    /// A Markdown table, for a pull request or a change ticket.
    Markdown,
    /// One self-contained HTML page: the audit and, per entity, what the plan does.
    Html,
}

/// The AWS side of an enforcement run: clients, one pace for every call, retries.
pub struct Aws {
    /// IAM and STS.
    pub clients: Clients,
    /// S3, for list files and the journal.
    pub s3: S3,
    /// The run's shared pace.
    pub pace: Pace,
    /// Retries.
    pub retry: RetryPolicy,
    /// The `--profile`, named in credential errors.
    pub profile: Option<String>,
}

impl Aws {
    /// Connects (lazily: no call is made here).
    pub async fn connect(connection: &iamsweep_aws::clients::Connection, rate: f64) -> Self {
        let sdk = connection.load().await;
        let retry = RetryPolicy::default();
        Aws {
            clients: Clients::new(&sdk),
            s3: S3 { client: s3::client(&sdk), retry },
            pace: Pace::new(rate),
            retry,
            profile: connection.profile.clone(),
        }
    }

    /// Who runs iamsweep.
    pub async fn caller(&self) -> anyhow::Result<CallerIdentity> {
        let result = caller_identity(&self.clients.sts, &self.pace, &self.retry).await.context(
            "could not identify the caller with sts:GetCallerIdentity; check the credentials",
        );
        match &self.profile {
            Some(profile) => result.with_context(|| crate::source::profile_context(profile)),
            None => result,
        }
    }

    /// The state store at `location`.
    pub fn state(&self, location: &str) -> anyhow::Result<StateStore> {
        StateStore::parse(location, Some(self.s3.clone()))
            .with_context(|| format!("invalid state location `{location}`"))
    }

    /// The journal at `location`.
    pub fn journal(&self, location: &str) -> anyhow::Result<JournalStore> {
        JournalStore::parse(location, Some(self.s3.clone()))
            .with_context(|| format!("invalid journal location `{location}`"))
    }
}

/// Resolves the enforcement settings: the config, its list files (read now, from disk or S3),
/// and the flags. A list file that cannot be read stops the run: it never means "no entries".
pub async fn resolve_settings(
    config: &Config,
    config_path: Option<&std::path::Path>,
    window_days: u32,
    aws: &Aws,
    replace_foreign_boundaries: bool,
) -> anyhow::Result<EnforceSettings> {
    let files = ListFiles::read(config, Some(&aws.s3), &aws.pace).await?;
    let lists = files.texts();
    let mut settings = EnforceSettings::resolve(config, window_days, &lists).map_err(|error| {
        match &error.location {
            // A list file's error names the file and line itself.
            ErrorLocation::File { .. } => anyhow::anyhow!("list file {error}"),
            _ => anyhow::anyhow!(
                "config file `{}`, {error}",
                config_path.map_or("(none)".to_string(), |path| path.display().to_string())
            ),
        }
    })?;
    if replace_foreign_boundaries {
        settings.boundary.replace_foreign_boundaries = true;
    }
    Ok(settings)
}

/// Collects (or loads) the facts and makes a plan. With `--snapshot`, the principal to protect
/// is the one running iamsweep now, not the one that collected the snapshot.
pub async fn make_plan(
    settings: &AuditSettings,
    enforce: &EnforceSettings,
    aws: &Aws,
    state: &StateStore,
) -> anyhow::Result<Plan> {
    Ok(make_plan_and_report(settings, enforce, aws, state).await?.0)
}

/// [`make_plan`], with the audit report it was made from (the HTML plan shows both).
pub async fn make_plan_and_report(
    settings: &AuditSettings,
    enforce: &EnforceSettings,
    aws: &Aws,
    state: &StateStore,
) -> anyhow::Result<(Plan, AuditReport)> {
    if !matches!(settings.targets, crate::settings::Targets::Caller) {
        bail!(
            "plan and apply act on the account of the credentials; --accounts and \
             --organization are for audit and check\nhint: run plan and apply with each \
             account's credentials, or deploy the Lambda fan-out (README, Running in AWS)"
        );
    }
    let (snapshot, live, local_policies) = gather(settings, enforce, aws).await?;
    let now = OffsetDateTime::now_utc();
    let report = analyze(&snapshot, &settings.default_rules(), now);
    // Every plan records what it saw in the state store (never in IAM): the grant history is
    // made of observations, and a plan is one.
    let unusable = "the state store could not be used; nothing was written to IAM";
    let mut observed =
        observe(state, &aws.clients.iam, &aws.pace, &aws.retry, &snapshot, &local_policies, now)
            .await
            .context(unusable)?;
    let plan = build_plan_with(&snapshot, &report, &live, enforce, &observed.history, now);
    // The announcements the plan makes (or forgets) are kept for the next run to compare.
    iamsweep_core::notice::record(&mut observed.state, &plan);
    state.write(&aws.pace, &observed.state).await.context(unusable)?;
    Ok((plan, report))
}

async fn gather(
    settings: &AuditSettings,
    enforce: &EnforceSettings,
    aws: &Aws,
) -> anyhow::Result<(Snapshot, LiveState, Vec<LocalPolicy>)> {
    let path = &enforce.boundary.path;
    if let Some(file) = &settings.snapshot {
        let mut snapshot = load_snapshot(file)?;
        settings.selection.retain(&mut snapshot.entities);
        let caller = aws.caller().await?;
        if caller.account_id != snapshot.account_id {
            bail!(
                "the snapshot `{}` is of account {}, but the credentials are of account {}; a plan \
                 must be made and applied in the snapshot's account",
                file.display(),
                snapshot.account_id,
                caller.account_id
            );
        }
        snapshot.caller_arn = Some(caller.arn);
        let live = read_live_state(&aws.clients.iam, &aws.pace, &aws.retry, path)
            .await
            .context("could not read iamsweep's boundary policies")?;
        return Ok((snapshot, live, Vec::new()));
    }
    let mut collect_settings = settings.collect.clone();
    collect_settings.include_local_policies = true;
    // Which policy grants each unused service dates that service's grant (see
    // `iamsweep_core::grace`); without it, the entity's newest policy dates them all.
    collect_settings.attribute |= enforce.boundary.grace_days > 0;
    let bar = Bar::new();
    let Collection { snapshot, local_policies, .. } =
        collect(&aws.clients, &collect_settings, &bar)
            .await
            .map_err(|error| crate::source::naming_profile(error, aws.profile.as_deref()))?;
    bar.finish();
    if let Some(file) = &settings.save_snapshot {
        std::fs::write(file, snapshot.to_json())
            .with_context(|| format!("cannot write the snapshot to `{}`", file.display()))?;
    }
    let live = live_state(&local_policies, path);
    Ok((snapshot, live, local_policies))
}
