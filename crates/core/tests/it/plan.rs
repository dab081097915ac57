//! Scenarios of `build_plan` and the checks `apply` makes.

use iamsweep_core::boundary::canonicalize;
use iamsweep_core::error::Location;
use iamsweep_core::guardrails::SkipScope;
use iamsweep_core::model::{ActionRecord, EntityKind, Granularity, Status};
use iamsweep_core::plan::{
    EntityPlan, LivePolicy, LiveState, LiveVersion, Outcome, Plan, check_fresh, check_max_changes,
    check_preconditions,
};
use iamsweep_core::settings::EnforceSettings;
use serde_json::Value;
use time::Duration;

use crate::support::*;

fn find<'a>(plan: &'a Plan, name: &str) -> &'a EntityPlan {
    plan.entities.iter().find(|entity| entity.name == name).unwrap()
}

fn reasons(entity: &EntityPlan) -> String {
    entity.skips.iter().map(|skip| skip.reason.as_str()).collect::<Vec<_>>().join(" | ")
}

/// An account with one entity of each kind of decision (also used by `verify`).
pub fn account() -> iamsweep_core::snapshot::Snapshot {
    let mut alice = entity(EntityKind::User, "alice");
    alice.services = vec![service("s3", Some(3)), service("ec2", Some(250)), service("iam", None)];
    alice.groups = vec!["devs".into()];
    let mut idle = entity(EntityKind::Role, "idle");
    idle.services = vec![service("dynamodb", None)];
    let mut linked = entity(EntityKind::Role, "AWSServiceRoleForSupport");
    linked.path = "/aws-service-role/support.amazonaws.com/".into();
    let sso = entity(EntityKind::Role, "AWSReservedSSO_Admin_abc");
    let mut runner = entity(EntityKind::Role, "iamsweep-runner");
    runner.services = vec![service("iam", Some(1))];
    let mut devs = entity(EntityKind::Group, "devs");
    devs.services = vec![service("s3", Some(1)), service("sqs", None)];
    let mut young = entity(EntityKind::Role, "young");
    young.created = Some(NOW - Duration::days(5));
    let mut failed = entity(EntityKind::Role, "failed");
    failed.status = Status::Error;
    failed.error = Some("job FAILED: internal error".into());
    let mut foreign = entity(EntityKind::Role, "foreign");
    foreign.permissions_boundary = Some(format!("arn:aws:iam::{ACCOUNT}:policy/TeamBoundary"));
    foreign.services = vec![service("lambda", Some(2))];
    let mut crowded = entity(EntityKind::Role, "crowded");
    crowded.services = vec![service("s3", Some(2))];
    crowded.tags = (0..48).map(|i| (format!("k{i}"), "v".to_string())).collect();
    snapshot(vec![alice, idle, linked, sso, runner, devs, young, failed, foreign, crowded])
}

/// Base actions and group tags on.
pub fn settings() -> EnforceSettings {
    let mut settings = EnforceSettings::defaults(WINDOW);
    settings.boundary.base_actions = vec!["sts:GetCallerIdentity".into()];
    settings.tags.tag_group_members = true;
    settings
}

#[test]
fn a_first_plan_changes_what_it_may_and_says_why_it_skips_the_rest() {
    let snapshot = account();
    let plan = plan(&snapshot, &LiveState::default(), &settings());

    let alice = find(&plan, "alice");
    assert_eq!(alice.outcome, Outcome::Change);
    let boundary = alice.boundary.as_ref().unwrap();
    assert_eq!(boundary.policy_arn, format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/user-alice"));
    assert!(boundary.create_policy && boundary.attach && !boundary.create_version);
    let document: Value = serde_json::from_str(&boundary.document).unwrap();
    assert_eq!(document["Statement"][0]["Action"], serde_json::json!(["s3:*"]));
    assert_eq!(document["Statement"][0]["Sid"], "AllowUsedServices");
    assert!(boundary.document.contains("iam:PutUserPermissionsBoundary"));
    assert!(boundary.document.contains(&format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/*")));
    let tags = &alice.tags.as_ref().unwrap().set;
    assert_eq!(tags["Permissions_Coverage_Percent"], "33");
    assert_eq!(tags["Permissions_Granted"], "3");
    assert_eq!(tags["Permissions_Used"], "1");
    assert_eq!(tags["Permissions_Stale"], "1");
    assert_eq!(tags["Permissions_Unused"], "1");
    assert_eq!(tags["Services_Accessed"], "s3");
    assert_eq!(tags["Permissions_Audited"], "2026-11-23");
    assert_eq!(tags["iamsweep:previous-boundary"], "none");
    assert_eq!(tags["Permissions_Group_Granted"], "2");
    assert_eq!(tags["Permissions_Group_Coverage_Percent"], "50");
    assert!(alice.tags.as_ref().unwrap().previous.values().all(Option::is_none));

    // An entity that used nothing gets the base actions only.
    let idle = find(&plan, "idle").boundary.as_ref().unwrap();
    let document: Value = serde_json::from_str(&idle.document).unwrap();
    assert_eq!(document["Statement"][0]["Sid"], "AllowBaseActions");
    assert_eq!(document["Statement"][0]["Action"], serde_json::json!(["sts:GetCallerIdentity"]));

    for (name, expected) in [
        ("AWSServiceRoleForSupport", "service-linked role"),
        ("AWSReservedSSO_Admin_abc", "IAM Identity Center role"),
        ("iamsweep-runner", "principal running iamsweep"),
        ("devs", "group"),
        ("young", "created 5 days before the snapshot"),
        ("failed", "job FAILED"),
    ] {
        let entity = find(&plan, name);
        assert_eq!(entity.outcome, Outcome::Skipped, "{name}");
        assert!(reasons(entity).contains(expected), "{name}: {}", reasons(entity));
        assert!(entity.tags.is_none() && entity.boundary.is_none());
    }
    // A foreign boundary is left alone, but the summary tags are still written.
    let foreign = find(&plan, "foreign");
    assert_eq!(foreign.outcome, Outcome::Change);
    assert!(foreign.boundary.is_none() && foreign.tags.is_some());
    assert!(reasons(foreign).contains("TeamBoundary"), "{}", reasons(foreign));
    // No room for seven summary tags beside 48: only the previous-boundary record is written.
    let crowded = find(&plan, "crowded");
    assert_eq!(crowded.skips[0].scope, SkipScope::Tags);
    assert_eq!(crowded.tags.as_ref().unwrap().set.len(), 1);
    assert!(crowded.boundary.is_some());
    assert_eq!(plan.summary.restricted, 3);
}

#[test]
fn a_second_plan_after_apply_changes_nothing() {
    let mut snapshot = account();
    let mut live = LiveState::default();
    let settings = settings();
    let first = plan(&snapshot, &live, &settings);
    apply(&first, &mut snapshot, &mut live);
    let second = plan(&snapshot, &live, &settings);
    assert_eq!(second.summary.change, 0, "{}", second.to_json());
    // A day later the audit date alone does not rewrite every entity.
    snapshot.collected_at += Duration::days(1);
    let third = plan(&snapshot, &live, &settings);
    assert_eq!(third.summary.change, 0, "{}", third.to_json());
}

#[test]
fn a_changed_boundary_rotates_versions_deleting_the_oldest_non_default() {
    let mut snapshot = account();
    let settings = settings();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/user-alice");
    let version = |id: &str, days: i64, is_default| LiveVersion {
        version_id: id.into(),
        is_default,
        created: NOW - Duration::days(days),
    };
    let mut live = LiveState::default();
    live.policies.insert(
        arn.clone(),
        LivePolicy {
            default_version_id: "v2".into(),
            default_document: "{\"Statement\":[],\"Version\":\"2012-10-17\"}".into(),
            // v2 is the oldest but the default; v4 is the oldest non-default.
            versions: vec![
                version("v2", 50, true),
                version("v3", 10, false),
                version("v4", 40, false),
                version("v5", 5, false),
                version("v6", 1, false),
            ],
        },
    );
    snapshot.entities[0].permissions_boundary = Some(arn.clone());
    let plan = plan(&snapshot, &live, &settings);
    let alice = find(&plan, "alice");
    let change = alice.boundary.as_ref().unwrap();
    assert!(change.create_version && !change.create_policy && !change.attach);
    assert_eq!(change.delete_version.as_deref(), Some("v4"));
    assert_eq!(change.preconditions.default_version_id.as_deref(), Some("v2"));
    // Already bounded by iamsweep: the previous-boundary record is not overwritten.
    assert!(!alice.tags.as_ref().unwrap().set.contains_key("iamsweep:previous-boundary"));

    assert!(check_preconditions(alice, Some(&arn), Some("v2")).is_ok());
    let moved = check_preconditions(alice, Some(&arn), Some("v7")).unwrap_err();
    assert!(moved.contains("`v2`") && moved.contains("`v7`"), "{moved}");
    let detached = check_preconditions(alice, None, Some("v2")).unwrap_err();
    assert!(detached.contains("is now none"), "{detached}");
}

#[test]
fn apply_checks_refuse_large_and_old_plans() {
    let plan = plan(&account(), &LiveState::default(), &settings());
    assert!(check_max_changes(&plan, 3).is_ok());
    let error = check_max_changes(&plan, 2).unwrap_err().to_string();
    assert!(error.contains("restricts 3 entities") && error.contains("--max-changes 3"), "{error}");
    assert!(check_fresh(&plan, NOW + Duration::hours(24), Duration::hours(24)).is_ok());
    let error = check_fresh(&plan, NOW + Duration::hours(30), Duration::hours(24)).unwrap_err();
    assert!(error.to_string().contains("30 hours ago"), "{error}");
}

#[test]
fn a_plan_round_trips_through_json_and_checks_its_schema() {
    let plan = plan(&account(), &LiveState::default(), &settings());
    assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
    let error = Plan::from_json("{\"schema\":\"iamsweep.snapshot/v1\"}").unwrap_err();
    assert!(error.message.contains("iamsweep.plan/v3"), "{error}");
    // Plans of earlier schemas (v1 lacks the facts, v2 holds documents as strings): plan again.
    for older in ["iamsweep.plan/v1", "iamsweep.plan/v2"] {
        let old = plan.to_json().replace("iamsweep.plan/v3", older);
        let error = Plan::from_json(&old).unwrap_err();
        assert_eq!(error.location, Location::Field("schema".into()), "{error}");
        assert!(error.message.contains("run `iamsweep plan` again"), "{error}");
        assert!(error.message.contains(older), "{error}");
    }
}

#[test]
fn the_plan_file_holds_documents_as_json_values_and_each_boundary_effect() {
    let plan = plan(&account(), &LiveState::default(), &settings());
    let file: Value = serde_json::from_str(&plan.to_json()).unwrap();
    let changes: Vec<&Value> = file["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entity| entity["boundary"].is_object())
        .collect();
    assert!(!changes.is_empty());
    for entity in changes {
        let boundary = &entity["boundary"];
        assert!(boundary["document"].is_object(), "{boundary}");
        assert_eq!(boundary["document"]["Version"], "2012-10-17");
        assert!(boundary["effect"]["keeps"].is_array(), "{boundary}");
        assert!(boundary["effect"]["base_actions_only"].is_boolean(), "{boundary}");
    }
}

#[test]
fn action_level_data_denies_tracked_actions_unused_in_the_window() {
    let mut snapshot = account();
    snapshot.granularity = Granularity::Action;
    let action = |name: &str, days: Option<i64>| ActionRecord {
        name: name.into(),
        last_accessed: days.map(|d| NOW - Duration::days(d)),
        last_accessed_region: None,
        last_accessed_entity: None,
    };
    snapshot.entities[0].services[0].actions = Some(vec![
        action("GetBucketPolicy", Some(3)),
        action("PutBucketPolicy", Some(300)),
        action("DeleteBucket", None),
    ]);
    let plan = plan(&snapshot, &LiveState::default(), &settings());
    let document: Value =
        serde_json::from_str(&find(&plan, "alice").boundary.as_ref().unwrap().document).unwrap();
    let deny = &document["Statement"][1];
    assert_eq!(deny["Sid"], "DenyUnusedTrackedActions");
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Action"], serde_json::json!(["s3:DeleteBucket", "s3:PutBucketPolicy"]));
}

#[test]
fn a_live_document_as_aws_returns_it_compares_equal() {
    let plan = plan(&account(), &LiveState::default(), &settings());
    let ours = &find(&plan, "idle").boundary.as_ref().unwrap().document;
    // Pretty-printed, keys reordered, a single action as a string: the same policy.
    let mut value: Value = serde_json::from_str(ours).unwrap();
    value["Statement"][0]["Action"] = Value::String("sts:GetCallerIdentity".into());
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert!(pretty.contains("\"Action\": \"sts:GetCallerIdentity\""), "{pretty}");
    assert_eq!(&canonicalize(&pretty).unwrap(), ours);
}

#[test]
fn an_oversized_boundary_is_refused_as_a_skip() {
    let mut snapshot = account();
    snapshot.entities[0].services =
        (0..600).map(|i| service(&format!("service-number-{i}"), Some(1))).collect();
    let plan = plan(&snapshot, &LiveState::default(), &settings());
    let alice = find(&plan, "alice");
    assert!(alice.boundary.is_none());
    assert!(reasons(alice).contains("over IAM's limit of 6144"), "{}", reasons(alice));
    // The summary tags are still written, with the list of services cut to fit.
    let accessed = &alice.tags.as_ref().unwrap().set["Services_Accessed"];
    assert!(accessed.len() <= 256 && accessed.contains(" +"), "{accessed}");
}

#[test]
fn do_not_tag_and_do_not_boundary_hold_back_one_part_each() {
    let mut settings = settings();
    settings.guardrails.do_not_tag = vec!["alice".into()];
    settings.guardrails.do_not_boundary = vec!["arn:aws:iam::*:role/idle".into()];
    let plan = plan(&account(), &LiveState::default(), &settings);
    let alice = find(&plan, "alice");
    assert!(alice.tags.is_none() && alice.boundary.is_some());
    let idle = find(&plan, "idle");
    assert!(idle.boundary.is_none() && idle.tags.is_some());
    assert!(reasons(idle).contains("do_not_boundary"));
}
