//! The journal of changes and the rollback computed from it.
//!
//! `apply` writes one [`JournalEntry`] before each entity's change (to a directory or S3, by the
//! `aws` crate): the state it is about to replace. `rollback` reads the entries back and
//! [`rollback_from_journal`] computes what restores the state before the earliest of them. When
//! the journal is lost, [`rollback_from_tag`] falls back to the previous-boundary tag that
//! `apply` writes in the same call as the summary tags.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::boundary::is_own_boundary;
use crate::model::{EntityKind, EntityRecord};
use crate::plan::EntityPlan;
use crate::tags::{TagKeys, find_tag};

/// The `schema` value of every journal entry.
pub const JOURNAL_SCHEMA: &str = "iamsweep.journal/v1";

/// The state of one entity just before `apply` changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Always [`JOURNAL_SCHEMA`].
    pub schema: String,
    /// The run that made the change (`rollback --run`).
    pub run_id: String,
    /// When the entry was written, just before the change.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The entity's ARN.
    pub arn: String,
    /// User or role.
    pub kind: EntityKind,
    /// The entity's name.
    pub name: String,
    /// Whether the run changed the boundary (false: tags only).
    pub boundary_changed: bool,
    /// The boundary attached before the change (`null`: none).
    pub previous_boundary: Option<String>,
    /// The value before the change of each tag key the run set (`null`: the key was absent).
    pub previous_tags: BTreeMap<String, Option<String>>,
    /// iamsweep's boundary policy for the entity, when the boundary changed.
    pub policy_arn: Option<String>,
    /// Whether this run created the policy.
    pub policy_created: bool,
    /// Whether this run created a new default version of the policy.
    pub version_created: bool,
    /// The default version before this run created a new one (never the one it deleted: only
    /// non-default versions are deleted).
    #[serde(default)]
    pub previous_default_version: Option<String>,
}

impl JournalEntry {
    /// The entry to write before applying `entity` (whose boundary precondition held).
    pub fn before(entity: &EntityPlan, run_id: &str, time: OffsetDateTime) -> JournalEntry {
        let boundary = entity.boundary.as_ref();
        JournalEntry {
            schema: JOURNAL_SCHEMA.to_string(),
            run_id: run_id.to_string(),
            time,
            arn: entity.arn.clone(),
            kind: entity.kind,
            name: entity.name.clone(),
            boundary_changed: boundary.is_some(),
            previous_boundary: boundary
                .and_then(|change| change.preconditions.boundary_arn.clone()),
            previous_tags: entity
                .tags
                .as_ref()
                .map(|tags| tags.previous.clone())
                .unwrap_or_default(),
            policy_arn: boundary.map(|change| change.policy_arn.clone()),
            policy_created: boundary.is_some_and(|change| change.create_policy),
            version_created: boundary.is_some_and(|change| change.create_version),
            previous_default_version: boundary
                .filter(|change| change.create_version)
                .and_then(|change| change.preconditions.default_version_id.clone()),
        }
    }
}

/// What restores one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollback {
    /// The entity's ARN.
    pub arn: String,
    /// User or role.
    pub kind: EntityKind,
    /// The entity's name.
    pub name: String,
    /// What to do with the boundary.
    pub boundary: BoundaryRestore,
    /// Tags to set back to their earlier value (`TagUser`/`TagRole`).
    pub set_tags: BTreeMap<String, String>,
    /// Tags that did not exist before (`UntagUser`/`UntagRole`).
    pub remove_tags: Vec<String>,
    /// Make this version of iamsweep's policy the default again (`SetDefaultPolicyVersion`):
    /// the rolled-back run replaced it.
    pub set_default_version: Option<PolicyVersionRef>,
    /// iamsweep's policy that the rolled-back run created and nothing else uses any more; the
    /// `aws` crate may delete it once it is detached everywhere.
    pub delete_policy: Option<String>,
}

/// One version of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRef {
    /// The policy's ARN.
    pub policy_arn: String,
    /// Such as `v2`.
    pub version_id: String,
}

/// What to do with a boundary on rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "arn")]
pub enum BoundaryRestore {
    /// Leave it (the rolled-back runs changed tags only).
    Keep,
    /// Put back this boundary.
    Put(String),
    /// Remove the boundary: there was none before.
    Delete,
}

/// The rollback of one entity from its journal entries (any order; all of the same entity).
///
/// Restores the state before the earliest entry: its boundary, and for each tag key the value
/// recorded by the first entry that set it. With `rollback --run`, pass only that run's entries.
/// `None` when there are no entries.
pub fn rollback_from_journal(entries: &[JournalEntry]) -> Option<Rollback> {
    let mut entries: Vec<&JournalEntry> = entries.iter().collect();
    entries.sort_by(|a, b| (a.time, &a.run_id).cmp(&(b.time, &b.run_id)));
    let first = *entries.first()?;
    let first_boundary = entries.iter().find(|entry| entry.boundary_changed);
    let boundary = match first_boundary {
        None => BoundaryRestore::Keep,
        Some(entry) => match &entry.previous_boundary {
            Some(arn) => BoundaryRestore::Put(arn.clone()),
            None => BoundaryRestore::Delete,
        },
    };
    let set_default_version = first_boundary.and_then(|entry| {
        Some(PolicyVersionRef {
            policy_arn: entry.policy_arn.clone()?,
            version_id: entry.previous_default_version.clone()?,
        })
    });
    let mut earliest: BTreeMap<String, Option<String>> = BTreeMap::new();
    for entry in &entries {
        for (key, value) in &entry.previous_tags {
            // Keys are case-insensitive: the first entry that touched a key knows its origin.
            if !earliest.keys().any(|known| known.eq_ignore_ascii_case(key)) {
                earliest.insert(key.clone(), value.clone());
            }
        }
    }
    let mut set_tags = BTreeMap::new();
    let mut remove_tags = Vec::new();
    for (key, value) in earliest {
        match value {
            Some(value) => {
                set_tags.insert(key, value);
            }
            None => remove_tags.push(key),
        }
    }
    let delete_policy = entries
        .iter()
        .find(|entry| entry.policy_created)
        .and_then(|entry| entry.policy_arn.clone())
        .filter(|policy| !matches!(&boundary, BoundaryRestore::Put(arn) if arn == policy));
    Some(Rollback {
        arn: first.arn.clone(),
        kind: first.kind,
        name: first.name.clone(),
        boundary,
        set_tags,
        remove_tags,
        set_default_version,
        delete_policy,
    })
}

/// The rollback of one entity from its previous-boundary tag alone, when the journal is lost.
///
/// Acts only when the entity still carries iamsweep's boundary (anything else means someone
/// changed it since, and putting back an older boundary would undo their change). Restores the
/// recorded boundary (or none) and removes the tag; the summary tags are left, having no
/// recorded earlier value. `None` when there is nothing to roll back.
pub fn rollback_from_tag(
    entity: &EntityRecord,
    account_id: &str,
    boundary_path: &str,
    keys: &TagKeys,
) -> Option<Rollback> {
    let current = entity.permissions_boundary.as_deref()?;
    if !is_own_boundary(current, account_id, boundary_path) {
        return None;
    }
    let (key, value) = find_tag(&entity.tags, &keys.previous_boundary)?;
    let boundary = match value {
        "none" | "" => BoundaryRestore::Delete,
        arn => BoundaryRestore::Put(arn.to_string()),
    };
    Some(Rollback {
        arn: entity.arn.clone(),
        kind: entity.kind,
        name: entity.name.clone(),
        boundary,
        set_tags: BTreeMap::new(),
        remove_tags: vec![key.to_string()],
        set_default_version: None,
        delete_policy: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(
        run: &str,
        day: u8,
        previous: Option<&str>,
        tags: &[(&str, Option<&str>)],
    ) -> JournalEntry {
        JournalEntry {
            schema: JOURNAL_SCHEMA.into(),
            run_id: run.into(),
            time: datetime!(2026-11-01 12:00 UTC).replace_day(day).unwrap(),
            arn: "arn:aws:iam::123456789012:role/app".into(),
            kind: EntityKind::Role,
            name: "app".into(),
            boundary_changed: previous != Some("-"),
            previous_boundary: previous.filter(|p| *p != "-").map(str::to_string),
            previous_tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
            policy_arn: Some("arn:aws:iam::123456789012:policy/iamsweep/role-app".into()),
            policy_created: day == 1,
            version_created: day != 1,
            previous_default_version: (day != 1).then(|| "v1".to_string()),
        }
    }

    #[test]
    fn rollback_restores_the_state_before_the_earliest_entry() {
        let entries = [
            entry(
                "run-2",
                2,
                Some("arn:aws:iam::123456789012:policy/iamsweep/role-app"),
                &[("Permissions_Used", Some("3"))],
            ),
            entry(
                "run-1",
                1,
                Some("arn:aws:iam::123456789012:policy/Old"),
                &[("Permissions_Used", None), ("Team", Some("x"))],
            ),
        ];
        let rollback = rollback_from_journal(&entries).unwrap();
        assert_eq!(
            rollback.boundary,
            BoundaryRestore::Put("arn:aws:iam::123456789012:policy/Old".into())
        );
        assert_eq!(rollback.remove_tags, vec!["Permissions_Used"]);
        assert_eq!(rollback.set_tags, BTreeMap::from([("Team".to_string(), "x".to_string())]));
        assert_eq!(
            rollback.delete_policy.as_deref(),
            Some("arn:aws:iam::123456789012:policy/iamsweep/role-app")
        );
        let tags_only = [entry("run-3", 3, Some("-"), &[("Permissions_Used", Some("2"))])];
        assert_eq!(rollback_from_journal(&tags_only).unwrap().boundary, BoundaryRestore::Keep);
        assert_eq!(rollback_from_journal(&[]), None);
    }

    #[test]
    fn without_a_journal_the_previous_boundary_tag_is_enough() {
        let keys = TagKeys::default();
        let mut role =
            EntityRecord::new(EntityKind::Role, "arn:aws:iam::123456789012:role/app", "app");
        role.permissions_boundary =
            Some("arn:aws:iam::123456789012:policy/iamsweep/role-app".into());
        role.tags.insert("iamsweep:previous-boundary".into(), "none".into());
        let rollback = rollback_from_tag(&role, "123456789012", "/iamsweep/", &keys).unwrap();
        assert_eq!(rollback.boundary, BoundaryRestore::Delete);
        assert_eq!(rollback.remove_tags, vec!["iamsweep:previous-boundary"]);
        // Someone replaced iamsweep's boundary since: leave theirs alone.
        role.permissions_boundary = Some("arn:aws:iam::123456789012:policy/Theirs".into());
        assert_eq!(rollback_from_tag(&role, "123456789012", "/iamsweep/", &keys), None);
    }
}
