//! The snapshot: everything one collection gathered, as one versioned JSON document.
//!
//! A snapshot can be saved (`--save-snapshot`) and analysed again offline (`--snapshot`) with no
//! AWS access, which is how auditors, tests and new users run iamsweep without credentials.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::InputError;
use crate::model::{EntityRecord, Granularity};

/// The `schema` value of every snapshot this version writes and reads.
pub const SNAPSHOT_SCHEMA: &str = "iamsweep.snapshot/v1";

/// Everything one collection gathered about an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`SNAPSHOT_SCHEMA`].
    pub schema: String,
    /// When collection finished; analysis of a snapshot measures ages from this instant.
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    /// The audited account.
    pub account_id: String,
    /// The principal that ran the collection, as `GetCallerIdentity` reported it.
    #[serde(default)]
    pub caller_arn: Option<String>,
    /// Whether action-level data was requested.
    pub granularity: Granularity,
    /// Whether `granted_by` attribution was collected.
    #[serde(default)]
    pub attributed: bool,
    /// Figures about the collection itself.
    #[serde(default)]
    pub stats: CollectionStats,
    /// Every entity of the inventory, exactly once.
    pub entities: Vec<EntityRecord>,
}

/// Figures about one collection, reported in the audit summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectionStats {
    /// AWS calls made, retries included.
    pub calls: u64,
    /// Calls answered with `Throttling`.
    pub throttles: u64,
    /// Wall time of the collection, in seconds.
    pub wall_seconds: f64,
}

impl Snapshot {
    /// Parses a snapshot, naming the line and column of malformed JSON and checking the schema.
    pub fn from_json(text: &str) -> Result<Snapshot, InputError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| InputError::at_json("snapshot", &error))?;
        match value.get("schema").and_then(|schema| schema.as_str()) {
            Some(SNAPSHOT_SCHEMA) => {}
            Some(other) => {
                return Err(InputError::field(
                    "schema",
                    format!("expected `{SNAPSHOT_SCHEMA}`, found `{other}`"),
                ));
            }
            None => {
                return Err(InputError::field(
                    "schema",
                    format!(
                        "missing; expected `{SNAPSHOT_SCHEMA}` (is this an iamsweep snapshot?)"
                    ),
                ));
            }
        }
        serde_json::from_str(text).map_err(|error| InputError::at_json("snapshot", &error))
    }

    /// Serialises the snapshot as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a snapshot always serialises")
    }
}
