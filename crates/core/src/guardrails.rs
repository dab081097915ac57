//! Guardrails: every reason iamsweep leaves an entity, its tags or its boundary alone.
//!
//! This is the one place to read to answer "why was this role skipped?". Each decision returns
//! a [`Skip`] with a sentence a person understands; the plan records them all, so a skipped
//! entity is reported, never silently dropped. Every guardrail is on by default.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use wildmatch::WildMatch;

use crate::boundary::{BoundaryRefusal, is_own_boundary};
use crate::model::{EntityKind, EntityRecord, Status};
use crate::settings::EnforceSettings;
use crate::tags::{MAX_TAGS, find_tag};

/// What a skip holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkipScope {
    /// Nothing is written for the entity.
    Entity,
    /// Its tags are left as they are.
    Tags,
    /// Its boundary is left as it is.
    Boundary,
}

/// One reason something is not changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    /// What is held back.
    pub scope: SkipScope,
    /// Why, as a sentence about the entity ("service-linked role: ...").
    pub reason: String,
}

impl Skip {
    fn new(scope: SkipScope, reason: impl Into<String>) -> Self {
        Skip { scope, reason: reason.into() }
    }
}

/// The principal running iamsweep, read from a `GetCallerIdentity` ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Its account.
    pub account_id: String,
    /// A user or a role.
    pub kind: EntityKind,
    /// The user or role name (for an assumed role, the role's name, not the session's).
    pub name: String,
}

impl Caller {
    /// Reads a caller ARN: `arn:aws:iam::ACCOUNT:user/PATH/NAME`, `...:role/PATH/NAME` or
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` (which is role ROLE). `None` for
    /// principals that are no user or role of the account (root, federated users).
    pub fn parse(arn: &str) -> Option<Caller> {
        let mut parts = arn.splitn(6, ':');
        let (_, _, service, _, account_id, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let (kind, name) = match service {
            "iam" => {
                let (kind, rest) = resource.split_once('/')?;
                // A path may precede the name: the name is the last segment.
                (
                    EntityKind::parse(kind).filter(|k| *k != EntityKind::Group)?,
                    rest.rsplit('/').next()?,
                )
            }
            "sts" => {
                let rest = resource.strip_prefix("assumed-role/")?;
                (EntityKind::Role, rest.split('/').next()?)
            }
            _ => return None,
        };
        (!name.is_empty()).then(|| Caller {
            account_id: account_id.to_string(),
            kind,
            name: name.to_string(),
        })
    }

    /// Whether `entity` is this principal (IAM names are case-insensitive).
    pub fn is(&self, entity: &EntityRecord, account_id: &str) -> bool {
        self.account_id == account_id
            && self.kind == entity.kind
            && self.name.eq_ignore_ascii_case(&entity.name)
    }
}

/// Whether any pattern matches the entity's name or ARN; `*` and `?` are wildcards and the
/// match ignores case, as IAM names do. (The original sample compared names against ARNs, so
/// nothing ever matched; here each pattern is tried against both.)
pub fn matches_any(patterns: &[String], entity: &EntityRecord) -> Option<String> {
    patterns
        .iter()
        .find(|pattern| {
            let glob = WildMatch::new_case_insensitive(pattern);
            glob.matches(&entity.name) || glob.matches(&entity.arn)
        })
        .cloned()
}

/// The skips that follow from the entity alone (before any tag or boundary is computed).
///
/// `collected_at` is the snapshot's time: the age and history of an entity are measured at the
/// moment its data was collected. `caller` is the principal running iamsweep, if known.
pub fn entity_skips(
    entity: &EntityRecord,
    account_id: &str,
    caller: Option<&Caller>,
    settings: &EnforceSettings,
    collected_at: OffsetDateTime,
) -> Vec<Skip> {
    use SkipScope::{Boundary, Entity, Tags};
    let guard = &settings.guardrails;
    let mut skips = Vec::new();
    if entity.kind == EntityKind::Group {
        skips.push(Skip::new(
            Entity,
            "group: IAM can neither tag a group nor give it a permissions boundary",
        ));
    }
    if entity.kind == EntityKind::Role && entity.path.starts_with("/aws-service-role/") {
        skips.push(Skip::new(
            Entity,
            "service-linked role: AWS owns its policies and refuses boundary changes",
        ));
    }
    if entity.kind == EntityKind::Role
        && (entity.name.starts_with("AWSReservedSSO_")
            || entity.path.starts_with("/aws-reserved/sso.amazonaws.com/"))
    {
        skips.push(Skip::new(
            Entity,
            "IAM Identity Center role: Identity Center manages it and would undo or refuse changes",
        ));
    }
    if caller.is_some_and(|caller| caller.is(entity, account_id)) {
        skips.push(Skip::new(
            Entity,
            "it is the principal running iamsweep: restricting it could cut off this run and the rollback",
        ));
    }
    if let Some(pattern) = matches_any(&guard.exclude, entity) {
        skips.push(Skip::new(Entity, format!("excluded by `{pattern}` (exclude list)")));
    }
    if let Some((key, _)) = find_tag(&entity.tags, &guard.exclude_tag) {
        skips.push(Skip::new(Entity, format!("excluded by its tag `{key}`")));
    }
    match entity.status {
        Status::Ok => {}
        Status::Error => skips.push(Skip::new(
            Entity,
            format!(
                "its Access Advisor data could not be collected ({}): no data is not evidence of no use",
                entity.error.as_deref().unwrap_or("unknown error")
            ),
        )),
        Status::Skipped => skips.push(Skip::new(
            Entity,
            format!(
                "its Access Advisor data was not collected ({})",
                entity.skip_reason.as_deref().unwrap_or("no reason given")
            ),
        )),
    }
    match entity.created {
        None => skips.push(Skip::new(
            Entity,
            "its creation date is unknown, so it cannot be shown to have a full window of history",
        )),
        Some(created) if collected_at - created < Duration::days(i64::from(guard.min_age_days)) => {
            skips.push(Skip::new(
                Entity,
                format!(
                    "created {} days before the snapshot, under the minimum age of {} days: it has \
                     not had the time to use what it needs",
                    (collected_at - created).whole_days(),
                    guard.min_age_days
                ),
            ));
        }
        Some(_) => {}
    }
    if let Some(pattern) = matches_any(&guard.do_not_tag, entity) {
        skips.push(Skip::new(Tags, format!("tags: excluded by `{pattern}` (do_not_tag)")));
    }
    if let Some(pattern) = matches_any(&guard.do_not_boundary, entity) {
        skips.push(Skip::new(
            Boundary,
            format!("boundary: excluded by `{pattern}` (do_not_boundary)"),
        ));
    }
    if let Some(current) = &entity.permissions_boundary
        && !settings.boundary.replace_foreign_boundaries
        && !is_own_boundary(current, account_id, &settings.boundary.path)
    {
        skips.push(Skip::new(
            Boundary,
            format!(
                "boundary: it has a boundary iamsweep did not create (`{current}`); hint: set \
                 boundary.replace_foreign_boundaries to replace it"
            ),
        ));
    }
    skips
}

/// The skip of a tag change for which the entity has no room under IAM's 50-tag limit.
///
/// `new_keys` is how many of the keys to write the entity does not have yet.
pub fn no_room_for_tags(existing: usize, new_keys: usize) -> Option<Skip> {
    (existing + new_keys > MAX_TAGS).then(|| {
        Skip::new(
            SkipScope::Tags,
            format!(
                "tags: it has {existing} tags and needs {new_keys} more, over IAM's limit of {MAX_TAGS}"
            ),
        )
    })
}

/// The skip of a boundary change when even the previous-boundary tag finds no room.
pub fn no_room_for_previous_boundary(existing: usize) -> Skip {
    Skip::new(
        SkipScope::Boundary,
        format!(
            "boundary: it has {existing} tags, so the tag recording its previous boundary would              exceed IAM's limit of {MAX_TAGS}, and without it the change could not be rolled back              if the journal were lost"
        ),
    )
}

/// The skip of an entity of the report that the snapshot does not hold (mismatched inputs).
pub fn missing_from_snapshot() -> Skip {
    Skip::new(SkipScope::Entity, "it is in the audit report but not in the snapshot")
}

/// The skip of a boundary that cannot be synthesised.
pub fn boundary_refused(refusal: &BoundaryRefusal) -> Skip {
    Skip::new(SkipScope::Boundary, format!("boundary: {refusal}"))
}

/// The skip of a boundary change whose previous boundary cannot be recorded in a tag.
pub fn previous_boundary_unrecordable(reason: &str) -> Skip {
    Skip::new(SkipScope::Boundary, format!("boundary: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
    const ACCOUNT: &str = "123456789012";

    fn role(name: &str, path: &str) -> EntityRecord {
        let mut record = EntityRecord::new(
            EntityKind::Role,
            format!("arn:aws:iam::{ACCOUNT}:role{path}{name}"),
            name,
        );
        record.path = path.to_string();
        record.created = Some(NOW - Duration::days(400));
        record
    }

    fn reasons(
        entity: &EntityRecord,
        caller: Option<&str>,
        settings: &EnforceSettings,
    ) -> Vec<String> {
        let caller = caller.and_then(Caller::parse);
        entity_skips(entity, ACCOUNT, caller.as_ref(), settings, NOW)
            .into_iter()
            .map(|skip| skip.reason)
            .collect()
    }

    #[test]
    fn callers_are_read_from_every_arn_shape() {
        let assumed =
            Caller::parse("arn:aws:sts::123456789012:assumed-role/deployer/session-1").unwrap();
        assert_eq!((assumed.kind, assumed.name.as_str()), (EntityKind::Role, "deployer"));
        let with_path = Caller::parse("arn:aws:iam::123456789012:role/ops/team/deployer").unwrap();
        assert_eq!(with_path.name, "deployer");
        let user = Caller::parse("arn:aws:iam::123456789012:user/alice").unwrap();
        assert_eq!(user.kind, EntityKind::User);
        assert_eq!(Caller::parse("arn:aws:iam::123456789012:root"), None);
        assert_eq!(Caller::parse("arn:aws:sts::123456789012:federated-user/bob"), None);
        // The caller is matched by role name, even when the role has a path.
        let settings = EnforceSettings::defaults(180);
        let deployer = role("deployer", "/ops/team/");
        let found = reasons(
            &deployer,
            Some("arn:aws:sts::123456789012:assumed-role/deployer/s"),
            &settings,
        );
        assert!(found[0].contains("principal running iamsweep"), "{found:?}");
        assert!(
            reasons(
                &deployer,
                Some("arn:aws:sts::999999999999:assumed-role/deployer/s"),
                &settings
            )
            .is_empty()
        );
    }

    #[test]
    fn aws_owned_roles_are_never_touched() {
        let settings = EnforceSettings::defaults(180);
        let linked = role("AWSServiceRoleForSupport", "/aws-service-role/support.amazonaws.com/");
        assert!(reasons(&linked, None, &settings)[0].starts_with("service-linked role"));
        let sso = role("AWSReservedSSO_Admin_0123", "/aws-reserved/sso.amazonaws.com/");
        assert!(reasons(&sso, None, &settings)[0].starts_with("IAM Identity Center role"));
    }

    #[test]
    fn exclusions_match_names_arns_globs_and_tags() {
        let mut settings = EnforceSettings::defaults(180);
        settings.guardrails.exclude = vec!["ci-*".into(), "arn:aws:iam::*:role/admin/*".into()];
        settings.guardrails.do_not_tag = vec!["quiet".into()];
        assert!(reasons(&role("CI-deploy", "/"), None, &settings)[0].contains("`ci-*`"));
        assert!(
            reasons(&role("root-admin", "/admin/"), None, &settings)[0].contains("role/admin/*")
        );
        let mut tagged = role("app", "/");
        tagged.tags.insert("IAMSweep:Exclude".into(), "".into());
        assert_eq!(
            reasons(&tagged, None, &settings),
            vec!["excluded by its tag `IAMSweep:Exclude`"]
        );
        let quiet = entity_skips(&role("quiet", "/"), ACCOUNT, None, &settings, NOW);
        assert_eq!(quiet[0].scope, SkipScope::Tags);
    }

    #[test]
    fn young_failed_and_foreign_bounded_entities_are_skipped() {
        let settings = EnforceSettings::defaults(180);
        let mut young = role("new", "/");
        young.created = Some(NOW - Duration::days(10));
        assert!(reasons(&young, None, &settings)[0].contains("created 10 days before"));
        let mut failed = role("failed", "/");
        failed.status = Status::Error;
        failed.error = Some("job FAILED".into());
        assert!(reasons(&failed, None, &settings)[0].contains("job FAILED"));
        let mut foreign = role("bounded", "/");
        foreign.permissions_boundary = Some("arn:aws:iam::123456789012:policy/Other".into());
        let skips = entity_skips(&foreign, ACCOUNT, None, &settings, NOW);
        assert_eq!(skips[0].scope, SkipScope::Boundary);
        foreign.permissions_boundary =
            Some("arn:aws:iam::123456789012:policy/iamsweep/role-bounded".into());
        assert!(entity_skips(&foreign, ACCOUNT, None, &settings, NOW).is_empty());
    }
}
