//! The audit report: the `iamsweep.audit/v1` JSON contract and its per-entity rows.
//!
//! Field names here are a contract that scripts depend on; add fields, never rename them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::escalation::EscalationRisk;
use crate::model::{
    ActionRecord, EntityKind, Granularity, MemberAccess, PolicyRef, ServiceRecord, Status,
};
use crate::risk::Severity;

/// The `schema` value of the audit JSON output.
pub const AUDIT_SCHEMA: &str = "iamsweep.audit/v1";

/// The whole audit: every entity of the inventory, classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Always [`AUDIT_SCHEMA`].
    pub schema: String,
    /// When the analysis was made (for a live audit, when collection finished).
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The audited account.
    pub account_id: String,
    /// A service last used more than this many days ago is `stale`.
    pub window_days: u32,
    /// Service or action level.
    pub granularity: Granularity,
    /// One row per entity, users then roles then groups, by name.
    pub entities: Vec<EntityReport>,
    /// Counts over `entities` and figures about the collection.
    pub summary: Summary,
    /// Set when this run read a saved snapshot instead of calling AWS: when that snapshot was
    /// collected. `summary`'s calls, throttles and seconds are then that collection's, not this
    /// run's (which made no call). Absent from a live audit's report.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub snapshot_collected_at: Option<OffsetDateTime>,
}

impl AuditReport {
    /// The entities most serious first, the order a person reads them in (tables, HTML): the
    /// non-compliant ones by severity, CRITICAL first, then those that could not be evaluated,
    /// then the compliant ones; report order (users, roles, groups, by name) within each.
    pub fn by_severity(&self) -> Vec<&EntityReport> {
        let mut entities: Vec<&EntityReport> = self.entities.iter().collect();
        entities.sort_by_key(|entity| std::cmp::Reverse(attention(entity)));
        entities
    }
}

/// How much an entity asks for attention: its severity when non-compliant (LOW..CRITICAL rank
/// 2..=5), an unevaluated entity 1, a compliant one 0.
fn attention(entity: &EntityReport) -> u8 {
    match entity.verdict {
        Some(Verdict::NonCompliant) => match entity.severity.unwrap_or(Severity::Low) {
            Severity::Critical => 5,
            Severity::High => 4,
            Severity::Medium => 3,
            Severity::Low | Severity::Informational => 2,
        },
        None => 1,
        Some(Verdict::Compliant) => 0,
    }
}

/// Whether an entity passes the compliance rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// No service is unused or stale under the rules.
    Compliant,
    /// At least one service is; `reasons` says which.
    NonCompliant,
}

impl Verdict {
    /// `COMPLIANT` or `NON_COMPLIANT`, as AWS Config spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Compliant => "COMPLIANT",
            Verdict::NonCompliant => "NON_COMPLIANT",
        }
    }
}

/// Where a granted service stands relative to the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// Last used within the window (age <= window).
    Used,
    /// Used within the tracking period, but before the window.
    Stale,
    /// Not used within the tracking period.
    Unused,
}

impl ServiceState {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Used => "used",
            ServiceState::Stale => "stale",
            ServiceState::Unused => "unused",
        }
    }
}

/// One entity, classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityReport {
    /// The entity's ARN.
    pub arn: String,
    /// User, role or group.
    pub kind: EntityKind,
    /// The entity's name.
    pub name: String,
    /// The entity's IAM path.
    pub path: String,
    /// When the entity was created.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created: Option<OffsetDateTime>,
    /// Whether its data could be collected.
    pub status: Status,
    /// The AWS error, when `status` is `error`.
    pub error: Option<String>,
    /// Why it was skipped, when `status` is `skipped`.
    pub skip_reason: Option<String>,
    /// Number of services its identity policies grant.
    pub granted: usize,
    /// Number of granted services used within the window.
    pub used: usize,
    /// Number of granted services used only before the window.
    pub stale: usize,
    /// Number of granted services not used within the tracking period.
    pub unused: usize,
    /// round(100 * used / granted); `None` when nothing is granted or the data is missing.
    pub coverage_percent: Option<u32>,
    /// No granted service was used within the window (and, for a role, IAM's `RoleLastUsed`
    /// is older than the window or absent): what IAM Access Analyzer calls an unused role or
    /// user. `false` when the data could not be collected. See [`crate::compliance::idle`].
    #[serde(default)]
    pub idle: bool,
    /// For a role: IAM's `RoleLastUsed`, when it reports one.
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub role_last_used: Option<OffsetDateTime>,
    /// The compliance verdict; `None` when the data could not be collected.
    pub verdict: Option<Verdict>,
    /// Why the entity is not compliant, one sentence per rule broken.
    pub reasons: Vec<String>,
    /// How serious the entity's finding is (see [`crate::risk`]): the highest class among the
    /// services its verdict counts, INFORMATIONAL when compliant, `None` without a verdict.
    /// Absent from reports written before it existed, which read as `None`.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Every granted service, by risk then namespace ([`crate::risk::compare_services`]), the
    /// order every format lists them in.
    pub services: Vec<ServiceReport>,
    /// For a user or role that used IAM: the escalation paths a boundary of its used services
    /// would leave open, for a person to decide (see [`crate::escalation`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation_risks: Vec<EscalationRisk>,
}

/// One granted service of one entity, classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceReport {
    /// The IAM namespace, such as `s3`.
    pub namespace: Arc<str>,
    /// The display name, such as `Amazon S3`.
    pub name: Arc<str>,
    /// Used, stale or unused.
    pub state: ServiceState,
    /// [`crate::risk::service_severity`] of the namespace in `state`; `None` only in reports
    /// written before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Last access within the tracking period.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_authenticated: Option<OffsetDateTime>,
    /// Region of the last access.
    pub last_authenticated_region: Option<String>,
    /// ARN of the entity that made the last access.
    pub last_authenticated_entity: Option<String>,
    /// How many entities used it.
    pub total_authenticated_entities: Option<i32>,
    /// Tracked actions (action level only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<ActionRecord>>,
    /// Policies granting it (with `--attribute`, for stale and unused services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_by: Option<Vec<PolicyRef>>,
    /// For groups: the members that used it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<MemberAccess>>,
    /// The entity's iamsweep boundary removed this service and the entity tried it since the
    /// boundary took effect: its last access was a denied attempt (Access Advisor counts those).
    /// `state` stays what that access makes it; `iamsweep heal --apply` gives the service back.
    /// See [`crate::denied`]. Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub denied_since_bounded: bool,
}

impl ServiceReport {
    /// Classifies one service record; attribution is kept only for services not used.
    pub fn new(record: &ServiceRecord, state: ServiceState) -> Self {
        Self::from_record(record.clone(), state)
    }

    /// [`ServiceReport::new`], consuming the record.
    pub fn from_record(record: ServiceRecord, state: ServiceState) -> Self {
        ServiceReport {
            severity: Some(crate::risk::service_severity(&record.namespace, state)),
            namespace: record.namespace,
            name: record.name,
            state,
            last_authenticated: record.last_authenticated,
            last_authenticated_region: record.last_authenticated_region,
            last_authenticated_entity: record.last_authenticated_entity,
            total_authenticated_entities: record.total_authenticated_entities,
            actions: record.actions,
            granted_by: match state {
                ServiceState::Used => None,
                ServiceState::Stale | ServiceState::Unused => record.granted_by,
            },
            used_by: record.used_by,
            denied_since_bounded: false,
        }
    }
}

/// Counts over the report and figures about the collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of entities in the report.
    pub entities: usize,
    /// Entities per status.
    pub status: StatusCounts,
    /// Entities per verdict (entities without data have none).
    pub verdict: VerdictCounts,
    /// Idle entities (no service used within the window; see [`EntityReport::idle`]).
    #[serde(default)]
    pub idle: usize,
    /// Non-compliant entities per severity (absent from reports written before it existed).
    #[serde(default)]
    pub severity: SeverityCounts,
    /// Calls answered with `Throttling` during collection.
    pub throttles: u64,
    /// AWS calls made during collection, retries included.
    pub calls: u64,
    /// Wall time of the collection, in seconds.
    pub wall_seconds: f64,
}

/// Entities per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Collected.
    pub ok: usize,
    /// Collection failed.
    pub error: usize,
    /// Deliberately left out.
    pub skipped: usize,
}

/// Entities per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    /// Compliant entities.
    #[serde(rename = "COMPLIANT")]
    pub compliant: usize,
    /// Non-compliant entities.
    #[serde(rename = "NON_COMPLIANT")]
    pub non_compliant: usize,
}

/// Non-compliant entities per severity: what `check --min-severity` gates on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    /// CRITICAL findings.
    #[serde(rename = "CRITICAL")]
    pub critical: usize,
    /// HIGH findings.
    #[serde(rename = "HIGH")]
    pub high: usize,
    /// MEDIUM findings.
    #[serde(rename = "MEDIUM")]
    pub medium: usize,
    /// LOW findings.
    #[serde(rename = "LOW")]
    pub low: usize,
    /// INFORMATIONAL findings (none today: a non-compliant entity has at least one unused or
    /// stale service, LOW at least).
    #[serde(rename = "INFORMATIONAL")]
    pub informational: usize,
}

impl SeverityCounts {
    /// Counts one finding of `severity`.
    pub fn add(&mut self, severity: Severity) {
        *self.slot(severity) += 1;
    }

    /// Adds another set of counts.
    pub fn add_all(&mut self, other: &SeverityCounts) {
        for level in Severity::ALL {
            *self.slot(level) += other.get(level);
        }
    }

    /// The count of `severity`.
    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Informational => self.informational,
        }
    }

    /// The findings at or above `minimum`.
    pub fn at_or_above(&self, minimum: Severity) -> usize {
        Severity::ALL
            .into_iter()
            .filter(|level| *level >= minimum)
            .map(|level| self.get(level))
            .sum()
    }

    fn slot(&mut self, severity: Severity) -> &mut usize {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Informational => &mut self.informational,
        }
    }
}
