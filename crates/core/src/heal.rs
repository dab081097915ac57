//! Healing: a bounded entity that tries a service its boundary removed gets it back at once.
//!
//! Access Advisor ignores boundaries and counts denied attempts: when an entity with an
//! iamsweep boundary shows a `LastAuthenticated` for a service outside that boundary, later
//! than when the boundary was set, the attempt was denied by iamsweep. [`decide`] widens that
//! boundary to allow the service (never narrowing anything: the live document with
//! `NAMESPACE:*` added), as an ordinary plan entry, so the applier journals it before writing
//! and `rollback` undoes it like any change.
//!
//! When the boundary was set is the later of the newest journal entry that changed the
//! entity's boundary to the policy it has now, and the creation of that policy's default
//! version. Without a journal entry it is unknown, and the entity is left alone, saying so:
//! an attempt before the boundary was no denial. Whether a service was denied is decided by
//! [`crate::denied::denied_since_bounded`], the function the audit report's `denied since
//! bounded` mark uses too (the audit, without a journal, dates the boundary by its default
//! version alone).

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::boundary::canonicalize;
pub use crate::denied::allowed_namespaces;
use crate::denied::{Denial, denied_since_bounded, inside, own_boundary, tried_outside};
use crate::effect::{BoundaryEffect, EffectService};
use crate::guardrails::{Caller, SkipScope, entity_skips};
use crate::journal::JournalEntry;
use crate::model::{EntityKind, EntityRecord, Status};
use crate::plan::{
    BoundaryChange, EntityPlan, LivePolicy, LiveState, Outcome, PLAN_SCHEMA, Plan, PlanFacts,
    Preconditions, summarize,
};
use crate::policy_document::validate_managed_policy;
use crate::policy_versions::version_to_delete;
use crate::report::ServiceState;
use crate::settings::EnforceSettings;
use crate::snapshot::Snapshot;

/// One service given back to one entity: a [`Denial`], decided by [`crate::denied`].
pub type Restored = Denial;

/// What healing decided for one bounded entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healing {
    /// The entity's ARN.
    pub arn: String,
    /// User or role.
    pub kind: EntityKind,
    /// The entity's name.
    pub name: String,
    /// What it is given back (empty: nothing was denied since it was bounded).
    pub restored: Vec<Restored>,
    /// Why it is left alone although it may have been denied, when it is.
    pub unknown: Option<String>,
}

impl Healing {
    /// The report lines, such as "restored dynamodb to role app: denied since bounded, last
    /// attempt 2026-11-23T12:00:00Z" (`verb`: `restored`, or `would restore` in a dry run).
    pub fn lines(&self, verb: &str) -> Vec<String> {
        self.restored
            .iter()
            .map(|service| {
                let at = service
                    .last_attempt
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                format!(
                    "{verb} {} to {} {}: denied since bounded, last attempt {at}",
                    service.namespace, self.kind, self.name
                )
            })
            .collect()
    }
}

/// `document` also allowing every action of `namespaces`, canonical, or why it cannot be.
pub fn widen(document: &str, namespaces: &[String]) -> Result<String, String> {
    let mut value: Value = serde_json::from_str(document)
        .map_err(|error| format!("its boundary document is not JSON: {error}"))?;
    let statements = value
        .get_mut("Statement")
        .and_then(Value::as_array_mut)
        .ok_or("its boundary document has no statement list")?;
    let added: Vec<Value> = namespaces.iter().map(|ns| json!(format!("{ns}:*"))).collect();
    match statements.iter_mut().find(|s| s["Sid"] == "AllowUsedServices" && s["Effect"] == "Allow")
    {
        Some(statement) => {
            let mut actions = match statement["Action"].take() {
                Value::Array(many) => many,
                Value::String(one) => vec![json!(one)],
                _ => Vec::new(),
            };
            actions.extend(added);
            statement["Action"] = Value::Array(actions);
        }
        // An entity that used nothing has only its base actions: the used services' statement
        // comes first, as the boundary synthesis orders it.
        None => statements.insert(
            0,
            json!({"Sid": "AllowUsedServices", "Effect": "Allow", "Action": added, "Resource": ["*"]}),
        ),
    }
    let text = canonicalize(&value.to_string()).map_err(|error| error.to_string())?;
    validate_managed_policy(&text).map_err(|reason| format!("the widened boundary {reason}"))?;
    Ok(text)
}

/// When the entity's current boundary was set, as far as the journal and IAM tell: `None` when
/// the journal has no entry for it.
pub fn bounded_at(
    record: &EntityRecord,
    journal: &[JournalEntry],
    live: Option<&LivePolicy>,
) -> Option<OffsetDateTime> {
    let current = record.permissions_boundary.as_deref()?;
    let journaled = journal
        .iter()
        .filter(|entry| entry.arn.eq_ignore_ascii_case(&record.arn))
        .filter(|entry| entry.boundary_changed && entry.policy_arn.as_deref() == Some(current))
        .map(|entry| entry.time)
        .max()?;
    let version = live.and_then(|policy| {
        policy.versions.iter().find(|version| version.is_default).map(|version| version.created)
    });
    Some(version.map_or(journaled, |version| version.max(journaled)))
}

/// Decides healing for every user and role of `snapshot` bounded by one of iamsweep's
/// boundaries: what each is given back, as report entries, and the plan that does it (only
/// new versions of their boundary policies, each one wider than the last).
pub fn decide(
    snapshot: &Snapshot,
    live: &LiveState,
    journal: &[JournalEntry],
    settings: &EnforceSettings,
    now: OffsetDateTime,
) -> (Vec<Healing>, Plan) {
    let path = &settings.boundary.path;
    let caller = snapshot.caller_arn.as_deref().and_then(Caller::parse);
    let mut healings = Vec::new();
    let mut entities = Vec::new();
    for record in &snapshot.entities {
        let Some(current) = own_boundary(record, &snapshot.account_id, path) else { continue };
        if record.status != Status::Ok {
            continue;
        }
        let Some(policy) = live.policies.get(current) else { continue };
        // What the guardrails keep iamsweep's hands off (an exclusion added since it was
        // bounded, the caller), healing leaves alone too: it is a write like any other.
        let skips = entity_skips(record, &snapshot.account_id, caller.as_ref(), settings, now);
        if skips.iter().any(|skip| matches!(skip.scope, SkipScope::Entity | SkipScope::Boundary)) {
            continue;
        }
        let mut healing = Healing {
            arn: record.arn.clone(),
            kind: record.kind,
            name: record.name.clone(),
            restored: Vec::new(),
            unknown: None,
        };
        let allowed = allowed_namespaces(&policy.default_document);
        let outside = tried_outside(&record.services, &allowed);
        if outside.is_empty() {
            healings.push(healing);
            continue;
        }
        let Some(since) = bounded_at(record, journal, Some(policy)) else {
            healing.unknown = Some(format!(
                "not healed: when its boundary was attached is unknown (no journal entry for it); \
                 services tried outside it: {}",
                outside
                    .iter()
                    .map(|denial| denial.namespace.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            healings.push(healing);
            continue;
        };
        healing.restored = denied_since_bounded(&record.services, &allowed, since);
        if !healing.restored.is_empty() {
            let namespaces: Vec<String> =
                healing.restored.iter().map(|r| r.namespace.clone()).collect();
            match widen(&policy.default_document, &namespaces) {
                Ok(document) => entities.push(change(record, current, policy, document)),
                Err(reason) => {
                    healing.unknown = Some(format!("not healed: {reason}"));
                    healing.restored.clear();
                }
            }
        }
        healings.push(healing);
    }
    let plan = Plan {
        schema: PLAN_SCHEMA.to_string(),
        created_at: now,
        snapshot_collected_at: snapshot.collected_at,
        account_id: snapshot.account_id.clone(),
        caller_arn: snapshot.caller_arn.clone(),
        window_days: settings.window_days,
        summary: summarize(&entities),
        entities,
        facts: PlanFacts {
            settings: settings.clone(),
            granularity: snapshot.granularity,
            entities: Vec::new(),
        },
    };
    (healings, plan)
}

/// The plan entry writing `document` as the new default version of the entity's boundary.
fn change(
    record: &EntityRecord,
    current: &str,
    policy: &LivePolicy,
    document: String,
) -> EntityPlan {
    let (path, name) = match current.split_once(":policy") {
        Some((_, rest)) => {
            let cut = rest.rfind('/').map_or(0, |at| at + 1);
            (rest[..cut].to_string(), rest[cut..].to_string())
        }
        None => ("/".to_string(), current.to_string()),
    };
    let effect = effect_of(record, &document);
    EntityPlan {
        arn: record.arn.clone(),
        kind: record.kind,
        name: record.name.clone(),
        outcome: Outcome::Change,
        skips: Vec::new(),
        tags: None,
        boundary: Some(BoundaryChange {
            policy_name: name,
            policy_arn: current.to_string(),
            path,
            document,
            create_policy: false,
            create_version: true,
            delete_version: version_to_delete(&policy.versions),
            attach: false,
            preconditions: Preconditions {
                boundary_arn: Some(current.to_string()),
                default_version_id: Some(policy.default_version_id.clone()),
            },
            effect,
            action_level: None,
        }),
        grace: Vec::new(),
        notice: None,
        escalation_risks: Vec::new(),
    }
}

/// What the widened boundary keeps and still removes, for the reviewer (see
/// [`crate::effect`]): a granted service it allows is kept, any other removed.
fn effect_of(record: &EntityRecord, document: &str) -> BoundaryEffect {
    let allowed = allowed_namespaces(document);
    let mut effect = BoundaryEffect {
        keeps: Vec::new(),
        removes: Vec::new(),
        base_actions: Vec::new(),
        base_actions_only: false,
    };
    for service in &record.services {
        let kept = inside(&allowed, &service.namespace);
        let item = EffectService {
            namespace: service.namespace.clone(),
            name: service.name.clone(),
            state: match (kept, service.last_authenticated) {
                (true, _) => ServiceState::Used,
                (false, Some(_)) => ServiceState::Stale,
                (false, None) => ServiceState::Unused,
            },
            last_authenticated: service.last_authenticated,
        };
        if kept { effect.keeps.push(item) } else { effect.removes.push(item) }
    }
    let by_risk = |a: &EffectService, b: &EffectService| {
        crate::risk::compare_services(&a.namespace, &b.namespace)
    };
    effect.keeps.sort_by(by_risk);
    effect.removes.sort_by(by_risk);
    effect.base_actions_only = effect.keeps.is_empty();
    effect
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"Statement":[{"Action":["s3:*"],"Effect":"Allow","Resource":["*"],"Sid":"AllowUsedServices"},{"Action":["iam:PutRolePermissionsBoundary"],"Effect":"Deny","Resource":["*"],"Sid":"DenyOwnBoundaryChange"}],"Version":"2012-10-17"}"#;

    #[test]
    fn widening_only_adds_the_services_and_stays_canonical() {
        let widened = widen(DOC, &["dynamodb".to_string()]).unwrap();
        assert_eq!(widened, canonicalize(&widened).unwrap());
        assert_eq!(
            allowed_namespaces(&widened).into_iter().collect::<Vec<_>>(),
            ["dynamodb", "s3"]
        );
        assert!(widened.contains("DenyOwnBoundaryChange"));
        // Base actions only: the used services' statement is added first.
        let base = r#"{"Statement":[{"Action":["sts:GetCallerIdentity"],"Effect":"Allow","Resource":["*"],"Sid":"AllowBaseActions"}],"Version":"2012-10-17"}"#;
        let widened = widen(base, &["sqs".to_string()]).unwrap();
        assert!(widened.starts_with(r#"{"Statement":[{"Action":["sqs:*"]"#), "{widened}");
        assert!(widen("not json", &["sqs".to_string()]).is_err());
    }
}
