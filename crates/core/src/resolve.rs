//! The one settings resolver of both binaries: defaults, bounds and precedence, decided once.
//!
//! The CLI passes what its flags say and the parsed config file; the Lambda passes what its
//! environment says and the config it read from S3. Both get the same [`Resolved`] settings, or
//! the same [`SettingError`] for the same bad value, naming where the value came from (a flag,
//! a variable, or a key of a named file) and the range it must lie in. A front-specific value
//! (flag or variable) wins over the config file, which wins over the default.
//!
//! Nothing here reads the environment or a file: the binaries read, this module decides.
//!
//! ```
//! use iamsweep_core::config::Config;
//! use iamsweep_core::resolve::{Given, Overrides, resolve};
//!
//! let config = Config::from_toml("[audit]\nrate = 0\n").unwrap();
//! let error = resolve(&config, Some("iamsweep.toml"), &Overrides::default()).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "`[audit] rate` in `iamsweep.toml`: expected 0.1..=1000 IAM calls per second, found 0"
//! );
//! let flags = Overrides { rate: Some(Given::new(20.0, "--rate")), ..Overrides::default() };
//! assert_eq!(resolve(&config, Some("iamsweep.toml"), &flags).unwrap().rate, 20.0);
//! ```

use std::fmt;
use std::str::FromStr;

use crate::compliance::Rules;
use crate::config::{Config, FailOn};
use crate::model::{EntityKind, Granularity};

/// Default window, days: half of Access Advisor's tracking period.
pub const DEFAULT_WINDOW_DAYS: u32 = 180;
/// Default IAM calls per second: conservative, since IAM's buckets are shared with the account.
pub const DEFAULT_RATE: f64 = 10.0;
/// Default cap on entities restricted by one run: small, so a first `apply` is a trial.
pub const DEFAULT_MAX_CHANGES: usize = 10;
/// Default age after which `apply --plan` refuses a plan.
pub const DEFAULT_MAX_PLAN_AGE_HOURS: u32 = 24;
/// Default number of accounts audited at once by `--accounts`/`--organization`: each has its
/// own IAM throttling, and four keep a laptop's memory and file handles modest.
pub const DEFAULT_ACCOUNT_CONCURRENCY: usize = 4;
/// Default time the Lambda keeps free before its deadline, seconds.
pub const DEFAULT_SAFETY_MARGIN_SECONDS: u64 = 120;

/// The inclusive range a numeric setting must lie in, and what its unit is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound<T> {
    /// Smallest accepted value.
    pub min: T,
    /// Largest accepted value.
    pub max: T,
    /// The unit, as the message says it (`days`, `IAM calls per second`).
    pub unit: &'static str,
    /// Why the range is what it is, appended to the message when not empty.
    pub why: &'static str,
}

/// `window_days`: Access Advisor tracks the last 400 days; a window of 0 makes every service
/// unused, so every entity would be bounded to nothing.
pub const WINDOW_DAYS: Bound<u32> =
    Bound { min: 1, max: 400, unit: "days", why: "Access Advisor tracks the last 400 days" };
/// `stale_days`: the same tracking period.
pub const STALE_DAYS: Bound<u32> =
    Bound { min: 1, max: 400, unit: "days", why: "Access Advisor tracks the last 400 days" };
/// `min_age_days`: 0 turns the guardrail off; beyond the tracking period more age adds no
/// history.
pub const MIN_AGE_DAYS: Bound<u32> =
    Bound { min: 0, max: 400, unit: "days", why: "Access Advisor tracks the last 400 days" };
/// `boundary.grace_days`: 0 turns grace off; a grant older than the tracking period has had
/// all the time Access Advisor can see to be used.
pub const GRACE_DAYS: Bound<u32> =
    Bound { min: 0, max: 400, unit: "days", why: "Access Advisor tracks the last 400 days" };
/// `boundary.notice_days`: 0 restricts at once; a notice longer than a quarter is no notice of
/// a change anyone still plans.
pub const NOTICE_DAYS: Bound<u32> = Bound { min: 0, max: 90, unit: "days", why: "" };
/// `max_changes`: 0 refuses every boundary change; more than an account's users and roles
/// means no cap at all, which is what a typo like `1000000` would silently give.
pub const MAX_CHANGES: Bound<usize> = Bound { min: 0, max: 10_000, unit: "entities", why: "" };
/// `max_plan_age_hours`: a plan older than a month describes an account that has moved on.
pub const MAX_PLAN_AGE_HOURS: Bound<u32> = Bound { min: 1, max: 720, unit: "hours", why: "" };
/// `rate`: must be positive (0 is not "no limit"); IAM throttles far below 1,000 calls/s.
pub const RATE: Bound<f64> = Bound { min: 0.1, max: 1000.0, unit: "IAM calls per second", why: "" };
/// `concurrency`: at least one job; beyond 1,000 jobs in flight IAM only throttles.
pub const CONCURRENCY: Bound<usize> = Bound { min: 1, max: 1000, unit: "jobs in flight", why: "" };
/// `--account-concurrency`: at least one account; memory grows with the accounts in flight.
pub const ACCOUNT_CONCURRENCY: Bound<usize> =
    Bound { min: 1, max: 64, unit: "accounts at once", why: "" };
/// The Lambda's safety margin: a run lasts at most 900 s; the template allows 0..=600.
pub const SAFETY_MARGIN_SECONDS: Bound<u64> =
    Bound { min: 0, max: 600, unit: "seconds", why: "a run lasts at most 900 seconds" };
/// The wait before a job's first poll (tests set it low); beyond a minute a run only idles.
pub const POLL_FIRST_MS: Bound<u64> = Bound { min: 0, max: 60_000, unit: "milliseconds", why: "" };

impl<T: PartialOrd + Copy + fmt::Display> Bound<T> {
    /// `value` when within the range, else what was expected and found (without the source,
    /// which the caller names).
    pub fn check(&self, value: T) -> Result<T, String> {
        // Written so that NaN, which compares false with everything, is refused.
        if value >= self.min && value <= self.max {
            return Ok(value);
        }
        let why = if self.why.is_empty() { String::new() } else { format!("; {}", self.why) };
        Err(format!("expected {}..={} {}, found {value}{why}", self.min, self.max, self.unit))
    }
}

/// A value given by a front itself (a flag or an environment variable), with its name as the
/// user wrote it: `--rate`, `IAMSWEEP_RATE`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Given<T> {
    /// The value.
    pub value: T,
    /// The flag or variable.
    pub name: &'static str,
}

impl<T> Given<T> {
    /// `value`, given under `name`.
    pub fn new(value: T, name: &'static str) -> Self {
        Given { value, name }
    }
}

impl<T: FromStr> Given<T> {
    /// Parses the text of a variable: surrounding spaces ignored, anything else unparsable
    /// refused naming the variable and what was expected (`a number`, `a whole number`).
    pub fn parse(name: &'static str, text: &str, expected: &str) -> Result<Self, SettingError> {
        text.trim().parse().map(|value| Given::new(value, name)).map_err(|_| SettingError {
            setting: format!("`{name}`"),
            message: format!("expected {expected}, found `{text}`"),
        })
    }
}

/// A setting refused, naming where it came from and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct SettingError {
    /// Where the value came from: `` `--window-days` ``, `` `IAMSWEEP_RATE` `` or
    /// `` `[audit] rate` in `FILE` ``.
    pub setting: String,
    /// What was expected and found; the same text whichever front gave the value.
    pub message: String,
}

/// What a front says over the config file. Leave a field `None` (or `false`) when the front
/// has no such flag or variable, or it was not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--window-days`.
    pub window_days: Option<Given<u32>>,
    /// `--kinds`.
    pub kinds: Option<Vec<EntityKind>>,
    /// `--granularity`.
    pub granularity: Option<Granularity>,
    /// `--attribute` (a switch: it can only turn attribution on).
    pub attribute: bool,
    /// `--rate`, `IAMSWEEP_RATE`.
    pub rate: Option<Given<f64>>,
    /// `--concurrency`.
    pub concurrency: Option<Given<usize>>,
    /// `check --stale-days`.
    pub stale_days: Option<Given<u32>>,
    /// `check --fail-on`.
    pub fail_on: Option<Vec<FailOn>>,
    /// `check --ignore-policy` (empty: not given).
    pub ignore_policies: Vec<String>,
    /// `apply --max-changes`.
    pub max_changes: Option<Given<usize>>,
    /// `--account-concurrency`.
    pub account_concurrency: Option<Given<usize>>,
    /// `IAMSWEEP_SAFETY_MARGIN_SECONDS`.
    pub safety_margin_seconds: Option<Given<u64>>,
    /// `IAMSWEEP_POLL_FIRST_MS`.
    pub poll_first_ms: Option<Given<u64>>,
}

/// Every setting of a run, defaults filled and bounds checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Days within which a last access counts as used.
    pub window_days: u32,
    /// Kinds of entity to audit, sorted, without repeats.
    pub kinds: Vec<EntityKind>,
    /// Service or action level.
    pub granularity: Granularity,
    /// Collect the policies granting each service.
    pub attribute: bool,
    /// IAM calls per second at most.
    pub rate: f64,
    /// Access Advisor jobs in flight at once.
    pub concurrency: usize,
    /// Accounts audited at once (`--account-concurrency`).
    pub account_concurrency: usize,
    /// The compliance rules of `audit` and `check` (and the Config rule).
    pub rules: Rules,
    /// Entities restricted by one run at most.
    pub max_changes: usize,
    /// Entities created fewer days before the snapshot are skipped.
    pub min_age_days: u32,
    /// `apply` refuses older plans.
    pub max_plan_age_hours: u32,
    /// A service first granted fewer days before the plan stays allowed.
    pub grace_days: u32,
    /// Days between announcing a restriction and carrying it out.
    pub notice_days: u32,
    /// Time the Lambda keeps free before its deadline, seconds.
    pub safety_margin_seconds: u64,
    /// Wait before a job's first poll, when given.
    pub poll_first_ms: Option<u64>,
}

/// Resolves `overrides` over `config` (read from `file`, a path or an `s3://` URI, when there
/// was one) over the defaults, refusing any value out of its bounds.
pub fn resolve(
    config: &Config,
    file: Option<&str>,
    overrides: &Overrides,
) -> Result<Resolved, SettingError> {
    let from = Origin { file: file.unwrap_or("(no config file)") };
    let audit = &config.audit;
    let guardrails = &config.guardrails;
    let window_days = from.pick(
        &WINDOW_DAYS,
        overrides.window_days,
        ("audit", "window_days", audit.window_days),
        DEFAULT_WINDOW_DAYS,
    )?;
    let rate = from.pick(&RATE, overrides.rate, ("audit", "rate", audit.rate), DEFAULT_RATE)?;
    let concurrency = from.pick(
        &CONCURRENCY,
        overrides.concurrency,
        ("audit", "concurrency", audit.concurrency),
        default_concurrency(rate),
    )?;
    let mut kinds = overrides
        .kinds
        .clone()
        .or_else(|| audit.kinds.clone())
        .unwrap_or_else(|| EntityKind::ALL.to_vec());
    kinds.sort();
    kinds.dedup();
    Ok(Resolved {
        window_days,
        kinds,
        granularity: overrides.granularity.or(audit.granularity).unwrap_or_default(),
        attribute: overrides.attribute || audit.attribute.unwrap_or(false),
        rate,
        concurrency,
        account_concurrency: from.pick(
            &ACCOUNT_CONCURRENCY,
            overrides.account_concurrency,
            ("", "", None),
            DEFAULT_ACCOUNT_CONCURRENCY,
        )?,
        rules: rules_of(config, &from, window_days, overrides)?,
        max_changes: from.pick(
            &MAX_CHANGES,
            overrides.max_changes,
            ("guardrails", "max_changes", guardrails.max_changes),
            DEFAULT_MAX_CHANGES,
        )?,
        // Younger entities have less history than the window: their boundary would leave out
        // services they simply had no occasion to use yet.
        min_age_days: from.pick(
            &MIN_AGE_DAYS,
            None,
            ("guardrails", "min_age_days", guardrails.min_age_days),
            window_days,
        )?,
        max_plan_age_hours: from.pick(
            &MAX_PLAN_AGE_HOURS,
            None,
            ("guardrails", "max_plan_age_hours", guardrails.max_plan_age_hours),
            DEFAULT_MAX_PLAN_AGE_HOURS,
        )?,
        grace_days: from.pick(
            &GRACE_DAYS,
            None,
            ("boundary", "grace_days", config.boundary.grace_days),
            crate::grace::DEFAULT_GRACE_DAYS,
        )?,
        notice_days: from.pick(
            &NOTICE_DAYS,
            None,
            ("boundary", "notice_days", config.boundary.notice_days),
            0,
        )?,
        safety_margin_seconds: from.pick(
            &SAFETY_MARGIN_SECONDS,
            overrides.safety_margin_seconds,
            ("", "", None),
            DEFAULT_SAFETY_MARGIN_SECONDS,
        )?,
        poll_first_ms: overrides
            .poll_first_ms
            .map(|given| from.pick(&POLL_FIRST_MS, Some(given), ("", "", None), 0))
            .transpose()?,
    })
}

/// Jobs in flight by default: twice the rate. A job costs two or three calls spread over its
/// latency (seconds), so this keeps the rate, not the concurrency, the limit on speed, while
/// still bounding how much is outstanding at once.
pub fn default_concurrency(rate: f64) -> usize {
    ((rate * 2.0).ceil() as usize).clamp(8, CONCURRENCY.max)
}

/// The compliance rules: `[check]` and the `check` flags over the window's defaults.
fn rules_of(
    config: &Config,
    from: &Origin<'_>,
    window_days: u32,
    overrides: &Overrides,
) -> Result<Rules, SettingError> {
    let check = &config.check;
    let mut rules = Rules::new(window_days);
    if let Some(fail_on) = overrides.fail_on.as_ref().or(check.fail_on.as_ref()) {
        rules.fail_on_unused = fail_on.contains(&FailOn::Unused);
        rules.fail_on_stale = fail_on.contains(&FailOn::Stale);
        rules.fail_on_idle = fail_on.contains(&FailOn::Idle);
    }
    rules.stale_days = from.pick(
        &STALE_DAYS,
        overrides.stale_days,
        ("check", "stale_days", check.stale_days),
        window_days,
    )?;
    if let Some(path) = &config.boundary.path {
        crate::boundary::validate_path(path).map_err(|message| SettingError {
            setting: format!("`[boundary] path` in `{}`", from.file),
            message,
        })?;
        rules.boundary_path = path.clone();
    }
    rules.ignore_policies = if overrides.ignore_policies.is_empty() {
        check.ignore_policies.clone().unwrap_or_default()
    } else {
        overrides.ignore_policies.clone()
    };
    Ok(rules)
}

/// The config file the values came from, to name it in messages.
struct Origin<'a> {
    file: &'a str,
}

impl Origin<'_> {
    /// The front's value, else the config's, else `default` (trusted), bounds checked.
    fn pick<T: PartialOrd + Copy + fmt::Display>(
        &self,
        bound: &Bound<T>,
        given: Option<Given<T>>,
        (section, key, configured): (&str, &str, Option<T>),
        default: T,
    ) -> Result<T, SettingError> {
        let (value, setting) = match (given, configured) {
            (Some(given), _) => (given.value, format!("`{}`", given.name)),
            (None, Some(value)) => (value, format!("`[{section}] {key}` in `{}`", self.file)),
            (None, None) => return Ok(default),
        };
        bound.check(value).map_err(|message| SettingError { setting, message })
    }
}
