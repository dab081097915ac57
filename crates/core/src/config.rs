//! The TOML configuration file (`--config`): every key optional, every default documented.
//!
//! Flags override the file; the binaries resolve both into core's input types once. Unknown
//! keys are errors, so a misspelt key never silently means "use the default".

use serde::Deserialize;

use crate::error::InputError;
use crate::model::{EntityKind, Granularity};

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[audit]`: what to collect and how fast.
    #[serde(default)]
    pub audit: AuditConfig,
    /// `[check]`: the compliance rules.
    #[serde(default)]
    pub check: CheckConfig,
}

/// `[audit]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Days within which a last access counts as used (default 180).
    pub window_days: Option<u32>,
    /// Kinds of entity to audit (default all three).
    pub kinds: Option<Vec<EntityKind>>,
    /// `service` or `action` (default `service`).
    pub granularity: Option<Granularity>,
    /// Collect the policies granting stale and unused services (default false).
    pub attribute: Option<bool>,
    /// Access Advisor jobs in flight at once (default 32).
    pub concurrency: Option<usize>,
    /// IAM calls per second at most (default 10).
    pub rate: Option<f64>,
}

/// `[check]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Which rules fail an entity: `unused`, `stale` (default both).
    pub fail_on: Option<Vec<FailOn>>,
    /// Days without access that break the `stale` rule (default: the window).
    pub stale_days: Option<u32>,
    /// Policies (names or ARNs) whose grants are ignored (default none).
    pub ignore_policies: Option<Vec<String>>,
}

/// A compliance rule that `--fail-on` can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Services never accessed in the tracking period.
    Unused,
    /// Services not accessed for `stale_days`.
    Stale,
}

impl Config {
    /// Parses a configuration file's text, naming the line and key of any problem.
    pub fn from_toml(text: &str) -> Result<Config, InputError> {
        toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(1, |span| line_of(text, span.start));
            InputError::line(line, error.message().trim_end().to_string())
        })
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&byte| byte == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    #[test]
    fn an_unknown_key_is_an_error_naming_its_line() {
        let error = Config::from_toml("[audit]\nwindow_days = 90\nwindow = 3\n").unwrap_err();
        assert_eq!(error.location, Location::Line { line: 3, column: None });
        assert!(error.message.contains("unknown field `window`"), "{}", error.message);
    }

    #[test]
    fn a_full_audit_section_parses() {
        let config = Config::from_toml(
            "[audit]\nwindow_days = 90\nkinds = [\"role\", \"user\"]\ngranularity = \"action\"\n\
             [check]\nfail_on = [\"unused\"]\nignore_policies = [\"ReadOnlyAccess\"]\n",
        )
        .unwrap();
        assert_eq!(config.audit.window_days, Some(90));
        assert_eq!(config.audit.kinds, Some(vec![EntityKind::Role, EntityKind::User]));
        assert_eq!(config.audit.granularity, Some(Granularity::Action));
        assert_eq!(config.check.fail_on, Some(vec![FailOn::Unused]));
    }
}
