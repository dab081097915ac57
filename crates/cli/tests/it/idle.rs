//! Idle entities against iamsim: a user and roles that used nothing within the window (one
//! role never used, one last used 250 days ago, as `RoleLastUsed` says), and a user with no
//! policy at all, are `idle` in every format; entities that used something are not; `check
//! --fail-on idle` fails exactly the idle ones, and the default rules leave the idle user with
//! nothing granted compliant.

use std::collections::BTreeMap;

use crate::sim::{Sim, iamsweep, json, repo_root, scenario};

const IDLE: [&str; 4] = ["dormant", "empty", "forgotten", "retired"];

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn entities_that_used_nothing_in_the_window_are_idle_in_every_format() {
    let sim = Sim::builder(scenario("idle.json")).start();
    let output = sim.iamsweep(&["audit", "--format", "json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = json(&output);
    let idle: BTreeMap<String, bool> = report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entity| (entity["name"].as_str().unwrap().to_string(), entity["idle"] == true))
        .collect();
    let expected: BTreeMap<String, bool> =
        ["busy", "dormant", "empty", "nightly", "forgotten", "retired"]
            .into_iter()
            .map(|name| (name.to_string(), IDLE.contains(&name)))
            .collect();
    assert_eq!(idle, expected);
    assert_eq!(report["summary"]["idle"], IDLE.len());
    let entity = |name: &str| {
        report["entities"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone()
    };
    // Its own reason, first; for a role it says what RoleLastUsed said.
    let retired = entity("retired");
    let reason = retired["reasons"][0].as_str().unwrap();
    assert!(reason.starts_with("idle: no service used within 180 days"), "{reason}");
    assert!(reason.contains("the role was last used 250 days ago"), "{reason}");
    assert!(retired["role_last_used"].is_string());
    let forgotten = entity("forgotten");
    assert!(forgotten["reasons"][0].as_str().unwrap().contains("no recorded use"), "{forgotten}");
    assert!(forgotten.get("role_last_used").is_none(), "absent, as IAM reports none");
    assert!(entity("nightly")["role_last_used"].is_string());
    // Not idle: no idle reason. Nothing granted, nothing failing: compliant without a reason.
    assert!(
        entity("busy")["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r.as_str().unwrap().starts_with("idle"))
    );
    assert_eq!(entity("empty")["verdict"], "COMPLIANT");

    // CSV: the `idle` column.
    let csv = stdout(&sim.iamsweep(&["audit", "--format", "csv"]));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|name| *name == "idle").expect("an idle column");
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let name = cells[2];
        // Reasons hold commas inside quotes: count the idle column from the end.
        let value = cells[cells.len() - (header.len() - column)];
        assert_eq!(value == "true", IDLE.contains(&name), "{name}: {line}");
    }
    // Table and Markdown: the IDLE column.
    let table = stdout(&sim.iamsweep(&["audit"]));
    for line in table.lines().filter(|line| line.starts_with("user") || line.starts_with("role")) {
        let name = line.split_whitespace().nth(1).unwrap();
        assert_eq!(line.trim_end().ends_with(" idle"), IDLE.contains(&name), "{line}");
    }
    let markdown = stdout(&sim.iamsweep(&["audit", "--format", "markdown"]));
    assert!(markdown.contains("| result | idle |"), "{markdown}");
    assert!(markdown.contains("| retired |"));
}

#[test]
fn check_fail_on_idle_fails_exactly_the_idle_entities() {
    let sim = Sim::builder(scenario("idle.json")).start();
    let output = sim.iamsweep(&["check", "--fail-on", "idle"]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let mut failed: Vec<String> = stdout(&output)
        .lines()
        .map(|line| {
            assert!(line.starts_with("NON_COMPLIANT "), "{line}");
            let arn = line.split_whitespace().nth(1).unwrap().trim_end_matches(':');
            assert!(line.contains(": idle: no service used within 180 days"), "{line}");
            arn.rsplit('/').next().unwrap().to_string()
        })
        .collect();
    failed.sort();
    assert_eq!(failed, IDLE);

    // The default rules (unused, stale) do not fail the user with nothing granted, and still
    // name idle first for those they fail.
    let output = sim.iamsweep(&["check"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(!text.contains("user/empty"), "{text}");
    let dormant = text.lines().find(|line| line.contains("user/dormant")).unwrap();
    assert!(dormant.contains(": idle: "), "{dormant}");
    let busy = text.lines().find(|line| line.contains("user/busy")).unwrap();
    assert!(!busy.contains("idle"), "{busy}");

    // A window long enough to see the old uses: nothing is idle but the never-used ones.
    let output = sim.iamsweep(&["check", "--fail-on", "idle", "--window-days", "400"]);
    let text = stdout(&output);
    assert!(!text.contains("role/retired") && !text.contains("user/dormant"), "{text}");
    assert!(text.contains("role/forgotten") && text.contains("user/empty"), "{text}");
}

#[test]
fn a_snapshot_with_a_malformed_or_future_role_last_used_is_refused_or_not_idle() {
    let demo = std::fs::read_to_string(repo_root().join("examples/demo-snapshot.json")).unwrap();
    let mut snapshot: serde_json::Value = serde_json::from_str(&demo).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.json");
    let index = snapshot["entities"]
        .as_array()
        .unwrap()
        .iter()
        .position(|entity| entity["name"] == "app")
        .unwrap();
    snapshot["entities"][index]["role_last_used"] = "yesterday".into();
    std::fs::write(&file, serde_json::to_string_pretty(&snapshot).unwrap()).unwrap();
    let output = iamsweep(&["audit", "--snapshot", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("hostile.json") && message.contains("line"), "{message}");
    assert!(output.stdout.is_empty(), "a refusal writes no report");

    // A RoleLastUsed in the future (clock skew) counts as recent use, as a service's does:
    // a twin of role `app` that used no service is then not idle.
    let mut record = snapshot["entities"][index].clone();
    record["name"] = "twin".into();
    record["arn"] = "arn:aws:iam::123456789012:role/twin".into();
    for service in record["services"].as_array_mut().unwrap() {
        service.as_object_mut().unwrap().remove("last_authenticated");
    }
    record["role_last_used"] = "2027-01-01T00:00:00Z".into();
    snapshot["entities"][index]["role_last_used"] = serde_json::Value::Null;
    snapshot["entities"].as_array_mut().unwrap().push(record);
    std::fs::write(&file, serde_json::to_string_pretty(&snapshot).unwrap()).unwrap();
    let output = iamsweep(&["audit", "--snapshot", file.to_str().unwrap(), "--format", "json"]);
    let report = json(&output);
    let twin = report["entities"].as_array().unwrap().iter().find(|e| e["name"] == "twin").unwrap();
    assert_eq!(twin["used"], 0);
    assert_eq!(twin["idle"], false, "{twin}");
}
