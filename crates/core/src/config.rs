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
    /// `[tags]`: the summary tags written by `apply`.
    #[serde(default)]
    pub tags: TagsConfig,
    /// `[boundary]`: the permissions boundaries written by `apply`.
    #[serde(default)]
    pub boundary: BoundaryConfig,
    /// `[guardrails]`: what `plan` and `apply` never touch, and how much one run may change.
    #[serde(default)]
    pub guardrails: GuardrailsConfig,
    /// `[org]`: the service control policies of `org plan` and `org apply`.
    #[serde(default)]
    pub org: OrgConfig,
}

/// `[org]`: resolved by [`crate::org::settings::OrgSettings::resolve`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgConfig {
    /// OU ids, OU names or account ids whose OUs are left alone (default none).
    pub exclude: Option<Vec<String>>,
    /// Namespaces never denied; replaces the default list when given
    /// ([`crate::org::settings::DEFAULT_ALWAYS_ALLOW`]).
    pub always_allow: Option<Vec<String>>,
    /// ARN patterns exempted by the SCP's `Condition`, such as break-glass roles (default none).
    pub exempt_principals: Option<Vec<String>>,
    /// Accounts that joined fewer days ago make their OU wait (default: the window).
    pub min_account_age_days: Option<u32>,
    /// At most this many OUs changed per run (default 5).
    pub max_changes: Option<usize>,
    /// Give the root an SCP too (default false).
    pub include_root: Option<bool>,
}

/// `[tags]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagsConfig {
    /// Write summary tags on users and roles (default true).
    pub enabled: Option<bool>,
    /// `[tags.keys]`: tag key overrides (defaults in [`crate::tags::TagKeys`]).
    pub keys: Option<TagKeysConfig>,
    /// Also give member users an aggregate of their groups' summary, under the distinct
    /// `group_*` keys, since IAM cannot tag groups (default false).
    pub tag_group_members: Option<bool>,
}

/// `[tags.keys]`: every key optional; see [`crate::tags::TagKeys`] for what each one holds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagKeysConfig {
    /// Coverage percent (default `Permissions_Coverage_Percent`).
    pub coverage_percent: Option<String>,
    /// Granted services (default `Permissions_Granted`).
    pub granted: Option<String>,
    /// Services not used in the tracking period (default `Permissions_Unused`).
    pub unused: Option<String>,
    /// Services used within the window (default `Permissions_Used`).
    pub used: Option<String>,
    /// Services used only before the window (default `Permissions_Stale`).
    pub stale: Option<String>,
    /// Audit date (default `Permissions_Audited`).
    pub audited: Option<String>,
    /// Namespaces used within the window (default `Services_Accessed`).
    pub services_accessed: Option<String>,
    /// Boundary before iamsweep's (default `iamsweep:previous-boundary`).
    pub previous_boundary: Option<String>,
    /// Services granted by a member's groups (default `Permissions_Group_Granted`).
    pub group_granted: Option<String>,
    /// Of those, used by a group (default `Permissions_Group_Used`).
    pub group_used: Option<String>,
    /// Group coverage percent (default `Permissions_Group_Coverage_Percent`).
    pub group_coverage_percent: Option<String>,
}

/// `[boundary]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundaryConfig {
    /// Attach a least-privilege boundary to users and roles (default true).
    pub enabled: Option<bool>,
    /// IAM path of the boundary policies (default `/iamsweep/`).
    pub path: Option<String>,
    /// Actions `service:Action` granted to an entity that used nothing (default none).
    pub base_actions: Option<Vec<String>>,
    /// A `base_actions.txt` file (local path or `s3://` URI, read by the binaries), merged with
    /// `base_actions` (default none).
    pub base_actions_file: Option<String>,
    /// Grant the base actions to every entity, not only those that used nothing (default false).
    pub always_include_base_actions: Option<bool>,
    /// Replace a boundary iamsweep did not create (default false: such entities are skipped).
    pub replace_foreign_boundaries: Option<bool>,
    /// For entities whose boundary keeps IAM writes: allow creating users and roles, giving
    /// boundaries and writing user and role policies only for principals bounded by the
    /// entity's own boundary (default false; see [`crate::boundary::CONTAINED_ACTIONS`]).
    pub contain_iam_writers: Option<bool>,
    /// A service first granted fewer days before the plan stays allowed (default 14; 0 off;
    /// see [`crate::grace`]).
    pub grace_days: Option<u32>,
    /// Days between announcing a restriction (the `iamsweep:restrict-after` tag) and carrying it
    /// out (default 0: restrict at once; see [`crate::notice`]).
    pub notice_days: Option<u32>,
}

/// `[guardrails]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardrailsConfig {
    /// Entities created fewer days ago are skipped: they have no history yet (default: the
    /// window).
    pub min_age_days: Option<u32>,
    /// At most this many entities restricted (boundary changed) per run (default 10).
    pub max_changes: Option<usize>,
    /// Names, ARNs or globs never touched (default none).
    pub exclude: Option<Vec<String>>,
    /// A `do_not_list.txt` file (local path or `s3://` URI, read by the binaries), merged with
    /// `exclude` (default none).
    pub do_not_list_file: Option<String>,
    /// Names, ARNs or globs never tagged (default none).
    pub do_not_tag: Option<Vec<String>>,
    /// Names, ARNs or globs never given a boundary (default none).
    pub do_not_boundary: Option<Vec<String>>,
    /// Entities carrying this tag key, with any value, are never touched (default
    /// `iamsweep:exclude`).
    pub exclude_tag: Option<String>,
    /// `apply --plan` refuses a plan whose snapshot is older (default 24).
    pub max_plan_age_hours: Option<u32>,
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
    /// Access Advisor jobs in flight at once (default twice the rate, at least 8).
    pub concurrency: Option<usize>,
    /// IAM calls per second at most (default 10).
    pub rate: Option<f64>,
}

/// `[check]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Which rules fail an entity: `unused`, `stale`, `idle` (default `unused` and `stale`).
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
    /// Entities that used no service within the window (see `compliance::idle`).
    Idle,
}

impl Config {
    /// Parses a configuration file's text, naming the line and key of any problem. A leading
    /// UTF-8 byte order mark (Windows editors write one) is dropped, as in list files.
    pub fn from_toml(text: &str) -> Result<Config, InputError> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(1, |span| line_of(text, span.start));
            InputError::line(line, error.message().trim_end().to_string())
        })
    }
}

impl Config {
    /// Makes the list files' relative local paths (`do_not_list_file`, `base_actions_file`)
    /// relative to `dir`, the directory of the config file that names them, so a config reads
    /// the same lists from whatever directory iamsweep runs in. Absolute paths and `s3://` URIs
    /// are kept as written. (Joining paths is pure: nothing is read here.)
    pub fn relative_to(&mut self, dir: &std::path::Path) {
        for location in
            [&mut self.guardrails.do_not_list_file, &mut self.boundary.base_actions_file]
        {
            if let Some(text) = location.as_mut()
                && !text.starts_with("s3://")
                && std::path::Path::new(text.as_str()).is_relative()
            {
                *text = dir.join(text.as_str()).display().to_string();
            }
        }
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
    fn list_paths_are_relative_to_the_config_file() {
        let mut config = Config::from_toml(
            "[guardrails]\ndo_not_list_file = \"lists/dnl.txt\"\n\
             [boundary]\nbase_actions_file = \"/etc/iamsweep/base.txt\"\n",
        )
        .unwrap();
        config.relative_to(std::path::Path::new("/srv/conf"));
        assert_eq!(config.guardrails.do_not_list_file.as_deref(), Some("/srv/conf/lists/dnl.txt"));
        assert_eq!(config.boundary.base_actions_file.as_deref(), Some("/etc/iamsweep/base.txt"));
        let mut in_s3 =
            Config::from_toml("[guardrails]\ndo_not_list_file = \"s3://b/k.txt\"\n").unwrap();
        in_s3.relative_to(std::path::Path::new("/srv/conf"));
        assert_eq!(in_s3.guardrails.do_not_list_file.as_deref(), Some("s3://b/k.txt"));
        let mut here = Config::from_toml("[guardrails]\ndo_not_list_file = \"d.txt\"\n").unwrap();
        here.relative_to(std::path::Path::new(""));
        assert_eq!(here.guardrails.do_not_list_file.as_deref(), Some("d.txt"));
    }

    #[test]
    fn a_bom_is_dropped() {
        let config = Config::from_toml("\u{FEFF}[audit]\nwindow_days = 90\n").unwrap();
        assert_eq!(config.audit.window_days, Some(90));
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
