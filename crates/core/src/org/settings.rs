//! The `[org]` settings of `org plan`, `org apply` and `org rollback`, resolved and bounded once.

use serde::{Deserialize, Serialize};

use crate::config::OrgConfig;
use crate::org::snapshot::valid_namespace;
use crate::resolve::{Bound, Given, SettingError};

/// The namespaces an iamsweep SCP never denies unless `[org] always_allow` replaces the list.
///
/// Why each one (README, Organizations): people and tools must still sign in and manage
/// identities (`iam`, `sts`, `sso`, `signin`), the Organization itself (`organizations`,
/// `account`), pay and read the bill (`aws-portal`, `billing`, `ce`), get help (`support`,
/// `health`, `trustedadvisor`) and keep the security tooling that watches every account running
/// (`cloudtrail`, `config`, `securityhub`, `guardduty`, `access-analyzer`): an account that
/// used none of these in the window still needs them the day something goes wrong.
pub const DEFAULT_ALWAYS_ALLOW: &[&str] = &[
    "access-analyzer",
    "account",
    "aws-portal",
    "billing",
    "ce",
    "cloudtrail",
    "config",
    "guardduty",
    "health",
    "iam",
    "organizations",
    "securityhub",
    "signin",
    "sso",
    "sts",
    "support",
    "trustedadvisor",
];

/// Default cap on OUs whose SCP one run writes: small, so a first `org apply` is a trial.
pub const DEFAULT_MAX_CHANGES: usize = 5;

/// `[org] max_changes`: 0 refuses every change; an Organization has at most a few thousand OUs.
pub const MAX_CHANGES: Bound<usize> = Bound { min: 0, max: 1000, unit: "OUs", why: "" };
/// `[org] min_account_age_days`: 0 turns the guardrail off; Access Advisor tracks 400 days.
pub const MIN_ACCOUNT_AGE_DAYS: Bound<u32> =
    Bound { min: 0, max: 400, unit: "days", why: "Access Advisor tracks the last 400 days" };

/// The most `exempt_principals` patterns: each costs characters of the 5,120 an SCP may have.
pub const MAX_EXEMPT_PRINCIPALS: usize = 20;

/// What `org plan` decides with, recorded in the plan so `org apply` can decide again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSettings {
    /// A service last used more than this many days ago is denied.
    pub window_days: u32,
    /// OU ids, OU names or account ids whose OUs are left alone.
    pub exclude: Vec<String>,
    /// Namespaces never denied, sorted, without repeats.
    pub always_allow: Vec<String>,
    /// ARN patterns the SCP's `Condition` exempts (`ArnNotLike aws:PrincipalArn`), sorted.
    pub exempt_principals: Vec<String>,
    /// An account that joined fewer days before the snapshot makes its OU wait.
    pub min_account_age_days: u32,
    /// OUs whose SCP one run writes, at most.
    pub max_changes: usize,
    /// Give the root an SCP too.
    pub include_root: bool,
}

impl OrgSettings {
    /// Resolves `[org]` of `file` (its name, for messages) with the window and `--max-changes`.
    pub fn resolve(
        config: &OrgConfig,
        file: Option<&str>,
        window_days: u32,
        max_changes: Option<Given<usize>>,
    ) -> Result<OrgSettings, SettingError> {
        let key = |name: &str| match file {
            Some(file) => format!("`[org] {name}` in `{file}`"),
            None => format!("`[org] {name}`"),
        };
        let refuse = |name: &str, message: String| SettingError { setting: key(name), message };
        let max_changes = match max_changes {
            Some(given) => MAX_CHANGES.check(given.value).map_err(|message| SettingError {
                setting: format!("`{}`", given.name),
                message,
            })?,
            None => MAX_CHANGES
                .check(config.max_changes.unwrap_or(DEFAULT_MAX_CHANGES))
                .map_err(|message| refuse("max_changes", message))?,
        };
        let min_account_age_days = MIN_ACCOUNT_AGE_DAYS
            .check(config.min_account_age_days.unwrap_or(window_days))
            .map_err(|message| refuse("min_account_age_days", message))?;
        let mut always_allow: Vec<String> = match &config.always_allow {
            Some(list) => list.clone(),
            None => DEFAULT_ALWAYS_ALLOW.iter().map(|name| name.to_string()).collect(),
        };
        for namespace in &always_allow {
            if !valid_namespace(namespace) {
                return Err(refuse(
                    "always_allow",
                    format!(
                        "`{namespace}` is not a service namespace; expected lowercase letters, \
                         digits and `-`, such as `sts` or `access-analyzer`"
                    ),
                ));
            }
        }
        always_allow.sort();
        always_allow.dedup();
        let mut exempt_principals = config.exempt_principals.clone().unwrap_or_default();
        for pattern in &exempt_principals {
            check_principal_pattern(pattern)
                .map_err(|message| refuse("exempt_principals", message))?;
        }
        if exempt_principals.len() > MAX_EXEMPT_PRINCIPALS {
            return Err(refuse(
                "exempt_principals",
                format!(
                    "expected at most {MAX_EXEMPT_PRINCIPALS} patterns, found {}",
                    exempt_principals.len()
                ),
            ));
        }
        exempt_principals.sort();
        exempt_principals.dedup();
        let mut exclude = config.exclude.clone().unwrap_or_default();
        for item in &exclude {
            if item.trim().is_empty() || item.len() > 128 {
                return Err(refuse(
                    "exclude",
                    format!("`{item}` is not an OU id, OU name or account id"),
                ));
            }
        }
        exclude.sort();
        exclude.dedup();
        Ok(OrgSettings {
            window_days,
            exclude,
            always_allow,
            exempt_principals,
            min_account_age_days,
            max_changes,
            include_root: config.include_root.unwrap_or(false),
        })
    }

    /// Checks settings read back from a plan file as [`OrgSettings::resolve`] would have made
    /// them; `Err` names the field.
    pub fn check(&self) -> Result<(), String> {
        crate::resolve::WINDOW_DAYS
            .check(self.window_days)
            .map_err(|message| format!("`window_days`: {message}"))?;
        MAX_CHANGES
            .check(self.max_changes)
            .map_err(|message| format!("`max_changes`: {message}"))?;
        MIN_ACCOUNT_AGE_DAYS
            .check(self.min_account_age_days)
            .map_err(|message| format!("`min_account_age_days`: {message}"))?;
        if let Some(bad) = self.always_allow.iter().find(|namespace| !valid_namespace(namespace)) {
            return Err(format!("`always_allow`: `{bad}` is not a service namespace"));
        }
        if self.exempt_principals.len() > MAX_EXEMPT_PRINCIPALS {
            return Err(format!("`exempt_principals`: more than {MAX_EXEMPT_PRINCIPALS} patterns"));
        }
        for pattern in &self.exempt_principals {
            check_principal_pattern(pattern)
                .map_err(|message| format!("`exempt_principals`: {message}"))?;
        }
        let sorted = |list: &[String]| list.windows(2).all(|pair| pair[0] < pair[1]);
        if !sorted(&self.always_allow) || !sorted(&self.exempt_principals) || !sorted(&self.exclude)
        {
            return Err("`always_allow`, `exempt_principals` and `exclude` must be sorted \
                        without repeats, as iamsweep writes them"
                .to_string());
        }
        Ok(())
    }
}

/// An `exempt_principals` pattern: an IAM role or user ARN, `*` and `?` allowed in its
/// account and name (`arn:aws:iam::*:role/BreakGlass`). Anything wider (`*`, `arn:aws:*`) would
/// exempt everyone and make the SCP a no-op.
pub fn check_principal_pattern(pattern: &str) -> Result<(), String> {
    let expected = || {
        format!(
            "`{pattern}` is not a principal ARN pattern; expected an IAM role or user ARN such as \
             `arn:aws:iam::*:role/BreakGlass` (`*` and `?` allowed in the account and name)"
        )
    };
    let mut parts = pattern.splitn(6, ':');
    let fields: Vec<&str> = (&mut parts).take(6).collect();
    let [scheme, partition, service, region, account, resource] = fields[..] else {
        return Err(expected());
    };
    let partition_ok = matches!(partition, "aws" | "aws-cn" | "aws-us-gov");
    let account_ok = account == "*" || account.bytes().all(|b| b.is_ascii_digit() || b == b'?');
    let resource_ok = resource
        .strip_prefix("role/")
        .or_else(|| resource.strip_prefix("user/"))
        .is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 512
                && name != "*"
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_/*?".contains(&b))
        });
    if scheme == "arn"
        && partition_ok
        && service == "iam"
        && region.is_empty()
        && account_ok
        && resource_ok
    {
        Ok(())
    } else {
        Err(expected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let settings = OrgSettings::resolve(&OrgConfig::default(), None, 90, None).unwrap();
        assert_eq!(settings.max_changes, 5);
        assert_eq!(settings.min_account_age_days, 90);
        assert!(settings.always_allow.contains(&"sts".to_string()));
        assert!(!settings.include_root);
        let config = OrgConfig { max_changes: Some(5000), ..OrgConfig::default() };
        let error = OrgSettings::resolve(&config, Some("c.toml"), 90, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`[org] max_changes` in `c.toml`: expected 0..=1000 OUs, found 5000"
        );
        let config = OrgConfig { always_allow: Some(vec!["s3:*".into()]), ..OrgConfig::default() };
        assert!(OrgSettings::resolve(&config, None, 90, None).is_err());
    }

    #[test]
    fn the_org_section_has_exactly_its_six_keys() {
        let config = crate::config::Config::from_toml(
            "[org]\nexclude = [\"legacy\", \"ou-ab12-cdef5678\"]\nalways_allow = [\"sts\"]\n\
             exempt_principals = [\"arn:aws:iam::*:role/BreakGlass\"]\nmin_account_age_days = 30\n\
             max_changes = 2\ninclude_root = true\n",
        )
        .unwrap();
        let settings = OrgSettings::resolve(&config.org, None, 90, None).unwrap();
        assert_eq!(settings.always_allow, ["sts"]);
        assert_eq!((settings.min_account_age_days, settings.max_changes), (30, 2));
        assert!(settings.include_root);
        let given = Some(Given::new(7, "--max-changes"));
        assert_eq!(OrgSettings::resolve(&config.org, None, 90, given).unwrap().max_changes, 7);
        let error = crate::config::Config::from_toml("[org]\nexclud = []\n").unwrap_err();
        assert!(error.message.contains("unknown field `exclud`"), "{}", error.message);
    }

    #[test]
    fn exempt_patterns_must_name_principals() {
        assert!(check_principal_pattern("arn:aws:iam::*:role/BreakGlass").is_ok());
        assert!(check_principal_pattern("arn:aws:iam::123456789012:role/ops/*").is_ok());
        assert!(check_principal_pattern("*").is_err());
        assert!(check_principal_pattern("arn:aws:iam::*:role/*").is_err());
        assert!(check_principal_pattern("arn:aws:s3:::bucket").is_err());
        assert!(check_principal_pattern("arn:aws:iam::*:role/a\"b").is_err());
    }
}
