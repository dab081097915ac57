//! CLI conventions, with the real binary: completions, `--quiet`, `--version`, a closed stdout,
//! no ANSI off a terminal, each help default once, `--output` confirmation, config-relative list
//! files, one error for a missing file, credential errors naming the profile, the SDK's own
//! warnings kept out of view, and offline figures said to be the snapshot's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::enforce::{assert_code, stderr, stdout};
use crate::sim::{Sim, iamsweep, iamsweep_with_env, json, repo_root, scenario};

fn demo() -> String {
    repo_root().join("examples/demo-snapshot.json").to_str().unwrap().to_string()
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = iamsweep(&["completions", shell]);
        assert_code(&output, 0);
        let script = stdout(&output);
        for word in ["iamsweep", "audit", "check", "plan", "apply", "rollback", "snapshot", "tag"] {
            assert!(script.contains(word), "{shell}: no `{word}`");
        }
        assert!(output.stderr.is_empty(), "{shell}: {}", stderr(&output));
    }
    let output = iamsweep(&["completions", "tcsh"]);
    assert_code(&output, 2);
}

#[test]
fn version_names_the_commit_when_built_from_git() {
    let output = iamsweep(&["--version"]);
    assert_code(&output, 0);
    let version = stdout(&output);
    let package = env!("CARGO_PKG_VERSION");
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8(output.stdout).unwrap().trim().to_string());
    match commit {
        Some(commit) => assert_eq!(version.trim_end(), format!("iamsweep {package} ({commit})")),
        // Built outside a checkout: the package version alone, and no failure.
        None => assert_eq!(version.trim_end(), format!("iamsweep {package}")),
    }
}

/// The demo snapshot with its entities repeated until a report is far larger than a pipe's
/// buffer (64 KiB on Linux), so the writer must meet the closed pipe.
fn large_snapshot(dir: &std::path::Path) -> String {
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(demo()).unwrap()).unwrap();
    let entities = snapshot["entities"].as_array().unwrap().clone();
    let mut many = Vec::new();
    for copy in 0..100 {
        for entity in &entities {
            let mut entity = entity.clone();
            let name = format!("{}-{copy}", entity["name"].as_str().unwrap());
            let arn = format!("{}-{copy}", entity["arn"].as_str().unwrap());
            entity["name"] = Value::from(name);
            entity["arn"] = Value::from(arn);
            many.push(entity);
        }
    }
    snapshot["entities"] = Value::from(many);
    let path = dir.join("large.json");
    std::fs::write(&path, serde_json::to_string(&snapshot).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs the binary, reads one line of its stdout, closes the pipe, and returns the exit code
/// and stderr: `iamsweep ... | head -1`.
fn head_one(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamsweep"))
        .args(args)
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "one line was written before the pipe closed");
    // The reader is dropped here: the rest of the report meets a closed pipe.
    let mut errors = String::new();
    child.stderr.take().unwrap().read_to_string(&mut errors).unwrap();
    (child.wait().unwrap().code(), errors)
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_commands_own_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let large = large_snapshot(dir.path());
    // Regression: this ended with "error: cannot write to stdout: Broken pipe" and exit 2.
    for format in ["table", "json", "csv", "markdown"] {
        let (code, errors) = head_one(&["audit", "--snapshot", &large, "--format", format]);
        assert_eq!(code, Some(0), "{format}: {errors}");
        assert_eq!(errors, "", "{format}");
    }
    // The gate still answers: findings are 1 whether or not the reader stayed.
    let (code, errors) = head_one(&["check", "--snapshot", &large, "--quiet"]);
    assert_eq!(code, Some(1), "{errors}");
    assert_eq!(errors, "");
    let (code, errors) = head_one(&["completions", "zsh"]);
    assert_eq!((code, errors.as_str()), (Some(0), ""));
}

#[test]
fn logs_to_a_file_or_pipe_carry_no_ansi_and_quiet_keeps_only_errors() {
    let sim = Sim::builder(scenario("selection.json")).start();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("snapshot.json");
    let saved = saved.to_str().unwrap();
    let output = sim.iamsweep(&["audit", "--rate", "500", "--save-snapshot", saved]);
    assert_code(&output, 0);
    let logs = stderr(&output);
    assert!(logs.contains("snapshot saved"), "{logs}");
    // Regression: colour codes landed in log files when stderr was not a terminal.
    assert!(!logs.contains('\u{1b}'), "{logs:?}");
    let output = sim.iamsweep(&["audit", "--rate", "500", "--save-snapshot", saved, "--quiet"]);
    assert_code(&output, 0);
    assert_eq!(stderr(&output), "", "--quiet: errors only");
    assert!(!output.stdout.is_empty(), "the report asked for is still written");
    let output = iamsweep(&["audit", "--quiet", "--snapshot", "/nonexistent/snapshot.json"]);
    assert_code(&output, 2);
    assert!(stderr(&output).starts_with("error: cannot read the snapshot"), "{}", stderr(&output));
    let output = sim.iamsweep(&["plan", "--rate", "500", "-q", "--kinds", "roles"]);
    assert_code(&output, 0);
    assert_eq!(stderr(&output), "");
}

#[test]
fn each_default_is_shown_once_in_help() {
    // The whole tree is walked by a unit test (`cli::tests`); this checks the help as printed.
    for command in [
        "audit",
        "check",
        "plan",
        "apply",
        "rollback",
        "heal",
        "completions",
        "org audit",
        "org plan",
        "org apply",
        "org rollback",
    ] {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let output = iamsweep(&args);
        assert_code(&output, 0);
        let help = stdout(&output);
        // One block per flag: from a line starting with `-` to the next.
        let mut blocks: Vec<String> = Vec::new();
        for line in help.lines() {
            if line.trim_start().starts_with('-') || blocks.is_empty() {
                blocks.push(String::new());
            }
            blocks.last_mut().unwrap().push_str(line);
            blocks.last_mut().unwrap().push('\n');
        }
        for block in blocks {
            assert!(block.matches("[default:").count() <= 1, "{command}: {block}");
        }
    }
    // Regression: `apply --help` showed `[default: ./iamsweep-journal]` twice.
    // Regression: so did `org apply`, `org rollback` and `heal`.
    for command in [&["apply"][..], &["org", "apply"], &["org", "rollback"], &["heal"]] {
        let help = stdout(&iamsweep(&[command, &["--help"]].concat()));
        assert_eq!(help.matches("[default: ./iamsweep-journal]").count(), 1, "{help}");
    }
}

#[test]
fn output_says_what_it_wrote_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let report = report.to_str().unwrap();
    let output =
        iamsweep(&["audit", "--snapshot", &demo(), "--format", "json", "--output", report]);
    assert_code(&output, 0);
    assert_eq!(stderr(&output), format!("wrote audit report (json) to {report}\n"));
    assert!(output.stdout.is_empty());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(written["schema"], "iamsweep.audit/v1");
    std::fs::remove_file(report).unwrap();
    let output =
        iamsweep(&["audit", "-q", "--snapshot", &demo(), "--format", "csv", "--output", report]);
    assert_code(&output, 0);
    assert_eq!(stderr(&output), "");
    assert!(std::fs::read_to_string(report).unwrap().starts_with("arn,kind,name"));
    let sim = Sim::builder(scenario("selection.json")).start();
    let plan = dir.path().join("plan.json");
    let plan = plan.to_str().unwrap();
    let output = sim.iamsweep(&["plan", "--rate", "500", "--format", "json", "--output", plan]);
    assert_code(&output, 0);
    assert!(
        stderr(&output).contains(&format!("wrote plan (json) to {plan}\n")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn list_files_are_relative_to_the_config_and_a_missing_one_is_one_error() {
    let sim = Sim::builder(scenario("selection.json")).start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf/lists")).unwrap();
    std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
    std::fs::write(dir.path().join("conf/lists/do_not_list.txt"), "web-*\n").unwrap();
    let config = dir.path().join("conf/iamsweep.toml");
    std::fs::write(&config, "[guardrails]\ndo_not_list_file = \"lists/do_not_list.txt\"\n")
        .unwrap();
    let run = |config: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_iamsweep"))
            .args(["plan", "--format", "json", "--rate", "500", "--kinds", "roles"])
            .arg("--config")
            .arg(config)
            .args(["--endpoint-url", &sim.url])
            .current_dir(dir.path().join("elsewhere"))
            .env_clear()
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("IAMSWEEP_POLL_FIRST_MS", "5")
            .output()
            .unwrap()
    };
    // Run from another directory, with the config named by a relative path too.
    let output = run(std::path::Path::new("../conf/iamsweep.toml"));
    assert_code(&output, 0);
    let plan = json(&output);
    let web = plan["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entity| entity["name"] == "web-app")
        .expect("web-app is planned");
    assert_eq!(web["outcome"], "skipped", "{web}");
    assert!(web.to_string().contains("web-*"), "the list file was read: {web}");
    // Regression: a missing list file said "No such file or directory" twice.
    std::fs::remove_file(dir.path().join("conf/lists/do_not_list.txt")).unwrap();
    let output = run(&config);
    assert_code(&output, 2);
    let message = stderr(&output);
    assert_eq!(message.matches("No such file or directory").count(), 1, "{message}");
    assert!(message.contains("conf/lists/do_not_list.txt"), "names the resolved path: {message}");
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
}

#[test]
fn credential_errors_name_the_profile() {
    let env = [("HOME", "/nonexistent"), ("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")];
    for command in ["audit", "plan", "rollback"] {
        let mut args = vec![command, "--profile", "nosuch", "--endpoint-url", "http://127.0.0.1:9"];
        if command == "rollback" {
            args.push("--all");
        }
        let output = iamsweep_with_env(&args, &env);
        assert_code(&output, 2);
        let message = stderr(&output);
        assert!(message.contains("profile \"nosuch\""), "{command}: {message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{command}: {message}");
    }
}

/// A stand-in for the instance metadata service that answers every request with an error, as
/// a metadata endpoint that gives no credentials does: the SDK's credential chain logs a raw
/// `WARN` about it.
fn refusing_metadata_service() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let body = "<html><body>nothing here</body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 500 Internal Server Error\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn the_sdks_raw_warnings_stay_out_of_view_unless_asked_for() {
    let metadata = refusing_metadata_service();
    let run = |log: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_iamsweep"));
        command
            .args(["audit", "--endpoint-url", "http://127.0.0.1:9"])
            .env_clear()
            .env("HOME", "/nonexistent")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &metadata)
            .env("IAMSWEEP_TIMEOUT_MS", "2000");
        if let Some(log) = log {
            command.env("IAMSWEEP_LOG", log);
        }
        command.output().unwrap()
    };
    let output = run(None);
    assert_code(&output, 2);
    let message = stderr(&output);
    assert!(!message.contains("WARN"), "{message}");
    assert_eq!(message.trim_end().lines().count(), 1, "one clear sentence: {message}");
    assert!(message.contains("no AWS credentials found"), "{message}");
    let output = run(Some("aws_config=warn"));
    assert!(stderr(&output).contains("WARN"), "asked for: {}", stderr(&output));
}

#[test]
fn offline_reports_give_the_snapshots_figures_as_the_snapshots() {
    let output = iamsweep(&["audit", "--snapshot", &demo()]);
    assert_code(&output, 0);
    let table = stdout(&output);
    assert!(
        table.contains("from a snapshot collected at 2026-11-23T12:32:23Z (67 calls, 0 throttles)"),
        "{table}"
    );
    assert!(!table.contains(" s\n"), "no wall time presented as this run's: {table}");
    let report = json(&iamsweep(&["audit", "--snapshot", &demo(), "--format", "json"]));
    assert_eq!(report["snapshot_collected_at"], "2026-11-23T12:32:23.215949816Z");
    let sim = Sim::builder(scenario("selection.json")).start();
    let live = json(&sim.iamsweep(&["audit", "--rate", "500", "--format", "json"]));
    assert!(live.get("snapshot_collected_at").is_none(), "a live report has none");
    let table = stdout(&sim.iamsweep(&["audit", "--rate", "500"]));
    assert!(!table.contains("snapshot"), "{table}");
    assert!(table.contains(" calls, 0 throttles, "), "{table}");
}
