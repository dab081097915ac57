//! Settings resolved once from flags, the config file and defaults (flags win), through the
//! resolver both binaries share ([`iamsweep_core::resolve`]): this module only says which flag
//! gives which value.

use std::path::{Path, PathBuf};

use anyhow::Context;
use iamsweep_aws::clients::Connection;
use iamsweep_aws::collector::CollectSettings;
use iamsweep_core::compliance::Rules;
use iamsweep_core::config::Config;
use iamsweep_core::model::Granularity;
use iamsweep_core::resolve::{Given, Overrides, Resolved, resolve};
use iamsweep_core::selection::Selection;

use crate::cli::{CheckArgs, GranularityArg, InputArgs};
use crate::env_vars;

/// Everything an audit needs, resolved.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// The window, days.
    pub window_days: u32,
    /// Where the data comes from: a saved snapshot, or AWS.
    pub snapshot: Option<PathBuf>,
    /// Where to save the collected snapshot.
    pub save_snapshot: Option<PathBuf>,
    /// How to reach AWS.
    pub connection: Connection,
    /// What to collect, how fast.
    pub collect: CollectSettings,
    /// The config file, parsed (default when none was given).
    pub config: Config,
    /// Every setting, resolved: the values above come from it.
    pub resolved: Resolved,
    /// Which accounts: the caller's, or others through a role.
    pub targets: Targets,
    /// Which entities: the resolved kinds and `--name`, `--path`, `--tag`. A live collection
    /// applies it through `collect.selection`; a snapshot through [`Selection::retain`].
    pub selection: Selection,
}

/// The accounts a run audits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// The account of the credentials.
    Caller,
    /// These accounts, through `role`.
    Accounts {
        /// Account ids, in the order given, without repeats.
        ids: Vec<String>,
        /// The role assumed in each.
        role: String,
    },
    /// Every active account of the Organization, through `role`.
    Organization {
        /// The role assumed in each.
        role: String,
    },
}

impl AuditSettings {
    /// Resolves the inputs shared by every command.
    pub fn resolve(input: &InputArgs) -> anyhow::Result<Self> {
        Self::resolve_with(input, Overrides::default())
    }

    /// Resolves the inputs of `check`: its flags decide the compliance rules.
    pub fn resolve_check(args: &CheckArgs) -> anyhow::Result<Self> {
        let overrides = Overrides {
            stale_days: args.stale_days.map(|days| Given::new(days, "--stale-days")),
            fail_on: args.fail_on.as_ref().map(|rules| rules.iter().map(|&r| r.into()).collect()),
            ignore_policies: args.ignore_policy.clone(),
            ..Overrides::default()
        };
        Self::resolve_with(&args.input, overrides)
    }

    /// Resolves the shared inputs, with `extra` flags of one command (`--max-changes`...).
    pub fn resolve_with(input: &InputArgs, extra: Overrides) -> anyhow::Result<Self> {
        let config = match &input.config {
            Some(path) => load_config(path)?,
            None => Config::default(),
        };
        let overrides = Overrides {
            window_days: input.window_days.map(|days| Given::new(days, "--window-days")),
            kinds: input.kinds.clone(),
            granularity: input.granularity.map(|granularity| match granularity {
                GranularityArg::Service => Granularity::Service,
                GranularityArg::Action => Granularity::Action,
            }),
            attribute: input.attribute,
            rate: input.rate.map(|rate| Given::new(rate, "--rate")),
            concurrency: input.concurrency.map(|n| Given::new(n as usize, "--concurrency")),
            account_concurrency: input
                .account_concurrency
                .map(|n| Given::new(n as usize, "--account-concurrency")),
            poll_first_ms: env_vars::poll_first_ms()?
                .map(|ms| Given::new(ms, env_vars::POLL_FIRST_MS)),
            ..extra
        };
        let file = input.config.as_ref().map(|path| path.display().to_string());
        let resolved = resolve(&config, file.as_deref(), &overrides)?;
        let selection = selection(input, &resolved)?;
        let mut collect = CollectSettings::resolved(&resolved);
        collect.selection = selection.clone();
        Ok(AuditSettings {
            window_days: resolved.window_days,
            snapshot: input.snapshot.clone(),
            save_snapshot: input.save_snapshot.clone(),
            connection: input.connection.connection()?,
            collect,
            config,
            resolved,
            targets: targets(input),
            selection,
        })
    }

    /// The compliance rules: `[check]` and, for `check`, its flags, over the defaults.
    pub fn default_rules(&self) -> Rules {
        self.resolved.rules.clone()
    }
}

/// The selection of the flags, each value checked (a bad one is refused naming its flag).
fn selection(input: &InputArgs, resolved: &Resolved) -> anyhow::Result<Selection> {
    let mut selection = Selection::default().with_kinds(&resolved.kinds);
    for glob in &input.names {
        selection.add_name(glob)?;
    }
    for prefix in &input.paths {
        selection.add_path(prefix)?;
    }
    for tag in &input.tags {
        selection.add_tag(tag)?;
    }
    Ok(selection)
}

fn targets(input: &InputArgs) -> Targets {
    match (&input.accounts, input.organization, &input.assume_role) {
        (Some(ids), _, Some(role)) => {
            let mut unique: Vec<String> = Vec::new();
            for id in ids {
                if !unique.contains(id) {
                    unique.push(id.clone());
                }
            }
            Targets::Accounts { ids: unique, role: role.clone() }
        }
        (None, true, Some(role)) => Targets::Organization { role: role.clone() },
        // clap makes `--accounts`/`--organization` and `--assume-role` require each other.
        _ => Targets::Caller,
    }
}

/// The rate of a command that takes only a config file (`rollback`), resolved as every other
/// command's.
pub fn rate_of(config: &Config, path: Option<&Path>) -> anyhow::Result<f64> {
    let file = path.map(|path| path.display().to_string());
    Ok(resolve(config, file.as_deref(), &Overrides::default())?.rate)
}

/// Reads and parses a config file, naming the file and line of any problem. The list files it
/// names are then relative to its directory, not to the current one.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file `{}`", path.display()))?;
    let mut config = Config::from_toml(&text)
        .map_err(|error| anyhow::anyhow!("config file `{}`, {error}", path.display()))?;
    config.relative_to(path.parent().unwrap_or(Path::new("")));
    Ok(config)
}
