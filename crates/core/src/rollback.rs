//! What `rollback` restores, entity by entity: every decision of the command, pure.
//!
//! [`select`] turns the request (`--entity`, `--run`, `--all`) and the journal into targets;
//! [`decide`] says, per target, what restores it (from its journal entries, or from its
//! previous-boundary tag when the journal has none) or why it is left alone; [`steps`] turns
//! that into the writes that take the entity, as IAM holds it now, back; [`verdict`] adds the
//! caller check. The `aws` crate only reads the entity and carries the steps out, and the dry
//! run prints the same steps.
//!
//! The rules, also in README ("How rollback decides"):
//! - with journal entries, exactly the entities they name: `--all` never adds entities the
//!   journal does not record;
//! - without a journal entry, the previous-boundary tag, and only as far as it can be trusted
//!   ([`restorable_boundary`]): an entity that carries iamsweep's boundary without the tag, or
//!   whose tag is not a boundary `apply` could have recorded, is left alone and named;
//! - a boundary someone else set since is left alone;
//! - the principal running iamsweep is left alone unless named with `--entity`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::boundary::is_own_boundary;
use crate::guardrails::Caller;
use crate::journal::{EntityArn, JournalEntry, check_policy_arn};
use crate::model::{EntityKind, EntityRecord};
use crate::tags::{TagKeys, find_tag};

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
    /// iamsweep's policy that the rolled-back run created and nothing else uses any more; it is
    /// named for a person to delete.
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

/// What a rollback reads its facts against: the account, iamsweep's boundary path, tag keys.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The account of the credentials.
    pub account_id: &'a str,
    /// `boundary.path`: iamsweep's own boundary policies live there.
    pub boundary_path: &'a str,
    /// The tag keys, for the previous-boundary tag.
    pub keys: &'a TagKeys,
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

/// How far the previous-boundary tag is trusted: the boundary a journal-less rollback may
/// restore from its value.
///
/// The tag sits on the entity itself, so whoever can tag the entity (possibly the bounded
/// workload) can rewrite it. Only what `apply` could have written is accepted: `none`, or a
/// managed policy of this account or of AWS, in the entity's partition, outside iamsweep's
/// boundary path (apply records the boundary it replaces, never one of its own, so pointing at
/// iamsweep's policy of another, wider, entity is refused). An AWS managed policy restores no
/// more than `none` would; the boundaries that denying `iamsweep:*` tag changes give every
/// bounded entity are what stop the workload from rewriting the tag at all.
pub fn restorable_boundary(
    value: &str,
    partition: &str,
    account_id: &str,
    boundary_path: &str,
) -> Result<BoundaryRestore, String> {
    if value == "none" {
        return Ok(BoundaryRestore::Delete);
    }
    check_policy_arn(value, partition, account_id)?;
    if value.contains(&format!(":policy{boundary_path}")) {
        return Err(format!(
            "`{value}` is under iamsweep's boundary path `{boundary_path}`, which apply never \
             records as a previous boundary"
        ));
    }
    Ok(BoundaryRestore::Put(value.to_string()))
}

/// The rollback of one entity from its previous-boundary tag alone, when the journal has no
/// entry for it.
///
/// `Ok(None)`: nothing of iamsweep's is left on it (no iamsweep boundary, no tag). `Err`: it
/// cannot be restored safely, and why; the caller names it and exits 2. Otherwise restores the
/// recorded boundary (or none) and removes the tag; the summary tags are left, having no
/// recorded earlier value. Whether the boundary was changed by someone since is for [`steps`].
pub fn rollback_from_tag(entity: &EntityRecord, scope: &Scope) -> Result<Option<Rollback>, String> {
    let key = &scope.keys.previous_boundary;
    let current = entity.permissions_boundary.as_deref();
    let ours =
        current.is_some_and(|arn| is_own_boundary(arn, scope.account_id, scope.boundary_path));
    let Some((existing, value)) = find_tag(&entity.tags, key) else {
        return match current {
            Some(arn) if ours => Err(format!(
                "it carries iamsweep's boundary `{arn}` but no `{key}` tag (bounded under \
                 `do_not_tag`, or the tag was removed) and the journal has no entry for it, so \
                 what it had before is unknown; hint: roll it back with the journal that \
                 recorded it (`--journal`), or set its boundary by hand"
            )),
            _ => Ok(None),
        };
    };
    let partition = EntityArn::parse(&entity.arn).map_or("aws", |arn| arn.partition);
    let boundary = restorable_boundary(value, partition, scope.account_id, scope.boundary_path)
        .map_err(|reason| {
            format!("its `{existing}` tag is not trusted: {reason}; hint: set its boundary by hand")
        })?;
    Ok(Some(Rollback {
        arn: entity.arn.clone(),
        kind: entity.kind,
        name: entity.name.clone(),
        boundary,
        set_tags: BTreeMap::new(),
        remove_tags: vec![existing.to_string()],
        set_default_version: None,
        delete_policy: None,
    }))
}

/// One write of a rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum Step {
    /// `SetDefaultPolicyVersion`.
    SetDefaultVersion {
        /// The policy.
        policy_arn: String,
        /// The version to make default again.
        version_id: String,
    },
    /// `PutUserPermissionsBoundary`/`PutRolePermissionsBoundary`.
    PutBoundary {
        /// The boundary to put back.
        policy_arn: String,
    },
    /// `DeleteUserPermissionsBoundary`/`DeleteRolePermissionsBoundary`.
    DeleteBoundary,
    /// `TagUser`/`TagRole` with these earlier values.
    Tag {
        /// Key to earlier value.
        tags: BTreeMap<String, String>,
    },
    /// `UntagUser`/`UntagRole` of keys that did not exist before.
    Untag {
        /// The keys, as the entity spells them.
        keys: Vec<String>,
    },
    /// `UntagUser`/`UntagRole` of the previous-boundary tag. Runs only once the boundary it
    /// records is back: if the boundary step fails, the tag is what a later rollback needs.
    ForgetPreviousBoundary {
        /// The key, as the entity spells it.
        key: String,
    },
}

impl Step {
    /// Whether this step changes the boundary (the previous-boundary tag waits for it).
    pub fn is_boundary(&self) -> bool {
        matches!(self, Step::PutBoundary { .. } | Step::DeleteBoundary)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::SetDefaultVersion { policy_arn, version_id } => {
                write!(f, "make {version_id} the default version of `{policy_arn}` again")
            }
            Step::PutBoundary { policy_arn } => write!(f, "put back boundary `{policy_arn}`"),
            Step::DeleteBoundary => write!(f, "remove the boundary (there was none)"),
            Step::Tag { tags } => {
                let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
                write!(f, "restore tags {}", keys.join(", "))
            }
            Step::Untag { keys } => write!(f, "remove tags {}", keys.join(", ")),
            Step::ForgetPreviousBoundary { key } => write!(f, "remove tag {key}"),
        }
    }
}

/// The writes that take `current` (as IAM holds it now) back to what `rollback` restores.
///
/// `current_default` is the current default version of the policy named in
/// `rollback.set_default_version`. `Err` when the boundary was changed by someone else since:
/// putting back an older boundary would undo their change. An empty list: already restored.
pub fn steps(
    rollback: &Rollback,
    current: &EntityRecord,
    current_default: Option<&str>,
    scope: &Scope,
) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let boundary = current.permissions_boundary.as_deref();
    let ours =
        boundary.is_some_and(|arn| is_own_boundary(arn, scope.account_id, scope.boundary_path));
    let boundary_step = match &rollback.boundary {
        BoundaryRestore::Keep => None,
        BoundaryRestore::Put(arn) if boundary == Some(arn.as_str()) => None,
        BoundaryRestore::Delete if boundary.is_none() => None,
        _ if !ours => {
            return Err(format!(
                "its boundary is now {}, which iamsweep did not set: someone changed it since",
                boundary.map_or("none".to_string(), |arn| format!("`{arn}`"))
            ));
        }
        BoundaryRestore::Put(arn) => Some(Step::PutBoundary { policy_arn: arn.clone() }),
        BoundaryRestore::Delete => Some(Step::DeleteBoundary),
    };
    if let Some(version) = &rollback.set_default_version
        && current_default.is_some_and(|current| current != version.version_id)
    {
        steps.push(Step::SetDefaultVersion {
            policy_arn: version.policy_arn.clone(),
            version_id: version.version_id.clone(),
        });
    }
    steps.extend(boundary_step);
    let set: BTreeMap<String, String> = rollback
        .set_tags
        .iter()
        .filter(|(key, value)| find_tag(&current.tags, key).is_none_or(|(_, now)| now != *value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if !set.is_empty() {
        steps.push(Step::Tag { tags: set });
    }
    // Untag by the key as the entity spells it: keys are case-insensitive, but say it exactly.
    let (forget, remove): (Vec<String>, Vec<String>) = rollback
        .remove_tags
        .iter()
        .filter_map(|key| find_tag(&current.tags, key).map(|(existing, _)| existing.to_string()))
        .partition(|key| key.eq_ignore_ascii_case(&scope.keys.previous_boundary));
    if !remove.is_empty() {
        steps.push(Step::Untag { keys: remove });
    }
    steps.extend(forget.into_iter().map(|key| Step::ForgetPreviousBoundary { key }));
    Ok(steps)
}

/// What `rollback` was asked for.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// `--entity`: these ARNs (already resolved against the account's entities).
    Entities(&'a [String]),
    /// `--run RUN_ID`.
    Run(&'a str),
    /// `--all`.
    All,
}

/// One entity a rollback considers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The entity's ARN.
    pub arn: String,
    /// Named with `--entity` (only then is the principal running iamsweep touched).
    pub named: bool,
    /// Its journal entries in scope (empty: the previous-boundary tag is used).
    pub entries: Vec<JournalEntry>,
}

/// What a rollback considers, and what it leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// The entities, in journal order, then in the account's order.
    pub targets: Vec<Target>,
    /// With `--all` and a journal: entities that carry an iamsweep boundary the journal does
    /// not record. They are not touched (the journal says what a rollback does) but named, for
    /// a person to roll back with `--entity` if they should be.
    pub not_journaled: Vec<String>,
}

/// The entities a request selects. `entries` must all be of the scope's account (checked with
/// [`crate::journal::check_entry`]); `entities` are the account's users and roles now.
///
/// `Err` for a run the journal does not hold: a rollback that restores nothing because of a
/// mistyped run id must not look like success.
pub fn select(
    request: Request,
    entries: &[JournalEntry],
    entities: &[EntityRecord],
    scope: &Scope,
) -> Result<Selection, String> {
    let mut selection = Selection::default();
    let mut add = |arn: &str, named: bool, entry: Option<&JournalEntry>| {
        let index = match selection.targets.iter().position(|target| target.arn == arn) {
            Some(index) => index,
            None => {
                selection.targets.push(Target { arn: arn.to_string(), named, entries: Vec::new() });
                selection.targets.len() - 1
            }
        };
        selection.targets[index].entries.extend(entry.cloned());
    };
    match request {
        Request::Run(run) => {
            entries
                .iter()
                .filter(|entry| entry.run_id == run)
                .for_each(|e| add(&e.arn, false, Some(e)));
            if selection.targets.is_empty() {
                return Err(format!(
                    "the journal has no entry of run `{run}` for account {}",
                    scope.account_id
                ));
            }
        }
        Request::Entities(arns) => {
            for arn in arns {
                add(arn, true, None);
                entries
                    .iter()
                    .filter(|entry| &entry.arn == arn)
                    .for_each(|e| add(arn, true, Some(e)));
            }
        }
        Request::All if !entries.is_empty() => {
            entries.iter().for_each(|e| add(&e.arn, false, Some(e)));
            let journaled: Vec<&str> = entries.iter().map(|entry| entry.arn.as_str()).collect();
            selection.not_journaled = entities
                .iter()
                .filter(|entity| !journaled.contains(&entity.arn.as_str()))
                .filter(|entity| carries_iamsweep(entity, scope))
                .map(|entity| entity.arn.clone())
                .collect();
        }
        Request::All => {
            // No journal (lost, or never kept): what iamsweep's boundaries and tags show.
            for entity in entities.iter().filter(|entity| carries_iamsweep(entity, scope)) {
                add(&entity.arn, false, None);
            }
        }
    }
    Ok(selection)
}

/// Whether an entity carries iamsweep's boundary or its previous-boundary tag.
fn carries_iamsweep(entity: &EntityRecord, scope: &Scope) -> bool {
    let ours = entity
        .permissions_boundary
        .as_deref()
        .is_some_and(|arn| is_own_boundary(arn, scope.account_id, scope.boundary_path));
    ours || find_tag(&entity.tags, &scope.keys.previous_boundary).is_some()
}

/// What restores one target, before what IAM holds now is compared with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Restore it with this rollback (its [`steps`] may still find nothing to do).
    Restore(Rollback),
    /// Nothing of iamsweep's is left on it.
    NothingToRestore,
    /// Not touched, and why; counts against the exit code.
    LeftAlone(String),
}

/// Decides what restores `target`: its journal entries, else its previous-boundary tag.
/// `entity` is the entity as IAM holds it now (`None`: it no longer exists).
pub fn decide(target: &Target, entity: Option<&EntityRecord>, scope: &Scope) -> Decision {
    let Some(entity) = entity else {
        return Decision::LeftAlone("it no longer exists; nothing to restore".to_string());
    };
    if let Some(rollback) = rollback_from_journal(&target.entries) {
        return Decision::Restore(rollback);
    }
    match rollback_from_tag(entity, scope) {
        Ok(Some(rollback)) => Decision::Restore(rollback),
        Ok(None) => Decision::NothingToRestore,
        Err(reason) => Decision::LeftAlone(reason),
    }
}

/// What a rollback does to one entity, all facts known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// These writes (the dry run prints them, the apply makes them).
    Write(Vec<Step>),
    /// Nothing to write.
    AlreadyRestored,
    /// Not touched, and why.
    LeftAlone(String),
}

/// The final word on one entity: its [`steps`] (or why there are none), guarded by the caller
/// check. The principal running iamsweep is never written unless named with `--entity`: a
/// rollback that removes the boundary or tags of the role running it is a change of its own
/// permissions that a person must ask for by name. Nothing to write is not a write, so it is
/// "already restored" even for the caller.
pub fn verdict(
    target: &Target,
    entity: &EntityRecord,
    caller: Option<&Caller>,
    steps: Result<Vec<Step>, String>,
    scope: &Scope,
) -> Verdict {
    match steps {
        Err(reason) => Verdict::LeftAlone(reason),
        Ok(steps) if steps.is_empty() => Verdict::AlreadyRestored,
        Ok(_) if !target.named && caller.is_some_and(|c| c.is(entity, scope.account_id)) => {
            Verdict::LeftAlone(
                "it is the principal running iamsweep; a rollback changes it only when named \
                 with `--entity`"
                    .to_string(),
            )
        }
        Ok(steps) => Verdict::Write(steps),
    }
}

/// How one entity ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every step was written (or, in a dry run, would be).
    Restored,
    /// Nothing to write: it is as the rollback would leave it.
    AlreadyRestored,
    /// Not touched, on purpose (caller, foreign boundary, untrusted or missing tag, gone).
    LeftAlone,
    /// A write failed; what could be restored was.
    Failed,
}

/// The counts a rollback ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Restored (or would be).
    pub restored: usize,
    /// Already as the rollback would leave them.
    pub already_restored: usize,
    /// Left alone.
    pub left_alone: usize,
    /// Failed, wholly or in part.
    pub failed: usize,
}

impl Summary {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Restored => self.restored += 1,
            Outcome::AlreadyRestored => self.already_restored += 1,
            Outcome::LeftAlone => self.left_alone += 1,
            Outcome::Failed => self.failed += 1,
        }
    }

    /// Whether every selected entity is restored: anything left alone or failed is something
    /// the person asked for and did not get, so the exit code says so (2).
    pub fn complete(&self) -> bool {
        self.left_alone == 0 && self.failed == 0
    }

    /// The summary line; `dry_run` says "would be restored".
    pub fn line(&self, dry_run: bool) -> String {
        let restored = if dry_run {
            format!("{} would be restored (dry run, nothing written; add --apply)", self.restored)
        } else {
            format!("{} restored", self.restored)
        };
        format!(
            "{restored}, {} already restored, {} left alone, {} failed",
            self.already_restored, self.left_alone, self.failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const ACCOUNT: &str = "123456789012";
    const OURS: &str = "arn:aws:iam::123456789012:policy/iamsweep/role-app";
    const APP: &str = "arn:aws:iam::123456789012:role/app";

    fn scope(keys: &TagKeys) -> Scope<'_> {
        Scope { account_id: ACCOUNT, boundary_path: "/iamsweep/", keys }
    }

    fn entry(
        run: &str,
        day: u8,
        previous: Option<&str>,
        tags: &[(&str, Option<&str>)],
    ) -> JournalEntry {
        JournalEntry {
            schema: crate::journal::JOURNAL_SCHEMA.into(),
            run_id: run.into(),
            time: datetime!(2026-11-01 12:00 UTC).replace_day(day).unwrap(),
            arn: APP.into(),
            kind: EntityKind::Role,
            name: "app".into(),
            boundary_changed: previous != Some("-"),
            previous_boundary: previous.filter(|p| *p != "-").map(str::to_string),
            previous_tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
            policy_arn: Some(OURS.into()),
            policy_created: day == 1,
            version_created: day != 1,
            previous_default_version: (day != 1).then(|| "v1".to_string()),
        }
    }

    fn role(name: &str, boundary: Option<&str>, tags: &[(&str, &str)]) -> EntityRecord {
        let mut role = EntityRecord::new(
            EntityKind::Role,
            format!("arn:aws:iam::123456789012:role/{name}"),
            name,
        );
        role.permissions_boundary = boundary.map(str::to_string);
        role.tags = tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        role
    }

    #[test]
    fn rollback_restores_the_state_before_the_earliest_entry() {
        let entries = [
            entry("run-2", 2, Some(OURS), &[("Permissions_Used", Some("3"))]),
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
        assert_eq!(rollback.delete_policy.as_deref(), Some(OURS));
        let tags_only = [entry("run-3", 3, Some("-"), &[("Permissions_Used", Some("2"))])];
        assert_eq!(rollback_from_journal(&tags_only).unwrap().boundary, BoundaryRestore::Keep);
        assert_eq!(rollback_from_journal(&[]), None);
    }

    #[test]
    fn without_a_journal_the_previous_boundary_tag_is_enough() {
        let keys = TagKeys::default();
        let app = role("app", Some(OURS), &[("iamsweep:previous-boundary", "none")]);
        let rollback = rollback_from_tag(&app, &scope(&keys)).unwrap().unwrap();
        assert_eq!(rollback.boundary, BoundaryRestore::Delete);
        assert_eq!(rollback.remove_tags, vec!["iamsweep:previous-boundary"]);
        let fenced = role(
            "fenced",
            Some("arn:aws:iam::123456789012:policy/iamsweep/role-fenced"),
            &[("IAMSWEEP:Previous-Boundary", "arn:aws:iam::123456789012:policy/team/Fence")],
        );
        let rollback = rollback_from_tag(&fenced, &scope(&keys)).unwrap().unwrap();
        assert_eq!(
            rollback.boundary,
            BoundaryRestore::Put("arn:aws:iam::123456789012:policy/team/Fence".into())
        );
        // Someone replaced iamsweep's boundary since: the steps leave theirs alone.
        let theirs = role(
            "app",
            Some("arn:aws:iam::123456789012:policy/Theirs"),
            &[("iamsweep:previous-boundary", "none")],
        );
        let rollback = rollback_from_tag(&theirs, &scope(&keys)).unwrap().unwrap();
        let refused = steps(&rollback, &theirs, None, &scope(&keys)).unwrap_err();
        assert!(refused.contains("Theirs"), "{refused}");
        // Nothing of iamsweep's on it: nothing to do.
        assert_eq!(rollback_from_tag(&role("plain", None, &[]), &scope(&keys)), Ok(None));
    }

    /// Regression: with the journal lost, an entity bounded under `do_not_tag` stayed bounded
    /// while rollback said "5 entities restored, 0 failed" and exited 0.
    #[test]
    fn an_iamsweep_boundary_without_the_tag_is_named_not_guessed() {
        let keys = TagKeys::default();
        let quiet =
            role("quiet", Some("arn:aws:iam::123456789012:policy/iamsweep/role-quiet"), &[]);
        let reason = rollback_from_tag(&quiet, &scope(&keys)).unwrap_err();
        assert!(reason.contains("do_not_tag") && reason.contains("role-quiet"), "{reason}");
        let target = Target { arn: quiet.arn.clone(), named: false, entries: vec![] };
        assert!(matches!(decide(&target, Some(&quiet), &scope(&keys)), Decision::LeftAlone(_)));
    }

    /// Regression: a bounded entity can rewrite its own previous-boundary tag, which a
    /// journal-less rollback trusted.
    #[test]
    fn a_hostile_previous_boundary_tag_is_not_trusted() {
        let keys = TagKeys::default();
        for hostile in [
            "arn:aws:iam::123456789012:policy/iamsweep/role-admin",
            "arn:aws:iam::123456789012:policy/iamsweep/anything",
            "arn:aws:iam::999999999999:policy/Open",
            "arn:aws-cn:iam::123456789012:policy/Open",
            "arn:aws:iam::123456789012:role/admin",
            "arn:aws:iam::123456789012:policy/../Open",
            "None",
            "",
            "*",
        ] {
            let app = role("app", Some(OURS), &[("iamsweep:previous-boundary", hostile)]);
            let reason = rollback_from_tag(&app, &scope(&keys)).unwrap_err();
            assert!(reason.contains("not trusted"), "{hostile}: {reason}");
        }
        let aws = role(
            "app",
            Some(OURS),
            &[("iamsweep:previous-boundary", "arn:aws:iam::aws:policy/PowerUserAccess")],
        );
        assert!(rollback_from_tag(&aws, &scope(&keys)).is_ok());
    }

    #[test]
    fn steps_restore_what_differs_and_nothing_once_restored() {
        let keys = TagKeys::default();
        let rollback = Rollback {
            arn: APP.into(),
            kind: EntityKind::Role,
            name: "app".into(),
            boundary: BoundaryRestore::Delete,
            set_tags: BTreeMap::from([("Team".into(), "web".into())]),
            remove_tags: vec!["iamsweep:previous-boundary".into(), "Permissions_Used".into()],
            set_default_version: Some(PolicyVersionRef {
                policy_arn: OURS.into(),
                version_id: "v1".into(),
            }),
            delete_policy: None,
        };
        let mut app = role(
            "app",
            Some(OURS),
            &[("IAMSweep:Previous-Boundary", "none"), ("Team", "data"), ("Permissions_Used", "s3")],
        );
        let plan = steps(&rollback, &app, Some("v2"), &scope(&keys)).unwrap();
        assert_eq!(
            plan,
            vec![
                Step::SetDefaultVersion { policy_arn: OURS.into(), version_id: "v1".into() },
                Step::DeleteBoundary,
                Step::Tag { tags: BTreeMap::from([("Team".into(), "web".into())]) },
                Step::Untag { keys: vec!["Permissions_Used".into()] },
                Step::ForgetPreviousBoundary { key: "IAMSweep:Previous-Boundary".into() },
            ]
        );
        // Restored: nothing left to do.
        app.permissions_boundary = None;
        app.tags = BTreeMap::from([("Team".into(), "web".into())]);
        assert_eq!(steps(&rollback, &app, Some("v1"), &scope(&keys)), Ok(vec![]));
    }

    /// Regression: `rollback --all` with a journal also restored, from tags, entities the
    /// journal never touched, the principal running it included.
    #[test]
    fn all_with_a_journal_selects_exactly_the_journaled_entities() {
        let keys = TagKeys::default();
        let entries = [entry("run-1", 1, None, &[])];
        let entities = [
            role("app", Some(OURS), &[("iamsweep:previous-boundary", "none")]),
            role(
                "runner",
                Some("arn:aws:iam::123456789012:policy/iamsweep/role-runner"),
                &[("iamsweep:previous-boundary", "none")],
            ),
            role("plain", None, &[]),
        ];
        let selection = select(Request::All, &entries, &entities, &scope(&keys)).unwrap();
        assert_eq!(selection.targets.len(), 1);
        assert_eq!(selection.targets[0].arn, APP);
        assert_eq!(selection.not_journaled, vec!["arn:aws:iam::123456789012:role/runner"]);
        // Without a journal: every entity carrying iamsweep's boundary or tag.
        let selection = select(Request::All, &[], &entities, &scope(&keys)).unwrap();
        let arns: Vec<&str> = selection.targets.iter().map(|t| t.arn.as_str()).collect();
        assert_eq!(arns, [APP, "arn:aws:iam::123456789012:role/runner"]);
        // A run the journal does not hold is an error.
        assert!(select(Request::Run("nope"), &entries, &entities, &scope(&keys)).is_err());
        let named = [APP.to_string()];
        let selection =
            select(Request::Entities(&named), &entries, &entities, &scope(&keys)).unwrap();
        assert!(selection.targets[0].named && selection.targets[0].entries.len() == 1);
    }

    #[test]
    fn the_principal_running_iamsweep_is_touched_only_when_named() {
        let keys = TagKeys::default();
        let runner = role(
            "runner",
            Some("arn:aws:iam::123456789012:policy/iamsweep/role-runner"),
            &[("iamsweep:previous-boundary", "none")],
        );
        let caller =
            Caller::parse("arn:aws:sts::123456789012:assumed-role/runner/ci-session").unwrap();
        let mut target = Target { arn: runner.arn.clone(), named: false, entries: vec![] };
        let Decision::Restore(rollback) = decide(&target, Some(&runner), &scope(&keys)) else {
            panic!("the tag restores it")
        };
        let planned = || steps(&rollback, &runner, None, &scope(&keys));
        let left = verdict(&target, &runner, Some(&caller), planned(), &scope(&keys));
        assert!(
            matches!(&left, Verdict::LeftAlone(reason) if reason.contains("principal running")),
            "{left:?}"
        );
        // Another principal, or the caller named with --entity: restored.
        let other = Caller::parse("arn:aws:iam::123456789012:user/ops").unwrap();
        assert!(matches!(
            verdict(&target, &runner, Some(&other), planned(), &scope(&keys)),
            Verdict::Write(_)
        ));
        target.named = true;
        assert!(matches!(
            verdict(&target, &runner, Some(&caller), planned(), &scope(&keys)),
            Verdict::Write(_)
        ));
        // Nothing to write is no write, caller or not.
        target.named = false;
        assert_eq!(
            verdict(&target, &runner, Some(&caller), Ok(vec![]), &scope(&keys)),
            Verdict::AlreadyRestored
        );
        assert!(matches!(decide(&target, None, &scope(&keys)), Decision::LeftAlone(_)));
    }

    #[test]
    fn the_summary_counts_each_outcome_apart() {
        let mut summary = Summary::default();
        for outcome in [Outcome::Restored, Outcome::AlreadyRestored, Outcome::AlreadyRestored] {
            summary.add(outcome);
        }
        assert!(summary.complete());
        assert_eq!(summary.line(false), "1 restored, 2 already restored, 0 left alone, 0 failed");
        summary.add(Outcome::LeftAlone);
        assert!(!summary.complete());
        assert!(summary.line(true).starts_with("1 would be restored (dry run"));
    }
}
