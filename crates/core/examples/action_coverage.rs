//! Measures how completely action-level boundaries deny what was not used, over a snapshot
//! collected with `--granularity action` (bench/action-level makes one of the benchmark's
//! 10,000-entity account):
//!
//! ```sh
//! cargo run --release -p iamsweep-core --example action_coverage -- SNAPSHOT [WINDOW_DAYS]
//! ```
//!
//! Counted: users and roles collected without error that used, within the window, at least one
//! service with tracked actions. Complete: the entity's boundary (default settings, the shipped
//! catalogue) exists and, for each such service, denies every tracked action Access Advisor
//! lists for it (the granted ones) that was not used within the window, as the policy evaluator
//! judges the document. Prints one JSON object: the share, the counts, the fallbacks by reason,
//! and how many boundaries the former exact-list Deny would have fitted.

use std::collections::BTreeMap;

use iamsweep_core::analysis::{analyze_owned, classify};
use iamsweep_core::boundary::{AuditContext, MAX_POLICY_CHARS, non_whitespace_chars, synthesize};
use iamsweep_core::compliance::Rules;
use iamsweep_core::model::{EntityKind, Granularity, Status};
use iamsweep_core::policy_eval::{Policy, Request};
use iamsweep_core::report::ServiceState;
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::snapshot::Snapshot;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: action_coverage SNAPSHOT [WINDOW_DAYS]");
    let window: u32 = args.next().map_or(180, |days| days.parse().expect("window in days"));
    // Parsed on first use; the analysis below would otherwise be the first.
    let parse_started = std::time::Instant::now();
    let catalogue = iamsweep_core::action_catalogue::Catalogue::shipped();
    let catalogue_parse_ms = parse_started.elapsed().as_secs_f64() * 1000.0;
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let snapshot = Snapshot::from_slice(&bytes).unwrap_or_else(|error| panic!("{path}: {error}"));
    assert_eq!(snapshot.granularity, Granularity::Action, "collect with --granularity action");
    let (account_id, collected_at) = (snapshot.account_id.clone(), snapshot.collected_at);
    let report = analyze_owned(snapshot, &Rules::new(window), collected_at);
    let audit = AuditContext {
        account_id: &account_id,
        action_level: true,
        window_days: window,
        collected_at,
    };
    let settings = EnforceSettings::defaults(window).boundary;
    let mut synthesis = std::time::Duration::ZERO;

    let (mut counted, mut complete, mut refused, mut exact_fits) = (0, 0, 0, 0);
    let mut fallbacks: BTreeMap<String, usize> = BTreeMap::new();
    for entity in &report.entities {
        if entity.kind == EntityKind::Group || entity.status != Status::Ok {
            continue;
        }
        // Per used service with tracked actions: the full names to deny.
        let mut to_deny = Vec::new();
        let mut with_actions = 0;
        for service in entity.services.iter().filter(|s| s.state == ServiceState::Used) {
            let Some(actions) = service.actions.as_ref().filter(|actions| !actions.is_empty())
            else {
                continue;
            };
            with_actions += 1;
            for action in actions {
                let used = actions.iter().any(|other| {
                    other.name.eq_ignore_ascii_case(&action.name)
                        && classify(other.last_accessed, collected_at, window) == ServiceState::Used
                });
                if !used {
                    to_deny.push(format!("{}:{}", service.namespace, action.name));
                }
            }
        }
        if with_actions == 0 {
            continue;
        }
        counted += 1;
        let started = std::time::Instant::now();
        let synthesized = synthesize(entity, &settings, &audit);
        synthesis += started.elapsed();
        let Ok(boundary) = synthesized else {
            refused += 1;
            continue;
        };
        for fallback in &boundary.action_level.as_ref().unwrap().service_level {
            *fallbacks.entry(format!("{:?}", fallback.reason)).or_default() += 1;
        }
        let policy = Policy::parse(&boundary.document).expect("a boundary parses");
        if to_deny.iter().all(|action| !policy.evaluate(&Request::new(action, "*")).is_allowed()) {
            complete += 1;
        }
        // The former Deny listed each action: its size is the document's with the patterns
        // replaced by the names.
        let patterns: usize = deny_patterns(&boundary.document).iter().map(|p| p.len() + 3).sum();
        let names: usize = to_deny.iter().map(|name| name.len() + 3).sum();
        if non_whitespace_chars(&boundary.document) - patterns + names <= MAX_POLICY_CHARS {
            exact_fits += 1;
        }
    }
    let synthesis_seconds = synthesis.as_secs_f64();
    let share = |n: usize| (1000.0 * n as f64 / counted.max(1) as f64).round() / 10.0;
    let out = serde_json::json!({
        "snapshot": path,
        "window_days": window,
        "entities_counted": counted,
        "complete": complete,
        "complete_percent": share(complete),
        "refused": refused,
        "fallbacks": fallbacks,
        "exact_list_fits": exact_fits,
        "exact_list_fits_percent": share(exact_fits),
        "catalogue": format!("{} ({})", catalogue.source, catalogue.updated),
        "catalogue_parse_ms": (catalogue_parse_ms * 10.0).round() / 10.0,
        "boundaries_seconds": (synthesis_seconds * 100.0).round() / 100.0,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}

fn deny_patterns(document: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(document).unwrap();
    value["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|statement| statement["Sid"] == "DenyUnusedTrackedActions")
        .flat_map(|statement| statement["Action"].as_array().unwrap().clone())
        .map(|action| action.as_str().unwrap().to_string())
        .collect()
}
