//! Policy documents in a plan file: JSON values a reviewer can read, compact text in memory.
//!
//! In memory a document stays the canonical JSON text iamsweep compares and sends to IAM. In the
//! plan file (`iamsweep.plan/v3`) it is written as a JSON value, not an escaped string, and read
//! back as the compact text of the value found: an unedited document gives back exactly its
//! canonical text, and any edit that changes a value, a key or an order gives another text,
//! which the verifier refuses as it refuses any edited document. A value that is not an object
//! (a string, as plans before v3 held) is kept as the text of that value, so the verifier names
//! the field and says the document is not a JSON object, instead of a parse error without one.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Writes `document` (JSON text) as the JSON value it holds; text that is not JSON, which no
/// iamsweep document is, is written as a string rather than lost.
pub fn serialize<S: Serializer>(document: &str, serializer: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<Value>(document) {
        Ok(value) => value.serialize(serializer),
        Err(_) => serializer.serialize_str(document),
    }
}

/// Reads a JSON value back as its compact text.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "super")]
        document: String,
    }

    const CANONICAL: &str = r#"{"Statement":[{"Action":["s3:*","sts:*"],"Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#;

    #[test]
    fn a_canonical_document_is_a_json_value_in_the_file_and_reads_back_exactly() {
        let holder = Holder { document: CANONICAL.into() };
        let pretty = serde_json::to_string_pretty(&holder).unwrap();
        let value: serde_json::Value = serde_json::from_str(&pretty).unwrap();
        assert!(value["document"].is_object(), "{pretty}");
        assert_eq!(serde_json::from_str::<Holder>(&pretty).unwrap(), holder);
    }

    #[test]
    fn an_edited_or_reordered_document_reads_back_as_other_text() {
        let reordered = CANONICAL.replace(r#"["s3:*","sts:*"]"#, r#"["sts:*","s3:*"]"#);
        let read: Holder =
            serde_json::from_str(&format!(r#"{{"document": {reordered}}}"#)).unwrap();
        assert_ne!(read.document, CANONICAL);
        // A string (the shape of plans before v3) is kept as a JSON string, not as its content.
        let read: Holder =
            serde_json::from_str(&format!(r#"{{"document": {:?}}}"#, CANONICAL)).unwrap();
        assert_ne!(read.document, CANONICAL);
        assert!(read.document.starts_with('"'));
    }
}
