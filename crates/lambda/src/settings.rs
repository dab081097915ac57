//! The Lambda's settings: environment variables (see [`crate::env_vars`]), then the optional TOML
//! config from S3, resolved once per cold start by the resolver the CLI uses
//! ([`iamsweep_core::resolve`]): same defaults, same bounds, same messages. This module only
//! says which variable gives which value.

use std::time::Duration;

use anyhow::bail;
use iamsweep_aws::collector::CollectSettings;
use iamsweep_aws::s3::S3Uri;
use iamsweep_core::compliance::Rules;
use iamsweep_core::config::Config;
use iamsweep_core::resolve::{Given, Overrides, Resolved, resolve};

use crate::env_vars;

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
    /// `IAMSWEEP_REPORTS`: the prefix of the reports.
    pub reports: Option<S3Uri>,
    /// `IAMSWEEP_SAFETY_MARGIN_SECONDS`, bounds checked (default 120 s).
    pub safety_margin: Duration,
    /// The numbers the variables give (`IAMSWEEP_RATE`...), over the config's.
    pub overrides: Overrides,
}

impl EnvSettings {
    /// Reads the settings through `lookup` (`std::env::var` in the function; a map in tests).
    ///
    /// The numbers are checked here already, alone, by the shared resolver, so a bad variable
    /// is named at cold start whatever the config says; [`Settings::resolve`] checks them again
    /// with the config.
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
        let overrides = Overrides {
            rate: given(&lookup, env_vars::RATE, "a number of IAM calls per second")?,
            safety_margin_seconds: given(
                &lookup,
                env_vars::SAFETY_MARGIN_SECONDS,
                "a whole number of seconds",
            )?,
            poll_first_ms: given(&lookup, env_vars::POLL_FIRST_MS, "a whole number of ms")?,
            ..Overrides::default()
        };
        let alone = resolve(&Config::default(), None, &overrides)?;
        Ok(EnvSettings {
            config: s3(env_vars::CONFIG)?,
            // Only the exact word turns writes on: a typo must not enforce.
            enforce: lookup(env_vars::ENFORCE).is_some_and(|value| value.trim() == "true"),
            state: s3(env_vars::STATE)?,
            journal: lookup(env_vars::JOURNAL).filter(|text| !text.trim().is_empty()),
            reports: s3(env_vars::REPORTS)?,
            safety_margin: Duration::from_secs(alone.safety_margin_seconds),
            overrides,
        })
    }
}

/// The variable `name`, parsed, when set and not blank.
fn given<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    expected: &str,
) -> anyhow::Result<Option<Given<T>>> {
    match lookup(name) {
        Some(text) if !text.trim().is_empty() => Ok(Some(Given::parse(name, &text, expected)?)),
        _ => Ok(None),
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
    /// Every setting, resolved as the CLI resolves them.
    pub resolved: Resolved,
}

impl Settings {
    /// Resolves the environment and the config text (already read from S3).
    pub fn resolve(env: EnvSettings, config_text: Option<&str>) -> anyhow::Result<Self> {
        let config = match (config_text, &env.config) {
            (Some(text), Some(uri)) => Config::from_toml(text)
                .map_err(|error| anyhow::anyhow!("config `{uri}`, {error}"))?,
            _ => Config::default(),
        };
        let file = env.config.as_ref().map(ToString::to_string);
        let resolved = resolve(&config, file.as_deref(), &env.overrides)?;
        Ok(Settings {
            window_days: resolved.window_days,
            collect: CollectSettings::resolved(&resolved),
            env,
            config,
            resolved,
        })
    }

    /// The `check` rules (the config's `[check]` over the defaults), as the CLI's `check`.
    pub fn rules(&self) -> Rules {
        self.resolved.rules.clone()
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
    fn numbers_from_the_environment_are_bounded_and_named() {
        let error = env(&[(env_vars::RATE, "0")]).unwrap_err().to_string();
        assert_eq!(error, "`IAMSWEEP_RATE`: expected 0.1..=1000 IAM calls per second, found 0");
        let error = env(&[(env_vars::RATE, "fast")]).unwrap_err().to_string();
        assert!(error.starts_with("`IAMSWEEP_RATE`: expected a number"), "{error}");
        let error = env(&[(env_vars::SAFETY_MARGIN_SECONDS, "601")]).unwrap_err().to_string();
        assert!(error.starts_with("`IAMSWEEP_SAFETY_MARGIN_SECONDS`: expected 0..=600"), "{error}");
        let settings = env(&[(env_vars::SAFETY_MARGIN_SECONDS, " 30 ")]).unwrap();
        assert_eq!(settings.safety_margin, Duration::from_secs(30));
        assert_eq!(env(&[]).unwrap().safety_margin, Duration::from_secs(120));
    }

    #[test]
    fn the_config_rate_is_bounded_as_in_the_cli() {
        let mut env = env(&[(env_vars::CONFIG, "s3://bucket/iamsweep.toml")]).unwrap();
        let error = Settings::resolve(env.clone(), Some("[audit]\nrate = 0\n")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`[audit] rate` in `s3://bucket/iamsweep.toml`: expected 0.1..=1000 IAM calls per \
             second, found 0"
        );
        // The variable wins over the config, within bounds.
        env.overrides.rate = Some(Given::new(50.0, env_vars::RATE));
        let settings = Settings::resolve(env, Some("[audit]\nrate = 5\n")).unwrap();
        assert_eq!(settings.collect.rate, 50.0);
    }

    #[test]
    fn a_config_location_must_be_an_s3_uri() {
        let error = env(&[(env_vars::CONFIG, "/etc/iamsweep.toml")]).unwrap_err();
        assert!(error.to_string().contains("IAMSWEEP_CONFIG"), "{error}");
    }
}
