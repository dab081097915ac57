//! Command-line flags. Defaults that a config file can override are `Option`s here and are
//! resolved once in [`crate::settings`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use iamsweep_core::config::FailOn;

/// iamsweep: least privilege for IAM users, roles and groups, from Access Advisor data.
#[derive(Debug, Parser)]
#[command(name = "iamsweep", version = crate::VERSION, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: `text` for people, `json` (one object a line) for log pipelines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Print only errors on stderr: no progress, logs or summary lines (the report on stdout,
    /// which was asked for, is still written).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line, with the original sample's fields.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit every user, role and group: services granted, used, stale and unused.
    Audit(AuditArgs),
    /// Compliance gate: one line per non-compliant entity; exit 1 if any, 0 if none.
    Check(CheckArgs),
    /// Show the tags and permissions boundaries `apply` would write, and every skip with its
    /// reason. Writes nothing to IAM.
    Plan(crate::enforce::PlanArgs),
    /// Write the plan's tags and boundaries (only with `--apply`), journaling each change.
    Apply(crate::enforce::ApplyArgs),
    /// Undo what `apply` wrote, from the journal or the previous-boundary tag (only with
    /// `--apply`).
    Rollback(crate::enforce::RollbackArgs),
    /// Findings in AWS Security Hub: `findings import` sends the audit's (dry run unless
    /// `--apply`).
    Findings(crate::commands::findings::FindingsArgs),
    /// Give bounded users and roles back the services their iamsweep boundary denied them
    /// since it was attached (only with `--apply`).
    Heal(crate::commands::heal::HealArgs),
    /// Service control policies per OU from Organizations access reports: `org audit`,
    /// `org plan`, `org apply`, `org rollback` (management account credentials).
    Org(crate::commands::org::OrgArgs),
    /// Print a shell completion script for bash, zsh, fish or powershell on stdout.
    Completions(CompletionsArgs),
}

/// `iamsweep completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell, such as `bash` (`iamsweep completions bash > /etc/bash_completion.d/iamsweep`).
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// How to reach AWS: the flags of every command that calls it, declared once.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectionArgs {
    /// AWS profile to use instead of the default chain.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (IAM and Organizations are global: it picks the STS, S3 and Security Hub
    /// endpoints).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (also `AWS_ENDPOINT_URL`).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl ConnectionArgs {
    /// The connection these flags name, with the timeouts from the environment.
    pub fn connection(&self) -> anyhow::Result<iamsweep_aws::clients::Connection> {
        Ok(iamsweep_aws::clients::Connection {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            timeouts: crate::env_vars::timeouts()?,
        })
    }
}

/// Where the data comes from, what to collect, how fast.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// A service last used more than this many days ago is stale, 1..=400 [default: 180].
    #[arg(long, value_name = "DAYS")]
    pub window_days: Option<u32>,
    /// Kinds of entity to audit, comma-separated [default: users,roles,groups].
    #[arg(long, value_delimiter = ',', value_name = "KINDS", value_parser = parse_kind)]
    pub kinds: Option<Vec<iamsweep_core::model::EntityKind>>,
    /// Only entities whose name matches this glob (`*`, `?`; case-insensitive). Repeatable: any
    /// of them matches. Selection flags combine with AND.
    #[arg(long = "name", value_name = "GLOB")]
    pub names: Vec<String>,
    /// Only entities whose IAM path starts with this prefix, such as `/ci/`. Repeatable: any
    /// of them matches.
    #[arg(long = "path", value_name = "PREFIX")]
    pub paths: Vec<String>,
    /// Only users and roles with this tag (key without case), with this value if given.
    /// Repeatable: any of them matches. Groups have no tags, so this leaves them out.
    #[arg(long = "tag", value_name = "KEY[=VALUE]")]
    pub tags: Vec<String>,
    /// `service`, or `action` for last use of each tracked action [default: service].
    #[arg(long, value_enum)]
    pub granularity: Option<GranularityArg>,
    /// Also name the policies that grant each stale or unused service.
    #[arg(long)]
    pub attribute: bool,
    /// Analyse a saved snapshot instead of calling AWS.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Save what was collected as a snapshot, for offline analysis later.
    #[arg(long, value_name = "FILE")]
    pub save_snapshot: Option<PathBuf>,
    /// A TOML configuration file (see README for every key).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How to reach AWS.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Access Advisor jobs in flight at once, 1..=1000 [default: twice --rate, at least 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// IAM calls per second at most, 0.1..=1000, across the whole run [default: 10]; per
    /// account with `--accounts` or `--organization`.
    #[arg(long, value_name = "CALLS_PER_SECOND")]
    pub rate: Option<f64>,
    /// Audit these accounts (comma-separated ids) through `--assume-role`.
    #[arg(long, value_delimiter = ',', value_name = "ID,ID", value_parser = parse_account_id,
          group = "targets", requires = "assume_role", conflicts_with_all = ["snapshot", "save_snapshot"])]
    pub accounts: Option<Vec<String>>,
    /// Audit every active account of the Organization (`organizations:ListAccounts`, from the
    /// management or a delegated administrator account) through `--assume-role`.
    #[arg(long, group = "targets", requires = "assume_role",
          conflicts_with_all = ["snapshot", "save_snapshot"])]
    pub organization: bool,
    /// The role to assume in each account of `--accounts` or `--organization` (a name, or
    /// `path/name`); one session per account for the whole run.
    #[arg(long, value_name = "NAME", requires = "targets")]
    pub assume_role: Option<String>,
    /// Accounts audited at once with `--accounts` or `--organization`, 1..=64 [default: 4]. Each has
    /// its own IAM throttling, so more go faster; memory grows with this, not with the number
    /// of accounts.
    #[arg(long, value_name = "N", requires = "targets")]
    pub account_concurrency: Option<u32>,
}

/// `iamsweep audit`.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Inputs.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `iamsweep check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Inputs.
    #[command(flatten)]
    pub input: InputArgs,
    /// Rules that make an entity non-compliant [default: unused,stale].
    #[arg(long, value_delimiter = ',', value_enum, value_name = "RULES")]
    pub fail_on: Option<Vec<FailOnArg>>,
    /// Days without access that break the `stale` rule [default: the window].
    #[arg(long, value_name = "DAYS")]
    pub stale_days: Option<u32>,
    /// Ignore services granted only by this policy (name or ARN); repeatable.
    #[arg(long, value_name = "NAME_OR_ARN")]
    pub ignore_policy: Vec<String>,
    /// `text` (one line per finding), `json` (the audit report) or `html` (the report as a
    /// page); the exit code is the same.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Fail only on findings of this severity or above: informational, low, medium, high or
    /// critical [default: every finding].
    #[arg(long, value_name = "LEVEL", value_parser = parse_severity)]
    pub min_severity: Option<iamsweep_core::risk::Severity>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// The `iamsweep.audit/v1` JSON document.
    Json,
    /// One row per entity.
    Csv,
    /// A Markdown table, one row per entity.
    Markdown,
    /// One self-contained HTML page (charts, sortable and filterable table), to open offline
    /// or attach to a ticket.
    Html,
    /// AWS Security Finding Format: the body of Security Hub's `BatchImportFindings`, one
    /// finding per entity (one account).
    Asff,
    /// OCSF 1.5.0 Detection Findings, a JSON array, one per entity (one account).
    Ocsf,
}

impl Format {
    /// Whether this format is findings of one account (`asff`, `ocsf`).
    pub fn is_findings(self) -> bool {
        matches!(self, Format::Asff | Format::Ocsf)
    }
}

/// `check` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One line per non-compliant or failed entity.
    Text,
    /// The audit report as JSON.
    Json,
    /// The audit report under the gate's rules, as one self-contained HTML page.
    Html,
}

/// `--granularity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GranularityArg {
    /// Per service.
    Service,
    /// Per tracked action too.
    Action,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// Services never accessed in the tracking period.
    Unused,
    /// Services not accessed for `--stale-days`.
    Stale,
    /// Entities that used no service within the window (roles: `RoleLastUsed` too).
    Idle,
}

impl From<FailOnArg> for FailOn {
    fn from(value: FailOnArg) -> Self {
        match value {
            FailOnArg::Unused => FailOn::Unused,
            FailOnArg::Stale => FailOn::Stale,
            FailOnArg::Idle => FailOn::Idle,
        }
    }
}

fn parse_kind(text: &str) -> Result<iamsweep_core::model::EntityKind, String> {
    iamsweep_core::model::EntityKind::parse(text)
        .ok_or_else(|| format!("expected `users`, `roles` or `groups`, found `{text}`"))
}

fn parse_severity(text: &str) -> Result<iamsweep_core::risk::Severity, String> {
    iamsweep_core::risk::Severity::parse(text).ok_or_else(|| {
        format!("expected `informational`, `low`, `medium`, `high` or `critical`, found `{text}`")
    })
}

fn parse_account_id(text: &str) -> Result<String, String> {
    let id = text.trim();
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_string())
    } else {
        Err(format!("expected a 12-digit account id, found `{text}`"))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Whether clap's help shows the argument's default as `[default: ...]` (as clap's help
    /// template decides: an argument that takes a value, with a default, not hidden).
    fn clap_shows_default(arg: &clap::Arg) -> bool {
        arg.get_action().takes_values()
            && !arg.is_hide_default_value_set()
            && !arg.get_default_values().is_empty()
    }

    /// Every argument of `command` and of its subcommands, depth first, named by its path.
    fn walk(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            out.push((format!("{path} --{}", arg.get_id()), arg.clone()));
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    // Regression (issue 10, item 7): `apply --help` and `org apply|rollback --help` showed
    // `[default: ./iamsweep-journal]` twice, the doc comment repeating clap's `default_value`.
    #[test]
    fn every_default_is_shown_once_in_help() {
        let mut arguments = Vec::new();
        walk(&Cli::command(), "iamsweep", &mut arguments);
        assert!(arguments.len() > 100, "the walk reaches every subcommand");
        let mut problems = Vec::new();
        for (name, arg) in arguments {
            let help: String = [arg.get_help(), arg.get_long_help()]
                .into_iter()
                .flatten()
                .map(|text| text.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            let in_prose = help.matches("[default:").count();
            if clap_shows_default(&arg) {
                if help.to_lowercase().contains("default") {
                    problems.push(format!("{name}: clap shows the default, the help says it too"));
                }
            } else if in_prose > 1 {
                problems.push(format!("{name}: the help shows a default {in_prose} times"));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
