//! Bad input exits 2 with a message naming the file and what was expected; snapshots analyse
//! offline with no AWS access at all.

use crate::sim::{Sim, iamsweep, json, repo_root, scenario};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_demo_snapshot_works_with_no_aws_access() {
    let demo = repo_root().join("examples/demo-snapshot.json");
    let demo = demo.to_str().unwrap();
    for format in ["table", "json", "csv", "markdown"] {
        // No endpoint: any AWS call would fail, so success proves none was made.
        let output = iamsweep(&[
            "audit",
            "--snapshot",
            demo,
            "--format",
            format,
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]);
        assert!(output.status.success(), "{format}: {}", stderr(&output));
        assert!(!output.stdout.is_empty());
    }
}

#[test]
fn reports_of_the_demo_snapshot_read_as_reviewed() {
    let demo = repo_root().join("examples/demo-snapshot.json");
    let demo = demo.to_str().unwrap();
    let render = |format: &str| {
        let output = iamsweep(&["audit", "--snapshot", demo, "--format", format]);
        assert!(output.status.success(), "{format}: {}", stderr(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    insta::assert_snapshot!("demo_markdown", render("markdown"));
    insta::assert_snapshot!("demo_csv", render("csv"));
    let check = iamsweep(&["check", "--snapshot", demo, "--fail-on", "stale"]);
    assert_eq!(check.status.code(), Some(1));
    insta::assert_snapshot!("demo_check_stale", String::from_utf8(check.stdout).unwrap());
}

#[test]
fn a_saved_snapshot_gives_the_same_report_offline() {
    let sim = Sim::builder(scenario("audit.json")).start();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("snapshot.json");
    let saved = saved.to_str().unwrap();
    let live =
        sim.iamsweep(&["audit", "--format", "json", "--rate", "500", "--save-snapshot", saved]);
    assert!(live.status.success(), "{}", stderr(&live));
    drop(sim);
    let offline = iamsweep(&["audit", "--format", "json", "--snapshot", saved]);
    assert!(offline.status.success(), "{}", stderr(&offline));
    let (live, offline) = (json(&live), json(&offline));
    assert_eq!(live["entities"], offline["entities"]);
    assert_eq!(live["summary"], offline["summary"]);
}

#[test]
fn a_malformed_snapshot_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(
        &path,
        "{\n  \"schema\": \"iamsweep.snapshot/v1\",\n  \"collected_at\": 12\n}\n",
    )
    .unwrap();
    let output = iamsweep(&["audit", "--snapshot", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("broken.json"), "{message}");
    assert!(message.contains("line 3"), "{message}");

    std::fs::write(&path, "{\"schema\": \"something/v9\"}").unwrap();
    let message = stderr(&iamsweep(&["audit", "--snapshot", path.to_str().unwrap()]));
    assert!(message.contains("field `schema`: expected `iamsweep.snapshot/v1`"), "{message}");
}

#[test]
fn a_config_file_with_an_unknown_key_is_refused_before_any_call() {
    let sim = Sim::builder(scenario("audit.json")).record().start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iamsweep.toml");
    std::fs::write(&path, "[audit]\nwindow_days = 90\nwindoww = 3\n").unwrap();
    let output = sim.iamsweep(&["audit", "--config", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("iamsweep.toml"), "{message}");
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("windoww"), "{message}");
    assert!(sim.calls().is_empty(), "no AWS call on bad input");
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        &["audit", "--kinds", "users,robots"][..],
        &["audit", "--rate", "-3"][..],
        &["audit", "--format", "xml"][..],
        &["check", "--fail-on", "everything"][..],
    ] {
        let output = iamsweep(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn config_values_apply_and_flags_override_them() {
    let sim = Sim::builder(scenario("audit.json")).start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iamsweep.toml");
    std::fs::write(&path, "[audit]\nwindow_days = 1\nkinds = [\"roles\"]\nrate = 500\n").unwrap();
    let config = path.to_str().unwrap();
    let report = json(&sim.iamsweep(&["audit", "--format", "json", "--config", config]));
    assert_eq!(report["window_days"], 1);
    assert!(report["entities"].as_array().unwrap().iter().all(|e| e["kind"] == "role"));
    let report = json(&sim.iamsweep(&[
        "audit",
        "--format",
        "json",
        "--config",
        config,
        "--window-days",
        "30",
    ]));
    assert_eq!(report["window_days"], 30);
}

#[test]
fn no_credentials_is_one_sentence_and_exit_2() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iamsweep"))
        .args(["audit", "--endpoint-url", "http://127.0.0.1:9"])
        .env_clear()
        .env("HOME", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("no AWS credentials found"), "{message}");
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
}

#[test]
fn plan_refuses_other_accounts_before_any_call() {
    let sim = Sim::builder(scenario("audit.json")).record().start();
    let output = sim.iamsweep(&["plan", "--accounts", "210987654321", "--assume-role", "Auditor"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--accounts and --organization are for audit and check"));
    assert!(sim.calls().is_empty(), "no AWS call on bad input");
}

#[test]
fn json_logs_keep_the_original_samples_fields() {
    let demo = repo_root().join("examples/demo-snapshot.json");
    let output = iamsweep(&[
        "--log-format",
        "json",
        "audit",
        "--snapshot",
        demo.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let records: Vec<serde_json::Value> = stderr(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every log line is one JSON object"))
        .collect();
    let detail = records
        .iter()
        .find(|r| r["msgtype"] == "detail" && r["entityname"] == "alice" && r["service"] == "s3")
        .expect("a detail record per service");
    assert_eq!(detail["entitytype"], "user");
    assert_eq!(detail["TotalAuthenticatedEntities"], 1);
    assert!(detail["message"].as_str().unwrap().starts_with("used (last accessed "));
    let summaries = records.iter().filter(|r| r["msgtype"] == "summary").count();
    assert_eq!(summaries, 8 + 1, "one summary per entity, then the run's");
}
