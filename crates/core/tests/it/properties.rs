//! Properties: boundaries allow exactly the used services, deny every escape, are canonical,
//! deterministic and fit (or are refused); plans are idempotent; tag values are always valid for
//! IAM.

use iamsweep_core::analysis::analyze_entity;
use iamsweep_core::boundary::{
    AuditContext, BoundaryRefusal, CONTAINED_ACTIONS, MAX_POLICY_CHARS, canonicalize,
    non_whitespace_chars, synthesize,
};
use iamsweep_core::compliance::Rules;
use iamsweep_core::model::{ActionRecord, EntityKind, EntityRecord, ServiceRecord};
use iamsweep_core::plan::{LivePolicy, LiveState, LiveVersion};
use iamsweep_core::policy_eval::{Decision, Policy, Request};
use iamsweep_core::report::ServiceState;
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::tags::{validate_tag_key, validate_tag_value};
use proptest::prelude::*;
use serde_json::Value;
use time::Duration;

use crate::documents::{contained_escapes, escapes};
use crate::support::*;

/// Services with distinct namespaces, last used at random ages (`None`: not in the period).
fn services(namespace: &'static str, max: usize) -> impl Strategy<Value = Vec<ServiceRecord>> {
    prop::collection::btree_map(
        namespace,
        (
            prop::option::of(0i64..500),
            prop::option::of(prop::collection::vec(
                ("[A-Z][a-zA-Z]{2,12}", prop::option::of(0i64..500)),
                0..6,
            )),
        ),
        0..max,
    )
    .prop_map(|map| {
        map.into_iter()
            .map(|(namespace, (days, actions))| {
                let mut record = service(&namespace, days);
                record.actions = actions.map(|actions| {
                    actions
                        .into_iter()
                        .map(|(name, days)| ActionRecord {
                            name,
                            last_accessed: days.map(|d| NOW - Duration::days(d)),
                            last_accessed_region: None,
                            last_accessed_entity: None,
                        })
                        .collect()
                });
                record
            })
            .collect()
    })
}

fn allowed_actions(document: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(document).unwrap();
    value["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|statement| statement["Effect"] == "Allow")
        .flat_map(|statement| statement["Action"].as_array().unwrap().clone())
        .map(|action| action.as_str().unwrap().to_string())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_boundary_allows_exactly_the_used_services_or_is_refused(
        services in services("[a-z][a-z0-9-]{0,24}", 400),
        action_level in any::<bool>(),
        kind in prop::sample::select(vec![EntityKind::User, EntityKind::Role]),
        used_iam in any::<bool>(),
        contain in any::<bool>(),
    ) {
        let mut record = entity(kind, "subject");
        record.services = services;
        if used_iam && !record.services.iter().any(|service| &*service.namespace == "iam") {
            record.services.push(service("iam", Some(1)));
        }
        let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
        let mut settings = EnforceSettings::defaults(WINDOW).boundary;
        settings.contain_iam_writers = contain;
        let audit = AuditContext {
            account_id: ACCOUNT,
            action_level,
            window_days: WINDOW,
            collected_at: NOW,
        };
        let result = synthesize(&report, &settings, &audit);
        prop_assert_eq!(&result, &synthesize(&report, &settings, &audit), "deterministic");
        match result {
            Ok(boundary) => {
                prop_assert!(non_whitespace_chars(&boundary.document) <= MAX_POLICY_CHARS);
                prop_assert_eq!(canonicalize(&boundary.document).unwrap(), boundary.document.clone());
                let policy = Policy::parse(&boundary.document).unwrap();
                for (what, request) in escapes(kind.as_str(), "subject") {
                    prop_assert_eq!(policy.evaluate(&request), Decision::ExplicitDeny, "{}", what);
                }
                // Containment applies whenever the boundary keeps an IAM write it is about.
                let keeps_writes = CONTAINED_ACTIONS.iter().any(|action| {
                    policy.evaluate(&Request::new(*action, "*").with(
                        "iam:PermissionsBoundary",
                        &boundary.policy_arn,
                    )).is_allowed()
                });
                if contain && keeps_writes {
                    for (what, request) in contained_escapes() {
                        prop_assert_eq!(policy.evaluate(&request), Decision::ExplicitDeny, "{}", what);
                    }
                }
                let allowed = allowed_actions(&boundary.document);
                for service in &report.services {
                    let wildcard = format!("{}:*", service.namespace);
                    prop_assert_eq!(
                        allowed.contains(&wildcard),
                        service.state == ServiceState::Used,
                        "{} is {:?}", service.namespace, service.state
                    );
                }
            }
            Err(BoundaryRefusal::TooLarge { chars }) => prop_assert!(chars > MAX_POLICY_CHARS),
            Err(other) => prop_assert!(false, "unexpected refusal {other}"),
        }
    }

    #[test]
    fn a_plan_after_its_apply_is_empty_and_every_tag_is_valid(
        entities in prop::collection::vec(
            (
                services("[a-z]{1,6}", 30),
                prop::collection::btree_map("[A-Za-z_]{1,20}", "[a-z0-9 ]{0,10}", 0..52),
                0u8..4,
                any::<bool>(),
            ),
            1..6,
        ),
        stale_live in any::<bool>(),
    ) {
        let mut records: Vec<EntityRecord> = Vec::new();
        for (index, (services, tags, boundary, is_role)) in entities.into_iter().enumerate() {
            let kind = if is_role { EntityKind::Role } else { EntityKind::User };
            let mut record = entity(kind, &format!("entity{index}"));
            record.services = services;
            record.tags = tags;
            let own = format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/{}-entity{index}", kind.as_str());
            record.permissions_boundary = match boundary {
                0 => None,
                1 => Some(own),
                2 => Some(format!("arn:aws:iam::{ACCOUNT}:policy/Theirs")),
                _ => Some(format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/role-other")),
            };
            records.push(record);
        }
        let mut snapshot = snapshot(records);
        // Some of iamsweep's policies already exist, with an outdated document and full history.
        let mut live = LiveState::default();
        if stale_live {
            for record in &snapshot.entities {
                live.policies.insert(
                    format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/{}-{}", record.kind.as_str(), record.name),
                    LivePolicy {
                        default_version_id: "v5".into(),
                        default_document: "{\"Statement\":[],\"Version\":\"2012-10-17\"}".into(),
                        versions: (1..=5).map(|i| LiveVersion {
                            version_id: format!("v{i}"),
                            is_default: i == 5,
                            created: NOW - Duration::days(10 - i),
                        }).collect(),
                    },
                );
            }
        }
        let mut settings = EnforceSettings::defaults(WINDOW);
        settings.boundary.replace_foreign_boundaries = stale_live;
        let first = plan(&snapshot, &live, &settings);
        for change in first.entities.iter().filter_map(|entity| entity.tags.as_ref()) {
            for (key, value) in &change.set {
                prop_assert!(validate_tag_key(key).is_ok(), "{key}");
                prop_assert!(validate_tag_value(value).is_ok(), "{key}={value}");
            }
            prop_assert_eq!(
                change.set.keys().collect::<Vec<_>>(),
                change.previous.keys().collect::<Vec<_>>()
            );
        }
        apply(&first, &mut snapshot, &mut live);
        let second = plan(&snapshot, &live, &settings);
        prop_assert_eq!(second.summary.change, 0, "{}", second.to_json());
    }

    #[test]
    fn tag_values_stay_valid_whatever_the_namespaces(
        namespaces in prop::collection::vec("\\PC{1,30}", 0..120),
    ) {
        let mut record = entity(EntityKind::Role, "odd");
        record.services = namespaces.iter().map(|ns| service(ns, Some(1))).collect();
        let report = analyze_entity(&record, &Rules::new(WINDOW), NOW);
        let keys = iamsweep_core::tags::TagKeys::default();
        let tags = iamsweep_core::tags::summary_tags(&report, &keys, NOW).unwrap();
        for (key, value) in &tags {
            prop_assert!(validate_tag_key(key).is_ok(), "{key}");
            prop_assert!(validate_tag_value(value).is_ok(), "{key}={value}");
        }
    }
}
