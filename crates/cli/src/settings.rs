//! Settings resolved once from flags, the config file and defaults (flags win).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use iamsweep_aws::advisor::PollTiming;
use iamsweep_aws::clients::Connection;
use iamsweep_aws::collector::CollectSettings;
use iamsweep_core::compliance::Rules;
use iamsweep_core::config::{Config, FailOn};
use iamsweep_core::model::{EntityKind, Granularity};

use crate::cli::{CheckArgs, GranularityArg, InputArgs};
use crate::env_vars;

/// Default window, days.
pub const DEFAULT_WINDOW_DAYS: u32 = 180;
/// Default IAM calls per second: conservative, since IAM's buckets are shared with the account.
pub const DEFAULT_RATE: f64 = 10.0;

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
    /// Which accounts: the caller's, or others through a role.
    pub targets: Targets,
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
        let config = match &input.config {
            Some(path) => load_config(path)?,
            None => Config::default(),
        };
        let audit = &config.audit;
        let window_days = input.window_days.or(audit.window_days).unwrap_or(DEFAULT_WINDOW_DAYS);
        let mut kinds = input
            .kinds
            .clone()
            .or_else(|| audit.kinds.clone())
            .unwrap_or_else(|| EntityKind::ALL.to_vec());
        kinds.sort();
        kinds.dedup();
        let granularity = match input.granularity {
            Some(GranularityArg::Service) => Granularity::Service,
            Some(GranularityArg::Action) => Granularity::Action,
            None => audit.granularity.unwrap_or_default(),
        };
        let rate = input.rate.or(audit.rate).unwrap_or(DEFAULT_RATE);
        if !(rate.is_finite() && rate > 0.0) {
            bail!("`[audit] rate` in the config must be a positive number of calls per second");
        }
        let concurrency = input
            .concurrency
            .map(|n| n as usize)
            .or(audit.concurrency)
            .unwrap_or_else(|| default_concurrency(rate));
        if concurrency == 0 {
            bail!("`[audit] concurrency` in the config must be at least 1");
        }
        let collect = CollectSettings {
            kinds,
            granularity,
            attribute: input.attribute || audit.attribute.unwrap_or(false),
            concurrency,
            rate,
            poll: poll_timing()?,
            ..CollectSettings::default()
        };
        Ok(AuditSettings {
            window_days,
            snapshot: input.snapshot.clone(),
            save_snapshot: input.save_snapshot.clone(),
            connection: Connection {
                profile: input.profile.clone(),
                region: input.region.clone(),
                endpoint_url: input.endpoint_url.clone(),
                timeouts: crate::env_vars::timeouts()?,
            },
            collect,
            config,
            targets: targets(input),
        })
    }

    /// The compliance rules of `audit` (both rules, stale after the window).
    pub fn default_rules(&self) -> Rules {
        let check = &self.config.check;
        let mut rules = Rules::new(self.window_days);
        apply_fail_on(&mut rules, check.fail_on.as_deref());
        rules.stale_days = check.stale_days.unwrap_or(self.window_days);
        rules.ignore_policies = check.ignore_policies.clone().unwrap_or_default();
        rules
    }

    /// The compliance rules of `check`: its flags over the config over the defaults.
    pub fn check_rules(&self, args: &CheckArgs) -> Rules {
        let mut rules = self.default_rules();
        if let Some(fail_on) = &args.fail_on {
            let fail_on: Vec<FailOn> = fail_on.iter().copied().map(FailOn::from).collect();
            apply_fail_on(&mut rules, Some(&fail_on));
        }
        if let Some(stale_days) = args.stale_days {
            rules.stale_days = stale_days;
        }
        if !args.ignore_policy.is_empty() {
            rules.ignore_policies = args.ignore_policy.clone();
        }
        rules
    }
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

/// Jobs in flight by default: twice the rate. A job costs two or three calls spread over its
/// latency (seconds), so this keeps the rate, not the concurrency, the limit on speed, while
/// still bounding how much is outstanding at once.
pub fn default_concurrency(rate: f64) -> usize {
    ((rate * 2.0).ceil() as usize).clamp(8, 1000)
}

fn apply_fail_on(rules: &mut Rules, fail_on: Option<&[FailOn]>) {
    if let Some(fail_on) = fail_on {
        rules.fail_on_unused = fail_on.contains(&FailOn::Unused);
        rules.fail_on_stale = fail_on.contains(&FailOn::Stale);
    }
}

/// Reads and parses a config file, naming the file and line of any problem.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file `{}`", path.display()))?;
    Config::from_toml(&text)
        .map_err(|error| anyhow::anyhow!("config file `{}`, {error}", path.display()))
}

/// Poll timing, from the environment for tests and benchmarks that run jobs with no latency.
fn poll_timing() -> anyhow::Result<PollTiming> {
    let mut poll = PollTiming::default();
    if let Some(first) = env_vars::poll_first_ms()? {
        poll.first = std::time::Duration::from_millis(first);
    }
    Ok(poll)
}
