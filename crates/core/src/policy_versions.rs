//! Which version of a managed policy to delete at IAM's limit of five versions.
//!
//! Decided here once, for the plan (the dry run shows it) and the applier (which lists the
//! versions again just before writing) alike. The two used to disagree: one compared version
//! ids as strings (`v10` < `v8`), the other as numbers, so with `v8`..`v12` created in the same
//! second the dry run named `v10` and the apply deleted `v8`.
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html>.

use std::cmp::Ordering;

use crate::plan::LiveVersion;

/// IAM keeps at most this many versions of a managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// The version to delete before creating a new one: `None` below five versions; otherwise the
/// oldest non-default version by creation date, ties (IAM dates have one-second precision)
/// broken by the numeric version id, so `v8` goes before `v10`. The default version is never
/// chosen (IAM refuses to delete it; the original sample deleted "default minus 3", which could
/// be the default itself).
pub fn version_to_delete(versions: &[LiveVersion]) -> Option<String> {
    if versions.len() < MAX_POLICY_VERSIONS {
        return None;
    }
    versions
        .iter()
        .filter(|version| !version.is_default)
        .min_by(|a, b| age_order(a, b))
        .map(|version| version.version_id.clone())
}

/// Older first: by creation date, then by version number, then (ids IAM never makes) by text.
fn age_order(a: &LiveVersion, b: &LiveVersion) -> Ordering {
    a.created
        .cmp(&b.created)
        .then_with(|| number_or_last(&a.version_id).cmp(&number_or_last(&b.version_id)))
        .then_with(|| a.version_id.cmp(&b.version_id))
}

/// `v12` -> `Some(12)`; an id not shaped like IAM's sorts after every numbered one.
pub fn version_number(version_id: &str) -> Option<u64> {
    version_id.strip_prefix('v').and_then(|number| number.parse().ok())
}

fn number_or_last(version_id: &str) -> u64 {
    version_number(version_id).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;

    const SECOND: OffsetDateTime = datetime!(2026-11-23 12:00:00 UTC);

    fn version(id: &str, is_default: bool, created: OffsetDateTime) -> LiveVersion {
        LiveVersion { version_id: id.into(), is_default, created }
    }

    #[test]
    fn below_five_versions_nothing_is_deleted() {
        let four: Vec<LiveVersion> =
            ["v1", "v2", "v3", "v4"].iter().map(|id| version(id, *id == "v4", SECOND)).collect();
        assert_eq!(version_to_delete(&four), None);
    }

    /// Regression: v8..v12 created in the same second; string order would pick v10.
    #[test]
    fn same_second_versions_are_ordered_by_number_not_text() {
        let five: Vec<LiveVersion> = ["v10", "v8", "v12", "v11", "v9"]
            .iter()
            .map(|id| version(id, *id == "v12", SECOND))
            .collect();
        assert_eq!(version_to_delete(&five).as_deref(), Some("v8"));
    }

    #[test]
    fn the_date_comes_first_and_the_default_is_never_chosen() {
        let later = SECOND + time::Duration::seconds(1);
        let five = vec![
            version("v1", true, SECOND),
            version("v2", false, later),
            version("v3", false, later),
            version("v10", false, SECOND),
            version("v11", false, later),
        ];
        // v10 is older by date than v2: the date decides before the number.
        assert_eq!(version_to_delete(&five).as_deref(), Some("v10"));
        let mut only_default = five.clone();
        for version in &mut only_default {
            version.is_default = true;
        }
        assert_eq!(version_to_delete(&only_default), None);
    }

    #[test]
    fn odd_ids_sort_after_numbered_ones() {
        assert_eq!(version_number("v12"), Some(12));
        assert_eq!(version_number("12"), None);
        assert_eq!(number_or_last("x"), u64::MAX);
    }
}
