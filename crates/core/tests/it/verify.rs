//! The verifier `apply` runs before its first write: an unedited plan passes, every edit of a
//! change is refused, naming the entity and the field.

use iamsweep_core::effect::BoundaryEffect;
use iamsweep_core::guardrails::{Skip, SkipScope};
use iamsweep_core::model::{EntityKind, EntityRecord};
use iamsweep_core::plan::{
    BoundaryChange, EntityPlan, LivePolicy, LiveState, LiveVersion, Outcome, Plan, Preconditions,
    TagChange,
};
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::verify::{Checks, Finding, check_caller, verify_plan};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::plan::{account, settings};
use crate::support::*;

const CALLER: &str = "arn:aws:sts::123456789012:assumed-role/iamsweep-runner/cli";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const ALLOW_ALL: &str =
    r#"{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#;

fn checks(now: OffsetDateTime) -> Checks<'static> {
    Checks { now, max_age: Duration::hours(24), account_id: ACCOUNT, caller_arn: CALLER }
}

/// The findings of `plan` read back from its JSON, as `apply --plan` reads it.
fn findings(plan: &Plan) -> Vec<Finding> {
    let read = Plan::from_json(&plan.to_json()).expect("an edited plan still parses");
    verify_plan(&read, &checks(NOW)).err().map(|refused| refused.0).unwrap_or_default()
}

/// A reviewed plan: `alice` rotates a version of her existing boundary at five versions.
fn reviewed() -> Plan {
    let mut snapshot = account();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/user-alice");
    snapshot.entities[0].permissions_boundary = Some(arn.clone());
    let mut live = LiveState::default();
    live.policies.insert(
        arn,
        LivePolicy {
            default_version_id: "v12".into(),
            default_document: "{\"Statement\":[],\"Version\":\"2012-10-17\"}".into(),
            // Created in the same second: the numeric id decides.
            versions: (8..=12)
                .map(|n| LiveVersion {
                    version_id: format!("v{n}"),
                    is_default: n == 12,
                    created: NOW,
                })
                .collect(),
        },
    );
    plan(&snapshot, &live, &settings())
}

fn entity<'a>(plan: &'a mut Plan, name: &str) -> &'a mut EntityPlan {
    plan.entities.iter_mut().find(|entity| entity.name == name).unwrap()
}

#[track_caller]
fn assert_refused(plan: &Plan, arn_part: &str, field: &str) {
    let found = findings(plan);
    assert!(
        found.iter().any(|finding| finding.field == field
            && finding.entity.as_deref().unwrap_or("").contains(arn_part)),
        "expected a finding on `{arn_part}` field `{field}`, got {found:#?}"
    );
}

#[test]
fn an_unedited_plan_passes_and_records_what_it_was_decided_from() {
    let plan = reviewed();
    assert_eq!(findings(&plan), Vec::new());
    let alice = plan.entities.iter().find(|entity| entity.name == "alice").unwrap();
    assert_eq!(alice.boundary.as_ref().unwrap().delete_version.as_deref(), Some("v8"));
    // Facts for every change, and only for changes.
    assert_eq!(plan.facts.entities.len(), plan.summary.change);
    assert!(plan.facts.entities.iter().all(|facts| facts.record.services.is_empty()));
}

#[test]
fn an_edited_boundary_is_refused_naming_entity_and_field() {
    let mut plan = reviewed();
    entity(&mut plan, "idle").boundary.as_mut().unwrap().policy_arn = ADMIN.into();
    assert_refused(&plan, "role/idle", "boundary.policy_arn");

    let mut plan = reviewed();
    entity(&mut plan, "idle").boundary.as_mut().unwrap().document = ALLOW_ALL.into();
    assert_refused(&plan, "role/idle", "boundary.document");

    let mut plan = reviewed();
    entity(&mut plan, "idle").boundary.as_mut().unwrap().document = "Allow everything".into();
    let found = findings(&plan);
    // Written to the file as a string, read back as one: a document is a JSON object.
    assert!(found[0].message.contains("is JSON but not an object"), "{found:#?}");

    let mut plan = reviewed();
    entity(&mut plan, "alice").boundary.as_mut().unwrap().delete_version = Some("v10".into());
    assert_refused(&plan, "user/alice", "boundary.delete_version");
}

#[test]
fn reserved_or_edited_tags_are_refused() {
    let mut plan = reviewed();
    let tags = entity(&mut plan, "idle").tags.as_mut().unwrap();
    tags.set.insert("aws:cloudformation:stack-name".into(), "x".into());
    tags.previous.insert("aws:cloudformation:stack-name".into(), None);
    assert_refused(&plan, "role/idle", "tags.set.aws:cloudformation:stack-name");
    let found = findings(&plan);
    assert!(found.iter().any(|finding| finding.message.contains("`aws:`")), "{found:#?}");

    let mut plan = reviewed();
    let tags = entity(&mut plan, "idle").tags.as_mut().unwrap();
    tags.set.insert("Permissions_Used".into(), "0".into());
    tags.set.insert("Permissions_Used".into(), "99".into());
    assert_refused(&plan, "role/idle", "tags.set.Permissions_Used");
}

#[test]
fn a_twice_listed_entity_and_a_change_without_facts_are_refused() {
    let mut plan = reviewed();
    let idle = plan.entities.iter().find(|entity| entity.name == "idle").unwrap().clone();
    plan.entities.push(idle);
    plan.summary = iamsweep_core::plan::summarize(&plan.entities);
    let found = findings(&plan);
    assert!(
        found.iter().any(|f| f.field.ends_with("].arn") && f.message.contains("listed twice")),
        "{found:#?}"
    );

    // A skipped entity turned into a change: no facts were recorded for it.
    let mut plan = reviewed();
    let young = entity(&mut plan, "young");
    young.outcome = Outcome::Change;
    young.skips.clear();
    young.boundary = Some(BoundaryChange {
        policy_name: "role-young".into(),
        policy_arn: format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/role-young"),
        path: "/iamsweep/".into(),
        document: ALLOW_ALL.into(),
        create_policy: true,
        create_version: false,
        delete_version: None,
        attach: true,
        preconditions: Preconditions { boundary_arn: None, default_version_id: None },
        effect: made_up_effect(),
    });
    plan.summary = iamsweep_core::plan::summarize(&plan.entities);
    assert_refused(&plan, "role/young", "outcome");
}

#[test]
fn times_in_the_future_and_old_snapshots_are_refused_with_five_minutes_of_skew() {
    let plan = reviewed();
    // Four minutes ahead: clock skew, accepted.
    assert!(verify_plan(&plan, &checks(NOW - Duration::minutes(4))).is_ok());
    let mut future = plan.clone();
    future.created_at = NOW + Duration::days(400);
    future.snapshot_collected_at = NOW + Duration::days(400);
    let refused = verify_plan(&future, &checks(NOW)).unwrap_err();
    let text = refused.to_string();
    assert!(text.contains("400 days in the future") && text.contains("created_at"), "{text}");
    // Only the snapshot dated ahead of the plan.
    let mut ahead = plan.clone();
    ahead.snapshot_collected_at = NOW + Duration::hours(1);
    let text = verify_plan(&ahead, &checks(NOW + Duration::hours(2))).unwrap_err().to_string();
    assert!(text.contains("is after the plan's `created_at`"), "{text}");
    let text = verify_plan(&plan, &checks(NOW + Duration::hours(25))).unwrap_err().to_string();
    assert!(text.contains("25 hours ago"), "{text}");
}

#[test]
fn the_caller_and_another_account_are_refused() {
    let plan = reviewed();
    let other = Checks { account_id: "999999999999", ..checks(NOW) };
    let text = verify_plan(&plan, &other).unwrap_err().to_string();
    assert!(text.contains("field `account_id`"), "{text}");
    // Applied by `idle` itself (an assumed-role session of it): refused, naming it.
    let finding =
        check_caller(&plan, ACCOUNT, "arn:aws:sts::123456789012:assumed-role/idle/s").unwrap();
    assert!(finding.entity.unwrap().ends_with("role/idle"));
    assert!(check_caller(&plan, ACCOUNT, "arn:aws:iam::123456789012:user/nobody").is_none());
}

#[test]
fn edited_settings_that_the_rules_would_refuse_are_refused() {
    let mut plan = reviewed();
    plan.facts.settings.tags.keys.used = "aws:used".into();
    let found = findings(&plan);
    assert!(found.iter().any(|f| f.field == "facts.settings.tags.keys.used"), "{found:#?}");
    let mut plan = reviewed();
    plan.facts.settings.window_days = 3;
    let found = findings(&plan);
    assert!(found.iter().any(|f| f.field == "window_days"), "{found:#?}");
}

/// Changes one field of `entity`, always to a different value; `choice` picks the field.
/// An effect that claims the boundary keeps every service and removes none.
fn made_up_effect() -> BoundaryEffect {
    BoundaryEffect {
        keeps: Vec::new(),
        removes: Vec::new(),
        base_actions: Vec::new(),
        base_actions_only: false,
    }
}

/// Edits of a boundary document as the JSON value the plan file holds (choices 24 and up of
/// the property below): what a person editing the file by hand would do.
fn mutate_document(document: &mut Value, choice: u8) {
    let statements = document["Statement"].as_array_mut().expect("a document has statements");
    match choice {
        // Grant one more action in the first statement.
        24 => match &mut statements[0]["Action"] {
            Value::Array(actions) => actions.push("iam:*".into()),
            action => *action = json!([action.clone(), "iam:*"]),
        },
        // Turn the last statement (a Deny) into an Allow.
        25 => {
            let last = statements.last_mut().unwrap();
            last["Effect"] = if last["Effect"] == "Deny" { "Allow" } else { "Deny" }.into();
        }
        // Drop a protective statement.
        26 => {
            statements.pop();
        }
        // The same statements in another order: still not the document the rules give.
        27 if statements.len() > 1 => statements.reverse(),
        // A condition the rules never write.
        28 => statements[0]["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}}),
        // The document as an escaped string, as plans before v3 held it.
        29 => *document = Value::String(document.to_string()),
        _ => document["Version"] = "2008-10-17".into(),
    }
}

fn mutate(entity: &mut EntityPlan, choice: u8) {
    let made_up_tags = || TagChange {
        set: [("Edited".to_string(), "x".to_string())].into(),
        previous: [("Edited".to_string(), None)].into(),
    };
    let made_up_boundary = || BoundaryChange {
        policy_name: "role-x".into(),
        policy_arn: ADMIN.into(),
        path: "/".into(),
        document: ALLOW_ALL.into(),
        create_policy: false,
        create_version: false,
        delete_version: None,
        attach: true,
        preconditions: Preconditions { boundary_arn: None, default_version_id: None },
        effect: made_up_effect(),
    };
    match (choice, &mut entity.tags, &mut entity.boundary) {
        (0, _, _) => entity.arn.push('x'),
        (1, _, _) => {
            entity.kind =
                if entity.kind == EntityKind::Role { EntityKind::User } else { EntityKind::Role }
        }
        (2, _, _) => entity.name.push('x'),
        (3, _, _) => entity.outcome = Outcome::Skipped,
        (4, _, _) => entity.outcome = Outcome::Unchanged,
        (5, _, _) => {
            if entity.skips.is_empty() {
                entity.skips.push(Skip { scope: SkipScope::Tags, reason: "edited".into() });
            } else {
                entity.skips.remove(0);
            }
        }
        (6, Some(tags), _) => tags.set.values_mut().next().unwrap().push('x'),
        (7, Some(tags), _) => {
            tags.set.insert("Edited".into(), "x".into());
            tags.previous.insert("Edited".into(), None);
        }
        (8, Some(tags), _) => {
            let key = tags.set.keys().next().unwrap().clone();
            tags.set.remove(&key);
            tags.previous.remove(&key);
        }
        (9, Some(tags), _) => {
            let value = tags.previous.values_mut().next().unwrap();
            *value = Some(value.take().unwrap_or_default() + "x");
        }
        (10, tags @ Some(_), _) => *tags = None,
        (6..=10, tags @ None, _) => *tags = Some(made_up_tags()),
        (11, _, boundary @ Some(_)) => *boundary = None,
        (12, _, Some(change)) => change.policy_arn = ADMIN.into(),
        (13, _, Some(change)) => change.policy_name.push('x'),
        (14, _, Some(change)) => change.path = "/other/".into(),
        (15, _, Some(change)) => change.document = ALLOW_ALL.into(),
        (16, _, Some(change)) => change.create_policy = !change.create_policy,
        (17, _, Some(change)) => change.create_version = !change.create_version,
        (18, _, Some(change)) => {
            change.delete_version = match &change.delete_version {
                Some(_) => None,
                None => Some("v1".into()),
            }
        }
        (19, _, Some(change)) => change.attach = !change.attach,
        (20, _, Some(change)) => {
            let seen = &mut change.preconditions.boundary_arn;
            *seen = match seen {
                Some(_) => None,
                None => Some(format!("arn:aws:iam::{ACCOUNT}:policy/Other")),
            }
        }
        (21, _, Some(change)) => {
            let seen = &mut change.preconditions.default_version_id;
            *seen = Some(seen.take().unwrap_or_default() + "0");
        }
        // The effect the reviewer reads, made milder than the document.
        (22, _, Some(change)) => match change.effect.removes.pop() {
            Some(removed) => change.effect.keeps.push(removed),
            None => change.effect.base_actions_only = !change.effect.base_actions_only,
        },
        (23, _, Some(change)) => {
            change.effect.base_actions_only = !change.effect.base_actions_only;
            change.effect.base_actions.clear();
        }
        (_, _, boundary) => *boundary = Some(made_up_boundary()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// For any plan that `plan` produced, any single-field change of a change is refused.
    #[test]
    fn any_single_field_edit_of_a_change_is_refused(
        entities in prop::collection::vec(
            (
                prop::collection::vec(("[a-z]{1,5}", prop::option::of(0i64..400)), 0..6),
                prop::collection::btree_map("[A-Za-z_]{1,12}", "[a-z0-9 ]{0,6}", 0..4),
                0u8..3,
                any::<bool>(),
            ),
            1..5,
        ),
        live_versions in prop::option::of(1u32..=5),
        pick in any::<prop::sample::Index>(),
        choice in 0u8..30,
    ) {
        let mut records: Vec<EntityRecord> = Vec::new();
        for (index, (services, tags, boundary, is_role)) in entities.into_iter().enumerate() {
            let kind = if is_role { EntityKind::Role } else { EntityKind::User };
            let mut record = crate::support::entity(kind, &format!("entity{index}"));
            let mut seen = std::collections::BTreeSet::new();
            record.services = services
                .into_iter()
                .filter(|(namespace, _)| seen.insert(namespace.clone()))
                .map(|(namespace, days)| service(&namespace, days))
                .collect();
            record.tags = tags;
            let own = format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/{}-entity{index}", kind.as_str());
            record.permissions_boundary = match boundary {
                0 => None,
                1 => Some(own),
                _ => Some(format!("arn:aws:iam::{ACCOUNT}:policy/Theirs")),
            };
            records.push(record);
        }
        let snapshot = snapshot(records);
        let mut live = LiveState::default();
        if let Some(count) = live_versions {
            for record in &snapshot.entities {
                live.policies.insert(
                    format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/{}-{}", record.kind.as_str(), record.name),
                    LivePolicy {
                        default_version_id: format!("v{count}"),
                        default_document: "{\"Statement\":[],\"Version\":\"2012-10-17\"}".into(),
                        versions: (1..=count).map(|i| LiveVersion {
                            version_id: format!("v{i}"),
                            is_default: i == count,
                            created: NOW,
                        }).collect(),
                    },
                );
            }
        }
        let mut settings = EnforceSettings::defaults(WINDOW);
        settings.boundary.base_actions = vec!["sts:GetCallerIdentity".into()];
        let produced = plan(&snapshot, &live, &settings);
        prop_assert_eq!(findings(&produced), Vec::new(), "an unedited plan passes");
        let changes: Vec<usize> = produced
            .entities
            .iter()
            .enumerate()
            .filter(|(_, entity)| entity.outcome == Outcome::Change)
            .map(|(index, _)| index)
            .collect();
        prop_assume!(!changes.is_empty());
        if choice >= 24 {
            // Edit the document as the JSON value in the file, then read the file as `apply`.
            let bounded: Vec<usize> = changes
                .iter()
                .copied()
                .filter(|index| produced.entities[*index].boundary.is_some())
                .collect();
            prop_assume!(!bounded.is_empty());
            let index = bounded[pick.index(bounded.len())];
            let mut file: Value = serde_json::from_str(&produced.to_json()).unwrap();
            mutate_document(&mut file["entities"][index]["boundary"]["document"], choice);
            let read = Plan::from_json(&serde_json::to_string_pretty(&file).unwrap())
                .expect("an edited plan still parses");
            prop_assert_ne!(&read, &produced);
            let found = verify_plan(&read, &checks(NOW)).err().map(|r| r.0).unwrap_or_default();
            prop_assert!(
                found.iter().any(|finding| finding.field == "boundary.document"),
                "document edit {} of {} passed: {:#?}", choice, produced.entities[index].arn, found
            );
            return Ok(());
        }
        let mut edited = produced.clone();
        let index = changes[pick.index(changes.len())];
        mutate(&mut edited.entities[index], choice);
        prop_assume!(edited != produced);
        let found = findings(&edited);
        prop_assert!(!found.is_empty(), "edit {} of {} passed", choice, edited.entities[index].arn);
    }
}
