//! The facts iamsweep collects about an account: entities, their policies and Access Advisor data.
//!
//! These types are what a snapshot stores. They hold facts only; every judgement made from them
//! (used, stale, unused, compliant, skipped) lives in [`crate::analysis`] and
//! [`crate::compliance`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The three kinds of IAM identity that Access Advisor reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    /// An IAM user.
    #[serde(alias = "users")]
    User,
    /// An IAM role.
    #[serde(alias = "roles")]
    Role,
    /// An IAM group: audited, but never tagged or bounded (IAM has neither for groups).
    #[serde(alias = "groups")]
    Group,
}

impl EntityKind {
    /// Every kind, in report order.
    pub const ALL: [EntityKind; 3] = [EntityKind::User, EntityKind::Role, EntityKind::Group];

    /// The lowercase name used in flags, JSON and policy names.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Role => "role",
            EntityKind::Group => "group",
        }
    }

    /// Parses `user`, `role` or `group`, also accepting the plural forms used by `--kinds`.
    pub fn parse(text: &str) -> Option<EntityKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "user" | "users" => Some(EntityKind::User),
            "role" | "roles" => Some(EntityKind::Role),
            "group" | "groups" => Some(EntityKind::Group),
            _ => None,
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How detailed the Access Advisor data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// Last access per service (`SERVICE_LEVEL`).
    #[default]
    Service,
    /// Also last access per tracked action, where AWS tracks actions (`ACTION_LEVEL`).
    Action,
}

impl Granularity {
    /// The lowercase name used in flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Service => "service",
            Granularity::Action => "action",
        }
    }
}

/// Whether collecting an entity's Access Advisor data worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The data is complete.
    Ok,
    /// Collection failed; `error` says why (a FAILED job, AccessDenied, ...).
    Error,
    /// The entity was deliberately not collected or not acted on; `skip_reason` says why.
    Skipped,
}

impl Status {
    /// The lowercase name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }
}

/// One user, role or group, as the inventory and the Access Advisor job found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRecord {
    /// The entity's ARN.
    pub arn: String,
    /// User, role or group.
    pub kind: EntityKind,
    /// The entity's name.
    pub name: String,
    /// The entity's IAM path, such as `/` or `/aws-service-role/`.
    pub path: String,
    /// IAM's unique id (`AIDA...`, `AROA...`, `AGPA...`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the entity was created.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub created: Option<OffsetDateTime>,
    /// For a role: when it was last used (IAM's `RoleLastUsed.LastUsedDate`). `None` for users
    /// and groups, for a role IAM reports no use of within its tracking period (400 days), and
    /// in snapshots saved before iamsweep recorded it.
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub role_last_used: Option<OffsetDateTime>,
    /// The entity's tags (users and roles only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The ARN of the permissions boundary, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// ARNs of the attached managed policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<String>,
    /// Names of the inline policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline_policies: Vec<String>,
    /// For a user, the groups it belongs to; for a group, its members' names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Whether collection worked.
    pub status: Status,
    /// What went wrong, when `status` is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the entity was not collected, when `status` is `skipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Every service the entity's identity policies grant, with its last access.
    #[serde(default)]
    pub services: Vec<ServiceRecord>,
    /// For a user or role bounded by one of iamsweep's own boundaries: the namespaces that
    /// boundary allows (`*` for all), from its default version. `None` for any other entity,
    /// and in snapshots saved before iamsweep recorded it (which then show no denial). See
    /// [`crate::denied`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary_allows: Option<Vec<String>>,
    /// With `boundary_allows`: when the boundary's default version was created, that is when
    /// its current document started to apply; an attempt at a service outside it since then
    /// was denied.
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bounded_since: Option<OffsetDateTime>,
}

impl EntityRecord {
    /// A record with inventory facts only, before any Access Advisor data.
    pub fn new(kind: EntityKind, arn: impl Into<String>, name: impl Into<String>) -> Self {
        EntityRecord {
            arn: arn.into(),
            kind,
            name: name.into(),
            path: "/".to_string(),
            id: None,
            created: None,
            role_last_used: None,
            tags: BTreeMap::new(),
            permissions_boundary: None,
            managed_policies: Vec::new(),
            inline_policies: Vec::new(),
            groups: Vec::new(),
            status: Status::Ok,
            error: None,
            skip_reason: None,
            services: Vec::new(),
            boundary_allows: None,
            bounded_since: None,
        }
    }
}

/// One service granted to an entity and its last access, as Access Advisor reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// The IAM namespace, such as `s3`. Shared (`Arc<str>`): an account repeats the same few
    /// hundred namespaces and names hundreds of thousands of times.
    pub namespace: Arc<str>,
    /// The display name, such as `Amazon S3`, shared like the namespace.
    pub name: Arc<str>,
    /// Last authenticated access (allowed or denied) within the tracking period; `None` when not
    /// used within it (which is not "never": AWS tracks at least the last 400 days).
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_authenticated: Option<OffsetDateTime>,
    /// Region of the last access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_authenticated_region: Option<String>,
    /// ARN of the entity that made the last access (for groups, the member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_authenticated_entity: Option<String>,
    /// How many entities used the service (for groups, how many members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_authenticated_entities: Option<i32>,
    /// Tracked actions, present only for action-level data of services AWS tracks actions for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<ActionRecord>>,
    /// Policies granting the service, present only when attribution was collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_by: Option<Vec<PolicyRef>>,
    /// For groups: the members that used the service, with their last access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<MemberAccess>>,
}

impl ServiceRecord {
    /// A granted service with no recorded access.
    pub fn new(namespace: impl Into<Arc<str>>, name: impl Into<Arc<str>>) -> Self {
        ServiceRecord {
            namespace: namespace.into(),
            name: name.into(),
            last_authenticated: None,
            last_authenticated_region: None,
            last_authenticated_entity: None,
            total_authenticated_entities: None,
            actions: None,
            granted_by: None,
            used_by: None,
        }
    }
}

/// Last access of one tracked action (action-level data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// The action name without its namespace, such as `GetBucketPolicy`.
    pub name: String,
    /// When it was last used, if within the tracking period.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_accessed: Option<OffsetDateTime>,
    /// Region of the last use.
    #[serde(default)]
    pub last_accessed_region: Option<String>,
    /// ARN of the entity that last used it.
    #[serde(default)]
    pub last_accessed_entity: Option<String>,
}

/// A policy that grants a service (from `ListPoliciesGrantingServiceAccess`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PolicyRef {
    /// The policy's name.
    pub name: String,
    /// `INLINE` or `MANAGED`.
    #[serde(rename = "type")]
    pub policy_type: String,
    /// The ARN, for managed policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// For inline policies: the kind of entity holding it (`USER`, `ROLE`, `GROUP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    /// For inline policies: the name of the entity holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
}

impl PolicyRef {
    /// Whether `name_or_arn` designates this policy (its ARN, or its name).
    pub fn matches(&self, name_or_arn: &str) -> bool {
        self.name == name_or_arn || self.arn.as_deref() == Some(name_or_arn)
    }
}

/// A group member's use of a service (`GetServiceLastAccessedDetailsWithEntities`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberAccess {
    /// The member's ARN.
    pub arn: String,
    /// The member's name.
    pub name: String,
    /// When the member last used the service.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_authenticated: Option<OffsetDateTime>,
}
