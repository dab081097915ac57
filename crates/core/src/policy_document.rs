//! What IAM accepts as a managed policy document, checked before anything is written.
//!
//! `apply` validates every document of a plan, for the whole plan, before its first write: a
//! document IAM would refuse must never leave half a plan applied (a plan whose boundary was not
//! JSON once made six `CreatePolicy` calls before the seventh was refused).
//! Limits: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html> (6,144
//! characters for a managed policy, whitespace not counted) and the `PolicyDocument` parameter of
//! `CreatePolicy` (at most 131,072 characters of tab, LF, CR and U+0020 to U+00FF).

/// A managed policy document: at most this many characters, whitespace not counted.
pub const MAX_MANAGED_POLICY_CHARS: usize = 6_144;
/// The `PolicyDocument` parameter: at most this many characters, whitespace included.
pub const MAX_DOCUMENT_CHARS: usize = 131_072;

/// Whether IAM accepts `c` in a policy document (`[\u0009\u000A\u000D\u0020-\u00FF]+`).
pub fn is_document_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')
}

/// Characters IAM counts against the managed policy limit: all but whitespace.
pub fn counted_chars(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks a managed policy document as IAM would: only the characters it accepts, at most
/// 131,072 characters, a JSON object, at most 6,144 characters without whitespace. `Err` says
/// what is wrong, as a phrase that follows "the document".
pub fn validate_managed_policy(document: &str) -> Result<(), String> {
    if let Some((index, bad)) = document.char_indices().find(|(_, c)| !is_document_char(*c)) {
        return Err(format!(
            "holds the character U+{:04X} at byte {index}; IAM accepts only tab, LF, CR and \
             U+0020 to U+00FF",
            u32::from(bad)
        ));
    }
    let total = document.chars().count();
    if total > MAX_DOCUMENT_CHARS {
        return Err(format!("is {total} characters long, over IAM's {MAX_DOCUMENT_CHARS}"));
    }
    match serde_json::from_str::<serde_json::Value>(document) {
        Ok(serde_json::Value::Object(_)) => {}
        Ok(_) => return Err("is JSON but not an object".into()),
        Err(error) => return Err(format!("is not JSON: {error}")),
    }
    let counted = counted_chars(document);
    if counted > MAX_MANAGED_POLICY_CHARS {
        return Err(format!(
            "is {counted} characters without whitespace, over IAM's {MAX_MANAGED_POLICY_CHARS} \
             for a managed policy"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_json_object_passes() {
        assert_eq!(validate_managed_policy(r#"{"Version":"2012-10-17","Statement":[]}"#), Ok(()));
        assert_eq!(validate_managed_policy("{\t\"Sid\":\r\n\"é\"}"), Ok(()));
    }

    #[test]
    fn not_json_and_not_an_object_are_refused() {
        assert!(validate_managed_policy("Allow *").unwrap_err().contains("not JSON"));
        assert!(validate_managed_policy("[1]").unwrap_err().contains("not an object"));
        assert!(validate_managed_policy("").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn characters_outside_latin_1_and_controls_are_refused() {
        let error = validate_managed_policy("{\"a\":\"\u{2603}\"}").unwrap_err();
        assert!(error.contains("U+2603") && error.contains("byte 6"), "{error}");
        assert!(validate_managed_policy("{\"a\":\"\u{0}\"}").unwrap_err().contains("U+0000"));
        assert!(validate_managed_policy("{\"a\":\"\u{b}\"}").is_err());
    }

    #[test]
    fn sizes_count_as_iam_counts() {
        // Whitespace does not count against 6,144 ...
        let padded = format!("{{\"a\":{}\"b\"}}", " ".repeat(10_000));
        assert_eq!(validate_managed_policy(&padded), Ok(()));
        // ... but does against 131,072.
        let huge = format!("{{\"a\":{}\"b\"}}", " ".repeat(MAX_DOCUMENT_CHARS));
        assert!(validate_managed_policy(&huge).unwrap_err().contains("131072"));
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_MANAGED_POLICY_CHARS));
        assert!(validate_managed_policy(&long).unwrap_err().contains("6144"));
        let fits = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_MANAGED_POLICY_CHARS - 8));
        assert_eq!(counted_chars(&fits), MAX_MANAGED_POLICY_CHARS);
        assert_eq!(validate_managed_policy(&fits), Ok(()));
    }
}
