//! Wildcard compression of an action-level Deny: the fewest `Prefix*` patterns that match, in
//! the [`crate::action_catalogue`], every action to deny and nothing else.
//!
//! Listing every tracked-but-unused action one by one does not fit IAM's 6,144 characters (EC2
//! alone has over 800 actions). A pattern `ec2:Create*` is safe only if every catalogue action
//! it matches is to be denied: never a used action, never an untracked one (Access Advisor has
//! no data about those, which is not evidence they are unused). IAM compares action names
//! without regard to case, so the judgement is made on lower-cased names: `DescribeInstanceS*`
//! matches `DescribeInstances` too.
//!
//! The method is a prefix trie over the lower-cased catalogue names of one service. A trie node
//! is *pure* when every catalogue action below it is to be denied. Any safe pattern `P*`
//! corresponds to a pure node, and lies under exactly one maximal pure node (a pure node whose
//! parent is not pure); maximal pure nodes are disjoint, and each holds an action to deny. So
//! one pattern per maximal pure node, its shortest prefix, is the fewest patterns possible.
//! An action to deny whose own name is a prefix of an action to keep (`DeleteTags` under a kept
//! `DeleteTagsForResource`) gets an exact, star-less pattern. The root is never a pattern: a
//! used service is never denied whole (the boundary treats a service with nothing left to allow
//! at service level).
//!
//! The shortest prefix is chosen over the whole name even for a single action (`CreateU*`
//! rather than `CreateUser`): on an EC2-heavy boundary that is about 1,000 characters of IAM's
//! 6,144. The price is that an action AWS adds later under a denied prefix is denied too, until
//! the catalogue is regenerated and the next plan recomputes the patterns.

use std::collections::BTreeSet;

/// One catalogue action as the trie sees it.
struct Item<'a> {
    /// The lower-cased name: what IAM compares.
    lower: String,
    /// The name as the catalogue spells it: what the pattern is written with.
    name: &'a str,
    deny: bool,
}

/// The fewest patterns (action names without the namespace, with or without a trailing `*`)
/// that match, among `catalogue`, exactly the actions whose lower-cased name is in `deny`,
/// compared case-insensitively. Sorted and distinct. Empty when nothing is to be denied.
///
/// Names of `deny` the catalogue lacks are not covered: the caller decides what they mean
/// (the boundary treats such a service at service level). Patterns are cut from catalogue names,
/// which [`crate::action_catalogue::is_action_name`] keeps free of wildcards.
///
/// ```
/// use std::collections::BTreeSet;
/// use iamsweep_core::action_patterns::compress;
///
/// let catalogue: Vec<String> = ["CreateImage", "CreateVpc", "DeleteVpc", "DescribeImages",
///     "DescribeInstances", "RunInstances"].map(String::from).into();
/// let deny: BTreeSet<String> = ["createimage", "createvpc", "deletevpc", "describeimages"]
///     .map(String::from).into();
/// // `Describe*` would also match the kept DescribeInstances: `DescribeIm*` is as short as it gets.
/// assert_eq!(compress(&catalogue, &deny), ["C*", "Del*", "DescribeIm*"]);
/// ```
pub fn compress(catalogue: &[String], deny: &BTreeSet<String>) -> Vec<String> {
    let mut items: Vec<Item<'_>> = catalogue
        .iter()
        .map(|name| {
            let lower = name.to_ascii_lowercase();
            let deny = deny.contains(&lower);
            Item { lower, name, deny }
        })
        .collect();
    items.sort_by(|a, b| a.lower.cmp(&b.lower).then_with(|| a.name.cmp(b.name)));
    // Two spellings of one name are one IAM action.
    items.dedup_by(|later, first| later.lower == first.lower);
    let mut patterns = Vec::new();
    cover(&items, 0, &mut patterns);
    patterns.sort();
    patterns.dedup();
    patterns
}

/// Appends the patterns for `items`, which share their first `depth` (lower-cased) characters.
fn cover(items: &[Item<'_>], depth: usize, patterns: &mut Vec<String>) {
    if !items.iter().any(|item| item.deny) {
        return;
    }
    if depth > 0 && items.iter().all(|item| item.deny) {
        let first = &items[0];
        if items.len() == 1 && first.lower.len() == depth {
            patterns.push(first.name.to_string());
        } else {
            // Names are ASCII (checked when the catalogue is read), so `depth` is a char boundary.
            patterns.push(format!("{}*", &first.name[..depth]));
        }
        return;
    }
    let mut rest = items;
    // The action whose whole name is the prefix sorts first; no `Prefix*` can single it out.
    if let Some(exact) = rest.first().filter(|item| item.lower.len() == depth) {
        if exact.deny {
            patterns.push(exact.name.to_string());
        }
        rest = &rest[1..];
    }
    while let Some(first) = rest.first() {
        let next = first.lower.as_bytes()[depth];
        let end = rest.iter().position(|item| item.lower.as_bytes()[depth] != next);
        let (group, after) = rest.split_at(end.unwrap_or(rest.len()));
        cover(group, depth + 1, patterns);
        rest = after;
    }
}

/// Whether a pattern written by [`compress`] matches `action` as IAM judges it: an exact name,
/// or a prefix before a trailing `*`, compared case-insensitively.
pub fn matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => {
            action.len() >= prefix.len()
                && action.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        }
        None => pattern.eq_ignore_ascii_case(action),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    fn lower(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|name| name.to_ascii_lowercase()).collect()
    }

    #[test]
    fn an_action_that_prefixes_a_kept_one_is_denied_exactly() {
        let catalogue = names(&["DeleteTags", "DeleteTagsForResource", "DeleteVpc"]);
        let patterns = compress(&catalogue, &lower(&["DeleteTags", "DeleteVpc"]));
        assert_eq!(patterns, ["DeleteTags", "DeleteV*"]);
    }

    #[test]
    fn the_judgement_ignores_case() {
        // `DescribeInstanceS*` cut from DescribeInstanceStatus would match the used
        // DescribeInstances: the pattern must go one letter further.
        let catalogue = names(&["DescribeInstanceStatus", "DescribeInstances"]);
        let patterns = compress(&catalogue, &lower(&["DescribeInstanceStatus"]));
        assert_eq!(patterns, ["DescribeInstanceSt*"]);
        assert!(!matches(&patterns[0], "DescribeInstances"));
    }

    #[test]
    fn a_service_with_everything_to_deny_is_never_denied_by_its_root() {
        let catalogue = names(&["Alpha", "Beta"]);
        assert_eq!(compress(&catalogue, &lower(&["Alpha", "Beta"])), ["A*", "B*"]);
        assert!(compress(&catalogue, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn matching_is_a_case_insensitive_prefix_or_exact_name() {
        assert!(matches("create*", "CreateVpc"));
        assert!(matches("CreateVpc", "createvpc"));
        assert!(!matches("CreateVpc", "CreateVpcEndpoint"));
        assert!(!matches("CreateVpcE*", "CreateVpc"));
    }
}
