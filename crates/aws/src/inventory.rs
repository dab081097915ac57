//! The inventory: every user, role and group of the account, with policies, boundaries and tags.
//!
//! One paged `GetAccountAuthorizationDetails` walk gives everything `ListUsers`/`ListRoles`
//! would not (boundaries, tags, group membership) in a few calls. The customer managed policies
//! are fetched too when enforcement needs the live boundary documents.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail};
use iamsweep_core::model::{EntityKind, EntityRecord};
use time::OffsetDateTime;

use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// What the inventory found.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Users, roles and groups of the requested kinds, with no Access Advisor data yet.
    pub entities: Vec<EntityRecord>,
    /// Customer managed policies, when requested.
    pub local_policies: Vec<LocalPolicy>,
}

/// A customer managed policy and its versions.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalPolicy {
    /// The policy ARN.
    pub arn: String,
    /// The policy name.
    pub name: String,
    /// The policy path.
    pub path: String,
    /// The default version's id.
    pub default_version_id: Option<String>,
    /// Every version, with its document URL-decoded.
    pub versions: Vec<LocalPolicyVersion>,
}

/// One version of a customer managed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalPolicyVersion {
    /// `v1`, `v2`...
    pub version_id: String,
    /// Whether it is the default version.
    pub is_default: bool,
    /// When it was created.
    pub created: Option<OffsetDateTime>,
    /// The JSON document, URL-decoded.
    pub document: Option<String>,
}

/// Reads the inventory of `kinds` (and the customer managed policies, if asked).
pub async fn inventory(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    policy: &RetryPolicy,
    kinds: &[EntityKind],
    include_local_policies: bool,
) -> Result<Inventory, CallError> {
    // Users are always read: a group's members are only listed on its users.
    let mut filters = vec![EntityType::User];
    if kinds.contains(&EntityKind::Role) {
        filters.push(EntityType::Role);
    }
    if kinds.contains(&EntityKind::Group) {
        filters.push(EntityType::Group);
    }
    if include_local_policies {
        filters.push(EntityType::LocalManagedPolicy);
    }
    let mut inventory = Inventory::default();
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = call(pace, policy, "iam:GetAccountAuthorizationDetails", "account", || {
            iam.get_account_authorization_details()
                .set_filter(Some(filters.clone()))
                .max_items(1000)
                .set_marker(marker.clone())
                .send()
        })
        .await?;
        for user in page.user_detail_list.unwrap_or_default() {
            let name = user.user_name.unwrap_or_default();
            let groups = user.group_list.unwrap_or_default();
            for group in &groups {
                members.entry(group.clone()).or_default().push(name.clone());
            }
            if !kinds.contains(&EntityKind::User) {
                continue;
            }
            let mut record =
                EntityRecord::new(EntityKind::User, user.arn.unwrap_or_default(), name);
            record.path = user.path.unwrap_or_else(|| "/".to_string());
            record.id = user.user_id;
            record.created = user.create_date.and_then(to_time);
            record.tags = tags(user.tags);
            record.permissions_boundary =
                user.permissions_boundary.and_then(|boundary| boundary.permissions_boundary_arn);
            record.managed_policies = policy_arns(user.attached_managed_policies);
            record.inline_policies = policy_names(user.user_policy_list);
            record.groups = groups;
            inventory.entities.push(record);
        }
        for role in page.role_detail_list.unwrap_or_default() {
            let mut record = EntityRecord::new(
                EntityKind::Role,
                role.arn.unwrap_or_default(),
                role.role_name.unwrap_or_default(),
            );
            record.path = role.path.unwrap_or_else(|| "/".to_string());
            record.id = role.role_id;
            record.created = role.create_date.and_then(to_time);
            // What makes a role without used services `idle` rather than merely unused.
            record.role_last_used =
                role.role_last_used.and_then(|used| used.last_used_date).and_then(to_time);
            record.tags = tags(role.tags);
            record.permissions_boundary =
                role.permissions_boundary.and_then(|boundary| boundary.permissions_boundary_arn);
            record.managed_policies = policy_arns(role.attached_managed_policies);
            record.inline_policies = policy_names(role.role_policy_list);
            inventory.entities.push(record);
        }
        for group in page.group_detail_list.unwrap_or_default() {
            let mut record = EntityRecord::new(
                EntityKind::Group,
                group.arn.unwrap_or_default(),
                group.group_name.unwrap_or_default(),
            );
            record.path = group.path.unwrap_or_else(|| "/".to_string());
            record.id = group.group_id;
            record.created = group.create_date.and_then(to_time);
            record.managed_policies = policy_arns(group.attached_managed_policies);
            record.inline_policies = policy_names(group.group_policy_list);
            inventory.entities.push(record);
        }
        for detail in page.policies.unwrap_or_default() {
            inventory.local_policies.push(local_policy(detail));
        }
        match page.marker {
            Some(next) if page.is_truncated => marker = Some(next),
            _ => break,
        }
    }
    for entity in &mut inventory.entities {
        if entity.kind == EntityKind::Group {
            entity.groups = members.remove(&entity.name).unwrap_or_default();
            entity.groups.sort();
        }
    }
    Ok(inventory)
}

/// Converts an SDK timestamp.
pub fn to_time(date: aws_smithy_types::DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(date.as_nanos()).ok()
}

/// Decodes a policy document as `GetAccountAuthorizationDetails` and `GetPolicyVersion` return
/// it: URL-encoded JSON.
pub fn decode_document(encoded: &str) -> String {
    percent_encoding::percent_decode_str(encoded).decode_utf8_lossy().into_owned()
}

fn tags(tags: Option<Vec<aws_sdk_iam::types::Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default().into_iter().map(|tag| (tag.key, tag.value)).collect()
}

fn policy_arns(policies: Option<Vec<aws_sdk_iam::types::AttachedPolicy>>) -> Vec<String> {
    policies.unwrap_or_default().into_iter().filter_map(|policy| policy.policy_arn).collect()
}

fn policy_names(policies: Option<Vec<aws_sdk_iam::types::PolicyDetail>>) -> Vec<String> {
    policies.unwrap_or_default().into_iter().filter_map(|policy| policy.policy_name).collect()
}

/// Converts one `GetAccountAuthorizationDetails` policy entry, decoding its documents.
pub fn local_policy(detail: ManagedPolicyDetail) -> LocalPolicy {
    LocalPolicy {
        arn: detail.arn.unwrap_or_default(),
        name: detail.policy_name.unwrap_or_default(),
        path: detail.path.unwrap_or_else(|| "/".to_string()),
        default_version_id: detail.default_version_id,
        versions: detail
            .policy_version_list
            .unwrap_or_default()
            .into_iter()
            .map(|version| LocalPolicyVersion {
                version_id: version.version_id.unwrap_or_default(),
                is_default: version.is_default_version,
                created: version.create_date.and_then(to_time),
                document: version.document.as_deref().map(decode_document),
            })
            .collect(),
    }
}
