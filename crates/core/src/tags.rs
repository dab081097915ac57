//! Summary tags: a handful of tags per user or role that summarise its audit.
//!
//! The original sample wrote one tag per used service, so admin roles hit IAM's 50-tag limit;
//! iamsweep writes a fixed set of summary tags in one `TagUser`/`TagRole` call instead. Every
//! value is built to be valid for IAM, because one invalid tag fails the whole call.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::report::{EntityReport, ServiceState};

/// IAM's limit of tags per user or role.
pub const MAX_TAGS: usize = 50;
/// IAM's limit on a tag value, in characters.
pub const MAX_VALUE_CHARS: usize = 256;
/// IAM's limit on a tag key, in characters.
pub const MAX_KEY_CHARS: usize = 128;

/// The keys of the summary tags; each one configurable under `[tags.keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagKeys {
    /// round(100 * used / granted) (default `Permissions_Coverage_Percent`, the sample's name).
    pub coverage_percent: String,
    /// Number of granted services (default `Permissions_Granted`, the sample's name).
    pub granted: String,
    /// Number of granted services not used in the tracking period (default `Permissions_Unused`,
    /// the sample's name).
    pub unused: String,
    /// Number of services used within the window (default `Permissions_Used`).
    pub used: String,
    /// Number of services used only before the window (default `Permissions_Stale`).
    pub stale: String,
    /// Date of the audit the values come from, `YYYY-MM-DD` (default `Permissions_Audited`).
    pub audited: String,
    /// Namespaces used within the window, space-separated (default `Services_Accessed`).
    pub services_accessed: String,
    /// The boundary attached before iamsweep attached its own, or `none`, so rollback works
    /// without the journal (default `iamsweep:previous-boundary`).
    pub previous_boundary: String,
    /// Group summary on member users: services granted by the user's groups
    /// (default `Permissions_Group_Granted`).
    pub group_granted: String,
    /// Group summary on member users: of those, how many a group used within the window
    /// (default `Permissions_Group_Used`).
    pub group_used: String,
    /// Group summary on member users: round(100 * group used / group granted)
    /// (default `Permissions_Group_Coverage_Percent`).
    pub group_coverage_percent: String,
}

impl Default for TagKeys {
    fn default() -> Self {
        TagKeys {
            coverage_percent: "Permissions_Coverage_Percent".into(),
            granted: "Permissions_Granted".into(),
            unused: "Permissions_Unused".into(),
            used: "Permissions_Used".into(),
            stale: "Permissions_Stale".into(),
            audited: "Permissions_Audited".into(),
            services_accessed: "Services_Accessed".into(),
            previous_boundary: "iamsweep:previous-boundary".into(),
            group_granted: "Permissions_Group_Granted".into(),
            group_used: "Permissions_Group_Used".into(),
            group_coverage_percent: "Permissions_Group_Coverage_Percent".into(),
        }
    }
}

impl TagKeys {
    /// Every key with its config name, in a fixed order.
    pub fn all(&self) -> [(&'static str, &str); 11] {
        [
            ("coverage_percent", &self.coverage_percent),
            ("granted", &self.granted),
            ("unused", &self.unused),
            ("used", &self.used),
            ("stale", &self.stale),
            ("audited", &self.audited),
            ("services_accessed", &self.services_accessed),
            ("previous_boundary", &self.previous_boundary),
            ("group_granted", &self.group_granted),
            ("group_used", &self.group_used),
            ("group_coverage_percent", &self.group_coverage_percent),
        ]
    }
}

/// Whether `c` may appear in a tag key or value: IAM allows `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
///
/// `char::is_alphabetic` and `is_numeric` are close supersets of `\p{L}` and `\p{N}`; the only
/// summary values iamsweep builds from outside text are namespaces and ARNs, which are ASCII.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || c == ' '
        || c == '\u{a0}'
        || matches!(
            c,
            '\u{2000}'
                ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
        )
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

/// Checks a tag key: 1..128 allowed characters, not starting with the reserved `aws:`.
pub fn validate_tag_key(key: &str) -> Result<(), String> {
    let length = key.chars().count();
    if length == 0 || length > MAX_KEY_CHARS {
        return Err(format!("tag key `{key}` must be 1 to {MAX_KEY_CHARS} characters"));
    }
    if let Some(bad) = key.chars().find(|&c| !is_tag_char(c)) {
        return Err(format!(
            "tag key `{key}` holds `{bad}`; allowed are letters, digits, spaces and _.:/=+-@"
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!("tag key `{key}` uses the prefix `aws:`, which AWS reserves"));
    }
    Ok(())
}

/// Checks a tag value: at most 256 allowed characters (so no comma).
pub fn validate_tag_value(value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!("tag value is longer than {MAX_VALUE_CHARS} characters"));
    }
    if let Some(bad) = value.chars().find(|&c| !is_tag_char(c)) {
        return Err(format!(
            "tag value `{value}` holds `{bad}`; allowed are letters, digits, spaces and _.:/=+-@"
        ));
    }
    Ok(())
}

/// The `Services_Accessed` value: namespaces space-separated, cut to 256 characters.
///
/// When they do not all fit, as many as fit are kept, in order, followed by `+N` where N is how
/// many were left out, so a reader knows the list is partial and by how much.
pub fn services_accessed_value(namespaces: &[String]) -> String {
    let joined = namespaces.join(" ");
    if joined.chars().count() <= MAX_VALUE_CHARS {
        return joined;
    }
    for kept in (0..namespaces.len()).rev() {
        let suffix = format!("+{}", namespaces.len() - kept);
        let head = namespaces[..kept].join(" ");
        let value = if head.is_empty() { suffix } else { format!("{head} {suffix}") };
        if value.chars().count() <= MAX_VALUE_CHARS {
            return value;
        }
    }
    unreachable!("`+N` alone always fits in 256 characters")
}

/// Replaces every character but ASCII letters, digits and `_.:/=+-@` by `_`, cut to 256.
///
/// Used only on namespaces, which AWS spells `[a-z0-9-]`; kept as a last line of defence because
/// one invalid value fails the whole `TagUser`/`TagRole` call. ASCII only, because Rust's
/// `is_alphabetic` also admits combining marks that `\p{L}` does not; no space, because spaces
/// separate the namespaces in `Services_Accessed`.
fn sanitize(value: &str) -> String {
    let keep = |c: char| c.is_ascii_alphanumeric() || "_.:/=+-@".contains(c);
    value.chars().map(|c| if keep(c) { c } else { '_' }).take(MAX_VALUE_CHARS).collect()
}

/// The summary tags of one entity, for the audit made at `audited_at` (the snapshot's time).
///
/// `None` when the entity has no data (its collection failed or was skipped): tagging it would
/// claim an audit that did not happen.
pub fn summary_tags(
    report: &EntityReport,
    keys: &TagKeys,
    audited_at: OffsetDateTime,
) -> Option<BTreeMap<String, String>> {
    // A verdict exists exactly when the entity's data was collected.
    report.verdict?;
    let coverage = report.coverage_percent.unwrap_or(100);
    let used: Vec<String> = report
        .services
        .iter()
        .filter(|service| service.state == ServiceState::Used)
        .map(|service| sanitize(&service.namespace))
        .collect();
    let mut tags = BTreeMap::new();
    tags.insert(keys.coverage_percent.clone(), coverage.to_string());
    tags.insert(keys.granted.clone(), report.granted.to_string());
    tags.insert(keys.unused.clone(), report.unused.to_string());
    tags.insert(keys.used.clone(), report.used.to_string());
    tags.insert(keys.stale.clone(), report.stale.to_string());
    tags.insert(keys.services_accessed.clone(), services_accessed_value(&used));
    tags.insert(keys.audited.clone(), audited_date(audited_at));
    Some(tags)
}

/// The group summary a member user carries when `tags.tag_group_members` is on.
///
/// IAM cannot tag groups, and one tag set per group would run into the 50-tag limit for users in
/// many groups, so the user gets one aggregate over all of its groups: the services any of them
/// grants, how many of those any of them used within the window, and the coverage. A service
/// granted by two groups counts once, as used if either used it. `None` when none of the groups
/// has data.
pub fn group_member_tags(
    groups: &[&EntityReport],
    keys: &TagKeys,
) -> Option<BTreeMap<String, String>> {
    let mut services: BTreeMap<&str, bool> = BTreeMap::new();
    let mut any = false;
    // A verdict exists exactly when the group's data was collected.
    for group in groups.iter().filter(|group| group.verdict.is_some()) {
        any = true;
        for service in &group.services {
            *services.entry(&service.namespace).or_default() |= service.state == ServiceState::Used;
        }
    }
    if !any {
        return None;
    }
    let granted = services.len();
    let used = services.values().filter(|&&used| used).count();
    let coverage = if granted == 0 { 100 } else { crate::analysis::coverage(used, granted) };
    let mut tags = BTreeMap::new();
    tags.insert(keys.group_granted.clone(), granted.to_string());
    tags.insert(keys.group_used.clone(), used.to_string());
    tags.insert(keys.group_coverage_percent.clone(), coverage.to_string());
    Some(tags)
}

/// `YYYY-MM-DD` of an instant, in UTC.
pub fn audited_date(at: OffsetDateTime) -> String {
    let date = at.to_offset(time::UtcOffset::UTC).date();
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// The value of the previous-boundary tag for a boundary ARN (or `none`).
///
/// Errors when the ARN cannot be stored in a tag (longer than 256 characters, or holding a
/// comma, which policy names allow but tag values do not): without that tag a lost journal
/// would make the change irreversible, so the caller skips the boundary change instead.
pub fn previous_boundary_value(previous: Option<&str>) -> Result<String, String> {
    let Some(arn) = previous else { return Ok("none".into()) };
    validate_tag_value(arn).map(|()| arn.to_string()).map_err(|_| {
        format!(
            "its current boundary `{arn}` cannot be recorded in a tag (over 256 characters or \
             characters IAM refuses in tag values), so the change could not be rolled back \
             without the journal"
        )
    })
}

/// The value of `key` among `tags`, compared case-insensitively as IAM does for users and roles.
pub fn find_tag<'a>(tags: &'a BTreeMap<String, String>, key: &str) -> Option<(&'a str, &'a str)> {
    tags.iter()
        .find(|(existing, _)| existing.eq_ignore_ascii_case(key))
        .map(|(existing, value)| (existing.as_str(), value.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_accessed_is_cut_with_a_count_of_what_was_left_out() {
        let few: Vec<String> = ["ec2", "s3"].iter().map(|s| s.to_string()).collect();
        assert_eq!(services_accessed_value(&few), "ec2 s3");
        let many: Vec<String> = (0..100).map(|i| format!("service{i:03}")).collect();
        let value = services_accessed_value(&many);
        assert!(value.chars().count() <= MAX_VALUE_CHARS, "{value}");
        let kept = value.split(' ').count() - 1;
        assert!(value.ends_with(&format!(" +{}", 100 - kept)), "{value}");
        assert!(validate_tag_value(&value).is_ok());
    }

    #[test]
    fn keys_and_values_follow_iam_rules() {
        assert!(validate_tag_key("Permissions_Used").is_ok());
        assert!(validate_tag_key("iamsweep:previous-boundary").is_ok());
        assert!(validate_tag_key("AWS:thing").is_err());
        assert!(validate_tag_key("").is_err());
        assert!(validate_tag_key("a,b").is_err());
        assert!(validate_tag_value("").is_ok());
        assert!(validate_tag_value("a,b").is_err());
        assert!(previous_boundary_value(Some("arn:aws:iam::1:policy/a,b")).is_err());
        assert_eq!(previous_boundary_value(None).unwrap(), "none");
    }

    #[test]
    fn the_audited_date_is_utc() {
        let at = time::macros::datetime!(2026-11-23 23:30 -02:00);
        assert_eq!(audited_date(at), "2026-11-24");
    }
}
