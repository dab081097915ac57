//! Escaping: every string that reaches the page goes through [`escape`].
//!
//! Entity names, paths, tags, policy names, reasons and AWS error messages all come from files a
//! user hands iamsweep (a snapshot, a plan) or from AWS, so none of them is trusted to be free of
//! markup. One function serves text and attribute values alike: the page quotes every attribute
//! with `"`, and escaping `'` as well costs nothing and keeps a future single-quoted attribute
//! safe.

use std::borrow::Cow;

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references; borrowed when there
/// is nothing to replace (the common case: IAM names hold none of them).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Appends `text`, escaped, to `out`.
pub fn push(out: &mut String, text: &str) {
    out.push_str(&escape(text));
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_quotes_become_references() {
        assert_eq!(
            escape("a<script>\"x\"&'y'</script>"),
            "a&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        assert!(matches!(escape("alice@example"), std::borrow::Cow::Borrowed(_)));
        // An already escaped text is escaped again: the page shows what the input held.
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }
}
