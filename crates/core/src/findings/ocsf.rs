//! OCSF: the Open Cybersecurity Schema Framework's Detection Finding (class 2004), version 1.5.0.
//!
//! What current Security Hub and many SIEMs ingest. Each finding says what the ASFF one says
//! (the same id, title, description, severity, remediation; [`super::asff`]), in OCSF's
//! attributes: `finding_info` names the finding and the rule, `status_code` carries the
//! compliance status (`FAILED`, `PASSED`, `NOT_AVAILABLE`), `resources[0]` is the entity with the
//! unused and stale services and their granting policies in `data`, and `cloud` (the `cloud`
//! profile) the account. Schema: <https://schema.ocsf.io/1.5.0/classes/detection_finding>.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::text;
use super::{FindingContext, GENERATOR_ID, PRODUCT_NAME, finding_id};
use crate::report::{AuditReport, EntityReport, Verdict};
use crate::risk::Severity;

/// The OCSF schema version the findings follow.
pub const OCSF_VERSION: &str = "1.5.0";

/// Detection Finding.
pub const CLASS_UID: u32 = 2004;

/// Findings.
pub const CATEGORY_UID: u32 = 2;

/// One Detection Finding per entity of `report`, in report order.
pub fn findings(report: &AuditReport, context: &FindingContext) -> Vec<Value> {
    report.entities.iter().map(|entity| finding(entity, report, context)).collect()
}

/// The Detection Finding of one entity of `report`.
pub fn finding(entity: &EntityReport, report: &AuditReport, context: &FindingContext) -> Value {
    let id = finding_id(&context.partition, &report.account_id, &entity.arn);
    let at = milliseconds(context.generated_at);
    let severity = text::severity(entity);
    let (status_id, status, status_code) = match entity.verdict {
        Some(Verdict::NonCompliant) => (1, "New", "FAILED"),
        Some(Verdict::Compliant) => (4, "Resolved", "PASSED"),
        None => (99, "Other", "NOT_AVAILABLE"),
    };
    let status_detail = match entity.verdict {
        Some(_) if !entity.reasons.is_empty() => entity.reasons.join("; "),
        Some(_) => "compliant".to_string(),
        None => entity
            .error
            .clone()
            .or_else(|| entity.skip_reason.clone())
            .unwrap_or_else(|| "not evaluated".to_string()),
    };
    let title = text::title(entity);
    let mut resource = json!({
        "uid": entity.arn,
        "name": entity.name,
        "type": super::asff::resource_type(entity.kind),
        "cloud_partition": context.partition,
        "data": data(entity, report.window_days),
    });
    if let Some(created) = entity.created {
        resource["created_time"] = json!(milliseconds(created));
    }
    json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + 1,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id(severity),
        "severity": severity_name(severity),
        "status_id": status_id,
        "status": status,
        "status_code": status_code,
        "status_detail": text::truncate(&status_detail, text::MAX_DESCRIPTION),
        "time": at,
        "message": title,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": id,
            "profiles": ["cloud"],
            "product": {
                "name": PRODUCT_NAME,
                "vendor_name": PRODUCT_NAME,
                "version": env!("CARGO_PKG_VERSION"),
                "url_string": context.remediation_url,
            },
        },
        "cloud": {
            "provider": "AWS",
            "region": context.region,
            "account": { "uid": report.account_id, "type_id": 10, "type": "AWS Account" },
        },
        "finding_info": {
            "uid": id,
            "title": title,
            "desc": text::description(entity, report.window_days),
            "types": [super::asff::FINDING_TYPE],
            "created_time": at,
            "first_seen_time": at,
            "last_seen_time": at,
            "modified_time": at,
            "analytic": {
                "uid": GENERATOR_ID,
                "name": "Granted services not used within the window (IAM Access Advisor)",
                "type_id": 1,
                "type": "Rule",
            },
        },
        "remediation": {
            "desc": text::remediation(entity, report.window_days),
            "references": [context.remediation_url],
        },
        "resources": [resource],
    })
}

/// OCSF `severity_id`: 1 Informational to 5 Critical.
pub fn severity_id(severity: Severity) -> u8 {
    match severity {
        Severity::Informational => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// OCSF's caption of a severity (`Critical`).
pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Informational => "Informational",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// The entity's facts as the resource's `data`: the report's counts and each unused or stale
/// service, most serious first, with its severity and granting policies.
fn data(entity: &EntityReport, window_days: u32) -> Value {
    let services: Vec<Value> = text::flagged(entity)
        .into_iter()
        .map(|service| {
            let mut item = json!({
                "namespace": &*service.namespace,
                "state": service.state.as_str(),
                "severity": text::service_severity(service).as_str(),
            });
            if let Some(at) = service.last_authenticated {
                item["last_authenticated"] = json!(text::timestamp::format(at));
            }
            if let Some(policies) = &service.granted_by {
                item["granted_by"] =
                    json!(policies.iter().map(|policy| json!(policy)).collect::<Vec<Value>>());
            }
            item
        })
        .collect();
    json!({
        "kind": entity.kind.as_str(),
        "path": entity.path,
        "status": entity.status.as_str(),
        "verdict": entity.verdict.map(Verdict::as_str),
        "window_days": window_days,
        "granted": entity.granted,
        "used": entity.used,
        "stale": entity.stale,
        "unused": entity.unused,
        "coverage_percent": entity.coverage_percent,
        "services": services,
    })
}

/// OCSF `timestamp_t`: milliseconds since the Unix epoch.
fn milliseconds(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}
