//! ASFF: the AWS Security Finding Format, as Security Hub's `BatchImportFindings` takes it.
//!
//! [`findings`] makes one [`Finding`] per audited user, role and group; [`BatchImportFindings`]
//! is the request body (`{"Findings": [...]}`) that `--format asff` writes and that
//! `aws securityhub batch-import-findings --cli-input-json file://findings.json` imports.
//! For an importer that keeps Security Hub in step: [`Finding::observed_since`] keeps the first
//! observation of a finding that already exists, [`Finding::archived`] closes the finding of an
//! entity that is compliant now, and [`deleted`] closes the finding of an entity that is gone.
//! Field names and limits: <https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsSecurityFinding.html>.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::text::{self, timestamp};
use super::{FindingContext, GENERATOR_ID, PRODUCT_NAME, finding_id, product_arn};
use crate::model::{EntityKind, Status};
use crate::report::{AuditReport, EntityReport, ServiceState, Verdict};
use crate::risk::Severity;

/// The only ASFF schema version.
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// The most findings one `BatchImportFindings` call takes.
pub const MAX_FINDINGS_PER_CALL: usize = 100;

/// The finding type: a check of AWS security best practices, here least privilege.
pub const FINDING_TYPE: &str =
    "Software and Configuration Checks/AWS Security Best Practices/Unused Permissions";

/// The body of a `BatchImportFindings` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BatchImportFindings {
    /// At most [`MAX_FINDINGS_PER_CALL`] for one call; `--format asff` writes all of them, and
    /// an importer splits them.
    pub findings: Vec<Finding>,
}

/// One ASFF finding: the fields iamsweep sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Finding {
    /// [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// Stable per (partition, account, entity ARN): see [`finding_id`].
    pub id: String,
    /// The importing account's custom-integration product: see [`product_arn`].
    pub product_arn: String,
    /// [`PRODUCT_NAME`].
    pub product_name: String,
    /// [`PRODUCT_NAME`]: a custom integration names its own company.
    pub company_name: String,
    /// The Security Hub region.
    pub region: String,
    /// [`GENERATOR_ID`].
    pub generator_id: String,
    /// The audited account.
    pub aws_account_id: String,
    /// [`FINDING_TYPE`].
    pub types: Vec<String>,
    /// When iamsweep first saw the issue: this run, unless the finding already existed.
    #[serde(with = "timestamp")]
    pub first_observed_at: OffsetDateTime,
    /// This run.
    #[serde(with = "timestamp")]
    pub last_observed_at: OffsetDateTime,
    /// When the finding was first made (kept with `first_observed_at`).
    #[serde(with = "timestamp")]
    pub created_at: OffsetDateTime,
    /// This run.
    #[serde(with = "timestamp")]
    pub updated_at: OffsetDateTime,
    /// From [`crate::risk`], through the report.
    pub severity: FindingSeverity,
    /// One line, at most 256 characters.
    pub title: String,
    /// The reasons and each unused or stale service with its granting policies, at most 1024
    /// characters.
    pub description: String,
    /// The `iamsweep` command that fixes it, and the README link.
    pub remediation: Remediation,
    /// The same facts as structured fields (`iamsweep/...`), each value at most 2048 characters.
    pub product_fields: BTreeMap<String, String>,
    /// The entity, as `AwsIamUser`, `AwsIamRole` or `AwsIamGroup`.
    pub resources: Vec<Resource>,
    /// FAILED, PASSED, or NOT_AVAILABLE when the entity could not be evaluated.
    pub compliance: Compliance,
    /// ACTIVE, or ARCHIVED to close the finding.
    pub record_state: RecordState,
}

/// `Severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FindingSeverity {
    /// INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL.
    pub label: Severity,
}

/// `Remediation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Remediation {
    /// The recommendation.
    pub recommendation: Recommendation,
}

/// `Remediation.Recommendation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Recommendation {
    /// What to do, at most 512 characters.
    pub text: String,
    /// Where to read more.
    pub url: String,
}

/// `Compliance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Compliance {
    /// The result of the check.
    pub status: ComplianceStatus,
}

/// `Compliance.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComplianceStatus {
    /// Compliant.
    Passed,
    /// Not compliant.
    Failed,
    /// Could not be evaluated, or the entity is gone.
    NotAvailable,
}

/// `RecordState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordState {
    /// Open.
    Active,
    /// Closed by its provider.
    Archived,
}

/// `Resources[]`: the entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Resource {
    /// `AwsIamUser`, `AwsIamRole` or `AwsIamGroup`.
    #[serde(rename = "Type")]
    pub resource_type: String,
    /// The entity's ARN.
    pub id: String,
    /// The partition.
    pub partition: String,
    /// The type's details.
    pub details: ResourceDetails,
}

/// `Resources[].Details`: exactly one member is set, the one of the resource's type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ResourceDetails {
    /// For a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_iam_user: Option<IamUserDetails>,
    /// For a role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_iam_role: Option<IamRoleDetails>,
    /// For a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_iam_group: Option<IamGroupDetails>,
}

/// `AwsIamUserDetails` (the fields the report knows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IamUserDetails {
    /// The name.
    pub user_name: String,
    /// The IAM path.
    pub path: String,
    /// When it was created, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_date: Option<String>,
}

/// `AwsIamRoleDetails` (the fields the report knows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IamRoleDetails {
    /// The name.
    pub role_name: String,
    /// The IAM path.
    pub path: String,
    /// When it was created, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_date: Option<String>,
}

/// `AwsIamGroupDetails` (the fields the report knows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IamGroupDetails {
    /// The name.
    pub group_name: String,
    /// The IAM path.
    pub path: String,
    /// When it was created, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_date: Option<String>,
}

impl Finding {
    /// Keeps the first observation of a finding that already exists in Security Hub (its
    /// `FirstObservedAt`, or `CreatedAt`), so that a second import updates when the issue
    /// was seen last and not when it began.
    pub fn observed_since(mut self, first_observed_at: OffsetDateTime) -> Self {
        if first_observed_at < self.first_observed_at {
            self.first_observed_at = first_observed_at;
            self.created_at = first_observed_at;
        }
        self
    }

    /// This finding as its provider closes it: `RecordState: ARCHIVED`.
    pub fn archived(mut self) -> Self {
        self.record_state = RecordState::Archived;
        self
    }
}

/// The `BatchImportFindings` body with one finding per entity of `report`, in report order.
pub fn request(report: &AuditReport, context: &FindingContext) -> BatchImportFindings {
    BatchImportFindings { findings: findings(report, context) }
}

/// One finding per entity of `report` (users, roles, groups, as the report orders them).
pub fn findings(report: &AuditReport, context: &FindingContext) -> Vec<Finding> {
    report.entities.iter().map(|entity| finding(entity, report, context)).collect()
}

/// The finding of one entity of `report`.
pub fn finding(entity: &EntityReport, report: &AuditReport, context: &FindingContext) -> Finding {
    let compliance = match entity.verdict {
        Some(Verdict::NonCompliant) => ComplianceStatus::Failed,
        Some(Verdict::Compliant) => ComplianceStatus::Passed,
        None => ComplianceStatus::NotAvailable,
    };
    let mut finding = base(
        entity.kind,
        &entity.arn,
        &entity.name,
        &entity.path,
        entity.created,
        &report.account_id,
        context,
    );
    finding.severity.label = text::severity(entity);
    finding.title = text::title(entity);
    finding.description = text::description(entity, report.window_days);
    finding.remediation.recommendation.text = text::remediation(entity, report.window_days);
    finding.product_fields = product_fields(entity, report.window_days);
    finding.compliance.status = compliance;
    finding
}

/// The finding that closes the one of an entity that no longer exists: ARCHIVED,
/// INFORMATIONAL, compliance NOT_AVAILABLE (there is nothing left to check).
pub fn deleted(
    kind: EntityKind,
    entity_arn: &str,
    account_id: &str,
    context: &FindingContext,
) -> Finding {
    let name = entity_arn.rsplit('/').next().unwrap_or(entity_arn);
    let path = entity_path(entity_arn);
    let mut finding = base(kind, entity_arn, name, &path, None, account_id, context);
    finding.title =
        text::truncate(&format!("{} no longer exists", text::subject(kind, name)), text::MAX_TITLE);
    finding.description = text::truncate(
        &format!("{entity_arn} was deleted since iamsweep reported it; the finding is closed."),
        text::MAX_DESCRIPTION,
    );
    finding.remediation.recommendation.text = "No action needed.".to_string();
    finding.product_fields.insert("iamsweep/Status".into(), "deleted".into());
    finding.archived()
}

/// The kind of entity an IAM ARN names (`...:user/...`, `...:role/...`, `...:group/...`).
pub fn kind_of_arn(entity_arn: &str) -> Option<EntityKind> {
    let resource = entity_arn.splitn(6, ':').nth(5)?;
    let (kind, _) = resource.split_once('/')?;
    match kind {
        "user" => Some(EntityKind::User),
        "role" => Some(EntityKind::Role),
        "group" => Some(EntityKind::Group),
        _ => None,
    }
}

/// The ASFF resource type of an entity kind.
pub fn resource_type(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "AwsIamUser",
        EntityKind::Role => "AwsIamRole",
        EntityKind::Group => "AwsIamGroup",
    }
}

/// The IAM path inside an ARN's resource (`role/a/b/app` is `/a/b/`).
fn entity_path(entity_arn: &str) -> String {
    let resource = entity_arn.splitn(6, ':').nth(5).unwrap_or_default();
    let inner: Vec<&str> = resource.split('/').collect();
    match inner.len() {
        0..=2 => "/".to_string(),
        n => format!("/{}/", inner[1..n - 1].join("/")),
    }
}

/// Everything but what the verdict decides: ids, product, times, resource.
fn base(
    kind: EntityKind,
    arn: &str,
    name: &str,
    path: &str,
    created: Option<OffsetDateTime>,
    account_id: &str,
    context: &FindingContext,
) -> Finding {
    let create_date = created.map(timestamp::format);
    let mut details = ResourceDetails::default();
    match kind {
        EntityKind::User => {
            details.aws_iam_user = Some(IamUserDetails {
                user_name: name.to_string(),
                path: path.to_string(),
                create_date,
            })
        }
        EntityKind::Role => {
            details.aws_iam_role = Some(IamRoleDetails {
                role_name: name.to_string(),
                path: path.to_string(),
                create_date,
            })
        }
        EntityKind::Group => {
            details.aws_iam_group = Some(IamGroupDetails {
                group_name: name.to_string(),
                path: path.to_string(),
                create_date,
            })
        }
    }
    let at = context.generated_at;
    Finding {
        schema_version: SCHEMA_VERSION.to_string(),
        id: finding_id(&context.partition, account_id, arn),
        product_arn: product_arn(&context.partition, &context.region, &context.product_account_id),
        product_name: PRODUCT_NAME.to_string(),
        company_name: PRODUCT_NAME.to_string(),
        region: context.region.clone(),
        generator_id: GENERATOR_ID.to_string(),
        aws_account_id: account_id.to_string(),
        types: vec![FINDING_TYPE.to_string()],
        first_observed_at: at,
        last_observed_at: at,
        created_at: at,
        updated_at: at,
        severity: FindingSeverity { label: Severity::Informational },
        title: String::new(),
        description: String::new(),
        remediation: Remediation {
            recommendation: Recommendation {
                text: String::new(),
                url: context.remediation_url.clone(),
            },
        },
        product_fields: BTreeMap::new(),
        resources: vec![Resource {
            resource_type: resource_type(kind).to_string(),
            id: arn.to_string(),
            partition: context.partition.clone(),
            details,
        }],
        compliance: Compliance { status: ComplianceStatus::NotAvailable },
        record_state: RecordState::Active,
    }
}

/// The report's facts as `iamsweep/...` product fields: counts, the unused and stale
/// namespaces (most serious first) and the policies granting them.
fn product_fields(entity: &EntityReport, window_days: u32) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        fields.insert(format!("iamsweep/{key}"), text::truncate(&value, text::MAX_FIELD));
    };
    put("Status", entity.status.as_str().to_string());
    put("WindowDays", window_days.to_string());
    if let Some(verdict) = entity.verdict {
        put("Verdict", verdict.as_str().to_string());
    }
    if entity.status == Status::Ok {
        put("Granted", entity.granted.to_string());
        put("Used", entity.used.to_string());
        put("Stale", entity.stale.to_string());
        put("Unused", entity.unused.to_string());
        if let Some(percent) = entity.coverage_percent {
            put("CoveragePercent", percent.to_string());
        }
    }
    let unused = text::namespace_list(entity, ServiceState::Unused, text::MAX_FIELD);
    if !unused.is_empty() {
        put("UnusedServices", unused);
    }
    let stale = text::namespace_list(entity, ServiceState::Stale, text::MAX_FIELD);
    if !stale.is_empty() {
        put("StaleServices", stale);
    }
    let policies = text::granting_policies(entity);
    if !policies.is_empty() {
        let listing: Vec<String> = policies
            .iter()
            .map(|(policy, services)| format!("{policy}: {}", services.join(",")))
            .collect();
        put("GrantingPolicies", listing.join("; "));
    }
    if let Some(error) = entity.error.as_ref().or(entity.skip_reason.as_ref()) {
        put("Error", error.clone());
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_and_path_come_from_the_arn() {
        let arn = "arn:aws:iam::123456789012:role/team/ci/deployer";
        assert_eq!(kind_of_arn(arn), Some(EntityKind::Role));
        assert_eq!(entity_path(arn), "/team/ci/");
        assert_eq!(entity_path("arn:aws:iam::123456789012:user/alice"), "/");
        assert_eq!(kind_of_arn("arn:aws:s3:::bucket/key"), None);
        assert_eq!(kind_of_arn("not an arn"), None);
    }
}
