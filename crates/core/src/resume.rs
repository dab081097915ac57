//! What a run cut short by its deadline leaves for the next run: the resume marker's content and
//! the decisions around it.
//!
//! A run stops *starting* work before its deadline: entities not yet audited, and entities
//! audited whose writes (tags, boundary) or Config answers were not started. The next run must
//! finish exactly those, losing none and doing none twice:
//!
//! - an entity not audited is collected by the next run, Access Advisor job and all;
//! - an entity audited but not written keeps its Access Advisor data in the marker: the next run
//!   re-reads only its inventory facts (tags, boundary, policies, which may have changed and
//!   which the plan and the guardrails must see as they are now) and plans it again with the
//!   stored data ([`reuse_access`]), so no job is run twice for it and every guardrail (an
//!   exclusion list edited in between, say) is decided afresh;
//! - an entity whose writes started is never in the marker: the applier finishes an entity's
//!   writes as a unit once it has journaled them;
//! - stored data is written from only while it is no older than a plan may be
//!   (`guardrails.max_plan_age_hours`, [`expire_stored`]); older, its entities are audited again,
//!   since a boundary drawn from old data could remove a service the entity has used since.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::model::{EntityRecord, Status};

/// The `schema` of a marker written now.
pub const RESUME_SCHEMA: &str = "iamsweep.resume/v2";
/// The first schema: only `pending` ARNs (entities not audited). Still read.
pub const RESUME_SCHEMA_V1: &str = "iamsweep.resume/v1";

/// One marker: the work a run left for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// [`RESUME_SCHEMA`] (or [`RESUME_SCHEMA_V1`] when read from an older function).
    pub schema: String,
    /// The account.
    pub account_id: String,
    /// ARNs of the entities not audited yet, in inventory order (v1 called them `pending`).
    #[serde(alias = "pending")]
    pub not_audited: Vec<String>,
    /// Entities audited but not yet written (or, for the Config rule, not yet answered), with
    /// the Access Advisor data the next run reuses.
    #[serde(default)]
    pub not_written: Vec<EntityRecord>,
    /// When the run that wrote it stopped.
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
}

/// Why a stored marker is not used (the run then starts a full pass, which loses nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkerError {
    /// Not JSON, or not a marker's shape.
    #[error("not a resume marker: {0}")]
    Invalid(String),
    /// A schema this version does not know (written by a newer function).
    #[error("unknown schema `{0}`, expected `{RESUME_SCHEMA}` or `{RESUME_SCHEMA_V1}`")]
    Schema(String),
}

impl Marker {
    /// Parses a stored marker, of this schema or of v1 (whose `pending` ARNs are entities not
    /// audited, the only kind of work v1 left).
    pub fn parse(text: &str) -> Result<Marker, MarkerError> {
        let marker: Marker =
            serde_json::from_str(text).map_err(|error| MarkerError::Invalid(error.to_string()))?;
        if marker.schema != RESUME_SCHEMA && marker.schema != RESUME_SCHEMA_V1 {
            return Err(MarkerError::Schema(marker.schema));
        }
        Ok(marker)
    }

    /// Whether there is nothing left (the marker of a finished pass).
    pub fn is_empty(&self) -> bool {
        self.not_audited.is_empty() && self.not_written.is_empty()
    }

    /// How many entities are left.
    pub fn len(&self) -> usize {
        self.not_audited.len() + self.not_written.len()
    }
}

/// What a run leaves: entities the collector did not start (their skip reason is
/// `not_started_reason`) and audited entities among `not_written` (ARNs of entities whose
/// planned writes or answers were not started), the latter with their data.
pub fn what_is_left(
    entities: &[EntityRecord],
    not_started_reason: &str,
    not_written: &HashSet<&str>,
) -> (Vec<String>, Vec<EntityRecord>) {
    let mut not_audited = Vec::new();
    let mut unwritten = Vec::new();
    for entity in entities {
        if entity.status == Status::Skipped
            && entity.skip_reason.as_deref() == Some(not_started_reason)
        {
            not_audited.push(entity.arn.clone());
        } else if not_written.contains(entity.arn.as_str()) {
            unwritten.push(entity.clone());
        }
    }
    (not_audited, unwritten)
}

/// The marker with its stored data expired when it is older than `max_age` (the age a plan may
/// have): the entities audited but not written move back to `not_audited`, so the next run
/// collects fresh data for them rather than drawing a boundary from data that may miss a
/// recent use. The same rule `apply` applies to a plan's snapshot.
pub fn expire_stored(mut marker: Marker, now: OffsetDateTime, max_age: Duration) -> Marker {
    if now - marker.written_at > max_age && !marker.not_written.is_empty() {
        let stored = std::mem::take(&mut marker.not_written);
        marker.not_audited.extend(stored.into_iter().map(|entity| entity.arn));
    }
    marker
}

/// An entity as the inventory shows it now, with the Access Advisor outcome (status, error,
/// services) stored by an earlier run of the same pass. Inventory facts always come from
/// `fresh`: the plan compares tags and boundaries with what IAM holds now.
pub fn reuse_access(fresh: EntityRecord, stored: &EntityRecord) -> EntityRecord {
    EntityRecord {
        status: stored.status,
        error: stored.error.clone(),
        skip_reason: stored.skip_reason.clone(),
        services: stored.services.clone(),
        ..fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntityKind, ServiceRecord};
    use time::macros::datetime;

    const REASON: &str = "not started";

    fn user(name: &str) -> EntityRecord {
        EntityRecord::new(EntityKind::User, format!("arn:aws:iam::1:user/{name}"), name)
    }

    #[test]
    fn a_v1_marker_is_read_as_entities_not_audited() {
        let text = r#"{"schema":"iamsweep.resume/v1","account_id":"111122223333",
            "pending":["arn:aws:iam::111122223333:user/a"],"written_at":"2026-11-23T12:00:00Z"}"#;
        let marker = Marker::parse(text).unwrap();
        assert_eq!(marker.not_audited, ["arn:aws:iam::111122223333:user/a"]);
        assert!(marker.not_written.is_empty());
        assert_eq!(marker.len(), 1);
    }

    #[test]
    fn a_marker_of_an_unknown_schema_or_shape_is_refused() {
        let text = r#"{"schema":"iamsweep.resume/v9","account_id":"1","not_audited":[],
            "written_at":"2026-11-23T12:00:00Z"}"#;
        assert!(matches!(Marker::parse(text), Err(MarkerError::Schema(_))));
        assert!(matches!(Marker::parse("{}"), Err(MarkerError::Invalid(_))));
        assert!(matches!(Marker::parse("<html>"), Err(MarkerError::Invalid(_))));
    }

    #[test]
    fn a_v2_marker_round_trips_with_its_data() {
        let mut stored = user("b");
        stored.services.push(ServiceRecord::new("s3", "Amazon S3"));
        let marker = Marker {
            schema: RESUME_SCHEMA.to_string(),
            account_id: "1".to_string(),
            not_audited: vec!["arn:aws:iam::1:user/a".to_string()],
            not_written: vec![stored],
            written_at: datetime!(2026-11-23 12:00 UTC),
        };
        let text = serde_json::to_string(&marker).unwrap();
        assert_eq!(Marker::parse(&text).unwrap(), marker);
    }

    #[test]
    fn left_work_is_split_into_not_audited_and_not_written() {
        let mut skipped = user("late");
        skipped.status = Status::Skipped;
        skipped.skip_reason = Some(REASON.to_string());
        let mut excluded = user("excluded");
        excluded.status = Status::Skipped;
        excluded.skip_reason = Some("on the exclusion list".to_string());
        let entities = [user("written"), user("unwritten"), skipped, excluded];
        let not_written: HashSet<&str> = ["arn:aws:iam::1:user/unwritten"].into();
        let (not_audited, unwritten) = what_is_left(&entities, REASON, &not_written);
        assert_eq!(not_audited, ["arn:aws:iam::1:user/late"]);
        assert_eq!(unwritten.len(), 1);
        assert_eq!(unwritten[0].name, "unwritten");
    }

    #[test]
    fn stored_data_older_than_a_plan_may_be_is_collected_again() {
        let written_at = datetime!(2026-11-20 12:00 UTC);
        let marker = Marker {
            schema: RESUME_SCHEMA.to_string(),
            account_id: "111122223333".to_string(),
            not_audited: vec!["arn:aws:iam::111122223333:user/a".to_string()],
            not_written: vec![user("b")],
            written_at,
        };
        let day = Duration::hours(24);
        let fresh = expire_stored(marker.clone(), written_at + Duration::hours(23), day);
        assert_eq!(fresh, marker, "data within the age is reused as stored");
        let old = expire_stored(marker.clone(), written_at + Duration::hours(25), day);
        assert!(old.not_written.is_empty());
        assert_eq!(old.not_audited, vec![marker.not_audited[0].clone(), user("b").arn]);
    }

    #[test]
    fn reuse_keeps_fresh_inventory_facts_and_stored_access_data() {
        let mut stored = user("a");
        stored.tags.insert("old".into(), "tag".into());
        stored.services.push(ServiceRecord::new("s3", "Amazon S3"));
        let mut fresh = user("a");
        fresh.permissions_boundary = Some("arn:aws:iam::1:policy/new".into());
        let merged = reuse_access(fresh, &stored);
        assert!(merged.tags.is_empty(), "tags are what IAM holds now");
        assert_eq!(merged.permissions_boundary.as_deref(), Some("arn:aws:iam::1:policy/new"));
        assert_eq!(merged.services.len(), 1);
    }
}
