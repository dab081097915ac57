//! Carrying out a [`Rollback`] computed by `iamsweep-core` from the journal or the
//! previous-boundary tag.
//!
//! The writes are derived from the rollback and what IAM holds now ([`steps`]), so a rollback
//! run twice writes nothing the second time. A boundary that is neither iamsweep's nor the one
//! to restore was set by someone after iamsweep: it is left alone and reported, since putting
//! back an older boundary would undo their change. Policies are never deleted here: an unused
//! iamsweep policy is only proposed for deletion.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use iamsweep_core::boundary::is_own_boundary;
use iamsweep_core::journal::{BoundaryRestore, Rollback};
use iamsweep_core::model::{EntityKind, EntityRecord};
use iamsweep_core::tags::find_tag;

use crate::error::CallError;
use crate::live::default_version;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// One write of a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `SetDefaultPolicyVersion`.
    SetDefaultVersion {
        /// The policy.
        policy_arn: String,
        /// The version to make default again.
        version_id: String,
    },
    /// `PutUserPermissionsBoundary`/`PutRolePermissionsBoundary`.
    PutBoundary(String),
    /// `DeleteUserPermissionsBoundary`/`DeleteRolePermissionsBoundary`.
    DeleteBoundary,
    /// `TagUser`/`TagRole` with these earlier values.
    Tag(BTreeMap<String, String>),
    /// `UntagUser`/`UntagRole` of keys that did not exist before.
    Untag(Vec<String>),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::SetDefaultVersion { policy_arn, version_id } => {
                write!(f, "make {version_id} the default version of `{policy_arn}` again")
            }
            Step::PutBoundary(arn) => write!(f, "put back boundary `{arn}`"),
            Step::DeleteBoundary => write!(f, "remove the boundary (there was none)"),
            Step::Tag(tags) => {
                let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
                write!(f, "restore tags {}", keys.join(", "))
            }
            Step::Untag(keys) => write!(f, "remove tags {}", keys.join(", ")),
        }
    }
}

/// The writes that take `current` (as IAM holds it now) back to what `rollback` restores.
///
/// `current_default` is the current default version of the policy named in
/// `rollback.set_default_version`. `Err` when the boundary was changed by someone else since.
pub fn steps(
    rollback: &Rollback,
    current: &EntityRecord,
    current_default: Option<&str>,
    account_id: &str,
    boundary_path: &str,
) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let boundary = current.permissions_boundary.as_deref();
    let ours = boundary.is_some_and(|arn| is_own_boundary(arn, account_id, boundary_path));
    let boundary_step = match &rollback.boundary {
        BoundaryRestore::Keep => None,
        BoundaryRestore::Put(arn) if boundary == Some(arn.as_str()) => None,
        BoundaryRestore::Delete if boundary.is_none() => None,
        _ if !ours => {
            return Err(format!(
                "its boundary is now {}, which iamsweep did not set: someone changed it since; \
                 left alone",
                boundary.map_or("none".to_string(), |arn| format!("`{arn}`"))
            ));
        }
        BoundaryRestore::Put(arn) => Some(Step::PutBoundary(arn.clone())),
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
        steps.push(Step::Tag(set));
    }
    // Untag by the key as the entity spells it: keys are case-insensitive, but say it exactly.
    let remove: Vec<String> = rollback
        .remove_tags
        .iter()
        .filter_map(|key| find_tag(&current.tags, key).map(|(existing, _)| existing.to_string()))
        .collect();
    if !remove.is_empty() {
        steps.push(Step::Untag(remove));
    }
    Ok(steps)
}

/// Reads the current default version of the policy a rollback restores a version of.
pub async fn current_default(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    rollback: &Rollback,
) -> Result<Option<String>, CallError> {
    match &rollback.set_default_version {
        Some(version) => default_version(iam, pace, retry, &version.policy_arn).await,
        None => Ok(None),
    }
}

/// Carries out `steps` on one entity, in order: the boundary before the tags, so that the
/// previous-boundary tag is removed only once the boundary it records is back.
pub async fn execute(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    entity: &EntityRecord,
    steps: &[Step],
) -> Result<(), CallError> {
    let (name, arn, role) =
        (entity.name.as_str(), entity.arn.as_str(), entity.kind == EntityKind::Role);
    for step in steps {
        match step {
            Step::SetDefaultVersion { policy_arn, version_id } => {
                call(pace, retry, "iam:SetDefaultPolicyVersion", policy_arn, || {
                    iam.set_default_policy_version()
                        .policy_arn(policy_arn)
                        .version_id(version_id)
                        .send()
                })
                .await
                .map(drop)?;
            }
            Step::PutBoundary(policy) if role => {
                call(pace, retry, "iam:PutRolePermissionsBoundary", arn, || {
                    iam.put_role_permissions_boundary()
                        .role_name(name)
                        .permissions_boundary(policy)
                        .send()
                })
                .await
                .map(drop)?;
            }
            Step::PutBoundary(policy) => {
                call(pace, retry, "iam:PutUserPermissionsBoundary", arn, || {
                    iam.put_user_permissions_boundary()
                        .user_name(name)
                        .permissions_boundary(policy)
                        .send()
                })
                .await
                .map(drop)?;
            }
            Step::DeleteBoundary if role => {
                call(pace, retry, "iam:DeleteRolePermissionsBoundary", arn, || {
                    iam.delete_role_permissions_boundary().role_name(name).send()
                })
                .await
                .map(drop)?;
            }
            Step::DeleteBoundary => {
                call(pace, retry, "iam:DeleteUserPermissionsBoundary", arn, || {
                    iam.delete_user_permissions_boundary().user_name(name).send()
                })
                .await
                .map(drop)?;
            }
            Step::Tag(tags) => {
                let tags: Vec<Tag> = tags
                    .iter()
                    .map(|(key, value)| {
                        Tag::builder().key(key).value(value).build().expect("key and value set")
                    })
                    .collect();
                if role {
                    call(pace, retry, "iam:TagRole", arn, || {
                        iam.tag_role().role_name(name).set_tags(Some(tags.clone())).send()
                    })
                    .await
                    .map(drop)?;
                } else {
                    call(pace, retry, "iam:TagUser", arn, || {
                        iam.tag_user().user_name(name).set_tags(Some(tags.clone())).send()
                    })
                    .await
                    .map(drop)?;
                }
            }
            Step::Untag(keys) => {
                if role {
                    call(pace, retry, "iam:UntagRole", arn, || {
                        iam.untag_role().role_name(name).set_tag_keys(Some(keys.clone())).send()
                    })
                    .await
                    .map(drop)?;
                } else {
                    call(pace, retry, "iam:UntagUser", arn, || {
                        iam.untag_user().user_name(name).set_tag_keys(Some(keys.clone())).send()
                    })
                    .await
                    .map(drop)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamsweep_core::journal::PolicyVersionRef;

    const ACCOUNT: &str = "123456789012";
    const OURS: &str = "arn:aws:iam::123456789012:policy/iamsweep/role-app";

    fn rollback(boundary: BoundaryRestore) -> Rollback {
        Rollback {
            arn: "arn:aws:iam::123456789012:role/app".into(),
            kind: EntityKind::Role,
            name: "app".into(),
            boundary,
            set_tags: BTreeMap::from([("Team".into(), "web".into())]),
            remove_tags: vec!["iamsweep:previous-boundary".into()],
            set_default_version: Some(PolicyVersionRef {
                policy_arn: OURS.into(),
                version_id: "v1".into(),
            }),
            delete_policy: None,
        }
    }

    #[test]
    fn steps_restore_what_differs_and_nothing_once_restored() {
        let mut role =
            EntityRecord::new(EntityKind::Role, "arn:aws:iam::123456789012:role/app", "app");
        role.permissions_boundary = Some(OURS.into());
        role.tags.insert("IAMSweep:Previous-Boundary".into(), "none".into());
        role.tags.insert("Team".into(), "data".into());
        let plan =
            steps(&rollback(BoundaryRestore::Delete), &role, Some("v2"), ACCOUNT, "/iamsweep/")
                .unwrap();
        assert_eq!(plan.len(), 4, "{plan:?}");
        assert_eq!(plan[1], Step::DeleteBoundary);
        assert_eq!(plan[3], Step::Untag(vec!["IAMSweep:Previous-Boundary".into()]));
        // Restored: nothing left to do.
        role.permissions_boundary = None;
        role.tags = BTreeMap::from([("Team".into(), "web".into())]);
        let again =
            steps(&rollback(BoundaryRestore::Delete), &role, Some("v1"), ACCOUNT, "/iamsweep/");
        assert_eq!(again, Ok(vec![]));
    }

    #[test]
    fn a_boundary_someone_else_set_since_is_left_alone() {
        let mut role =
            EntityRecord::new(EntityKind::Role, "arn:aws:iam::123456789012:role/app", "app");
        role.permissions_boundary = Some("arn:aws:iam::123456789012:policy/Theirs".into());
        let refused = steps(&rollback(BoundaryRestore::Delete), &role, None, ACCOUNT, "/iamsweep/");
        assert!(refused.unwrap_err().contains("Theirs"));
    }
}
