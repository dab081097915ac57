//! The snapshot: everything one collection gathered, as one versioned JSON document.
//!
//! A snapshot can be saved (`--save-snapshot`) and analysed again offline (`--snapshot`) with no
//! AWS access, which is how auditors, tests and new users run iamsweep without credentials.

use std::collections::HashMap;

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
    /// Parses a snapshot, naming the line and column of malformed JSON, checking the schema and
    /// that no entity is listed twice.
    pub fn from_json(text: &str) -> Result<Snapshot, InputError> {
        Self::from_slice(text.as_bytes())
    }

    /// [`Snapshot::from_json`] from bytes, as read from a file (the fastest way serde_json
    /// parses: a 10,000-entity snapshot is tens of megabytes).
    pub fn from_slice(bytes: &[u8]) -> Result<Snapshot, InputError> {
        match serde_json::from_slice::<Snapshot>(bytes) {
            Ok(snapshot) if snapshot.schema == SNAPSHOT_SCHEMA => {
                check_unique(&snapshot.entities)?;
                Ok(snapshot)
            }
            Ok(snapshot) => Err(schema_error(Some(&snapshot.schema))),
            Err(error) => Err(Self::diagnose(bytes, InputError::at_json("snapshot", &error))),
        }
    }

    /// Explains a failed parse by the schema when the document is not a v1 snapshot at all,
    /// which says more than the first field that did not fit.
    fn diagnose(bytes: &[u8], error: InputError) -> InputError {
        /// Reads only `schema`; the rest is skipped without building a tree.
        #[derive(Deserialize)]
        struct Probe {
            schema: Option<serde_json::Value>,
        }
        match serde_json::from_slice::<Probe>(bytes) {
            Ok(Probe { schema: Some(serde_json::Value::String(schema)) })
                if schema == SNAPSHOT_SCHEMA =>
            {
                error
            }
            Ok(Probe { schema: Some(serde_json::Value::String(schema)) }) => {
                schema_error(Some(&schema))
            }
            Ok(Probe { schema: _ }) => schema_error(None),
            Err(_) => error,
        }
    }

    /// Serialises the snapshot as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a snapshot always serialises")
    }

    /// Writes the snapshot as pretty JSON to `writer`, without building the whole text first.
    pub fn write_json(&self, writer: impl std::io::Write) -> serde_json::Result<()> {
        serde_json::to_writer_pretty(writer, self)
    }
}

/// Refuses an entity listed twice: by ARN, or by kind and name, which IAM keeps unique in an
/// account whatever the path and the case (`Admin` and `admin` cannot both be roles). An
/// entity listed twice would be counted twice by the audit and planned twice by `plan`.
pub fn check_unique(entities: &[EntityRecord]) -> Result<(), InputError> {
    let mut by_arn = HashMap::with_capacity(entities.len());
    let mut by_name = HashMap::with_capacity(entities.len());
    for (index, entity) in entities.iter().enumerate() {
        let earlier = by_arn
            .insert(entity.arn.as_str(), index)
            .or_else(|| by_name.insert((entity.kind, entity.name.to_ascii_lowercase()), index));
        if let Some(earlier) = earlier {
            return Err(InputError::field(
                format!("entities[{index}]"),
                format!(
                    "`{}` is already listed as entities[{earlier}] (`{}`); a snapshot lists each \
                     entity once (IAM names ignore case)",
                    entity.arn, entities[earlier].arn
                ),
            ));
        }
    }
    Ok(())
}

fn schema_error(found: Option<&str>) -> InputError {
    match found {
        Some(other) => {
            InputError::field("schema", format!("expected `{SNAPSHOT_SCHEMA}`, found `{other}`"))
        }
        None => InputError::field(
            "schema",
            format!("missing; expected `{SNAPSHOT_SCHEMA}` (is this an iamsweep snapshot?)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;
    use crate::model::EntityKind;

    fn snapshot(entities: Vec<EntityRecord>) -> String {
        Snapshot {
            schema: SNAPSHOT_SCHEMA.to_string(),
            collected_at: time::macros::datetime!(2026-11-23 12:00 UTC),
            account_id: "111122223333".to_string(),
            caller_arn: None,
            granularity: Granularity::Service,
            attributed: false,
            stats: CollectionStats::default(),
            entities,
        }
        .to_json()
    }

    #[test]
    fn an_entity_listed_twice_is_refused_naming_it() {
        let app = EntityRecord::new(EntityKind::Role, "arn:aws:iam::111122223333:role/app", "app");
        let alice =
            EntityRecord::new(EntityKind::User, "arn:aws:iam::111122223333:user/alice", "alice");
        let text = snapshot(vec![app.clone(), alice.clone()]);
        assert_eq!(Snapshot::from_json(&text).unwrap().entities.len(), 2);

        let error = Snapshot::from_json(&snapshot(vec![app.clone(), alice.clone(), app.clone()]))
            .unwrap_err();
        assert_eq!(error.location, Location::Field("entities[2]".into()));
        assert!(error.message.contains("`arn:aws:iam::111122223333:role/app`"), "{error}");
        assert!(error.message.contains("entities[0]"), "{error}");

        // The same role under another path or case is still the same role.
        let again =
            EntityRecord::new(EntityKind::Role, "arn:aws:iam::111122223333:role/x/App", "App");
        let error = Snapshot::from_json(&snapshot(vec![app.clone(), again])).unwrap_err();
        assert_eq!(error.location, Location::Field("entities[1]".into()));
        // A user and a role may share a name.
        let user = EntityRecord::new(EntityKind::User, "arn:aws:iam::111122223333:user/app", "app");
        assert!(Snapshot::from_json(&snapshot(vec![app, user])).is_ok());
    }
}
