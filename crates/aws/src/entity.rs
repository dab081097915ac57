//! One entity's inventory facts, read with per-entity calls, for the AWS Config rule's item
//! events: a change to one user, role or group must not cost a walk of the whole account
//! (`GetAccountAuthorizationDetails` pages through every entity and, in a big account, takes
//! longer and more of IAM's shared rate than the job itself).
//!
//! Per kind: `GetUser` (path, id, creation, tags, boundary), `ListAttachedUserPolicies`,
//! `ListUserPolicies`, `ListGroupsForUser` (Access Advisor attributes a user's use to its
//! groups' policies too); `GetRole`, `ListAttachedRolePolicies`, `ListRolePolicies`;
//! `GetGroup` (with its members), `ListAttachedGroupPolicies`, `ListGroupPolicies`. Every list
//! is followed to its last page. The record matches what [`crate::inventory`] builds.

use std::future::Future;

use aws_sdk_iam::types::{AttachedPolicy, Tag};
use iamsweep_core::model::{EntityKind, EntityRecord};

use crate::error::CallError;
use crate::inventory::to_time;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// Reads one user, role or group by name; `None` when IAM has no such entity.
pub async fn read_entity(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    kind: EntityKind,
    name: &str,
) -> Result<Option<EntityRecord>, CallError> {
    let read = match kind {
        EntityKind::User => read_user(iam, pace, retry, name).await,
        EntityKind::Role => read_role(iam, pace, retry, name).await,
        EntityKind::Group => read_group(iam, pace, retry, name).await,
    };
    match read {
        Ok(record) => Ok(Some(record)),
        Err(error) if error.is_no_such_entity() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Follows `Marker` until the last page; `page` returns one page's items and the next marker.
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, CallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), CallError>>,
{
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        let (mut more, next) = page(marker).await?;
        items.append(&mut more);
        match next {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
}

/// The next marker of a page, when it says there is one.
fn next(is_truncated: bool, marker: Option<String>) -> Option<String> {
    marker.filter(|_| is_truncated)
}

fn tags(tags: Option<Vec<Tag>>) -> std::collections::BTreeMap<String, String> {
    tags.unwrap_or_default().into_iter().map(|tag| (tag.key, tag.value)).collect()
}

fn arns(policies: Option<Vec<AttachedPolicy>>) -> Vec<String> {
    policies.unwrap_or_default().into_iter().filter_map(|policy| policy.policy_arn).collect()
}

async fn read_user(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    name: &str,
) -> Result<EntityRecord, CallError> {
    let user = call(pace, retry, "iam:GetUser", name, || iam.get_user().user_name(name).send())
        .await?
        .user
        .ok_or_else(|| missing("iam:GetUser", name))?;
    let mut record = EntityRecord::new(EntityKind::User, user.arn, user.user_name);
    record.path = user.path;
    record.id = Some(user.user_id);
    record.created = to_time(user.create_date);
    record.tags = tags(user.tags);
    record.permissions_boundary =
        user.permissions_boundary.and_then(|boundary| boundary.permissions_boundary_arn);
    record.managed_policies = all_pages(|marker| async move {
        let page = call(pace, retry, "iam:ListAttachedUserPolicies", name, || {
            iam.list_attached_user_policies().user_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        Ok((arns(page.attached_policies), next(page.is_truncated, page.marker)))
    })
    .await?;
    record.inline_policies = all_pages(|marker| async move {
        let page = call(pace, retry, "iam:ListUserPolicies", name, || {
            iam.list_user_policies().user_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        Ok((page.policy_names, next(page.is_truncated, page.marker)))
    })
    .await?;
    record.groups = all_pages(|marker| async move {
        let page = call(pace, retry, "iam:ListGroupsForUser", name, || {
            iam.list_groups_for_user().user_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        let names = page.groups.into_iter().map(|group| group.group_name).collect();
        Ok((names, next(page.is_truncated, page.marker)))
    })
    .await?;
    Ok(record)
}

async fn read_role(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    name: &str,
) -> Result<EntityRecord, CallError> {
    let role = call(pace, retry, "iam:GetRole", name, || iam.get_role().role_name(name).send())
        .await?
        .role
        .ok_or_else(|| missing("iam:GetRole", name))?;
    let mut record = EntityRecord::new(EntityKind::Role, role.arn, role.role_name);
    record.path = role.path;
    record.id = Some(role.role_id);
    record.created = to_time(role.create_date);
    record.tags = tags(role.tags);
    record.permissions_boundary =
        role.permissions_boundary.and_then(|boundary| boundary.permissions_boundary_arn);
    record.managed_policies = all_pages(|marker| async move {
        let page = call(pace, retry, "iam:ListAttachedRolePolicies", name, || {
            iam.list_attached_role_policies().role_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        Ok((arns(page.attached_policies), next(page.is_truncated, page.marker)))
    })
    .await?;
    record.inline_policies = all_pages(|marker| async move {
        let page = call(pace, retry, "iam:ListRolePolicies", name, || {
            iam.list_role_policies().role_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        Ok((page.policy_names, next(page.is_truncated, page.marker)))
    })
    .await?;
    Ok(record)
}

async fn read_group(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    name: &str,
) -> Result<EntityRecord, CallError> {
    // `GetGroup` pages through the members; the group itself comes with the first page.
    let mut group = None;
    let mut members = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = call(pace, retry, "iam:GetGroup", name, || {
            iam.get_group().group_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        group = group.or(page.group);
        members.extend(page.users.into_iter().map(|user| user.user_name));
        match next(page.is_truncated, page.marker) {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    let group = group.ok_or_else(|| missing("iam:GetGroup", name))?;
    members.sort();
    let mut record = EntityRecord::new(EntityKind::Group, group.arn, group.group_name);
    record.path = group.path;
    record.id = Some(group.group_id);
    record.created = to_time(group.create_date);
    record.groups = members;
    record.managed_policies = all_pages(|marker| async move {
        let page = call(pace, retry, "iam:ListAttachedGroupPolicies", name, || {
            iam.list_attached_group_policies().group_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        Ok((arns(page.attached_policies), next(page.is_truncated, page.marker)))
    })
    .await?;
    record.inline_policies = all_pages(|marker| async move {
        let page = call(pace, retry, "iam:ListGroupPolicies", name, || {
            iam.list_group_policies().group_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        Ok((page.policy_names, next(page.is_truncated, page.marker)))
    })
    .await?;
    Ok(record)
}

/// An answer without the entity it was asked for: a malformed answer, not a missing entity.
fn missing(operation: &'static str, name: &str) -> CallError {
    CallError {
        operation,
        target: name.to_string(),
        code: None,
        message: "the answer holds no entity".to_string(),
        attempts: 1,
    }
}
