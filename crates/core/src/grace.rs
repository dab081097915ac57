//! Grace for new grants: a service first granted less than `boundary.grace_days` before the plan
//! stays allowed, whatever Access Advisor says, because "not used yet" is no evidence against a
//! permission added last week for a deploy next week (RepoKid keeps 14 days for this reason).
//!
//! How a grant's age is known, in the order it is trusted ([`grant_ages`]):
//!
//! 1. **History** (the state store, [`crate::grants`]): the moment a run first saw the service
//!    granted to the entity. A service absent at the entity's previous run was granted after
//!    that run, so it is new whatever IAM's dates say: counted from the run that first sees it.
//! 2. **What IAM tells**, for an entity no run has seen yet: a service has been granted since the
//!    later of the entity's creation and the creation of the default version of the managed
//!    policy granting it (the earliest such policy when several do). IAM records no date for an
//!    attachment or an inline policy: an inline policy gives no date, so a service only inline
//!    policies grant (or one whose policies' dates are unknown) counts as granted now.
//!    Without attribution (which policy grants which service), the entity's policies count
//!    together: the newest of them dates every service, and any inline policy makes every
//!    service new.
//!
//! [`in_grace`] then decides, per service not used within the window, whether it is still in
//! grace; the plan allows those as if used ([`with_grace`]) and says why for each.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::grants::{AccountState, EntityState, Since};
use crate::model::{EntityKind, EntityRecord, ServiceRecord, Status};
use crate::report::{EntityReport, ServiceState};
use crate::snapshot::Snapshot;

/// Default `boundary.grace_days`: RepoKid's 14 days.
pub const DEFAULT_GRACE_DAYS: u32 = 14;

/// Where a grant's age comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The state store: when a run first saw it granted.
    History,
    /// Not granted at the entity's previous run: counted from this run, which first sees it.
    NewSinceLastRun,
    /// IAM's creation dates of the entity and of the granting policy's default version.
    Iam,
    /// No date known (an inline policy, or a policy whose date could not be read): counted from
    /// this run.
    Unknown,
}

impl Basis {
    /// In words, for the plan's reasons.
    pub fn describe(self) -> &'static str {
        match self {
            Basis::History => "first seen granted by an earlier run (state store)",
            Basis::NewSinceLastRun => "not granted at the previous run (state store)",
            Basis::Iam => "creation of the entity and of the granting policy's default version",
            Basis::Unknown => "no date known (an inline policy grants it): counted from this run",
        }
    }
}

/// Since when one service is granted to one entity, and how that is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantAge {
    /// Granted since (at the earliest) this moment.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// Where that comes from.
    pub basis: Basis,
}

/// Per namespace.
pub type GrantAges = BTreeMap<String, GrantAge>;

/// A service kept allowed because it was granted recently, with the plan's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraceService {
    /// The namespace, such as `dynamodb`.
    pub namespace: String,
    /// Granted since.
    #[serde(with = "time::serde::rfc3339")]
    pub granted_since: OffsetDateTime,
    /// Why it stays, in words.
    pub reason: String,
}

/// Since when each service granted to `record` is granted: from `history` (its entry in the
/// state store, when a run saw it before), else from IAM's dates (`policy_dates`: the default
/// version's creation per managed policy ARN; `groups`: a user's groups, whose policies grant
/// it too), else `now`.
pub fn grant_ages(
    record: &EntityRecord,
    groups: &[&EntityRecord],
    history: Option<&EntityState>,
    policy_dates: &BTreeMap<String, OffsetDateTime>,
    now: OffsetDateTime,
) -> GrantAges {
    record
        .services
        .iter()
        .map(|service| {
            let age = match history {
                Some(state) => match state.granted.get(service.namespace.as_ref()) {
                    Some(since) => GrantAge { since: since.0.min(now), basis: Basis::History },
                    // Granted at some moment since the previous run, which may be this
                    // morning: counted from this run, its first sighting.
                    None => GrantAge { since: now, basis: Basis::NewSinceLastRun },
                },
                None => match iam_estimate(record, groups, service, policy_dates) {
                    Some(since) => GrantAge { since: since.min(now), basis: Basis::Iam },
                    None => GrantAge { since: now, basis: Basis::Unknown },
                },
            };
            (service.namespace.to_string(), age)
        })
        .collect()
}

/// [`grant_ages`] of every user and role of `snapshot` whose data was collected, per ARN, from
/// the account's `state` (none: the first run), measured at the snapshot's collection.
pub fn account_ages(
    snapshot: &Snapshot,
    state: Option<&AccountState>,
    policy_dates: &BTreeMap<String, OffsetDateTime>,
) -> BTreeMap<String, GrantAges> {
    let groups: HashMap<&str, &EntityRecord> = snapshot
        .entities
        .iter()
        .filter(|record| record.kind == EntityKind::Group)
        .map(|record| (record.name.as_str(), record))
        .collect();
    snapshot
        .entities
        .iter()
        .filter(|record| record.kind != EntityKind::Group && record.status == Status::Ok)
        .map(|record| {
            let member_of: Vec<&EntityRecord> = match record.kind {
                EntityKind::User => record
                    .groups
                    .iter()
                    .filter_map(|name| groups.get(name.as_str()).copied())
                    .collect(),
                _ => Vec::new(),
            };
            let history = state.and_then(|state| state.entities.get(&record.arn));
            let ages = grant_ages(record, &member_of, history, policy_dates, snapshot.collected_at);
            (record.arn.clone(), ages)
        })
        .collect()
}

/// The managed policies whose dates [`grant_ages`] may need: those granting a service not used
/// (attributed), else every managed policy of the account's users, roles and groups.
pub fn policies_to_date(snapshot: &Snapshot) -> std::collections::BTreeSet<String> {
    let mut arns = std::collections::BTreeSet::new();
    for record in &snapshot.entities {
        arns.extend(record.managed_policies.iter().cloned());
        for service in &record.services {
            let grantors = service.granted_by.iter().flatten();
            arns.extend(grantors.filter_map(|grantor| grantor.arn.clone()));
        }
    }
    arns
}

/// Records in `state` what this run saw: each entity of `ages` with its granted services and
/// since when. An entity the state saw later (an older snapshot applied now) is left as it is;
/// an entity not in this run (another `--kinds`) keeps its entry.
pub fn record_run(
    state: &mut AccountState,
    ages: &BTreeMap<String, GrantAges>,
    collected_at: OffsetDateTime,
) {
    for (arn, grants) in ages {
        let entry = state.entities.entry(arn.clone()).or_insert_with(|| EntityState {
            last_seen: collected_at,
            granted: BTreeMap::new(),
            notice: None,
        });
        if entry.last_seen > collected_at {
            continue;
        }
        entry.last_seen = collected_at;
        entry.granted =
            grants.iter().map(|(namespace, age)| (namespace.clone(), Since(age.since))).collect();
    }
    state.updated_at = state.updated_at.max(collected_at);
}

/// What IAM's dates say of one service, `None` when they say nothing.
fn iam_estimate(
    record: &EntityRecord,
    groups: &[&EntityRecord],
    service: &ServiceRecord,
    policy_dates: &BTreeMap<String, OffsetDateTime>,
) -> Option<OffsetDateTime> {
    let policy_date = match &service.granted_by {
        // Attributed: the earliest managed policy granting it; inline ones have no date.
        Some(grantors) => grantors
            .iter()
            .filter_map(|grantor| grantor.arn.as_ref().and_then(|arn| policy_dates.get(arn)))
            .min()
            .copied()?,
        // Not attributed: any of the entity's policies may be the one, so the newest dates it.
        None => {
            let holders = std::iter::once(record).chain(groups.iter().copied());
            let mut newest: Option<OffsetDateTime> = None;
            for holder in holders {
                if !holder.inline_policies.is_empty() {
                    return None;
                }
                for arn in &holder.managed_policies {
                    let date = *policy_dates.get(arn)?;
                    newest = Some(newest.map_or(date, |known| known.max(date)));
                }
            }
            newest?
        }
    };
    Some(record.created.map_or(policy_date, |created| created.max(policy_date)))
}

/// The services of `report` not used within the window whose grant is younger than
/// `grace_days` at `now` (the snapshot's collection), each with its reason.
pub fn in_grace(
    report: &EntityReport,
    ages: &GrantAges,
    grace_days: u32,
    now: OffsetDateTime,
) -> Vec<GraceService> {
    if grace_days == 0 || report.kind == EntityKind::Group {
        return Vec::new();
    }
    let grace = Duration::days(i64::from(grace_days));
    report
        .services
        .iter()
        .filter(|service| service.state != ServiceState::Used)
        .filter_map(|service| {
            let age = ages.get(service.namespace.as_ref())?;
            (now - age.since < grace).then(|| GraceService {
                namespace: service.namespace.to_string(),
                granted_since: age.since,
                reason: format!(
                    "granted since {} ({}), less than boundary.grace_days = {grace_days} days \
                     before the plan: allowed until {}",
                    day(age.since),
                    age.basis.describe(),
                    day(age.since + grace)
                ),
            })
        })
        .collect()
}

/// `report` with the services in grace allowed as if used within the window: whole (no action
/// is denied: nothing has been used yet to tell which actions matter).
pub fn with_grace(report: &EntityReport, kept: &[GraceService]) -> EntityReport {
    let mut report = report.clone();
    for service in &mut report.services {
        if kept.iter().any(|kept| kept.namespace == service.namespace.as_ref()) {
            service.state = ServiceState::Used;
            service.actions = None;
        }
    }
    report
}

/// The ages to keep in a plan's facts: those of services not used (the only ones grace
/// decides on), so a plan stays small.
pub fn relevant(report: &EntityReport, ages: &GrantAges) -> GrantAges {
    report
        .services
        .iter()
        .filter(|service| service.state != ServiceState::Used)
        .filter_map(|service| {
            ages.get(service.namespace.as_ref()).map(|age| (service.namespace.to_string(), *age))
        })
        .collect()
}

/// `2026-11-23`.
pub(crate) fn day(at: OffsetDateTime) -> String {
    let date = at.date();
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PolicyRef;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
    const OLD: &str = "arn:aws:iam::111122223333:policy/Old";
    const NEW: &str = "arn:aws:iam::111122223333:policy/New";

    fn role(services: &[(&str, Option<Vec<PolicyRef>>)]) -> EntityRecord {
        let mut record =
            EntityRecord::new(EntityKind::Role, "arn:aws:iam::111122223333:role/app", "app");
        record.created = Some(NOW - Duration::days(500));
        record.managed_policies = vec![OLD.into(), NEW.into()];
        record.services = services
            .iter()
            .map(|(namespace, grantors)| {
                let mut service = ServiceRecord::new(*namespace, *namespace);
                service.granted_by = grantors.clone();
                service
            })
            .collect();
        record
    }

    fn managed(arn: &str) -> PolicyRef {
        PolicyRef {
            name: "p".into(),
            policy_type: "MANAGED".into(),
            arn: Some(arn.into()),
            entity_type: None,
            entity_name: None,
        }
    }

    fn inline() -> PolicyRef {
        PolicyRef {
            name: "inline".into(),
            policy_type: "INLINE".into(),
            arn: None,
            entity_type: Some("ROLE".into()),
            entity_name: Some("app".into()),
        }
    }

    fn dates() -> BTreeMap<String, OffsetDateTime> {
        BTreeMap::from([
            (OLD.to_string(), NOW - Duration::days(300)),
            (NEW.to_string(), NOW - Duration::days(1)),
        ])
    }

    #[test]
    fn iam_dates_date_each_service_by_its_earliest_granting_policy() {
        let record = role(&[
            ("s3", Some(vec![managed(OLD)])),
            ("dynamodb", Some(vec![managed(NEW)])),
            ("sqs", Some(vec![managed(NEW), managed(OLD)])),
            ("lambda", Some(vec![inline()])),
        ]);
        let ages = grant_ages(&record, &[], None, &dates(), NOW);
        assert_eq!(ages["s3"], GrantAge { since: NOW - Duration::days(300), basis: Basis::Iam });
        assert_eq!(ages["dynamodb"].since, NOW - Duration::days(1));
        assert_eq!(ages["sqs"].since, NOW - Duration::days(300));
        assert_eq!(ages["lambda"], GrantAge { since: NOW, basis: Basis::Unknown });
    }

    #[test]
    fn without_attribution_the_newest_policy_dates_every_service() {
        let mut record = role(&[("s3", None)]);
        let ages = grant_ages(&record, &[], None, &dates(), NOW);
        assert_eq!(ages["s3"].since, NOW - Duration::days(1));
        record.managed_policies = vec![OLD.into()];
        assert_eq!(
            grant_ages(&record, &[], None, &dates(), NOW)["s3"].since,
            NOW - Duration::days(300)
        );
        // An inline policy anywhere gives no date at all.
        record.inline_policies = vec!["inline".into()];
        assert_eq!(grant_ages(&record, &[], None, &dates(), NOW)["s3"].basis, Basis::Unknown);
    }

    #[test]
    fn history_outranks_iam_and_a_service_missing_from_it_is_new() {
        let record = role(&[("s3", Some(vec![inline()])), ("sqs", Some(vec![managed(OLD)]))]);
        let history = EntityState {
            last_seen: NOW - Duration::days(2),
            granted: BTreeMap::from([("s3".to_string(), Since(NOW - Duration::days(90)))]),
            notice: None,
        };
        let ages = grant_ages(&record, &[], Some(&history), &dates(), NOW);
        assert_eq!(ages["s3"], GrantAge { since: NOW - Duration::days(90), basis: Basis::History });
        // Its policy is old, but the previous run did not see it granted: attached since.
        assert_eq!(ages["sqs"], GrantAge { since: NOW, basis: Basis::NewSinceLastRun });
    }

    #[test]
    fn a_run_is_recorded_and_the_next_run_reads_it_as_history() {
        let record = role(&[("s3", Some(vec![inline()]))]);
        let arn = record.arn.clone();
        let ages = BTreeMap::from([(arn.clone(), grant_ages(&record, &[], None, &dates(), NOW))]);
        let mut state = AccountState::empty("111122223333", NOW - Duration::days(1));
        record_run(&mut state, &ages, NOW);
        assert_eq!(state.entities[&arn].granted["s3"], Since(NOW));
        // Twenty days later the same grant is twenty days old, and out of grace.
        let later = NOW + Duration::days(20);
        let again = grant_ages(&record, &[], state.entities.get(&arn), &dates(), later);
        assert_eq!(again["s3"], GrantAge { since: NOW, basis: Basis::History });
        // An older snapshot recorded afterwards changes nothing.
        let before = state.clone();
        record_run(&mut state, &ages, NOW - Duration::days(3));
        assert_eq!(state.entities, before.entities);
    }

    #[test]
    fn only_unused_services_younger_than_the_grace_stay() {
        let record = role(&[
            ("s3", Some(vec![managed(OLD)])),
            ("dynamodb", Some(vec![managed(NEW)])),
            ("ec2", Some(vec![managed(OLD), inline()])),
        ]);
        let ages = grant_ages(&record, &[], None, &dates(), NOW);
        let mut report = crate::analysis::analyze(
            &crate::snapshot::Snapshot {
                schema: crate::snapshot::SNAPSHOT_SCHEMA.into(),
                collected_at: NOW,
                account_id: "111122223333".into(),
                caller_arn: None,
                granularity: Default::default(),
                attributed: true,
                stats: Default::default(),
                entities: vec![record],
            },
            &crate::compliance::Rules::new(90),
            NOW,
        );
        let entity = report.entities.remove(0);
        let kept = in_grace(&entity, &ages, 14, NOW);
        assert_eq!(kept.iter().map(|k| k.namespace.as_str()).collect::<Vec<_>>(), ["dynamodb"]);
        assert!(kept[0].reason.contains("allowed until 2026-12-06"), "{}", kept[0].reason);
        assert!(in_grace(&entity, &ages, 0, NOW).is_empty());
        assert!(in_grace(&entity, &ages, 1, NOW).is_empty());
        let widened = with_grace(&entity, &kept);
        let dynamodb = widened.services.iter().find(|s| s.namespace.as_ref() == "dynamodb");
        assert_eq!(dynamodb.unwrap().state, ServiceState::Used);
    }
}
