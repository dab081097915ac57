//! The journal of changes: what `apply` records before each change, and the checks an entry
//! passes before `rollback` acts on it.
//!
//! `apply` writes one [`JournalEntry`] before each entity's change (to a directory or S3, by the
//! `aws` crate): the state it is about to replace. `rollback` reads the entries back with
//! [`parse_entry`], checks every one with [`check_entry`] before its first write, and hands them
//! to [`crate::rollback`], which decides what to restore.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::boundary::{is_own_boundary, validate_policy_name};
use crate::model::EntityKind;
use crate::plan::EntityPlan;

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

/// The parts of a user or role ARN: `arn:PARTITION:iam::ACCOUNT:KIND/PATH/NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityArn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// The twelve-digit account id.
    pub account_id: &'a str,
    /// User or role.
    pub kind: EntityKind,
    /// The name (the last path segment).
    pub name: &'a str,
}

impl<'a> EntityArn<'a> {
    /// Reads a user or role ARN; `None` for anything else.
    pub fn parse(arn: &'a str) -> Option<EntityArn<'a>> {
        let mut parts = arn.splitn(6, ':');
        let (scheme, partition, service, region, account_id, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if scheme != "arn" || service != "iam" || !region.is_empty() || partition.is_empty() {
            return None;
        }
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (kind, rest) = resource.split_once('/')?;
        let kind = match kind {
            "user" => EntityKind::User,
            "role" => EntityKind::Role,
            _ => return None,
        };
        let name = rest.rsplit('/').next().filter(|name| !name.is_empty())?;
        Some(EntityArn { partition, account_id, kind, name })
    }
}

/// Reads one journal entry (a line of a journal file, or an S3 object).
///
/// The schema is checked first, so an entry of a future schema is refused for what it is rather
/// than for a field this version does not know. `Err` says what was expected.
pub fn parse_entry(text: &str) -> Result<JournalEntry, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
    match value.get("schema").and_then(serde_json::Value::as_str) {
        Some(JOURNAL_SCHEMA) => {}
        Some(other) => {
            return Err(format!("unknown schema `{other}`; expected `{JOURNAL_SCHEMA}`"));
        }
        None => return Err(format!("no `schema` field; expected `{JOURNAL_SCHEMA}`")),
    }
    serde_json::from_value(value)
        .map_err(|error| format!("not a `{JOURNAL_SCHEMA}` entry: {error}"))
}

/// Checks that `entry` may be acted on by a rollback in `account_id`; `Err` names the field and
/// what was expected.
///
/// A journal is a file anyone with access to its directory or bucket can edit, and `rollback`
/// writes IAM from it, so an entry must describe what `apply` could have written: a user or
/// role of this account (an entry of another account means the wrong journal, or a shared one
/// read wrongly); iamsweep's own policy under `boundary_path` for the entity (rollback makes one
/// of its versions the default again); a previous boundary that is a managed policy ARN; a run
/// id that can name a file.
pub fn check_entry(
    entry: &JournalEntry,
    account_id: &str,
    boundary_path: &str,
) -> Result<(), String> {
    let arn = EntityArn::parse(&entry.arn)
        .ok_or_else(|| format!("field `arn`: `{}` is not a user or role ARN", entry.arn))?;
    if arn.account_id != account_id {
        return Err(format!(
            "field `arn`: `{}` is of account {}, but the credentials are of account {account_id}; \
             expected only this account's entries",
            entry.arn, arn.account_id
        ));
    }
    if arn.kind != entry.kind || arn.name != entry.name {
        return Err(format!(
            "fields `kind` and `name` ({} `{}`) do not match `arn` `{}`",
            entry.kind.as_str(),
            entry.name,
            entry.arn
        ));
    }
    if !valid_run_id(&entry.run_id) {
        return Err(format!(
            "field `run_id`: `{}` is not a run id; expected letters, digits and `-`, such as \
             `20261123T131759Z-5f0c9a2e4b7d1836`",
            entry.run_id
        ));
    }
    if let Some(policy) = &entry.policy_arn
        && !is_own_boundary(policy, account_id, boundary_path)
    {
        return Err(format!(
            "field `policy_arn`: `{policy}` is not one of iamsweep's boundary policies of account \
             {account_id} (path `{boundary_path}`)"
        ));
    }
    if let Some(previous) = &entry.previous_boundary
        && entry.policy_arn.as_ref() != Some(previous)
    {
        check_policy_arn(previous, arn.partition, account_id)
            .map_err(|error| format!("field `previous_boundary`: {error}"))?;
    }
    if let Some(version) = &entry.previous_default_version
        && !valid_version_id(version)
    {
        return Err(format!(
            "field `previous_default_version`: `{version}` is not a policy version id such as `v2`"
        ));
    }
    Ok(())
}

/// Checks that `arn` is a managed policy a boundary can be restored to: a policy of `account_id`
/// or an AWS managed policy, in `partition`, with a name IAM accepts.
pub fn check_policy_arn(arn: &str, partition: &str, account_id: &str) -> Result<(), String> {
    let expected = || {
        format!(
            "`{arn}` is not a managed policy ARN of account {account_id} or of AWS \
             (`arn:{partition}:iam::{account_id}:policy/NAME`)"
        )
    };
    let rest = arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.strip_prefix(partition))
        .and_then(|rest| rest.strip_prefix(":iam::"))
        .ok_or_else(expected)?;
    let (owner, resource) = rest.split_once(':').ok_or_else(expected)?;
    if owner != account_id && owner != "aws" {
        return Err(expected());
    }
    let path_and_name = resource.strip_prefix("policy/").ok_or_else(expected)?;
    let (path, name) = path_and_name.rsplit_once('/').unwrap_or(("", path_and_name));
    // IAM paths are printable ASCII without spaces; `//` or a `..` segment is no path IAM made.
    let path_ok = path.bytes().all(|b| b.is_ascii_graphic())
        && path.split('/').all(|segment| !segment.is_empty() && segment != "..")
        || path.is_empty();
    if !path_ok || validate_policy_name(name).is_err() {
        return Err(expected());
    }
    Ok(())
}

fn valid_run_id(run_id: &str) -> bool {
    (1..=64).contains(&run_id.len())
        && run_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn valid_version_id(version: &str) -> bool {
    version.strip_prefix('v').is_some_and(|number| {
        !number.is_empty() && number.len() <= 10 && number.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The account of an entry, from its ARN (`None` when the ARN is not a user or role's).
pub fn entry_account(entry: &JournalEntry) -> Option<&str> {
    EntityArn::parse(&entry.arn).map(|arn| arn.account_id)
}
#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const ACCOUNT: &str = "123456789012";
    const PATH: &str = "/iamsweep/";

    fn entry() -> JournalEntry {
        JournalEntry {
            schema: JOURNAL_SCHEMA.into(),
            run_id: "20261123T131759Z-5f0c9a2e4b7d1836".into(),
            time: datetime!(2026-11-23 13:17:59 UTC),
            arn: "arn:aws:iam::123456789012:role/team/app".into(),
            kind: EntityKind::Role,
            name: "app".into(),
            boundary_changed: true,
            previous_boundary: Some("arn:aws:iam::123456789012:policy/team/Fence".into()),
            previous_tags: BTreeMap::from([("Permissions_Used".into(), None)]),
            policy_arn: Some("arn:aws:iam::123456789012:policy/iamsweep/role-app".into()),
            policy_created: true,
            version_created: false,
            previous_default_version: None,
        }
    }

    #[test]
    fn an_entry_reads_back_and_passes_its_checks() {
        let text = serde_json::to_string(&entry()).unwrap();
        assert_eq!(parse_entry(&text).unwrap(), entry());
        assert_eq!(check_entry(&entry(), ACCOUNT, PATH), Ok(()));
        // An AWS managed previous boundary and none are both what apply records.
        let mut aws = entry();
        aws.previous_boundary = Some("arn:aws:iam::aws:policy/PowerUserAccess".into());
        assert_eq!(check_entry(&aws, ACCOUNT, PATH), Ok(()));
        aws.previous_boundary = None;
        assert_eq!(check_entry(&aws, ACCOUNT, PATH), Ok(()));
    }

    /// Regression: an entry of `iamsweep.journal/v9` was acted on by `rollback --apply`.
    #[test]
    fn an_unknown_schema_is_refused_for_what_it_is() {
        let mut value = serde_json::to_value(entry()).unwrap();
        value["schema"] = "iamsweep.journal/v9".into();
        value["new_field"] = 3.into();
        let error = parse_entry(&value.to_string()).unwrap_err();
        assert!(
            error.contains("`iamsweep.journal/v9`") && error.contains(JOURNAL_SCHEMA),
            "{error}"
        );
        value.as_object_mut().unwrap().remove("schema");
        assert!(parse_entry(&value.to_string()).unwrap_err().contains("no `schema`"));
        assert!(
            parse_entry("{\"schema\": \"iamsweep.journal/v1\"").unwrap_err().contains("not JSON")
        );
        let error = parse_entry("{\"schema\": \"iamsweep.journal/v1\"}").unwrap_err();
        assert!(error.contains("missing field"), "{error}");
    }

    #[test]
    fn entries_that_apply_could_not_have_written_are_refused_naming_the_field() {
        let refused = |change: &dyn Fn(&mut JournalEntry), field: &str| {
            let mut bad = entry();
            change(&mut bad);
            let error = check_entry(&bad, ACCOUNT, PATH).unwrap_err();
            assert!(error.contains(field), "{field}: {error}");
        };
        refused(
            &|e| e.arn = "arn:aws:iam::999999999999:role/team/app".into(),
            "account 999999999999",
        );
        refused(&|e| e.arn = "arn:aws:iam::123456789012:group/app".into(), "`arn`");
        refused(&|e| e.arn = "arn:aws:s3:::bucket/role/app".into(), "`arn`");
        refused(&|e| e.name = "other".into(), "`name`");
        refused(&|e| e.kind = EntityKind::User, "`kind`");
        refused(&|e| e.run_id = "../../etc/passwd".into(), "`run_id`");
        refused(
            &|e| e.policy_arn = Some("arn:aws:iam::aws:policy/AdministratorAccess".into()),
            "`policy_arn`",
        );
        refused(
            &|e| e.previous_boundary = Some("arn:aws:iam::999999999999:policy/Theirs".into()),
            "`previous_boundary`",
        );
        refused(&|e| e.previous_boundary = Some("none of it".into()), "`previous_boundary`");
        refused(
            &|e| e.previous_default_version = Some("v1; rm".into()),
            "`previous_default_version`",
        );
    }

    #[test]
    fn policy_arns_are_read_strictly() {
        let ok = |arn: &str| check_policy_arn(arn, "aws", ACCOUNT).is_ok();
        assert!(ok("arn:aws:iam::123456789012:policy/Fence"));
        assert!(ok("arn:aws:iam::123456789012:policy/team/a/Fence"));
        assert!(ok("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"));
        assert!(!ok("arn:aws-cn:iam::123456789012:policy/Fence"));
        assert!(!ok("arn:aws:iam::123456789012:role/Fence"));
        assert!(!ok("arn:aws:iam::123456789012:policy/team//Fence"));
        assert!(!ok("arn:aws:iam::123456789012:policy/Fen ce"));
        assert!(!ok("arn:aws:iam::123456789012:policy/"));
        assert!(!ok(""));
    }

    #[test]
    fn entity_arns_carry_account_kind_and_name() {
        let arn = EntityArn::parse("arn:aws-cn:iam::123456789012:user/a/b/carol").unwrap();
        assert_eq!(
            (arn.partition, arn.account_id, arn.kind, arn.name),
            ("aws-cn", ACCOUNT, EntityKind::User, "carol")
        );
        assert_eq!(EntityArn::parse("arn:aws:iam::12345:user/carol"), None);
        assert_eq!(EntityArn::parse("arn:aws:sts::123456789012:assumed-role/r/s"), None);
    }
}
