//! Reports that read well, as a person sees them: the demo account's audit and plan at 80 and
//! 200 columns (the width `COLUMNS` gives when stdout is not a terminal), Markdown the same at
//! any width, and colour only on a terminal (a pseudo-terminal made by util-linux `script`),
//! never with `NO_COLOR`, never in a pipe.

use std::process::Command;

use crate::sim::{Sim, iamsweep_with_env, repo_root};

fn demo() -> String {
    repo_root().join("examples/demo-snapshot.json").to_str().unwrap().to_string()
}

#[track_caller]
fn text(output: std::process::Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn audit(format: &str, columns: &str) -> String {
    let demo = demo();
    text(iamsweep_with_env(
        &["audit", "--snapshot", &demo, "--format", format],
        &[("COLUMNS", columns), ("TERM", "xterm-256color")],
    ))
}

#[test]
fn the_demo_audit_table_at_80_and_200_columns() {
    let narrow = audit("table", "80");
    insta::assert_snapshot!("demo_table_80", narrow);
    insta::assert_snapshot!("demo_table_200", audit("table", "200"));
    // Regression: 151 lines for 8 entities, words cut mid-word.
    assert!(narrow.lines().count() < 50, "{narrow}");
    assert!(!narrow.contains("NON_CO\n") && narrow.contains("NON_COMPLIANT"));
    assert!(!narrow.contains('\x1b'), "no colour in a pipe");
}

#[test]
fn the_demo_audit_markdown_is_the_same_at_any_width() {
    let markdown = audit("markdown", "80");
    assert_eq!(markdown, audit("markdown", "200"));
    assert!(markdown.contains("| used services |"), "{markdown}");
}

#[test]
fn the_demo_plan_at_80_and_200_columns_shows_what_each_boundary_keeps_and_removes() {
    // The simulator's example account is the demo snapshot's: the plan reads its (absent)
    // boundary policies, the caller and the dates of the managed policies, and writes nothing.
    let sim = Sim::builder(repo_root().join("iamsim/scenarios/example.json")).start();
    let demo = demo();
    // Each rendering a first run: a state store of its own, so none reads another's history.
    let plan = |format: &str, columns: &str| {
        let state = tempfile::tempdir().unwrap();
        let state = state.path().to_str().unwrap();
        text(sim.iamsweep_env(
            &["plan", "--snapshot", &demo, "--state", state, "--format", format],
            &[("COLUMNS", columns)],
        ))
    };
    let narrow = plan("table", "80");
    insta::assert_snapshot!("demo_plan_80", narrow);
    insta::assert_snapshot!("demo_plan_200", plan("table", "200"));
    let markdown = plan("markdown", "80");
    assert_eq!(markdown, plan("markdown", "200"));
    insta::assert_snapshot!("demo_plan_markdown", markdown);
    for text in [&narrow, &markdown] {
        assert!(text.contains("sqs: granted since 2026-11-23 (no date known"), "{text}");
    }
}

/// Regression: grace kept every grant of the demo snapshot for 14 days (the layout test ran with
/// `grace_days = 0` to show a restricting plan). A plan from a saved snapshot dates managed
/// policies by what IAM says now (`ListPolicyVersions`), and the simulator created the example's
/// policies when it started, so each read as granted that day. Dated as an account's real
/// policies are, only what no date can be known for stays: sqs, which alice and stale-bob get
/// from their group's inline policy. Default settings, no workaround.
#[test]
fn grace_on_the_demo_snapshot_keeps_only_what_no_date_is_known_for() {
    let sim = Sim::builder(repo_root().join("iamsim/scenarios/example.json")).start();
    let state = tempfile::tempdir().unwrap();
    let demo = demo();
    let output = sim.iamsweep(&[
        "plan",
        "--snapshot",
        &demo,
        "--state",
        state.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&text(output)).unwrap();
    let entity = |name: &str| {
        plan["entities"].as_array().unwrap().iter().find(|entity| entity["name"] == name).unwrap()
    };
    for name in ["alice", "stale-bob"] {
        let grace: Vec<&str> = entity(name)["grace"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kept| kept["namespace"].as_str().unwrap())
            .collect();
        assert_eq!(grace, ["sqs"], "{name}: {}", entity(name));
        let reason = entity(name)["grace"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("an inline policy grants it"), "{reason}");
    }
    // Granted by managed policies 700 days old and unused: removed, not kept in grace.
    let removed: Vec<&str> = entity("alice")["boundary"]["effect"]["removes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|service| service["namespace"].as_str().unwrap())
        .collect();
    for namespace in ["dynamodb", "cloudwatch", "ec2"] {
        assert!(removed.contains(&namespace), "{namespace}: {removed:?}");
    }
    for name in ["admin", "auditor", "app"] {
        assert!(entity(name).get("grace").is_none(), "{name}: {}", entity(name));
    }
}

/// Runs the binary on a pseudo-terminal of 100 columns, with `env`.
fn on_a_terminal(env: &[(&str, &str)]) -> String {
    let command = format!(
        "stty rows 50 cols 100; {} audit --snapshot {}",
        env!("CARGO_BIN_EXE_iamsweep"),
        demo()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .output()
        .expect("util-linux `script` runs (Debian: bsdutils)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn verdicts_are_coloured_on_a_terminal_unless_no_color_is_set() {
    let coloured = on_a_terminal(&[]);
    assert!(coloured.contains("\x1b[1;31mNON_COMPLIANT\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[32mCOMPLIANT\x1b[0m"), "{coloured}");
    // The terminal's width, not COLUMNS: no line over 100 columns (but a single long word).
    for line in coloured.lines() {
        let plain = line.replace("\x1b[1;31m", "").replace("\x1b[32m", "").replace("\x1b[33m", "");
        let plain = plain.replace("\x1b[2m", "").replace("\x1b[0m", "").replace('\r', "");
        assert!(plain.chars().count() <= 100, "`{plain}`");
    }
    let plain = on_a_terminal(&[("NO_COLOR", "1")]);
    assert!(!plain.contains('\x1b'), "{plain}");
    assert!(plain.contains("NON_COMPLIANT"));
    // An empty NO_COLOR does not count (no-color.org).
    assert!(on_a_terminal(&[("NO_COLOR", "")]).contains('\x1b'));
}
