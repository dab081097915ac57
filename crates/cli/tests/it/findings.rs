//! Findings formats and severities end to end: `audit --format asff|ocsf` and
//! `check --min-severity` through the real binary, against iamsim and the demo snapshot.

use serde_json::Value;

use crate::sim::{Sim, iamsweep, json, repo_root, scenario};

fn lines(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

#[test]
fn check_min_severity_gates_only_on_findings_at_or_above_the_level() {
    let sim = Sim::builder(scenario("audit.json")).start();
    // Default: every finding counts, as before severities existed (broad and the ECS role).
    let all = sim.iamsweep(&["check", "--kinds", "roles", "--rate", "500"]);
    assert_eq!(all.status.code(), Some(1), "{}", String::from_utf8_lossy(&all.stderr));
    assert_eq!(lines(&all).len(), 2, "{:?}", lines(&all));

    // `broad` left `sts` and `organizations` unused: CRITICAL. The ECS role's worst is HIGH.
    let critical =
        sim.iamsweep(&["check", "--kinds", "roles", "--rate", "500", "--min-severity", "critical"]);
    assert_eq!(critical.status.code(), Some(1));
    let critical_lines = lines(&critical);
    assert_eq!(critical_lines.len(), 1, "{critical_lines:?}");
    assert!(critical_lines[0].starts_with("NON_COMPLIANT arn:aws:iam::111122223333:role/broad: "));
    assert!(String::from_utf8_lossy(&critical.stderr).contains("(1 at CRITICAL or above)"));

    // With `broad`'s policy ignored, nothing CRITICAL is left: the gate passes...
    let ignored = [
        "check",
        "--kinds",
        "roles",
        "--rate",
        "500",
        "--ignore-policy",
        "Everything",
        "--min-severity",
    ];
    let passed = sim.iamsweep(&[&ignored[..], &["CRITICAL"]].concat());
    assert_eq!(passed.status.code(), Some(0), "{}", String::from_utf8_lossy(&passed.stderr));
    assert!(lines(&passed).is_empty(), "{:?}", lines(&passed));
    // ... while the ECS role's HIGH finding still fails it at `high` and below.
    let high = sim.iamsweep(&[&ignored[..], &["high"]].concat());
    assert_eq!(high.status.code(), Some(1), "{}", String::from_utf8_lossy(&high.stderr));
    assert!(
        lines(&high)[0].contains("role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS")
    );

    // An entity that could not be evaluated has no severity and still fails any gate.
    let users =
        sim.iamsweep(&["check", "--kinds", "users", "--rate", "500", "--min-severity", "critical"]);
    assert_eq!(users.status.code(), Some(2), "{}", String::from_utf8_lossy(&users.stderr));
    assert!(lines(&users).iter().any(|line| line.starts_with("ERROR ") && line.contains("doomed")));
}

#[test]
fn a_level_that_does_not_exist_is_refused_before_any_call() {
    let sim = Sim::builder(scenario("audit.json")).record().start();
    let output = sim.iamsweep(&["check", "--min-severity", "severe"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--min-severity") && stderr.contains("found `severe`"), "{stderr}");
    assert!(sim.calls().is_empty(), "no AWS call: {:?}", sim.calls());
}

#[test]
fn audit_writes_one_asff_and_one_ocsf_finding_per_entity() {
    let sim = Sim::builder(scenario("audit.json")).start();
    let asff =
        sim.iamsweep(&["audit", "--format", "asff", "--rate", "500", "--region", "eu-west-1"]);
    assert!(asff.status.success(), "{}", String::from_utf8_lossy(&asff.stderr));
    let body = json(&asff);
    assert_eq!(body.as_object().unwrap().len(), 1, "exactly the BatchImportFindings body");
    let findings = body["Findings"].as_array().unwrap();
    assert_eq!(findings.len(), 9, "5 users, 3 roles, 1 group");
    let find = |name: &str| {
        findings.iter().find(|f| f["Resources"][0]["Id"].as_str().unwrap().ends_with(name)).unwrap()
    };
    let broad = find(":role/broad");
    assert_eq!(broad["Id"], "iamsweep/aws/111122223333/arn:aws:iam::111122223333:role/broad");
    assert_eq!(
        broad["ProductArn"],
        "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
    );
    assert_eq!(broad["Severity"]["Label"], "CRITICAL");
    assert_eq!(broad["Compliance"]["Status"], "FAILED");
    assert_eq!(broad["Resources"][0]["Type"], "AwsIamRole");
    assert_eq!(find(":role/app")["Compliance"]["Status"], "PASSED");
    assert_eq!(find(":user/doomed")["Compliance"]["Status"], "NOT_AVAILABLE");
    assert_eq!(find(":group/devs")["Resources"][0]["Type"], "AwsIamGroup");

    let ocsf = sim.iamsweep(&["audit", "--format", "ocsf", "--rate", "500"]);
    assert!(ocsf.status.success(), "{}", String::from_utf8_lossy(&ocsf.stderr));
    let events = json(&ocsf);
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 9);
    assert!(events.iter().all(|event| event["class_uid"] == 2004));
    // Without --region, the environment's region (the test sets AWS_REGION=us-east-1).
    assert!(events.iter().all(|event| event["cloud"]["region"] == "us-east-1"));
}

/// The binary writes what the pinned demo snapshot holds (and iamsim's tests validate): the
/// same findings, but for the times of the run.
#[test]
fn the_binary_writes_the_pinned_demo_findings() {
    let demo = repo_root().join("examples/demo-snapshot.json");
    let demo = demo.to_str().unwrap();
    for (format, pinned) in [("asff", "demo_asff"), ("ocsf", "demo_ocsf")] {
        let output = iamsweep(&[
            "audit",
            "--snapshot",
            demo,
            "--window-days",
            "90",
            "--region",
            "eu-west-1",
            "--format",
            format,
        ]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let path = format!("crates/core/tests/it/snapshots/it__findings__{pinned}.snap");
        let text = std::fs::read_to_string(repo_root().join(path)).unwrap();
        let pinned: Value = serde_json::from_str(text.splitn(3, "---\n").nth(2).unwrap()).unwrap();
        assert_eq!(without_times(json(&output)), without_times(pinned), "{format}");
    }
}

/// `value` without the fields that hold the time of the run.
fn without_times(mut value: Value) -> Value {
    const TIMES: [&str; 9] = [
        "FirstObservedAt",
        "LastObservedAt",
        "CreatedAt",
        "UpdatedAt",
        "time",
        "created_time",
        "first_seen_time",
        "last_seen_time",
        "modified_time",
    ];
    match &mut value {
        Value::Object(map) => {
            // Creation times of resources are facts, not run times: keep those.
            let resource = map.contains_key("cloud_partition");
            map.retain(|key, _| {
                !TIMES.contains(&key.as_str()) || resource && key == "created_time"
            });
            for item in map.values_mut() {
                *item = without_times(item.take());
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = without_times(item.take());
            }
        }
        _ => {}
    }
    value
}

#[test]
fn findings_of_several_accounts_are_refused_before_any_call() {
    let sim = Sim::builder(scenario("audit.json")).record().start();
    let output = sim.iamsweep(&[
        "audit",
        "--accounts",
        "111122223333,444455556666",
        "--assume-role",
        "auditor",
        "--format",
        "asff",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--format asff writes the findings of one account"), "{stderr}");
    assert!(sim.calls().is_empty(), "no AWS call: {:?}", sim.calls());
}
