//! The original sample's list files, read from bytes: `do_not_list.txt` and `base_actions.txt`.
//!
//! Both hold entries separated by commas and/or newlines. The files were edited by hand for
//! years, so CRLF line ends, spaces around entries, blank lines and repeated entries are all
//! tolerated; the format itself is unchanged so existing files keep working.
//!
//! What a careless editor can do to such a file is not tolerated, because a do-not list that is
//! read wrong protects nobody: a UTF-8 byte order mark is dropped (Notepad writes one, and it
//! used to become part of the first entry, which then matched nothing); UTF-16 (Notepad's
//! "Unicode"), bytes that are not UTF-8, NUL and other control characters, characters no IAM
//! name, path or ARN can hold, and entries longer than anything they can name are refused with
//! their line. The `aws` crate reads the files (locally or from `s3://`) and hands their bytes
//! here, so no caller decodes them on its own.

use crate::error::InputError;

/// The longest `do_not_list.txt` entry: an ARN is at most 2,048 characters in IAM, and a name
/// (64), a path or a glob meant to match them fits within that. Anything longer names nothing.
pub const MAX_ENTRY_CHARS: usize = 2048;

/// The longest action `service:Action`: IAM refuses longer action names in a policy.
pub const MAX_ACTION_CHARS: usize = 128;

/// The UTF-8 byte order mark, which Windows editors put at the start of "UTF-8" files.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes a list file: a UTF-8 BOM dropped, anything but UTF-8 text of printable characters,
/// tabs and line ends refused with its 1-based line.
pub fn decode(bytes: &[u8]) -> Result<&str, InputError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(InputError::line(
            1,
            format!("{UTF16}: it starts with a UTF-16 byte order mark; {RESAVE}"),
        ));
    }
    if let Some(offset) = bytes.iter().position(|&byte| byte == 0) {
        // UTF-16 without a BOM puts a NUL beside every ASCII character; say so, since "NUL
        // byte" alone does not tell the user to re-save the file.
        let utf16 = bytes.len() >= 2 && ((bytes[0] == 0) != (bytes[1] == 0));
        let message = if utf16 {
            format!("{UTF16}: NUL bytes between its characters; {RESAVE}")
        } else {
            "a NUL byte; a list file is UTF-8 text".to_string()
        };
        return Err(InputError::line(line_at(bytes, offset), message));
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        InputError::line(
            line_at(bytes, offset),
            format!("byte 0x{:02X} is not UTF-8; {RESAVE}", bytes[offset]),
        )
    })?;
    for (index, line) in text.split('\n').enumerate() {
        if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t' && c != '\r') {
            return Err(InputError::line(
                index + 1,
                format!(
                    "control character U+{:04X}; a list file holds printable text, tabs and line \
                     ends only",
                    u32::from(c)
                ),
            ));
        }
    }
    Ok(text)
}

const UTF16: &str = "the file is UTF-16 (Notepad's \"Unicode\"), not UTF-8";
const RESAVE: &str = "hint: save it as UTF-8";

/// The 1-based line holding byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&byte| byte == b'\n').count() + 1
}

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
/// An empty file means an empty list. Whether a missing file is an error is the caller's
/// decision (the original sample silently treated it as "no exclusions", which is why the
/// binaries fail instead). See [`validate_entry`] for what an entry may hold.
pub fn parse_do_not_list(bytes: &[u8]) -> Result<Vec<String>, InputError> {
    entries(decode(bytes)?)
        .into_iter()
        .map(|(line, entry)| {
            validate_entry(&entry).map(|()| entry).map_err(|m| InputError::line(line, m))
        })
        .collect()
}

/// Parses `base_actions.txt`: actions shaped `namespace:Action`, granted by the boundary of an
/// entity that used nothing in the window (or of every entity, when configured).
///
/// An entry of another shape is rejected with its line number: a typo here would otherwise
/// become a boundary IAM rejects, or one that silently grants nothing.
pub fn parse_base_actions(bytes: &[u8]) -> Result<Vec<String>, InputError> {
    entries(decode(bytes)?)
        .into_iter()
        .map(|(line, entry)| {
            validate_action(&entry).map(|()| entry).map_err(|m| InputError::line(line, m))
        })
        .collect()
}

/// Checks a do-not-list entry: at most [`MAX_ENTRY_CHARS`] characters, printable ASCII only.
///
/// IAM names, paths and ARNs are ASCII, so an entry holding any other character (a zero-width
/// space, a Cyrillic letter that looks Latin) would silently protect nobody.
pub fn validate_entry(entry: &str) -> Result<(), String> {
    let length = entry.chars().count();
    if length > MAX_ENTRY_CHARS {
        return Err(format!(
            "an entry of {length} characters ({}); an ARN is at most {MAX_ENTRY_CHARS} characters \
             and a name or glob fits within that",
            shorten(entry)
        ));
    }
    if let Some(c) = entry.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "{} holds U+{:04X}, which no IAM name, path or ARN holds, so it would match nothing",
            shorten(entry),
            u32::from(c)
        ));
    }
    Ok(())
}

/// Checks that `action` is shaped `namespace:Action`: namespace `[a-z0-9-]+`, action letters and
/// digits with optional `*` wildcards, such as `s3:Get*` or `sts:GetCallerIdentity`, at most
/// [`MAX_ACTION_CHARS`] characters in all.
pub fn validate_action(action: &str) -> Result<(), String> {
    let length = action.chars().count();
    if length > MAX_ACTION_CHARS {
        return Err(format!(
            "{} has {length} characters; an action `service:Action` is at most \
             {MAX_ACTION_CHARS}",
            shorten(action)
        ));
    }
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

/// The entry in backticks, cut to its first 40 characters: a 5 MB line is not echoed whole.
fn shorten(entry: &str) -> String {
    const SHOWN: usize = 40;
    match entry.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("`{}`...", entry[..end].escape_debug()),
        None => format!("`{}`", entry.escape_debug()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    fn line_of(error: &InputError) -> usize {
        match error.location {
            Location::Line { line, .. } => line,
            ref other => panic!("expected a line, found {other:?}"),
        }
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend(if big_endian { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
        }
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        bytes
    }

    #[test]
    fn names_tolerate_crlf_spaces_blank_lines_and_duplicates() {
        let text =
            "ci-deployer, admin\r\n\r\n  break-glass ,admin\r\narn:aws:iam::*:role/admin/*\n";
        assert_eq!(
            parse_do_not_list(text.as_bytes()).unwrap(),
            vec!["ci-deployer", "admin", "break-glass", "arn:aws:iam::*:role/admin/*"]
        );
        assert!(parse_do_not_list(b"").unwrap().is_empty());
    }

    #[test]
    fn a_utf8_bom_is_dropped_from_both_files() {
        // Regression: the BOM became part of `admin`, which then protected nobody.
        assert_eq!(parse_do_not_list(b"\xEF\xBB\xBFadmin\r\nci-*").unwrap(), vec!["admin", "ci-*"]);
        assert_eq!(
            parse_base_actions(b"\xEF\xBB\xBFsts:GetCallerIdentity\n").unwrap(),
            vec!["sts:GetCallerIdentity"]
        );
        // Only at the start: a BOM inside the text (two files pasted together) is refused.
        let error = parse_do_not_list("admin\n\u{FEFF}ci-*".as_bytes()).unwrap_err();
        assert_eq!(line_of(&error), 2);
        assert!(error.message.contains("U+FEFF"), "{}", error.message);
    }

    #[test]
    fn utf16_of_either_byte_order_is_refused_with_or_without_bom() {
        for big_endian in [false, true] {
            for bom in [false, true] {
                let bytes = utf16("admin\r\nci-*\r\n", big_endian, bom);
                for error in [
                    parse_do_not_list(&bytes).unwrap_err(),
                    parse_base_actions(&bytes).unwrap_err(),
                ] {
                    assert_eq!(line_of(&error), 1, "{big_endian} {bom}");
                    assert!(error.message.contains("UTF-16"), "{}", error.message);
                }
            }
        }
    }

    #[test]
    fn nul_and_control_characters_are_refused_with_their_line() {
        let error = parse_do_not_list(b"admin\nci-deployer\nbreak\0glass\n").unwrap_err();
        assert_eq!(line_of(&error), 3);
        assert!(error.message.contains("NUL"), "{}", error.message);
        let error =
            parse_base_actions(b"s3:GetObject\n\x1b[31msts:GetCallerIdentity\n").unwrap_err();
        assert_eq!(line_of(&error), 2);
        assert!(error.message.contains("U+001B"), "{}", error.message);
        let error = parse_do_not_list("admin\n\nci\u{85}-*\n".as_bytes()).unwrap_err();
        assert_eq!(line_of(&error), 3);
        // Tabs, CR and LF are the only control characters a list may hold.
        assert_eq!(parse_do_not_list(b"a\tb\r\nc\n").unwrap(), vec!["a", "b", "c"]);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_with_their_line() {
        // Latin-1 `é`, as an old editor saves it.
        let error = parse_do_not_list(b"admin\ncaf\xE9\n").unwrap_err();
        assert_eq!(line_of(&error), 2);
        assert!(error.message.contains("0xE9"), "{}", error.message);
    }

    #[test]
    fn characters_no_iam_name_holds_are_refused() {
        // A zero-width space and a Cyrillic `а` look like nothing and like `a`.
        for entry in ["ad\u{200B}min", "\u{430}dmin"] {
            let error = parse_do_not_list(format!("ci-*\n{entry}\n").as_bytes()).unwrap_err();
            assert_eq!(line_of(&error), 2, "{entry}");
        }
    }

    #[test]
    fn entries_longer_than_iam_allows_are_refused_with_their_line() {
        let arn = format!("arn:aws:iam::111122223333:role/{}", "a".repeat(2048 - 31));
        assert_eq!(arn.len(), MAX_ENTRY_CHARS);
        assert_eq!(parse_do_not_list(arn.as_bytes()).unwrap(), vec![arn.clone()]);
        let error = parse_do_not_list(format!("admin\n{arn}b\n").as_bytes()).unwrap_err();
        assert_eq!(line_of(&error), 2);
        assert!(error.message.contains("2049 characters"), "{}", error.message);
        // A 5 MB line is refused without being echoed.
        let huge = "a".repeat(5 * 1024 * 1024);
        let error = parse_do_not_list(huge.as_bytes()).unwrap_err();
        assert!(error.message.len() < 300, "{}", error.message.len());
        let error = parse_base_actions(format!("s3:{huge}").as_bytes()).unwrap_err();
        assert_eq!(line_of(&error), 1);

        let action = format!("s3:{}", "A".repeat(125));
        assert_eq!(action.len(), MAX_ACTION_CHARS);
        assert!(parse_base_actions(action.as_bytes()).is_ok());
        let error = parse_base_actions(format!("s3:GetObject\n{action}A").as_bytes()).unwrap_err();
        assert_eq!(line_of(&error), 2);
        assert!(error.message.contains("129 characters"), "{}", error.message);
    }

    #[test]
    fn base_actions_are_validated_with_their_line() {
        assert_eq!(
            parse_base_actions(b"sts:GetCallerIdentity,\r\nec2:Describe*\n\ns3:Get*,s3:Get*")
                .unwrap(),
            vec!["sts:GetCallerIdentity", "ec2:Describe*", "s3:Get*"]
        );
        let error = parse_base_actions(b"s3:GetObject\n\nS3:ListBucket\n").unwrap_err();
        assert_eq!(error.location, Location::Line { line: 3, column: None });
        assert!(error.message.contains("`S3:ListBucket`"), "{}", error.message);
        assert!(parse_base_actions(b"iam").is_err());
        assert!(parse_base_actions(b"iam:Pass-Role").is_err());
        assert!(parse_base_actions(b"iam:").is_err());
    }
}
