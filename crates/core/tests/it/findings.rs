//! Findings of the demo snapshot (`examples/demo-snapshot.json`, made by iamsim) in ASFF, pinned
//! as insta snapshots, and the ASFF limits and mappings checked on every finding.

use std::collections::HashSet;

use iamsweep_core::analysis::analyze;
use iamsweep_core::compliance::Rules;
use iamsweep_core::findings::asff::{self, ComplianceStatus, RecordState};
use iamsweep_core::findings::{FindingContext, finding_id, ocsf};
use iamsweep_core::model::{EntityKind, Status};
use iamsweep_core::report::AuditReport;
use iamsweep_core::risk::Severity;
use iamsweep_core::snapshot::Snapshot;
use time::macros::datetime;

use crate::support::{self, entity, service};

const DEMO: &str = include_str!("../../../../examples/demo-snapshot.json");

/// The demo snapshot analysed with a 90-day window at its collection time.
pub fn demo_report() -> AuditReport {
    let snapshot: Snapshot = serde_json::from_str(DEMO).expect("the demo snapshot parses");
    analyze(&snapshot, &Rules::new(90), snapshot.collected_at)
}

/// A fixed context, so that snapshots do not move with the clock.
pub fn context(report: &AuditReport) -> FindingContext {
    let mut context = FindingContext::for_report(report, "eu-west-1");
    context.generated_at = datetime!(2026-11-23 12:40 UTC);
    context
}

#[test]
fn the_demo_snapshot_in_asff() {
    let report = demo_report();
    let body = asff::request(&report, &context(&report));
    insta::assert_json_snapshot!("demo_asff", body);
}

#[test]
fn the_demo_snapshot_in_ocsf() {
    let report = demo_report();
    let findings = ocsf::findings(&report, &context(&report));
    insta::assert_json_snapshot!("demo_ocsf", findings);
}

#[test]
fn ocsf_says_what_asff_says() {
    let report = demo_report();
    let context = context(&report);
    let asff = asff::findings(&report, &context);
    let ocsf = ocsf::findings(&report, &context);
    assert_eq!(asff.len(), ocsf.len());
    for (asff, ocsf) in asff.iter().zip(&ocsf) {
        assert_eq!(ocsf["finding_info"]["uid"], asff.id.as_str());
        assert_eq!(ocsf["finding_info"]["title"], asff.title.as_str());
        assert_eq!(ocsf["severity_id"], ocsf::severity_id(asff.severity.label));
        assert_eq!(ocsf["resources"][0]["uid"], asff.resources[0].id.as_str());
        let status = serde_json::to_value(asff.compliance.status).unwrap();
        assert_eq!(ocsf["status_code"], status);
    }
}

#[test]
fn every_entity_has_one_finding_within_asff_limits() {
    let report = demo_report();
    let findings = asff::findings(&report, &context(&report));
    assert_eq!(findings.len(), report.entities.len());
    let ids: HashSet<&str> = findings.iter().map(|finding| finding.id.as_str()).collect();
    assert_eq!(ids.len(), findings.len(), "ids are unique");
    for (finding, entity) in findings.iter().zip(&report.entities) {
        assert_eq!(finding.id, finding_id("aws", &report.account_id, &entity.arn));
        assert!(finding.title.len() <= 256, "{}", finding.title);
        assert!(finding.description.len() <= 1024, "{}", finding.description);
        assert!(finding.remediation.recommendation.text.len() <= 512);
        assert!(finding.product_fields.len() <= 50);
        assert!(finding.product_fields.values().all(|value| value.len() <= 2048));
        assert_eq!(finding.resources[0].id, entity.arn);
        assert_eq!(finding.record_state, RecordState::Active);
    }
    let admin = &findings[0];
    assert_eq!(admin.resources[0].resource_type, "AwsIamUser");
    assert_eq!(admin.severity.label, Severity::Critical);
    assert_eq!(admin.compliance.status, ComplianceStatus::Failed);
    assert!(
        admin
            .description
            .contains("access-analyzer (unused CRITICAL, granted by AdministratorAccess); account")
    );
    let unused = &admin.product_fields["iamsweep/UnusedServices"];
    assert!(unused.starts_with("access-analyzer,account,"), "most serious first: {unused}");
    assert!(
        admin
            .remediation
            .recommendation
            .text
            .contains("`iamsweep plan --kinds users --name admin`")
    );
}

#[test]
fn the_verdict_decides_compliance_and_an_unevaluated_entity_is_not_available() {
    let mut ok = entity(EntityKind::Role, "ok");
    ok.services = vec![service("s3", Some(3))];
    let mut broken = entity(EntityKind::Group, "broken");
    broken.status = Status::Error;
    broken.error = Some("job FAILED".into());
    let mut keys = entity(EntityKind::User, "keys");
    keys.services = vec![service("kms", None), service("ec2", Some(400)), service("s3", Some(1))];
    let report = support::report(&support::snapshot(vec![ok, broken, keys]));
    let findings = asff::findings(&report, &context(&report));
    let by_name = |name: &str| {
        findings.iter().find(|finding| finding.resources[0].id.ends_with(name)).unwrap()
    };
    assert_eq!(by_name("/ok").compliance.status, ComplianceStatus::Passed);
    assert_eq!(by_name("/ok").severity.label, Severity::Informational);
    let broken = by_name("/broken");
    assert_eq!(broken.compliance.status, ComplianceStatus::NotAvailable);
    assert!(broken.description.contains("job FAILED"));
    assert_eq!(broken.resources[0].resource_type, "AwsIamGroup");
    let keys = by_name("/keys");
    assert_eq!(keys.compliance.status, ComplianceStatus::Failed);
    assert_eq!(keys.severity.label, Severity::High);
    assert_eq!(keys.product_fields["iamsweep/UnusedServices"], "kms");
    assert_eq!(keys.product_fields["iamsweep/StaleServices"], "ec2");
}

#[test]
fn a_second_run_keeps_the_first_observation_and_closes_what_is_done() {
    let report = demo_report();
    let first = asff::findings(&report, &context(&report));
    let mut later = context(&report);
    later.generated_at = datetime!(2026-11-30 12:40 UTC);
    let second = asff::findings(&report, &later);
    assert_eq!(first[0].id, second[0].id, "the id is stable across runs");
    let kept = second[0].clone().observed_since(first[0].first_observed_at);
    assert_eq!(kept.first_observed_at, datetime!(2026-11-23 12:40 UTC));
    assert_eq!(kept.updated_at, datetime!(2026-11-30 12:40 UTC));
    assert_eq!(kept.clone().archived().record_state, RecordState::Archived);

    let arn = "arn:aws:iam::123456789012:role/team/gone";
    let gone = asff::deleted(asff::kind_of_arn(arn).unwrap(), arn, "123456789012", &later);
    assert_eq!(gone.id, finding_id("aws", "123456789012", arn));
    assert_eq!(gone.record_state, RecordState::Archived);
    assert_eq!(gone.compliance.status, ComplianceStatus::NotAvailable);
    let details = gone.resources[0].details.aws_iam_role.as_ref().unwrap();
    assert_eq!((details.role_name.as_str(), details.path.as_str()), ("gone", "/team/"));
}

#[test]
fn the_body_round_trips_and_refuses_unknown_fields() {
    let report = demo_report();
    let body = asff::request(&report, &context(&report));
    let text = serde_json::to_string(&body).unwrap();
    let back: asff::BatchImportFindings = serde_json::from_str(&text).unwrap();
    assert_eq!(back, body);
    let edited = text.replacen("\"Title\"", "\"Workflow\":{\"Status\":\"NEW\"},\"Title\"", 1);
    assert!(serde_json::from_str::<asff::BatchImportFindings>(&edited).is_err());
}

#[test]
fn people_read_the_most_serious_entities_first() {
    let report = demo_report();
    let order: Vec<(&str, Option<Severity>)> = report
        .by_severity()
        .into_iter()
        .map(|entity| (entity.name.as_str(), entity.severity))
        .collect();
    assert_eq!(
        order,
        [
            ("admin", Some(Severity::Critical)),
            ("auditor", Some(Severity::Critical)),
            ("AWSServiceRoleForECS", Some(Severity::High)),
            ("alice", Some(Severity::Medium)),
            ("stale-bob", Some(Severity::Medium)),
            ("bounded-worker", Some(Severity::Medium)),
            ("devs", Some(Severity::Medium)),
            ("app", Some(Severity::Informational)),
        ]
    );
    assert_eq!(report.summary.severity.critical, 2);
    assert_eq!(report.summary.severity.at_or_above(Severity::High), 3);
    assert_eq!(report.summary.severity.at_or_above(Severity::Low), 7);
}

#[test]
fn a_report_written_before_severities_still_reads() {
    let report = demo_report();
    let mut value = serde_json::to_value(&report).unwrap();
    value["summary"].as_object_mut().unwrap().remove("severity");
    for entity in value["entities"].as_array_mut().unwrap() {
        entity.as_object_mut().unwrap().remove("severity");
        for service in entity["services"].as_array_mut().unwrap() {
            service.as_object_mut().unwrap().remove("severity");
        }
    }
    let old: AuditReport = serde_json::from_value(value).unwrap();
    assert!(old.entities.iter().all(|entity| entity.severity.is_none()));
    // Findings of an old report compute the severities the report lacks.
    let findings = asff::findings(&old, &context(&old));
    assert_eq!(findings[0].severity.label, Severity::Critical);
}
