//! Selection (`--kinds`, `--name`, `--path`, `--tag`) on live and snapshot inputs, against the
//! `selection.json` scenario: the same entities either way, Access Advisor jobs only for them,
//! hostile values refused before any call, and `apply --plan` refusing selection flags.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::enforce::{assert_code, stderr, writes_since};
use crate::sim::{Sim, json, scenario};

/// The `kind/name` of every entity of a report or plan.
fn names(document: &Value) -> BTreeSet<String> {
    document["entities"]
        .as_array()
        .expect("an entities array")
        .iter()
        .map(|entity| {
            format!("{}/{}", entity["kind"].as_str().unwrap(), entity["name"].as_str().unwrap())
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// The ARNs Access Advisor jobs were started for, after the first `from` calls.
fn jobs(sim: &Sim, from: usize) -> BTreeSet<String> {
    sim.calls()[from..]
        .iter()
        .filter(|call| call["action"] == "GenerateServiceLastAccessedDetails")
        .map(|call| {
            let arn = &call["params"]["Arn"];
            arn.as_str().or_else(|| arn[0].as_str()).expect("an Arn parameter").to_string()
        })
        .collect()
}

/// Each selection, with the entities it must keep: OR within a flag, AND across flags, names
/// without case, tag keys without case and values exactly, groups never by tag.
const CASES: &[(&[&str], &[&str])] = &[
    (&["--name", "ci-*"], &["user/ci-alice", "user/CI-Bob", "role/ci-deploy", "group/ci-group"]),
    (&["--name", "ci-*", "--kinds", "users"], &["user/ci-alice", "user/CI-Bob"]),
    (&["--path", "/teams/ci/"], &["user/ci-alice", "role/ci-deploy", "group/ci-group"]),
    (
        &["--path", "/teams/ci/", "--path", "/teams/web/"],
        &["user/ci-alice", "user/carol", "role/ci-deploy", "role/web-app", "group/ci-group"],
    ),
    (&["--tag", "team=data"], &["user/ci-alice", "role/ci-deploy"]),
    (
        &["--tag", "team=data", "--tag", "owner"],
        &["user/ci-alice", "user/carol", "role/ci-deploy", "role/web-app"],
    ),
    (
        &["--tag", "team", "--name", "*-*", "--path", "/teams/"],
        &["user/ci-alice", "role/ci-deploy", "role/web-app"],
    ),
    (&["--name", "nobody-*"], &[]),
];

#[test]
fn live_selection_collects_only_the_selected_entities() {
    let sim = Sim::builder(scenario("selection.json")).record().start();
    for (flags, expected) in CASES {
        let from = sim.calls().len();
        let mut args = vec!["audit", "--format", "json", "--rate", "500"];
        args.extend_from_slice(flags);
        let output = sim.iamsweep(&args);
        assert_code(&output, 0);
        let report = json(&output);
        assert_eq!(names(&report), set(expected), "{flags:?}");
        let arns: BTreeSet<String> = report["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entity| entity["arn"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(jobs(&sim, from), arns, "{flags:?}: Access Advisor jobs only for the selected");
    }
}

#[test]
fn snapshot_selection_keeps_what_a_live_selection_keeps() {
    let sim = Sim::builder(scenario("selection.json")).start();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("snapshot.json");
    let saved = saved.to_str().unwrap();
    let output = sim.iamsweep(&["audit", "--rate", "500", "--save-snapshot", saved]);
    assert_code(&output, 0);
    for (flags, expected) in CASES {
        for command in ["audit", "check"] {
            let mut args = vec![command, "--format", "json", "--snapshot", saved];
            args.extend_from_slice(flags);
            let output = crate::sim::iamsweep(&args);
            assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr(&output));
            assert_eq!(names(&json(&output)), set(expected), "{command} {flags:?}");
        }
    }
    // Regression: `--kinds` was ignored with `--snapshot`.
    let output = crate::sim::iamsweep(&[
        "audit",
        "--format",
        "json",
        "--snapshot",
        saved,
        "--kinds",
        "roles",
    ]);
    assert_eq!(names(&json(&output)), set(&["role/batch", "role/ci-deploy", "role/web-app"]));
}

#[test]
fn plan_holds_only_the_selected_entities_and_apply_of_a_plan_file_refuses_selection() {
    let sim = Sim::builder(scenario("selection.json")).record().start();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let plan = plan.to_str().unwrap();
    let output = sim.iamsweep(&[
        "plan", "--rate", "500", "--format", "json", "--tag", "team", "--output", plan,
    ]);
    assert_code(&output, 0);
    assert_eq!(
        names(&json(&output)),
        set(&["user/ci-alice", "user/CI-Bob", "role/ci-deploy", "role/web-app"])
    );
    let calls = sim.calls().len();
    for flags in [
        &["--name", "ci-*"][..],
        &["--path", "/teams/"],
        &["--tag", "team=data"],
        &["--kinds", "roles"],
    ] {
        let journal = dir.path().join("journal");
        let mut args =
            vec!["apply", "--apply", "--plan", plan, "--journal", journal.to_str().unwrap()];
        args.extend_from_slice(flags);
        let output = sim.iamsweep(&args);
        assert_code(&output, 2);
        assert!(stderr(&output).contains("cannot be used with"), "{flags:?}: {}", stderr(&output));
        assert!(!journal.exists(), "a refusal writes no journal");
    }
    assert_eq!(sim.calls().len(), calls, "refused before any call");
    assert!(writes_since(&sim, 0).is_empty());
    // Applied live with a selection, only the selected entities are written.
    let journal = dir.path().join("journal");
    let output = sim.iamsweep(&[
        "apply",
        "--apply",
        "--rate",
        "500",
        "--name",
        "ci-deploy",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_code(&output, 0);
    let written: BTreeSet<String> = sim
        .calls()
        .iter()
        .filter(|call| {
            matches!(
                call["action"].as_str(),
                Some(
                    "TagRole"
                        | "TagUser"
                        | "PutRolePermissionsBoundary"
                        | "PutUserPermissionsBoundary"
                )
            )
        })
        .map(|call| {
            let params = &call["params"];
            let name = params["RoleName"].as_str().or_else(|| params["UserName"].as_str());
            name.or_else(|| params["RoleName"][0].as_str())
                .or_else(|| params["UserName"][0].as_str())
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert_eq!(written, set(&["ci-deploy"]), "only the selected entity is written");
}

#[test]
fn hostile_selection_values_are_refused_naming_the_flag_before_any_call() {
    let sim = Sim::builder(scenario("selection.json")).record().start();
    for (args, flag) in [
        (&["audit", "--name", "ci/*"][..], "`--name`"),
        (&["audit", "--name", ""], "`--name`"),
        (&["check", "--path", "teams/"], "`--path`"),
        (&["plan", "--path", "/te\u{1b}[31mams/"], "`--path`"),
        (&["apply", "--tag", ""], "`--tag`"),
        (&["audit", "--tag", "team,web"], "`--tag`"),
        (&["audit", "--tag", "=data"], "`--tag`"),
    ] {
        let output = sim.iamsweep(args);
        assert_code(&output, 2);
        let message = stderr(&output);
        assert!(message.starts_with(&format!("error: {flag}: ")), "{args:?}: {message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    }
    assert!(sim.calls().is_empty(), "bad input: no AWS call at all");
}

#[test]
fn selection_applies_in_every_account_of_a_many_account_audit() {
    let sim = Sim::builder(scenario("accounts.json")).record().start();
    let output = sim.iamsweep(&[
        "audit",
        "--accounts",
        "210987654321",
        "--assume-role",
        "Audit",
        "--format",
        "json",
        "--rate",
        "500",
        "--path",
        "/aws-service-role/",
    ]);
    assert_code(&output, 0);
    let report = json(&output);
    assert_eq!(names(&report), set(&["role/AWSServiceRoleForSupport"]));
    assert_eq!(
        jobs(&sim, 0),
        set(&[
            "arn:aws:iam::210987654321:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport"
        ])
    );
}
