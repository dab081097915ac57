//! Resolved enforcement settings: the configuration with every default filled and lists merged.
//!
//! The CLI and the Lambda both build [`EnforceSettings`] with [`EnforceSettings::resolve`] from
//! the parsed [`Config`], the audit window and the bytes of the list files they loaded, so the
//! two fronts cannot disagree about a default. Flags (`--max-changes`) then override fields.
//! Numeric keys are bounded by [`crate::resolve`], which both binaries call first and which
//! names the file; the checks here repeat them for callers that come straight here.

use serde::{Deserialize, Serialize};

use crate::boundary::validate_path;
use crate::config::Config;
use crate::error::InputError;
use crate::lists::{parse_base_actions, parse_do_not_list, validate_action};
pub use crate::resolve::{DEFAULT_MAX_CHANGES, DEFAULT_MAX_PLAN_AGE_HOURS};
use crate::resolve::{GRACE_DAYS, MAX_CHANGES, MAX_PLAN_AGE_HOURS, MIN_AGE_DAYS, NOTICE_DAYS};
use crate::tags::{TagKeys, validate_tag_key};

/// Default IAM path of boundary policies.
pub const DEFAULT_BOUNDARY_PATH: &str = "/iamsweep/";
/// Default tag key that excludes an entity, whatever its value.
pub const DEFAULT_EXCLUDE_TAG: &str = "iamsweep:exclude";

/// Everything `plan` needs to decide, with defaults filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnforceSettings {
    /// Days within which a last access counts as used.
    pub window_days: u32,
    /// Summary tags.
    pub tags: TagSettings,
    /// Permissions boundaries.
    pub boundary: BoundarySettings,
    /// What is never touched and how much one run may change.
    pub guardrails: GuardrailSettings,
}

/// Resolved `[tags]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagSettings {
    /// Write summary tags.
    pub enabled: bool,
    /// The tag keys.
    pub keys: TagKeys,
    /// Give member users the aggregate of their groups (see [`crate::tags::group_member_tags`]).
    pub tag_group_members: bool,
}

/// Resolved `[boundary]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundarySettings {
    /// Attach boundaries.
    pub enabled: bool,
    /// IAM path of the boundary policies, such as `/iamsweep/`.
    pub path: String,
    /// Base actions, inline and from the file, validated, in order, without repeats.
    pub base_actions: Vec<String>,
    /// Grant the base actions to every entity, not only to those that used nothing.
    pub always_include_base_actions: bool,
    /// Replace boundaries iamsweep did not create.
    pub replace_foreign_boundaries: bool,
    /// Contain entities that keep IAM writes (see [`crate::boundary::CONTAINED_ACTIONS`]).
    #[serde(default)]
    pub contain_iam_writers: bool,
    /// `tags.keys.previous_boundary`, copied by the resolver: every boundary protects it and
    /// recognises iamsweep-bounded principals by it.
    #[serde(default = "default_previous_boundary_tag")]
    pub previous_boundary_tag: String,
    /// `guardrails.exclude_tag`, copied by the resolver: every boundary protects it.
    #[serde(default = "default_exclude_tag")]
    pub exclude_tag: String,
    /// A service first granted fewer days before the plan stays allowed (see [`crate::grace`]).
    #[serde(default = "default_grace_days")]
    pub grace_days: u32,
    /// Days a restriction is announced before it is carried out (see [`crate::notice`]).
    #[serde(default)]
    pub notice_days: u32,
}

impl BoundarySettings {
    /// Whether a run that writes boundaries needs the state store's history: grace
    /// (`grace_days > 0`) tells a new grant by its first sighting, and notice
    /// (`notice_days > 0`) carries out only what an earlier run announced. Without either,
    /// the boundary follows usage alone and no history changes it.
    pub fn needs_history(&self) -> bool {
        self.enabled && (self.grace_days > 0 || self.notice_days > 0)
    }
}

fn default_grace_days() -> u32 {
    crate::grace::DEFAULT_GRACE_DAYS
}

fn default_previous_boundary_tag() -> String {
    TagKeys::default().previous_boundary
}

fn default_exclude_tag() -> String {
    DEFAULT_EXCLUDE_TAG.to_string()
}

/// Resolved `[guardrails]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardrailSettings {
    /// Entities created fewer days before the snapshot are skipped.
    pub min_age_days: u32,
    /// At most this many entities restricted per run.
    pub max_changes: usize,
    /// Names, ARNs or globs never touched (`exclude` and the do-not list merged).
    pub exclude: Vec<String>,
    /// Names, ARNs or globs never tagged.
    pub do_not_tag: Vec<String>,
    /// Names, ARNs or globs never given a boundary.
    pub do_not_boundary: Vec<String>,
    /// Tag key excluding an entity, whatever its value.
    pub exclude_tag: String,
    /// `apply --plan` refuses older plans.
    pub max_plan_age_hours: u32,
}

/// The bytes of the list files the binaries loaded (locally or from S3), undecoded: how they
/// are decoded is decided once, in [`crate::lists`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListTexts<'a> {
    /// Content of `guardrails.do_not_list_file`, when configured.
    pub do_not_list: Option<&'a [u8]>,
    /// Content of `boundary.base_actions_file`, when configured.
    pub base_actions: Option<&'a [u8]>,
}

impl EnforceSettings {
    /// Every default, for a window of `window_days`.
    pub fn defaults(window_days: u32) -> Self {
        EnforceSettings::resolve(&Config::default(), window_days, &ListTexts::default())
            .expect("the defaults are valid")
    }

    /// Resolves the configuration, the window and the loaded list files into settings.
    ///
    /// A list file named in the configuration but not passed in is an error rather than an
    /// empty list: the original sample read a missing exception file as "no exclusions". Errors
    /// in a list file name the file (as configured) and the line ([`Location::File`]).
    ///
    /// [`Location::File`]: crate::error::Location::File
    pub fn resolve(
        config: &Config,
        window_days: u32,
        lists: &ListTexts<'_>,
    ) -> Result<Self, InputError> {
        let keys = resolve_keys(config)?;
        let boundary = &config.boundary;
        let path = boundary.path.clone().unwrap_or_else(|| DEFAULT_BOUNDARY_PATH.to_string());
        validate_path(&path).map_err(|message| InputError::field("boundary.path", message))?;

        let mut base_actions = Vec::new();
        for action in boundary.base_actions.iter().flatten() {
            validate_action(action)
                .map_err(|message| InputError::field("boundary.base_actions", message))?;
            base_actions.push(action.clone());
        }
        match (&boundary.base_actions_file, lists.base_actions) {
            (Some(file), Some(bytes)) => {
                base_actions.extend(parse_base_actions(bytes).map_err(|e| e.in_file(file))?)
            }
            (Some(file), None) => return Err(not_loaded("boundary.base_actions_file", file)),
            (None, _) => {}
        }
        dedupe(&mut base_actions);

        let guardrails = &config.guardrails;
        let mut exclude = guardrails.exclude.clone().unwrap_or_default();
        match (&guardrails.do_not_list_file, lists.do_not_list) {
            (Some(file), Some(bytes)) => {
                exclude.extend(parse_do_not_list(bytes).map_err(|e| e.in_file(file))?)
            }
            (Some(file), None) => return Err(not_loaded("guardrails.do_not_list_file", file)),
            (None, _) => {}
        }
        dedupe(&mut exclude);
        let exclude_tag =
            guardrails.exclude_tag.clone().unwrap_or_else(|| DEFAULT_EXCLUDE_TAG.to_string());
        validate_tag_key(&exclude_tag)
            .map_err(|message| InputError::field("guardrails.exclude_tag", message))?;
        let max_changes = bounded(
            "max_changes",
            MAX_CHANGES.check(guardrails.max_changes.unwrap_or(DEFAULT_MAX_CHANGES)),
        )?;
        // Younger entities have less history than the window: their boundary would leave out
        // services they simply had no occasion to use yet.
        let min_age_days = bounded(
            "min_age_days",
            MIN_AGE_DAYS.check(guardrails.min_age_days.unwrap_or(window_days)),
        )?;
        let max_plan_age_hours = bounded(
            "max_plan_age_hours",
            MAX_PLAN_AGE_HOURS
                .check(guardrails.max_plan_age_hours.unwrap_or(DEFAULT_MAX_PLAN_AGE_HOURS)),
        )?;
        let previous_boundary_tag = keys.previous_boundary.clone();
        let grace_days = GRACE_DAYS
            .check(boundary.grace_days.unwrap_or(crate::grace::DEFAULT_GRACE_DAYS))
            .map_err(|message| InputError::field("boundary.grace_days", message))?;
        let notice_days = NOTICE_DAYS
            .check(boundary.notice_days.unwrap_or(0))
            .map_err(|message| InputError::field("boundary.notice_days", message))?;

        Ok(EnforceSettings {
            window_days,
            tags: TagSettings {
                enabled: config.tags.enabled.unwrap_or(true),
                keys,
                tag_group_members: config.tags.tag_group_members.unwrap_or(false),
            },
            boundary: BoundarySettings {
                enabled: boundary.enabled.unwrap_or(true),
                path,
                base_actions,
                always_include_base_actions: boundary.always_include_base_actions.unwrap_or(false),
                replace_foreign_boundaries: boundary.replace_foreign_boundaries.unwrap_or(false),
                contain_iam_writers: boundary.contain_iam_writers.unwrap_or(false),
                previous_boundary_tag,
                exclude_tag: exclude_tag.clone(),
                grace_days,
                notice_days,
            },
            guardrails: GuardrailSettings {
                min_age_days,
                max_changes,
                exclude,
                do_not_tag: guardrails.do_not_tag.clone().unwrap_or_default(),
                do_not_boundary: guardrails.do_not_boundary.clone().unwrap_or_default(),
                exclude_tag,
                max_plan_age_hours,
            },
        })
    }
}

fn resolve_keys(config: &Config) -> Result<TagKeys, InputError> {
    let mut keys = TagKeys::default();
    if let Some(overrides) = &config.tags.keys {
        let pairs = [
            (&mut keys.coverage_percent, &overrides.coverage_percent),
            (&mut keys.granted, &overrides.granted),
            (&mut keys.unused, &overrides.unused),
            (&mut keys.used, &overrides.used),
            (&mut keys.stale, &overrides.stale),
            (&mut keys.audited, &overrides.audited),
            (&mut keys.services_accessed, &overrides.services_accessed),
            (&mut keys.previous_boundary, &overrides.previous_boundary),
            (&mut keys.group_granted, &overrides.group_granted),
            (&mut keys.group_used, &overrides.group_used),
            (&mut keys.group_coverage_percent, &overrides.group_coverage_percent),
        ];
        for (key, value) in pairs {
            if let Some(value) = value {
                *key = value.clone();
            }
        }
    }
    let all = keys.all();
    for (index, (field, key)) in all.iter().enumerate() {
        validate_tag_key(key)
            .map_err(|message| InputError::field(format!("tags.keys.{field}"), message))?;
        // IAM keys are case-insensitive: two keys differing only in case are one tag.
        if let Some((other, _)) =
            all[..index].iter().find(|(_, earlier)| earlier.eq_ignore_ascii_case(key))
        {
            return Err(InputError::field(
                format!("tags.keys.{field}"),
                format!("`{key}` is also the key of `tags.keys.{other}`; each key must differ"),
            ));
        }
    }
    Ok(keys)
}

/// A guardrail number checked against its bound, refused naming its key.
fn bounded<T>(key: &str, checked: Result<T, String>) -> Result<T, InputError> {
    checked.map_err(|message| InputError::field(format!("guardrails.{key}"), message))
}

fn not_loaded(field: &str, file: &str) -> InputError {
    InputError::field(
        field,
        format!(
            "`{file}` is configured but was not loaded; a missing list never means an empty one"
        ),
    )
}

fn dedupe(list: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    list.retain(|item| seen.insert(item.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    #[test]
    fn defaults_follow_the_window_and_the_original_names() {
        let settings = EnforceSettings::defaults(90);
        assert_eq!(settings.guardrails.min_age_days, 90);
        assert_eq!(settings.guardrails.max_changes, 10);
        assert_eq!(settings.boundary.path, "/iamsweep/");
        assert_eq!(settings.tags.keys.unused, "Permissions_Unused");
        assert!(settings.tags.enabled && settings.boundary.enabled);
    }

    #[test]
    fn boundaries_need_history_unless_grace_and_notice_are_both_off() {
        let mut boundary = EnforceSettings::defaults(90).boundary;
        assert!(boundary.needs_history(), "grace is on by default");
        boundary.grace_days = 0;
        assert!(!boundary.needs_history());
        boundary.notice_days = 7;
        assert!(boundary.needs_history());
        boundary.enabled = false;
        assert!(!boundary.needs_history(), "no boundary written, no history needed");
    }

    #[test]
    fn lists_merge_and_a_configured_list_must_be_loaded() {
        let config = Config::from_toml(
            "[boundary]\nbase_actions = [\"sts:GetCallerIdentity\"]\nbase_actions_file = \"b.txt\"\n\
             [guardrails]\nexclude = [\"ci-*\"]\ndo_not_list_file = \"s3://bucket/dnl.txt\"\n",
        )
        .unwrap();
        let lists = ListTexts {
            do_not_list: Some(b"\xEF\xBB\xBFadmin,ci-*\r\n"),
            base_actions: Some(b"s3:Get*\nsts:GetCallerIdentity"),
        };
        let settings = EnforceSettings::resolve(&config, 180, &lists).unwrap();
        assert_eq!(settings.guardrails.exclude, vec!["ci-*", "admin"]);
        assert_eq!(settings.boundary.base_actions, vec!["sts:GetCallerIdentity", "s3:Get*"]);
        let error = EnforceSettings::resolve(&config, 180, &ListTexts::default()).unwrap_err();
        assert_eq!(error.location, Location::Field("boundary.base_actions_file".into()));
    }

    #[test]
    fn a_bad_list_file_is_named_with_its_line() {
        let config = Config::from_toml(
            "[boundary]\nbase_actions_file = \"b.txt\"\n\
             [guardrails]\ndo_not_list_file = \"s3://bucket/dnl.txt\"\n",
        )
        .unwrap();
        let lists =
            ListTexts { do_not_list: Some(b"admin\nci\0*\n"), base_actions: Some(b"s3:Get*") };
        let error = EnforceSettings::resolve(&config, 180, &lists).unwrap_err();
        assert_eq!(
            error.location,
            Location::File { file: "s3://bucket/dnl.txt".into(), line: 2 },
            "{error}"
        );
        assert!(error.to_string().starts_with("`s3://bucket/dnl.txt`, line 2: "), "{error}");
        let lists = ListTexts { do_not_list: Some(b"admin"), base_actions: Some(b"\n\ns3") };
        let error = EnforceSettings::resolve(&config, 180, &lists).unwrap_err();
        assert_eq!(error.location, Location::File { file: "b.txt".into(), line: 3 });
    }

    #[test]
    fn guardrail_numbers_are_bounded_even_here() {
        for (text, key) in [
            ("max_changes = 10001", "guardrails.max_changes"),
            ("min_age_days = 401", "guardrails.min_age_days"),
            ("max_plan_age_hours = 0", "guardrails.max_plan_age_hours"),
        ] {
            let config = Config::from_toml(&format!("[guardrails]\n{text}\n")).unwrap();
            let error = EnforceSettings::resolve(&config, 180, &ListTexts::default()).unwrap_err();
            assert_eq!(error.location, Location::Field(key.into()), "{error}");
        }
    }

    #[test]
    fn bad_keys_and_paths_are_refused() {
        let config = Config::from_toml("[tags.keys]\nused = \"aws:used\"\n").unwrap();
        assert!(EnforceSettings::resolve(&config, 180, &ListTexts::default()).is_err());
        let config = Config::from_toml("[tags.keys]\nused = \"permissions_granted\"\n").unwrap();
        let error = EnforceSettings::resolve(&config, 180, &ListTexts::default()).unwrap_err();
        assert!(error.message.contains("tags.keys.granted"), "{}", error.message);
        let config = Config::from_toml("[boundary]\npath = \"iamsweep\"\n").unwrap();
        assert!(EnforceSettings::resolve(&config, 180, &ListTexts::default()).is_err());
    }
}
