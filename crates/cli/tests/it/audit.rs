//! `iamsweep audit` and `check` against the `audit.json` scenario.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::sim::{Sim, json, scenario};

/// Expected state of each service of an entity: `(namespace, state)`.
fn states(entity: &Value) -> BTreeMap<String, String> {
    entity["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|service| {
            (
                service["namespace"].as_str().unwrap().to_string(),
                service["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn entity<'a>(report: &'a Value, kind: &str, name: &str) -> &'a Value {
    let matches: Vec<&Value> = report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entity| entity["kind"] == kind && entity["name"] == name)
        .collect();
    assert_eq!(matches.len(), 1, "{kind} {name} must appear exactly once");
    matches[0]
}

fn expect_states(entity: &Value, expected: &[(&str, &str)]) {
    let actual = states(entity);
    let expected: BTreeMap<String, String> =
        expected.iter().map(|(ns, state)| (ns.to_string(), state.to_string())).collect();
    assert_eq!(actual, expected, "services of {}", entity["arn"]);
}

#[test]
fn audit_classifies_every_entity_as_the_scenario_says() {
    let sim = Sim::builder(scenario("audit.json")).start();
    let output =
        sim.iamsweep(&["audit", "--format", "json", "--window-days", "180", "--rate", "500"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = json(&output);
    assert_eq!(report["schema"], "iamsweep.audit/v1");
    assert_eq!(report["account_id"], "111122223333");
    assert_eq!(report["entities"].as_array().unwrap().len(), 9);
    assert_eq!(report["summary"]["status"]["ok"], 8);
    assert_eq!(report["summary"]["status"]["error"], 1);

    // A failed job is reported on its entity, with AWS's error, and stops nothing else.
    let doomed = entity(&report, "user", "doomed");
    assert_eq!(doomed["status"], "error");
    let error = doomed["error"].as_str().unwrap();
    assert!(error.contains("FAILED: ServiceFailure: Report generation timed out."), "{error}");
    assert_eq!(doomed["verdict"], Value::Null);
    assert_eq!(doomed["services"], serde_json::json!([]));

    let alice = entity(&report, "user", "alice");
    // devs grants ec2, lambda, logs, sqs; AppData grants s3, dynamodb. rds is used but not
    // granted, so Access Advisor does not list it.
    expect_states(
        alice,
        &[
            ("dynamodb", "unused"),
            ("ec2", "unused"),
            ("lambda", "stale"),
            ("logs", "used"),
            ("s3", "used"),
            ("sqs", "unused"),
        ],
    );
    assert_eq!(alice["coverage_percent"], 33);
    assert_eq!(alice["verdict"], "NON_COMPLIANT");
    assert_eq!(
        alice["reasons"],
        serde_json::json!([
            // By risk, then name: the data stores before ec2.
            "3 services never accessed in the tracking period: dynamodb, sqs, ec2",
            "1 service not accessed for 180 days: lambda"
        ])
    );

    let bob = entity(&report, "user", "bob");
    expect_states(
        bob,
        &[("ec2", "used"), ("lambda", "unused"), ("logs", "unused"), ("sqs", "stale")],
    );

    let nothing = entity(&report, "user", "nothing");
    assert_eq!(nothing["granted"], 0);
    assert_eq!(nothing["coverage_percent"], Value::Null);
    assert_eq!(nothing["verdict"], "COMPLIANT");

    let app = entity(&report, "role", "app");
    expect_states(app, &[("dynamodb", "used"), ("s3", "used")]);
    assert_eq!(app["coverage_percent"], 100);
    assert_eq!(app["verdict"], "COMPLIANT");
    assert_eq!(app["services"][1]["last_authenticated_entity"], app["arn"]);

    let admin = entity(&report, "user", "admin");
    let admin_states = states(admin);
    assert!(admin_states.len() > 300, "an admin is granted every service: {}", admin_states.len());
    assert_eq!(admin_states["iam"], "used");
    assert_eq!(admin_states["s3"], "used");
    assert_eq!(admin_states["ec2"], "used");
    assert_eq!(admin_states["organizations"], "stale");
    // Activity older than the 400-day tracking period does not appear.
    assert_eq!(admin_states["sts"], "unused");
    assert_eq!(admin["used"], 3);
    assert_eq!(admin["stale"], 1);
    let s3 = admin["services"].as_array().unwrap().iter().find(|s| s["namespace"] == "s3").unwrap();
    assert_eq!(s3["last_authenticated_region"], "eu-west-1");
    assert_eq!(s3["name"], "Amazon S3");

    // NotAction iam:* grants everything but IAM, so its IAM activity is not listed.
    let broad = states(entity(&report, "role", "broad"));
    assert_eq!(broad.len(), admin_states.len() - 1);
    assert!(!broad.contains_key("iam"));
    assert_eq!(broad["ec2"], "used");

    let devs = entity(&report, "group", "devs");
    expect_states(
        devs,
        &[("ec2", "used"), ("lambda", "stale"), ("logs", "used"), ("sqs", "stale")],
    );
    let ec2 = &devs["services"][0];
    assert_eq!(ec2["total_authenticated_entities"], 1);
    assert_eq!(ec2["used_by"][0]["name"], "bob");
    assert_eq!(devs["services"][2]["used_by"][0]["name"], "alice");

    let service_linked = entity(&report, "role", "AWSServiceRoleForECS");
    assert_eq!(service_linked["path"], "/aws-service-role/ecs.amazonaws.com/");
    assert_eq!(states(service_linked)["ec2"], "used");
}

#[test]
fn admin_results_are_read_page_by_page_when_iam_returns_fewer_than_asked() {
    let sim = Sim::builder(scenario("audit.json")).arg("--page-size").arg("100").record().start();
    let output = sim.iamsweep(&["audit", "--format", "json", "--kinds", "users", "--rate", "500"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = json(&output);
    let admin = entity(&report, "user", "admin");
    let namespaces: Vec<&str> = admin["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["namespace"].as_str().unwrap())
        .collect();
    let mut unique = namespaces.clone();
    unique.dedup();
    assert_eq!(unique.len(), namespaces.len(), "no service twice across pages");
    assert!(namespaces.len() > 300);
    let reads: Vec<Value> = sim
        .calls()
        .into_iter()
        .filter(|call| call["action"] == "GetServiceLastAccessedDetails")
        .collect();
    assert!(reads.iter().all(|call| call["params"]["MaxItems"] == "1000"), "{reads:?}");
    let with_marker = reads.iter().filter(|call| call["params"].get("Marker").is_some()).count();
    assert!(with_marker >= 3, "300+ services at 100 a page need 3+ follow-up pages: {with_marker}");
}

#[test]
fn attribution_names_the_policies_granting_unused_services() {
    let sim = Sim::builder(scenario("audit.json")).record().start();
    let output = sim.iamsweep(&[
        "audit",
        "--format",
        "json",
        "--kinds",
        "users,roles",
        "--attribute",
        "--rate",
        "500",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = json(&output);
    let alice = entity(&report, "user", "alice");
    let by_namespace = |namespace: &str| {
        alice["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["namespace"] == namespace)
            .unwrap()
            .clone()
    };
    let sqs = by_namespace("sqs");
    assert_eq!(sqs["granted_by"][0]["name"], "queues");
    assert_eq!(sqs["granted_by"][0]["type"], "INLINE");
    assert_eq!(sqs["granted_by"][0]["entity_type"], "GROUP");
    assert_eq!(sqs["granted_by"][0]["entity_name"], "devs");
    assert_eq!(by_namespace("dynamodb")["granted_by"][0]["name"], "AppData");
    // Used services carry no attribution: nothing to remove there.
    assert!(by_namespace("s3").get("granted_by").is_none());
    let admin_calls = sim
        .calls()
        .into_iter()
        .filter(|call| call["action"] == "ListPoliciesGrantingServiceAccess")
        .filter(|call| call["params"]["Arn"].as_str().unwrap().ends_with(":user/admin"))
        .count();
    assert!(admin_calls >= 2, "300+ namespaces need at least two calls of 200: {admin_calls}");
}

#[test]
fn check_prints_one_line_per_non_compliant_entity_and_exits_1() {
    let sim = Sim::builder(scenario("audit.json")).start();
    let output = sim.iamsweep(&["check", "--kinds", "roles", "--rate", "500"]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("NON_COMPLIANT arn:aws:iam::111122223333:role/broad: "))
    );
    assert!(!stdout.contains("role/app"));

    // Only unused services count, and the services granted only by `Everything` are ignored.
    let output = sim.iamsweep(&[
        "check",
        "--kinds",
        "roles",
        "--rate",
        "500",
        "--ignore-policy",
        "Everything",
        "--ignore-policy",
        "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn check_with_only_the_stale_rule_and_a_shorter_period() {
    let sim = Sim::builder(scenario("audit.json")).start();
    let output = sim.iamsweep(&[
        "check",
        "--kinds",
        "users",
        "--fail-on",
        "stale",
        "--stale-days",
        "4",
        "--rate",
        "500",
    ]);
    // `doomed`'s job fails: an unevaluated user outranks the findings.
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("user/alice: 1 service not accessed for 4 days: lambda"), "{stdout}");
    assert!(stdout.contains("user/bob: 2 services not accessed for 4 days: sqs, ec2"), "{stdout}");
    assert!(!stdout.contains("never accessed"), "{stdout}");
}

/// Guards README's promise that an error outranks a finding: `doomed`'s job fails while other
/// users are non-compliant, and `check` must exit 2, not 1 (it exited 1 before).
#[test]
fn check_exits_2_when_an_entity_could_not_be_evaluated_even_beside_findings() {
    let sim = Sim::builder(scenario("audit.json")).start();
    let output = sim.iamsweep(&["check", "--kinds", "users", "--rate", "500"]);
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(stdout.contains("NON_COMPLIANT arn:aws:iam::111122223333:user/"), "{stdout}");
    assert!(stdout.contains("ERROR arn:aws:iam::111122223333:user/doomed: "), "{stdout}");
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    // The JSON format gates the same way.
    let output = sim.iamsweep(&["check", "--kinds", "users", "--rate", "500", "--format", "json"]);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    // Without the failing entity the same findings exit 1.
    let output = sim.iamsweep(&["check", "--kinds", "roles", "--rate", "500"]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn an_over_driven_run_absorbs_throttling_and_loses_no_entity() {
    // IAM grants 20 calls a second here; the tool is told it may make 200.
    let sim = Sim::builder(scenario("audit.json"))
        .args(["--rate", "20", "--burst", "5", "--seed", "7"])
        .record()
        .start();
    let output = sim.iamsweep(&["audit", "--format", "json", "--rate", "200", "--attribute"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = json(&output);
    assert_eq!(report["summary"]["status"]["ok"], 8, "only the forced job failure is an error");
    let throttled = sim.calls().iter().filter(|call| call["status"] == 400).count() as u64;
    assert!(throttled > 0, "the server must have throttled");
    assert_eq!(report["summary"]["throttles"], throttled, "every throttle is counted");
    assert_eq!(report["summary"]["calls"], sim.calls().len() as u64, "every call is counted");
}

#[test]
fn server_failures_are_retried() {
    let sim =
        Sim::builder(scenario("audit.json")).args(["--error-rate", "15", "--seed", "3"]).start();
    let output = sim.iamsweep(&["audit", "--format", "json", "--rate", "500"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json(&output)["summary"]["status"]["ok"], 8);
}
