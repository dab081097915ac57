//! Analysis: classify every granted service as used, stale or unused, and judge compliance.
//!
//! Pure: the instant ages are measured from is the snapshot's `collected_at`, so analysing the
//! same snapshot twice gives the same report, whenever it runs.

use time::{Duration, OffsetDateTime};

use crate::compliance::{Rules, flagged, idle, judge};
use crate::escalation::risks_of_usage;
use crate::model::{EntityRecord, Status};
use crate::report::{
    AUDIT_SCHEMA, AuditReport, EntityReport, ServiceReport, ServiceState, Summary, Verdict,
};
use crate::risk::{self, Severity};
use crate::snapshot::Snapshot;

/// Where a service stands at `now` for a window of `window_days`.
///
/// A last access exactly `window_days` old is still `used` (age <= window). A last access in the
/// future (clock skew between AWS and the collector) counts as used.
pub fn classify(
    last_authenticated: Option<OffsetDateTime>,
    now: OffsetDateTime,
    window_days: u32,
) -> ServiceState {
    match last_authenticated {
        None => ServiceState::Unused,
        Some(when) if now - when <= Duration::days(i64::from(window_days)) => ServiceState::Used,
        Some(_) => ServiceState::Stale,
    }
}

/// Classifies every entity of a snapshot under `rules`.
///
/// Every entity of the snapshot appears exactly once, in a stable order (users, roles, groups,
/// each by name); entities whose collection failed or was skipped keep their status and have
/// no verdict.
pub fn analyze(snapshot: &Snapshot, rules: &Rules, generated_at: OffsetDateTime) -> AuditReport {
    report(snapshot, snapshot.entities.iter().cloned(), rules, generated_at)
}

/// [`analyze`], consuming the snapshot: each entity's data moves into its report instead of
/// being copied, so a 10,000-entity account is held in memory once, not twice.
pub fn analyze_owned(
    mut snapshot: Snapshot,
    rules: &Rules,
    generated_at: OffsetDateTime,
) -> AuditReport {
    let entities = std::mem::take(&mut snapshot.entities);
    report(&snapshot, entities.into_iter(), rules, generated_at)
}

fn report(
    snapshot: &Snapshot,
    entities: impl Iterator<Item = EntityRecord>,
    rules: &Rules,
    generated_at: OffsetDateTime,
) -> AuditReport {
    let mut entities: Vec<EntityReport> =
        entities.map(|entity| analyze_entity_owned(entity, rules, snapshot.collected_at)).collect();
    entities.sort_by(|a, b| (a.kind, &a.name, &a.arn).cmp(&(b.kind, &b.name, &b.arn)));
    let summary = summarize(&entities, snapshot);
    AuditReport {
        schema: AUDIT_SCHEMA.to_string(),
        generated_at,
        account_id: snapshot.account_id.clone(),
        window_days: rules.window_days,
        granularity: snapshot.granularity,
        entities,
        summary,
        snapshot_collected_at: None,
    }
}

/// Classifies one entity at `now`.
pub fn analyze_entity(entity: &EntityRecord, rules: &Rules, now: OffsetDateTime) -> EntityReport {
    analyze_entity_owned(entity.clone(), rules, now)
}

/// Classifies one entity at `now`, consuming its record.
pub fn analyze_entity_owned(
    mut entity: EntityRecord,
    rules: &Rules,
    now: OffsetDateTime,
) -> EntityReport {
    let collected = entity.status == Status::Ok;
    let idle_reason = collected
        .then(|| idle(entity.kind, &entity.services, entity.role_last_used, rules.window_days, now))
        .flatten();
    let judged = collected.then(|| {
        let mut reasons = judge(&entity.services, rules, now);
        // Idle is a reason of its own: always named, first, when the entity fails anyway, and
        // failing it alone with `--fail-on idle`.
        if let Some(reason) = &idle_reason
            && (rules.fail_on_idle || !reasons.is_empty())
        {
            reasons.insert(0, reason.clone());
        }
        reasons
    });
    let flagged_severity = risk::entity_severity(flagged(&entity.services, rules, now));
    let denials = crate::denied::recorded_denials(&entity, &rules.boundary_path);
    let mut records = std::mem::take(&mut entity.services);
    // The order every format lists services in, decided once here.
    records.sort_by(|a, b| risk::compare_services(&a.namespace, &b.namespace));
    let mut denial_reasons = Vec::new();
    let services: Vec<ServiceReport> = records
        .into_iter()
        .map(|service| {
            let state = classify(service.last_authenticated, now, rules.window_days);
            let denial = denials.iter().find(|denial| *denial.namespace == *service.namespace);
            let mut report = ServiceReport::from_record(service, state);
            if let Some(denial) = denial {
                report.denied_since_bounded = true;
                denial_reasons.push(crate::denied::reason(denial));
            }
            report
        })
        .collect();
    let count = |state: ServiceState| services.iter().filter(|s| s.state == state).count();
    let (granted, used, stale, unused) = (
        services.len(),
        count(ServiceState::Used),
        count(ServiceState::Stale),
        count(ServiceState::Unused),
    );
    let coverage_percent = (collected && granted > 0).then(|| coverage(used, granted));
    let (verdict, reasons) = match judged {
        Some(reasons) => {
            let verdict =
                if reasons.is_empty() { Verdict::Compliant } else { Verdict::NonCompliant };
            (Some(verdict), reasons)
        }
        None => (None, Vec::new()),
    };
    // Told, not judged: the verdict is made above, from Access Advisor's data alone, so a denied
    // attempt (a recent use) never makes an entity fail or pass.
    let mut reasons = reasons;
    reasons.extend(denial_reasons);
    let mut report = EntityReport {
        arn: entity.arn,
        kind: entity.kind,
        name: entity.name,
        path: entity.path,
        created: entity.created,
        status: entity.status,
        error: entity.error,
        skip_reason: entity.skip_reason,
        granted,
        used,
        stale,
        unused,
        coverage_percent,
        idle: idle_reason.is_some(),
        role_last_used: entity.role_last_used,
        severity: verdict.map(|verdict| match verdict {
            Verdict::Compliant => Severity::Informational,
            Verdict::NonCompliant => flagged_severity,
        }),
        verdict,
        reasons,
        services,
        escalation_risks: Vec::new(),
    };
    if collected {
        report.escalation_risks = risks_of_usage(&report, rules.window_days, now);
    }
    report
}

/// round(100 * used / granted), rounding halves up; `granted` must not be zero.
pub fn coverage(used: usize, granted: usize) -> u32 {
    // Integer arithmetic: (200u + g) / 2g is round-half-up of 100u/g without floating point.
    let (used, granted) = (used as u64, granted as u64);
    ((200 * used + granted) / (2 * granted)) as u32
}

fn summarize(entities: &[EntityReport], snapshot: &Snapshot) -> Summary {
    let mut summary = Summary {
        entities: entities.len(),
        throttles: snapshot.stats.throttles,
        calls: snapshot.stats.calls,
        wall_seconds: snapshot.stats.wall_seconds,
        ..Summary::default()
    };
    for entity in entities {
        match entity.status {
            Status::Ok => summary.status.ok += 1,
            Status::Error => summary.status.error += 1,
            Status::Skipped => summary.status.skipped += 1,
        }
        match entity.verdict {
            Some(Verdict::Compliant) => summary.verdict.compliant += 1,
            Some(Verdict::NonCompliant) => {
                summary.verdict.non_compliant += 1;
                summary.severity.add(entity.severity.unwrap_or(Severity::Low));
            }
            None => {}
        }
        summary.idle += usize::from(entity.idle);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceRecord;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    #[test]
    fn a_service_used_exactly_at_the_window_edge_is_used() {
        assert_eq!(classify(Some(NOW - Duration::days(180)), NOW, 180), ServiceState::Used);
        assert_eq!(
            classify(Some(NOW - Duration::days(180) - Duration::seconds(1)), NOW, 180),
            ServiceState::Stale
        );
        assert_eq!(classify(None, NOW, 180), ServiceState::Unused);
        assert_eq!(classify(Some(NOW + Duration::hours(1)), NOW, 0), ServiceState::Used);
    }

    #[test]
    fn a_denied_attempt_is_marked_and_told_but_changes_no_verdict() {
        let boundary = "arn:aws:iam::123456789012:policy/iamsweep/role-app";
        let mut app = EntityRecord::new(
            crate::model::EntityKind::Role,
            "arn:aws:iam::123456789012:role/app",
            "app",
        );
        let mut s3 = ServiceRecord::new("s3", "Amazon S3");
        s3.last_authenticated = Some(NOW - Duration::days(3));
        let mut dynamodb = ServiceRecord::new("dynamodb", "Amazon DynamoDB");
        dynamodb.last_authenticated = Some(NOW - Duration::hours(2));
        app.services = vec![s3, dynamodb];
        app.permissions_boundary = Some(boundary.into());
        app.boundary_allows = Some(vec!["s3".into()]);
        app.bounded_since = Some(NOW - Duration::days(1));
        let report = analyze_entity(&app, &Rules::new(180), NOW);
        let dynamodb = report.services.iter().find(|s| &*s.namespace == "dynamodb").unwrap();
        // Access Advisor's state: the attempt is a use within the window.
        assert_eq!(dynamodb.state, ServiceState::Used);
        assert!(dynamodb.denied_since_bounded);
        assert!(
            !report.services.iter().find(|s| &*s.namespace == "s3").unwrap().denied_since_bounded
        );
        assert_eq!(report.verdict, Some(Verdict::Compliant));
        assert_eq!(report.severity, Some(Severity::Informational));
        assert_eq!(
            report.reasons,
            ["dynamodb denied since bounded (last attempt 2026-11-23T10:00:00Z): \
              `iamsweep heal --apply` restores it"]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["services"][0]["denied_since_bounded"], true);
        assert!(json["services"][1].get("denied_since_bounded").is_none(), "absent when false");

        // Another configured path: that boundary is not iamsweep's, so nothing is marked.
        let mut rules = Rules::new(180);
        rules.boundary_path = "/guard/".into();
        let report = analyze_entity(&app, &rules, NOW);
        assert!(report.services.iter().all(|s| !s.denied_since_bounded));
        assert!(report.reasons.is_empty());
    }

    #[test]
    fn coverage_rounds_half_up_and_stays_within_bounds() {
        assert_eq!(coverage(0, 3), 0);
        assert_eq!(coverage(1, 3), 33);
        assert_eq!(coverage(2, 3), 67);
        assert_eq!(coverage(1, 8), 13); // 12.5 rounds up
        assert_eq!(coverage(5, 5), 100);
    }

    #[test]
    fn every_entity_appears_once_with_counts_that_add_up() {
        let mut alice = EntityRecord::new(
            crate::model::EntityKind::User,
            "arn:aws:iam::123456789012:user/alice",
            "alice",
        );
        let mut s3 = ServiceRecord::new("s3", "Amazon S3");
        s3.last_authenticated = Some(NOW - Duration::days(3));
        let mut ec2 = ServiceRecord::new("ec2", "Amazon EC2");
        ec2.last_authenticated = Some(NOW - Duration::days(250));
        alice.services = vec![s3, ec2, ServiceRecord::new("iam", "AWS IAM")];
        let mut broken = EntityRecord::new(
            crate::model::EntityKind::Role,
            "arn:aws:iam::123456789012:role/broken",
            "broken",
        );
        broken.status = Status::Error;
        broken.error = Some("job FAILED".into());
        let snapshot = Snapshot {
            schema: crate::snapshot::SNAPSHOT_SCHEMA.into(),
            collected_at: NOW,
            account_id: "123456789012".into(),
            caller_arn: None,
            granularity: Default::default(),
            attributed: false,
            stats: Default::default(),
            entities: vec![broken, alice],
        };
        let report = analyze(&snapshot, &Rules::new(180), NOW);
        assert_eq!(report.entities.len(), 2);
        let alice = &report.entities[0];
        assert_eq!((alice.granted, alice.used, alice.stale, alice.unused), (3, 1, 1, 1));
        assert_eq!(alice.coverage_percent, Some(33));
        assert_eq!(alice.verdict, Some(Verdict::NonCompliant));
        let broken = &report.entities[1];
        assert_eq!(broken.verdict, None);
        assert_eq!(broken.coverage_percent, None);
        assert_eq!(report.summary.status.error, 1);
        assert_eq!(report.summary.verdict.non_compliant, 1);
    }
}
