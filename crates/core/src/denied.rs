//! Denied since bounded: the one decision, shared by [`crate::heal`] and the audit
//! ([`crate::analysis`]), that a bounded entity tried a service its iamsweep boundary removed.
//!
//! Access Advisor ignores permissions boundaries and counts denied attempts: a user or role
//! bounded by one of iamsweep's boundaries whose `LastAuthenticated` for a service outside that
//! boundary is at or after the moment the boundary took effect was denied that service by
//! iamsweep. [`denied_since_bounded`] decides it, given what the boundary allows and when it
//! took effect; the callers differ only in how they know that moment:
//!
//! - `heal` writes, so it is strict: the later of the journal entry that attached the boundary
//!   and the creation of the boundary policy's default version ([`crate::heal::bounded_at`]);
//!   without a journal entry it does nothing.
//! - the audit has no journal: it uses the default version's creation date, recorded in the
//!   snapshot ([`EntityRecord::bounded_since`], filled by [`record_boundary`]), that is when the
//!   current document started to apply. An attempt made after that version was created but
//!   before the policy was attached (say, a rollback, then a new `apply` of the same document)
//!   is marked by the audit and not healed.

use std::collections::BTreeSet;

use serde_json::Value;
use time::OffsetDateTime;

use crate::boundary::is_own_boundary;
use crate::model::{EntityKind, EntityRecord, ServiceRecord, Status};
use crate::plan::LiveState;

/// One service a bounded entity tried and was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The namespace, such as `dynamodb`.
    pub namespace: String,
    /// The last (denied) attempt, as Access Advisor reports it.
    pub last_attempt: OffsetDateTime,
}

/// The namespaces a boundary document allows at least one action of (`*` allows all),
/// lowercase. A document that is not JSON allows nothing that can be read.
pub fn allowed_namespaces(document: &str) -> BTreeSet<String> {
    let mut namespaces = BTreeSet::new();
    let Ok(value) = serde_json::from_str::<Value>(document) else { return namespaces };
    let statements = match &value["Statement"] {
        Value::Array(many) => many.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        let actions = match &statement["Action"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for action in actions {
            match action.split_once(':') {
                Some((namespace, _)) => namespaces.insert(namespace.to_ascii_lowercase()),
                None if action == "*" => namespaces.insert("*".to_string()),
                None => false,
            };
        }
    }
    namespaces
}

/// Whether `namespace` is inside a boundary allowing `allowed`.
pub fn inside(allowed: &BTreeSet<String>, namespace: &str) -> bool {
    allowed.contains("*") || allowed.contains(&namespace.to_ascii_lowercase())
}

/// The ARN of `record`'s boundary when it is a user or role bounded by one of iamsweep's own
/// boundaries (in `account_id`, under `path`, named for a role or user): the only entities
/// iamsweep can have denied anything. A group has no boundary; a boundary someone else wrote,
/// or one under iamsweep's path in another account, is not iamsweep's doing.
pub fn own_boundary<'a>(record: &'a EntityRecord, account_id: &str, path: &str) -> Option<&'a str> {
    let boundary = record.permissions_boundary.as_deref()?;
    (record.kind != EntityKind::Group && is_own_boundary(boundary, account_id, path))
        .then_some(boundary)
}

/// The services `services` tried (a `LastAuthenticated` at any time) outside a boundary
/// allowing `allowed`, in input order.
pub fn tried_outside(services: &[ServiceRecord], allowed: &BTreeSet<String>) -> Vec<Denial> {
    services
        .iter()
        .filter(|service| !inside(allowed, &service.namespace))
        .filter_map(|service| {
            Some(Denial {
                namespace: service.namespace.to_string(),
                last_attempt: service.last_authenticated?,
            })
        })
        .collect()
}

/// The services of `services` denied since a boundary allowing `allowed` took effect at
/// `since`: outside the boundary, last tried at or after `since`, in input order.
///
/// Access Advisor dates are whole seconds: an attempt in the second the boundary took effect
/// counts as denied, which errs towards giving back (heal) and towards telling (the audit).
pub fn denied_since_bounded(
    services: &[ServiceRecord],
    allowed: &BTreeSet<String>,
    since: OffsetDateTime,
) -> Vec<Denial> {
    let since = since.replace_nanosecond(0).unwrap_or(since);
    tried_outside(services, allowed)
        .into_iter()
        .filter(|denial| denial.last_attempt >= since)
        .collect()
}

/// Records in `record` what its boundary allows and since when
/// ([`EntityRecord::boundary_allows`], [`EntityRecord::bounded_since`]), when it is one of
/// iamsweep's own boundaries (see [`own_boundary`]) found in `live`; clears both otherwise, so a
/// snapshot never carries these facts about a boundary that is not iamsweep's.
pub fn record_boundary(record: &mut EntityRecord, account_id: &str, path: &str, live: &LiveState) {
    let policy = own_boundary(record, account_id, path).and_then(|arn| live.policies.get(arn));
    let facts = policy.map(|policy| {
        let since = policy
            .versions
            .iter()
            .find(|version| version.is_default)
            .map(|version| version.created);
        (allowed_namespaces(&policy.default_document).into_iter().collect(), since)
    });
    (record.boundary_allows, record.bounded_since) = match facts {
        Some((allows, Some(since))) => (Some(allows), Some(since)),
        _ => (None, None),
    };
}

/// The audit's view: the services of a collected `record` denied since its boundary took
/// effect, from the facts its snapshot recorded, when that boundary is one of iamsweep's under
/// `path` in the entity's own account. Empty when the snapshot recorded no such facts (older
/// snapshots, boundaries that are not iamsweep's).
pub fn recorded_denials(record: &EntityRecord, path: &str) -> Vec<Denial> {
    let account_id = record.arn.split(':').nth(4).unwrap_or_default();
    let (Some(allows), Some(since)) = (&record.boundary_allows, record.bounded_since) else {
        return Vec::new();
    };
    if record.status != Status::Ok || own_boundary(record, account_id, path).is_none() {
        return Vec::new();
    }
    let allowed: BTreeSet<String> = allows.iter().map(|ns| ns.to_ascii_lowercase()).collect();
    denied_since_bounded(&record.services, &allowed, since)
}

/// The reason line of one denial in the audit report.
pub fn reason(denial: &Denial) -> String {
    let at = denial
        .last_attempt
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "{} denied since bounded (last attempt {at}): `iamsweep heal --apply` restores it",
        denial.namespace
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::plan::{LivePolicy, LiveVersion};

    const ACCOUNT: &str = "123456789012";
    const PATH: &str = "/iamsweep/";
    const SINCE: OffsetDateTime = datetime!(2026-11-20 12:00 UTC);
    const OWN: &str = "arn:aws:iam::123456789012:policy/iamsweep/role-app";
    const S3_ONLY: &str = r#"{"Statement":[{"Action":["s3:*"],"Effect":"Allow","Resource":["*"],"Sid":"AllowUsedServices"}],"Version":"2012-10-17"}"#;

    fn service(namespace: &str, last: Option<OffsetDateTime>) -> ServiceRecord {
        let mut service = ServiceRecord::new(namespace, namespace);
        service.last_authenticated = last;
        service
    }

    fn role(boundary: Option<&str>) -> EntityRecord {
        let mut record =
            EntityRecord::new(EntityKind::Role, "arn:aws:iam::123456789012:role/app", "app");
        record.permissions_boundary = boundary.map(str::to_string);
        record.services = vec![
            service("s3", Some(SINCE + Duration::days(1))),
            service("dynamodb", Some(SINCE + Duration::hours(2))),
            service("sqs", Some(SINCE - Duration::seconds(1))),
            service("ec2", None),
        ];
        record
    }

    fn live(arn: &str, document: &str) -> LiveState {
        let versions = vec![
            LiveVersion {
                version_id: "v1".into(),
                is_default: false,
                created: SINCE - Duration::days(9),
            },
            LiveVersion { version_id: "v2".into(), is_default: true, created: SINCE },
        ];
        let policy = LivePolicy {
            default_version_id: "v2".into(),
            default_document: document.into(),
            versions,
        };
        LiveState { policies: BTreeMap::from([(arn.to_string(), policy)]) }
    }

    fn namespaces(denials: &[Denial]) -> Vec<&str> {
        denials.iter().map(|denial| denial.namespace.as_str()).collect()
    }

    #[test]
    fn only_services_outside_the_boundary_tried_since_it_took_effect_are_denied() {
        let record = role(Some(OWN));
        let allowed = allowed_namespaces(S3_ONLY);
        // s3 is inside; sqs was tried a second before; ec2 never.
        assert_eq!(
            namespaces(&denied_since_bounded(&record.services, &allowed, SINCE)),
            ["dynamodb"]
        );
        // The second the boundary took effect counts (Access Advisor has whole seconds).
        let late = SINCE + Duration::hours(2) + Duration::milliseconds(500);
        assert_eq!(
            namespaces(&denied_since_bounded(&record.services, &allowed, late)),
            ["dynamodb"]
        );
        let after = SINCE + Duration::hours(3);
        assert!(denied_since_bounded(&record.services, &allowed, after).is_empty());
        // Everything tried outside, whenever: what heal names when it cannot date the boundary.
        assert_eq!(namespaces(&tried_outside(&record.services, &allowed)), ["dynamodb", "sqs"]);
    }

    #[test]
    fn a_boundary_allowing_everything_denies_nothing() {
        let record = role(Some(OWN));
        let star = r#"{"Statement":{"Action":"*","Effect":"Allow","Resource":"*"},"Version":"2012-10-17"}"#;
        assert!(
            denied_since_bounded(&record.services, &allowed_namespaces(star), SINCE).is_empty()
        );
        // Deny statements allow nothing; a namespace is matched whatever its case.
        let mixed = r#"{"Statement":[{"Action":"DynamoDB:GetItem","Effect":"Allow"},{"Action":"sqs:*","Effect":"Deny"}]}"#;
        assert_eq!(allowed_namespaces(mixed).into_iter().collect::<Vec<_>>(), ["dynamodb"]);
        assert!(allowed_namespaces("not json").is_empty());
    }

    #[test]
    fn the_snapshot_records_facts_only_for_iamsweeps_own_boundaries() {
        let mut record = role(Some(OWN));
        record_boundary(&mut record, ACCOUNT, PATH, &live(OWN, S3_ONLY));
        assert_eq!(record.boundary_allows.as_deref(), Some(&["s3".to_string()][..]));
        // The default version's date, not the older version's.
        assert_eq!(record.bounded_since, Some(SINCE));
        assert_eq!(namespaces(&recorded_denials(&record, PATH)), ["dynamodb"]);
        assert_eq!(
            reason(&recorded_denials(&record, PATH)[0]),
            "dynamodb denied since bounded (last attempt 2026-11-20T14:00:00Z): \
             `iamsweep heal --apply` restores it"
        );
        // A policy missing from the live state: facts cleared, not kept from before.
        record_boundary(&mut record, ACCOUNT, PATH, &LiveState::default());
        assert_eq!((record.boundary_allows.clone(), record.bounded_since), (None, None));
        // Someone else's boundary, even if the live state has it.
        let foreign = "arn:aws:iam::123456789012:policy/team/Fence";
        let mut record = role(Some(foreign));
        record_boundary(&mut record, ACCOUNT, PATH, &live(foreign, S3_ONLY));
        assert_eq!(record.boundary_allows, None);
    }

    #[test]
    fn hostile_snapshot_facts_never_mark_a_boundary_that_is_not_iamsweeps() {
        let with_facts = |boundary: &str| {
            let mut record = role(Some(boundary));
            record.boundary_allows = Some(vec!["s3".into()]);
            record.bounded_since = Some(SINCE);
            record
        };
        assert_eq!(namespaces(&recorded_denials(&with_facts(OWN), PATH)), ["dynamodb"]);
        // Under iamsweep's path, but in another account.
        let elsewhere = "arn:aws:iam::999999999999:policy/iamsweep/role-app";
        assert!(recorded_denials(&with_facts(elsewhere), PATH).is_empty());
        // Not iamsweep's: another path, or not named for a role or user.
        assert!(
            recorded_denials(&with_facts("arn:aws:iam::123456789012:policy/Fence"), PATH)
                .is_empty()
        );
        let odd = "arn:aws:iam::123456789012:policy/iamsweep/Fence";
        assert!(recorded_denials(&with_facts(odd), PATH).is_empty());
        // Another configured path: the default one is not iamsweep's any more.
        assert!(recorded_denials(&with_facts(OWN), "/guard/").is_empty());
        // A group never carries a boundary iamsweep wrote.
        let mut group = with_facts(OWN);
        group.kind = EntityKind::Group;
        assert!(recorded_denials(&group, PATH).is_empty());
        // No boundary at all, or facts without a date.
        let mut bare = with_facts(OWN);
        bare.permissions_boundary = None;
        assert!(recorded_denials(&bare, PATH).is_empty());
        let mut undated = with_facts(OWN);
        undated.bounded_since = None;
        assert!(recorded_denials(&undated, PATH).is_empty());
        // Data that could not be collected says nothing.
        let mut failed = with_facts(OWN);
        failed.status = Status::Error;
        assert!(recorded_denials(&failed, PATH).is_empty());
    }
}
