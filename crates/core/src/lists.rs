//! The original sample's list files, read from text: `do_not_list.txt` and `base_actions.txt`.
//!
//! Both hold entries separated by commas and/or newlines. The files were edited by hand for
//! years, so CRLF line ends, spaces around entries, blank lines and repeated entries are all
//! tolerated; the format itself is unchanged so existing files keep working. The `aws` and `cli`
//! crates read the files (locally or from `s3://`) and hand their text here.

use crate::error::InputError;

/// Splits list text into its entries with their 1-based line numbers, trimmed, blank entries
/// dropped and repeats removed (first occurrence kept, so line numbers stay meaningful).
///
/// Spaces and tabs also separate entries: no IAM name, ARN or action contains one, so a missing
/// comma between two entries on a line is read the way its author meant it.
pub fn entries(text: &str) -> Vec<(usize, String)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for entry in line.split(|c: char| c == ',' || c.is_whitespace()) {
            if !entry.is_empty() && seen.insert(entry.to_string()) {
                out.push((index + 1, entry.to_string()));
            }
        }
    }
    out
}

/// Parses `do_not_list.txt`: entity names, ARNs or globs (`ci-*`,
/// `arn:aws:iam::*:role/admin/*`) that iamsweep never touches.
///
/// Any text is a valid list; an empty file means an empty list. Whether a missing file is an
/// error is the caller's decision (the original sample silently treated it as "no exclusions",
/// which is why the binaries fail instead).
pub fn parse_do_not_list(text: &str) -> Vec<String> {
    entries(text).into_iter().map(|(_, entry)| entry).collect()
}

/// Parses `base_actions.txt`: actions shaped `namespace:Action`, granted by the boundary of an
/// entity that used nothing in the window (or of every entity, when configured).
///
/// An entry of another shape is rejected with its line number: a typo here would otherwise
/// become a boundary IAM rejects, or one that silently grants nothing.
pub fn parse_base_actions(text: &str) -> Result<Vec<String>, InputError> {
    entries(text)
        .into_iter()
        .map(|(line, entry)| {
            validate_action(&entry).map(|()| entry).map_err(|m| InputError::line(line, m))
        })
        .collect()
}

/// Checks that `action` is shaped `namespace:Action`: namespace `[a-z0-9-]+`, action letters and
/// digits with optional `*` wildcards, such as `s3:Get*` or `sts:GetCallerIdentity`.
pub fn validate_action(action: &str) -> Result<(), String> {
    let expected = "expected `namespace:Action` such as `s3:GetObject` or `ec2:Describe*`";
    let Some((namespace, name)) = action.split_once(':') else {
        return Err(format!("`{action}` is not an action: {expected}"));
    };
    let namespace_ok = !namespace.is_empty()
        && namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '*');
    if namespace_ok && name_ok {
        Ok(())
    } else {
        Err(format!("`{action}` is not an action: {expected}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    #[test]
    fn names_tolerate_crlf_spaces_blank_lines_and_duplicates() {
        let text =
            "ci-deployer, admin\r\n\r\n  break-glass ,admin\r\narn:aws:iam::*:role/admin/*\n";
        assert_eq!(
            parse_do_not_list(text),
            vec!["ci-deployer", "admin", "break-glass", "arn:aws:iam::*:role/admin/*"]
        );
        assert!(parse_do_not_list("").is_empty());
    }

    #[test]
    fn base_actions_are_validated_with_their_line() {
        assert_eq!(
            parse_base_actions("sts:GetCallerIdentity,\r\nec2:Describe*\n\ns3:Get*,s3:Get*")
                .unwrap(),
            vec!["sts:GetCallerIdentity", "ec2:Describe*", "s3:Get*"]
        );
        let error = parse_base_actions("s3:GetObject\n\nS3:ListBucket\n").unwrap_err();
        assert_eq!(error.location, Location::Line { line: 3, column: None });
        assert!(error.message.contains("`S3:ListBucket`"), "{}", error.message);
        assert!(parse_base_actions("iam").is_err());
        assert!(parse_base_actions("iam:Pass-Role").is_err());
        assert!(parse_base_actions("iam:").is_err());
    }
}
