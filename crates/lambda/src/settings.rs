//! The Lambda's settings: environment variables (see [`crate::env_vars`]), then the optional TOML
//! config from S3, resolved once per cold start into the same types the CLI uses.

use std::time::Duration;

use anyhow::{Context, bail};
use iamsweep_aws::collector::CollectSettings;
use iamsweep_aws::s3::S3Uri;
use iamsweep_core::compliance::Rules;
use iamsweep_core::config::Config;

use crate::env_vars;

/// Default window, days (as the CLI).
pub const DEFAULT_WINDOW_DAYS: u32 = 180;
/// Default IAM calls per second per account (as the CLI).
pub const DEFAULT_RATE: f64 = 10.0;
/// Default time kept free before the deadline.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(120);

/// What the environment says.
#[derive(Debug, Clone)]
pub struct EnvSettings {
    /// `IAMSWEEP_CONFIG`.
    pub config: Option<S3Uri>,
    /// `IAMSWEEP_ENFORCE=true`.
    pub enforce: bool,
    /// `IAMSWEEP_STATE`.
    pub state: Option<S3Uri>,
    /// `IAMSWEEP_JOURNAL`, as given (`JournalStore::parse` reads it).
    pub journal: Option<String>,
    /// `IAMSWEEP_SAFETY_MARGIN_SECONDS`.
    pub safety_margin: Duration,
    /// `IAMSWEEP_RATE`.
    pub rate: Option<f64>,
    /// `IAMSWEEP_POLL_FIRST_MS`.
    pub poll_first: Option<Duration>,
}

impl EnvSettings {
    /// Reads the settings through `lookup` (`std::env::var` in the function; a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let s3 = |name: &str| -> anyhow::Result<Option<S3Uri>> {
            match lookup(name) {
                None => Ok(None),
                Some(text) if text.trim().is_empty() => Ok(None),
                Some(text) => match S3Uri::parse(text.trim()) {
                    Some(Ok(uri)) => Ok(Some(uri)),
                    Some(Err(message)) => bail!("`{name}`: {message}"),
                    None => bail!("`{name}` must be an `s3://bucket/key` URI, found `{text}`"),
                },
            }
        };
        let number = |name: &str| -> anyhow::Result<Option<f64>> {
            lookup(name)
                .map(|text| {
                    text.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|value| value.is_finite() && *value >= 0.0)
                        .with_context(|| format!("`{name}` must be a number, found `{text}`"))
                })
                .transpose()
        };
        Ok(EnvSettings {
            config: s3(env_vars::CONFIG)?,
            // Only the exact word turns writes on: a typo must not enforce.
            enforce: lookup(env_vars::ENFORCE).is_some_and(|value| value.trim() == "true"),
            state: s3(env_vars::STATE)?,
            journal: lookup(env_vars::JOURNAL).filter(|text| !text.trim().is_empty()),
            safety_margin: number(env_vars::SAFETY_MARGIN_SECONDS)?
                .map_or(DEFAULT_SAFETY_MARGIN, Duration::from_secs_f64),
            rate: number(env_vars::RATE)?.filter(|rate| *rate > 0.0),
            poll_first: number(env_vars::POLL_FIRST_MS)?.map(|ms| Duration::from_millis(ms as u64)),
        })
    }
}

/// Everything a run needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// From the environment.
    pub env: EnvSettings,
    /// The config (default when `IAMSWEEP_CONFIG` is unset).
    pub config: Config,
    /// The window, days.
    pub window_days: u32,
    /// What to collect, how fast (the deadline is set per invocation).
    pub collect: CollectSettings,
}

impl Settings {
    /// Resolves the environment and the config text (already read from S3).
    pub fn resolve(env: EnvSettings, config_text: Option<&str>) -> anyhow::Result<Self> {
        let config = match (config_text, &env.config) {
            (Some(text), Some(uri)) => Config::from_toml(text)
                .map_err(|error| anyhow::anyhow!("config `{uri}`, {error}"))?,
            _ => Config::default(),
        };
        let audit = &config.audit;
        let window_days = audit.window_days.unwrap_or(DEFAULT_WINDOW_DAYS);
        let rate = env.rate.or(audit.rate).unwrap_or(DEFAULT_RATE);
        let mut collect = CollectSettings {
            kinds: audit.kinds.clone().unwrap_or(CollectSettings::default().kinds),
            granularity: audit.granularity.unwrap_or_default(),
            attribute: audit.attribute.unwrap_or(false),
            concurrency: audit.concurrency.unwrap_or(((rate * 2.0).ceil() as usize).clamp(8, 1000)),
            rate,
            ..CollectSettings::default()
        };
        if let Some(first) = env.poll_first {
            collect.poll.first = first;
        }
        Ok(Settings { env, config, window_days, collect })
    }

    /// The `check` rules (the config's `[check]` over the defaults), as the CLI's `check`.
    pub fn rules(&self) -> Rules {
        let check = &self.config.check;
        let mut rules = Rules::new(self.window_days);
        if let Some(fail_on) = &check.fail_on {
            rules.fail_on_unused = fail_on.contains(&iamsweep_core::config::FailOn::Unused);
            rules.fail_on_stale = fail_on.contains(&iamsweep_core::config::FailOn::Stale);
        }
        rules.stale_days = check.stale_days.unwrap_or(self.window_days);
        rules.ignore_policies = check.ignore_policies.clone().unwrap_or_default();
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> anyhow::Result<EnvSettings> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        EnvSettings::from_lookup(|name| {
            pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn enforcement_is_on_only_when_asked_in_so_many_words() {
        assert!(!env(&[]).unwrap().enforce);
        assert!(!env(&[(env_vars::ENFORCE, "yes")]).unwrap().enforce);
        assert!(!env(&[(env_vars::ENFORCE, "TRUE ")]).unwrap().enforce);
        assert!(env(&[(env_vars::ENFORCE, "true")]).unwrap().enforce);
    }

    #[test]
    fn a_config_location_must_be_an_s3_uri() {
        let error = env(&[(env_vars::CONFIG, "/etc/iamsweep.toml")]).unwrap_err();
        assert!(error.to_string().contains("IAMSWEEP_CONFIG"), "{error}");
    }
}
