//! The audit's `denied since bounded` mark, against the `denied.json` scenario: `apply` bounds
//! role `app` to s3, iamsim's `POST /_iamsim/activity` makes it try dynamodb, and the audit
//! (live, then offline from the saved snapshot) marks exactly that service until `heal`
//! restores it. Role `fenced` carries a boundary iamsweep did not write (under iamsweep's path,
//! but not named for an entity) and is never marked; neither is a hostile snapshot's boundary
//! in another account.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::enforce::writes_since;
use crate::sim::{Sim, assert_code, json, scenario};

const APP: &str = "arn:aws:iam::111122223333:role/app";
const FENCED: &str = "arn:aws:iam::111122223333:role/fenced";
const REASON_END: &str = "): `iamsweep heal --apply` restores it";

fn entity<'a>(report: &'a Value, arn: &str) -> &'a Value {
    report["entities"].as_array().unwrap().iter().find(|entity| entity["arn"] == arn).unwrap()
}

/// The namespaces of `arn` the report marks `denied_since_bounded`.
fn marked(report: &Value, arn: &str) -> Vec<String> {
    entity(report, arn)["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|service| match service.get("denied_since_bounded") {
            None => false,
            Some(value) => value.as_bool().expect("a boolean, present only when true"),
        })
        .map(|service| service["namespace"].as_str().unwrap().to_string())
        .collect()
}

/// The reason lines of `arn` about denied services.
fn denial_reasons(report: &Value, arn: &str) -> Vec<String> {
    entity(report, arn)["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|reason| reason.contains("denied since bounded"))
        .map(String::from)
        .collect()
}

/// `GetAccountAuthorizationDetails` calls since `from`: the inventory walk, plus one walk of
/// the boundary policies when an entity is bounded under iamsweep's path.
fn walks_since(sim: &Sim, from: usize) -> usize {
    sim.calls()[from..]
        .iter()
        .filter(|call| call["action"] == "GetAccountAuthorizationDetails")
        .count()
}

fn audit(sim: &Sim, args: &[&str]) -> Value {
    let mut all = vec!["audit", "--format", "json", "--rate", "500"];
    all.extend(args);
    let output = sim.iamsweep(&all);
    assert_code(&output, 0);
    json(&output)
}

fn offline(path: &Path, format: &str) -> Output {
    let output =
        crate::sim::iamsweep(&["audit", "--snapshot", path.to_str().unwrap(), "--format", format]);
    assert_code(&output, 0);
    output
}

#[test]
fn the_audit_marks_exactly_the_denied_service_live_and_offline_until_heal_restores_it() {
    let sim = Sim::builder(scenario("denied.json")).record().start();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("iamsweep.toml");
    std::fs::write(&config, "[boundary]\ngrace_days = 0\n").unwrap();
    let config = config.to_str().unwrap();
    let journal = work.path().join("journal");
    let journal = journal.to_str().unwrap();
    let state = work.path().join("state");
    let state = state.to_str().unwrap();

    // Nothing bounded by iamsweep yet: no mark, and no walk of the boundary policies.
    let before = sim.calls().len();
    let report = audit(&sim, &["--config", config]);
    assert!(marked(&report, APP).is_empty() && marked(&report, FENCED).is_empty());
    assert_eq!(walks_since(&sim, before), 1, "only the inventory");

    // app is bounded to s3 (it used nothing else); fenced keeps the boundary it has.
    let apply = sim.iamsweep(&[
        "apply",
        "--apply",
        "--config",
        config,
        "--journal",
        journal,
        "--state",
        state,
        "--rate",
        "500",
    ]);
    assert_code(&apply, 0);
    // Bounded, but nothing tried outside the boundary yet.
    let report = audit(&sim, &["--config", config]);
    assert!(marked(&report, APP).is_empty(), "{}", entity(&report, APP));

    // Both try dynamodb, which each one's boundary denies.
    sim.activity(APP, "dynamodb");
    sim.activity(FENCED, "dynamodb");
    let snapshot = work.path().join("snapshot.json");
    let before = sim.calls().len();
    let live = audit(&sim, &["--config", config, "--save-snapshot", snapshot.to_str().unwrap()]);
    assert_eq!(walks_since(&sim, before), 2, "the inventory, then the boundary policies once");
    assert_eq!(writes_since(&sim, before), Vec::<String>::new(), "an audit writes nothing");
    assert_eq!(marked(&live, APP), ["dynamodb"]);
    let reasons = denial_reasons(&live, APP);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("dynamodb denied since bounded (last attempt 20"),
        "{reasons:?}"
    );
    assert!(reasons[0].ends_with(REASON_END), "{reasons:?}");
    // The state stays what Access Advisor says: a recent attempt is a use.
    let dynamodb = entity(&live, APP)["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|service| service["namespace"] == "dynamodb")
        .unwrap()
        .clone();
    assert_eq!(dynamodb["state"], "used");
    // Someone else's boundary denied fenced; iamsweep says nothing about it.
    assert!(marked(&live, FENCED).is_empty(), "{}", entity(&live, FENCED));
    assert!(denial_reasons(&live, FENCED).is_empty());

    // The snapshot holds the facts, so the offline audit gives the same marks.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    let app = entity(&saved, APP);
    assert_eq!(app["boundary_allows"], json!(["s3"]));
    assert!(app["bounded_since"].is_string(), "{app}");
    assert!(entity(&saved, FENCED).get("boundary_allows").is_none());
    let report = json(&offline(&snapshot, "json"));
    assert_eq!(marked(&report, APP), ["dynamodb"]);
    assert_eq!(denial_reasons(&report, APP), reasons);
    assert!(marked(&report, FENCED).is_empty());
    // Every format shows it.
    let table = String::from_utf8(offline(&snapshot, "table").stdout).unwrap();
    assert!(table.contains("dynamodb (denied since bounded)"), "{table}");
    let markdown = String::from_utf8(offline(&snapshot, "markdown").stdout).unwrap();
    assert!(markdown.contains("dynamodb (denied since bounded)"), "{markdown}");
    let csv = String::from_utf8(offline(&snapshot, "csv").stdout).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"denied_since_bounded"));
    let row = csv.lines().find(|line| line.starts_with(APP)).unwrap();
    assert!(row.ends_with(",dynamodb"), "{row}");
    let html = String::from_utf8(offline(&snapshot, "html").stdout).unwrap();
    assert!(html.contains(", denied since bounded)"), "the mark on the service");

    // heal gives dynamodb back; a fresh audit has nothing left to mark.
    let healed = sim.iamsweep(&[
        "heal",
        "--apply",
        "--config",
        config,
        "--journal",
        journal,
        "--rate",
        "500",
    ]);
    assert_code(&healed, 0);
    // heal decides with the same function: it gives back exactly what the audit marked.
    let restored: Vec<String> =
        String::from_utf8_lossy(&healed.stdout).lines().map(String::from).collect();
    assert_eq!(restored.len(), 1, "{restored:?}");
    assert!(
        restored[0].starts_with("restored dynamodb to role app: denied since bounded"),
        "{restored:?}"
    );
    let report = audit(&sim, &["--config", config]);
    assert!(marked(&report, APP).is_empty(), "{}", entity(&report, APP));
    assert!(denial_reasons(&report, APP).is_empty());
}

#[test]
fn a_hostile_snapshot_never_marks_a_boundary_that_is_not_iamsweeps() {
    let sim = Sim::builder(scenario("denied.json")).record().start();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("iamsweep.toml");
    std::fs::write(&config, "[boundary]\ngrace_days = 0\n").unwrap();
    let config = config.to_str().unwrap();
    let journal = work.path().join("journal");
    let state = work.path().join("state");
    let apply = sim.iamsweep(&[
        "apply",
        "--apply",
        "--config",
        config,
        "--journal",
        journal.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--rate",
        "500",
    ]);
    assert_code(&apply, 0);
    sim.activity(APP, "dynamodb");
    sim.activity(FENCED, "dynamodb");
    let snapshot = work.path().join("snapshot.json");
    audit(&sim, &["--save-snapshot", snapshot.to_str().unwrap()]);
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    let index = |saved: &Value, arn: &str| {
        saved["entities"].as_array().unwrap().iter().position(|e| e["arn"] == arn).unwrap()
    };
    let (app, fenced) = (index(&saved, APP), index(&saved, FENCED));
    let since = saved["entities"][app]["bounded_since"].clone();
    assert!(since.is_string());
    // app's boundary moved to iamsweep's path in another account, facts kept.
    saved["entities"][app]["permissions_boundary"] =
        "arn:aws:iam::999999999999:policy/iamsweep/role-app".into();
    // fenced given the facts of an iamsweep boundary it does not have.
    saved["entities"][fenced]["boundary_allows"] = json!(["s3"]);
    saved["entities"][fenced]["bounded_since"] = since;
    let hostile = work.path().join("hostile.json");
    std::fs::write(&hostile, saved.to_string()).unwrap();
    let report = json(&offline(&hostile, "json"));
    assert!(marked(&report, APP).is_empty(), "{}", entity(&report, APP));
    assert!(marked(&report, FENCED).is_empty(), "{}", entity(&report, FENCED));
    assert!(denial_reasons(&report, APP).is_empty() && denial_reasons(&report, FENCED).is_empty());

    // Facts of the wrong type are refused naming the field, as any bad snapshot.
    saved["entities"][fenced]["bounded_since"] = "yesterday".into();
    std::fs::write(&hostile, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
    let output = crate::sim::iamsweep(&["audit", "--snapshot", hostile.to_str().unwrap()]);
    assert_code(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hostile.json") && stderr.contains("line"), "{stderr}");
    assert!(output.stdout.is_empty(), "a refusal writes no report");
}
