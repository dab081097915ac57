//! Fixtures and a simulated apply.

use iamsweep_core::analysis::analyze;
use iamsweep_core::boundary::canonicalize;
use iamsweep_core::compliance::Rules;
use iamsweep_core::model::{EntityKind, EntityRecord, Granularity, ServiceRecord};
use iamsweep_core::plan::{
    LivePolicy, LiveState, LiveVersion, Plan, build_plan, check_preconditions,
};
use iamsweep_core::report::AuditReport;
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::snapshot::{SNAPSHOT_SCHEMA, Snapshot};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
pub const ACCOUNT: &str = "123456789012";
pub const WINDOW: u32 = 180;

/// A user or role created long ago, with no services yet.
pub fn entity(kind: EntityKind, name: &str) -> EntityRecord {
    let mut record =
        EntityRecord::new(kind, format!("arn:aws:iam::{ACCOUNT}:{}/{name}", kind.as_str()), name);
    record.created = Some(NOW - Duration::days(800));
    record
}

/// A service last used `days_ago` days before `NOW` (`None`: not in the tracking period).
pub fn service(namespace: &str, days_ago: Option<i64>) -> ServiceRecord {
    let mut record = ServiceRecord::new(namespace, namespace);
    record.last_authenticated = days_ago.map(|days| NOW - Duration::days(days));
    record
}

pub fn snapshot(entities: Vec<EntityRecord>) -> Snapshot {
    Snapshot {
        schema: SNAPSHOT_SCHEMA.into(),
        collected_at: NOW,
        account_id: ACCOUNT.into(),
        caller_arn: Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/iamsweep-runner/cli")),
        granularity: Granularity::Service,
        attributed: false,
        stats: Default::default(),
        entities,
    }
}

pub fn report(snapshot: &Snapshot) -> AuditReport {
    analyze(snapshot, &Rules::new(WINDOW), snapshot.collected_at)
}

pub fn plan(snapshot: &Snapshot, live: &LiveState, settings: &EnforceSettings) -> Plan {
    build_plan(snapshot, &report(snapshot), live, settings, NOW)
}

/// Carries `plan` out on `snapshot` and `live` as IAM would, checking every precondition and
/// IAM limit on the way (five versions, 50 tags, one default version).
pub fn apply(plan: &Plan, snapshot: &mut Snapshot, live: &mut LiveState) {
    for entity in plan.changes() {
        let record = snapshot.entities.iter_mut().find(|r| r.arn == entity.arn).unwrap();
        if let Some(change) = &entity.boundary {
            let default =
                live.policies.get(&change.policy_arn).map(|p| p.default_version_id.clone());
            check_preconditions(entity, record.permissions_boundary.as_deref(), default.as_deref())
                .unwrap();
            // AWS hands the document back as written; the aws crate canonicalises it.
            let stored = canonicalize(&change.document).unwrap();
            assert_eq!(stored, change.document, "a planned document is canonical");
            if change.create_policy {
                assert!(!live.policies.contains_key(&change.policy_arn));
                live.policies.insert(
                    change.policy_arn.clone(),
                    LivePolicy {
                        default_version_id: "v1".into(),
                        default_document: stored.clone(),
                        versions: vec![LiveVersion {
                            version_id: "v1".into(),
                            is_default: true,
                            created: NOW,
                        }],
                    },
                );
            }
            if change.create_version {
                let policy = live.policies.get_mut(&change.policy_arn).unwrap();
                if let Some(old) = &change.delete_version {
                    let index = policy.versions.iter().position(|v| &v.version_id == old).unwrap();
                    assert!(!policy.versions[index].is_default, "the default cannot be deleted");
                    policy.versions.remove(index);
                }
                assert!(policy.versions.len() < 5, "IAM keeps at most five versions");
                let next = policy
                    .versions
                    .iter()
                    .map(|v| v.version_id[1..].parse::<u32>().unwrap())
                    .max()
                    .unwrap_or(0)
                    + 1;
                for version in &mut policy.versions {
                    version.is_default = false;
                }
                let id = format!("v{next}");
                policy.versions.push(LiveVersion {
                    version_id: id.clone(),
                    is_default: true,
                    created: NOW,
                });
                policy.default_version_id = id;
                policy.default_document = stored;
            }
            if change.attach {
                assert_ne!(record.kind, EntityKind::Group);
                record.permissions_boundary = Some(change.policy_arn.clone());
            }
        }
        if let Some(tags) = &entity.tags {
            for (key, value) in &tags.set {
                record.tags.retain(|existing, _| !existing.eq_ignore_ascii_case(key));
                record.tags.insert(key.clone(), value.clone());
            }
            assert!(record.tags.len() <= 50, "IAM allows 50 tags");
        }
    }
}
