//! Carrying out the [`Step`]s that `iamsweep-core` decided (see `iamsweep_core::rollback`):
//! this module reads what a decision needs (the current default version of a policy) and
//! writes, nothing else. Policies are never deleted here: an unused iamsweep policy is only
//! named for a person to delete.

use aws_sdk_iam::types::Tag;
use iamsweep_core::model::{EntityKind, EntityRecord};
use iamsweep_core::rollback::{Rollback, Step};

use crate::error::CallError;
use crate::live::default_version;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

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

/// What became of each step of one entity.
#[derive(Debug, Clone, Default)]
pub struct Executed {
    /// Written.
    pub done: Vec<Step>,
    /// Tried and failed.
    pub failed: Vec<(Step, CallError)>,
    /// Not tried: the previous-boundary tag stays while its boundary is not back.
    pub not_tried: Vec<Step>,
}

/// Carries out `steps` on one entity, in order. A failed step does not stop the others (what
/// can be restored is), except that the previous-boundary tag is removed only once the
/// boundary it records is back: it is what a later rollback needs.
pub async fn execute(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    entity: &EntityRecord,
    steps: &[Step],
) -> Executed {
    let mut executed = Executed::default();
    for step in steps {
        let boundary_failed = executed.failed.iter().any(|(failed, _)| failed.is_boundary());
        if matches!(step, Step::ForgetPreviousBoundary { .. }) && boundary_failed {
            executed.not_tried.push(step.clone());
            continue;
        }
        match write(iam, pace, retry, entity, step).await {
            Ok(()) => executed.done.push(step.clone()),
            Err(error) => executed.failed.push((step.clone(), error)),
        }
    }
    executed
}

/// One step's call.
async fn write(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    entity: &EntityRecord,
    step: &Step,
) -> Result<(), CallError> {
    let (name, arn, role) =
        (entity.name.as_str(), entity.arn.as_str(), entity.kind == EntityKind::Role);
    match step {
        Step::SetDefaultVersion { policy_arn, version_id } => {
            call(pace, retry, "iam:SetDefaultPolicyVersion", policy_arn, || {
                iam.set_default_policy_version()
                    .policy_arn(policy_arn)
                    .version_id(version_id)
                    .send()
            })
            .await
            .map(drop)
        }
        Step::PutBoundary { policy_arn } if role => {
            call(pace, retry, "iam:PutRolePermissionsBoundary", arn, || {
                iam.put_role_permissions_boundary()
                    .role_name(name)
                    .permissions_boundary(policy_arn)
                    .send()
            })
            .await
            .map(drop)
        }
        Step::PutBoundary { policy_arn } => {
            call(pace, retry, "iam:PutUserPermissionsBoundary", arn, || {
                iam.put_user_permissions_boundary()
                    .user_name(name)
                    .permissions_boundary(policy_arn)
                    .send()
            })
            .await
            .map(drop)
        }
        Step::DeleteBoundary if role => {
            call(pace, retry, "iam:DeleteRolePermissionsBoundary", arn, || {
                iam.delete_role_permissions_boundary().role_name(name).send()
            })
            .await
            .map(drop)
        }
        Step::DeleteBoundary => call(pace, retry, "iam:DeleteUserPermissionsBoundary", arn, || {
            iam.delete_user_permissions_boundary().user_name(name).send()
        })
        .await
        .map(drop),
        Step::Tag { tags } => {
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
                .map(drop)
            } else {
                call(pace, retry, "iam:TagUser", arn, || {
                    iam.tag_user().user_name(name).set_tags(Some(tags.clone())).send()
                })
                .await
                .map(drop)
            }
        }
        Step::Untag { keys } => untag(iam, pace, retry, entity, keys).await,
        Step::ForgetPreviousBoundary { key } => {
            untag(iam, pace, retry, entity, std::slice::from_ref(key)).await
        }
    }
}

async fn untag(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    entity: &EntityRecord,
    keys: &[String],
) -> Result<(), CallError> {
    let (name, arn) = (entity.name.as_str(), entity.arn.as_str());
    let keys = keys.to_vec();
    if entity.kind == EntityKind::Role {
        call(pace, retry, "iam:UntagRole", arn, || {
            iam.untag_role().role_name(name).set_tag_keys(Some(keys.clone())).send()
        })
        .await
        .map(drop)
    } else {
        call(pace, retry, "iam:UntagUser", arn, || {
            iam.untag_user().user_name(name).set_tag_keys(Some(keys.clone())).send()
        })
        .await
        .map(drop)
    }
}
