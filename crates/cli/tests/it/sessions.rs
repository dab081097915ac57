//! Bounded time and sessions longer than their credentials: a silent endpoint, assumed-role
//! sessions that expire in seconds (iamsim `--session-lifetime-seconds`) while Access Advisor
//! jobs are bound to the session that started them, and the `DurationSeconds` fallback.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::sim::{Sim, json, scenario};

const SHORT: &str = "210987654321";
const LONG: &str = "444455556666";

/// Far above what the runs below take (a few seconds): it only turns a hang into a failure.
const HANG_GUARD: Duration = Duration::from_secs(180);

// Regression: no connect or read timeout was set on any SDK client, and an endpoint that
// accepted the connection and never answered kept `audit` waiting for over 18 minutes.
#[test]
fn a_silent_endpoint_ends_the_audit_with_one_sentence_naming_the_call_and_the_endpoint() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accept every connection and hold it open without a byte of answer.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamsweep"))
        .args(["audit", "--endpoint-url", &endpoint])
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/iamsweep-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/iamsweep-test-credentials")
        .env("IAMSWEEP_TIMEOUT_MS", "200")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("iamsweep runs");
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    let mut stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).ok();
        let status = child.wait().expect("wait for iamsweep");
        done.send((status, text)).ok();
    });
    let Ok((status, stderr)) = finished.recv_timeout(HANG_GUARD) else {
        Command::new("kill").arg(pid.to_string()).status().ok();
        panic!("iamsweep audit still waiting on a silent endpoint after {HANG_GUARD:?}");
    };
    assert_eq!(status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let line = lines[0];
    assert!(line.contains("sts:GetCallerIdentity"), "names the operation: {line}");
    assert!(line.contains(&format!("no answer from `{endpoint}`")), "names the endpoint: {line}");
    assert!(line.contains("timeout") && line.contains("(after 4 attempts)"), "{line}");
}

#[test]
fn a_timeout_variable_that_is_not_milliseconds_is_refused_before_any_call() {
    let sim = Sim::builder(scenario("sessions.json")).record().start();
    let output = sim.iamsweep_env(&["audit"], &[("IAMSWEEP_TIMEOUT_MS", "30s")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`IAMSWEEP_TIMEOUT_MS` must be a whole number of milliseconds"),
        "{stderr}"
    );
    assert!(sim.calls().is_empty(), "no call before the settings are valid");
}

/// The `AssumeRole` calls made into `account`, as (DurationSeconds asked, HTTP status).
fn assume_calls(calls: &[Value], account: &str) -> Vec<(String, u64)> {
    calls
        .iter()
        .filter(|call| call["action"] == "AssumeRole")
        .filter(|call| call["params"]["RoleArn"] == format!("arn:aws:iam::{account}:role/Audit"))
        .map(|call| {
            (
                call["params"]["DurationSeconds"].as_str().unwrap_or("-").to_string(),
                call["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

// Regression: assumed-role sessions lasted one hour (no DurationSeconds) and an expired token
// was permanent, so an account audit longer than its session lost every remaining entity.
#[test]
fn an_audit_outlives_its_sessions_and_reads_each_job_with_the_session_that_started_it() {
    // Every session expires 3 s after it is granted; a job takes 0.4 s; two jobs at a time make
    // the member's 31 entities last several sessions. iamsim refuses a job read by any other
    // session than the one that started it, and an expired session with `ExpiredToken`.
    let sim = Sim::builder(scenario("sessions.json"))
        .args(["--session-lifetime-seconds", "3", "--job-latency-ms", "400"])
        .record()
        .start();
    let accounts = format!("{SHORT},{LONG}");
    let output = sim.iamsweep(&[
        "audit",
        "--accounts",
        &accounts,
        "--assume-role",
        "Audit",
        "--format",
        "json",
        "--rate",
        "500",
        "--concurrency",
        "2",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let document = json(&output);
    // Accounts are written in the order they complete, so each is found by its id.
    let account = |id: &str| -> Value {
        let accounts = document["accounts"].as_array().unwrap();
        accounts.iter().find(|account| account["account_id"] == id).cloned().unwrap()
    };
    let short = account(SHORT);
    let entities = short["report"]["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 31);
    let not_ok: Vec<&Value> = entities.iter().filter(|entity| entity["status"] != "ok").collect();
    assert!(not_ok.is_empty(), "every entity audited, none lost: {not_ok:#?}");
    assert!(entities.iter().all(|entity| entity["used"] == 1 || entity["name"] == "Audit"));
    assert_eq!(account(LONG)["report"]["entities"].as_array().unwrap().len(), 1);

    let calls = sim.calls();
    // New jobs went to fresh sessions: more than one session was granted for the account.
    let granted = assume_calls(&calls, SHORT).iter().filter(|(_, status)| *status == 200).count();
    assert!(granted >= 2, "sessions granted: {granted}");
    // No job was read by another session (iamsim answers NoSuchEntity, 404).
    let misread: Vec<&Value> = calls
        .iter()
        .filter(|call| call["action"] == "GetServiceLastAccessedDetails" && call["status"] == 404)
        .collect();
    assert!(misread.is_empty(), "{misread:#?}");
}

#[test]
fn the_longest_session_the_role_allows_is_asked_for_stepping_down_on_refusal() {
    let sim = Sim::builder(scenario("sessions.json")).record().start();
    let accounts = format!("{SHORT},{LONG}");
    let output = sim.iamsweep(&[
        "audit",
        "--accounts",
        &accounts,
        "--assume-role",
        "Audit",
        "--format",
        "json",
        "--rate",
        "500",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json(&output)["rollup"]["audited"], 2);
    let calls = sim.calls();
    let asked =
        |account| -> BTreeMap<String, u64> { assume_calls(&calls, account).into_iter().collect() };
    // A role with the default MaxSessionDuration (1 hour): 12 h, 6 h, 4 h, 2 h refused, 1 h granted.
    let expected: BTreeMap<String, u64> =
        [("43200", 400), ("21600", 400), ("14400", 400), ("7200", 400), ("3600", 200)]
            .into_iter()
            .map(|(seconds, status)| (seconds.to_string(), status))
            .collect();
    assert_eq!(asked(SHORT), expected);
    assert_eq!(assume_calls(&calls, SHORT).len(), 5, "one session, no renewal in an hour");
    // A role that allows 4 hours gets 4 hours.
    assert_eq!(
        assume_calls(&calls, LONG),
        [("43200".to_string(), 400), ("21600".to_string(), 400), ("14400".to_string(), 200)]
    );
}

#[test]
fn a_caller_on_role_credentials_asks_for_one_hour_after_the_role_chaining_refusal() {
    let sim = Sim::builder(scenario("sessions.json")).record().start();
    // The caller itself holds a role session (as SSO users and the Lambda do).
    let (key, secret, token) = assume_role(&sim.url, &format!("arn:aws:iam::{LONG}:role/Audit"));
    let env = [
        ("AWS_ACCESS_KEY_ID", key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
        ("AWS_SESSION_TOKEN", token.as_str()),
    ];
    let output = sim.iamsweep_env(
        &[
            "audit",
            "--accounts",
            SHORT,
            "--assume-role",
            "Audit",
            "--format",
            "json",
            "--rate",
            "500",
        ],
        &env,
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(json(&output)["account_id"], SHORT);
    // STS says a chained session gets one hour at most: no stepping through 6, 4 and 2 hours.
    assert_eq!(
        assume_calls(&sim.calls(), SHORT),
        [("43200".to_string(), 400), ("3600".to_string(), 200)]
    );
}

/// Assumes `role_arn` with boto3 from iamsim's environment (keeping aws-sdk-sts out of the test
/// build): the session's key, secret and token.
fn assume_role(url: &str, role_arn: &str) -> (String, String, String) {
    let script = format!(
        "import boto3, sys\n\
         sts = boto3.client('sts', endpoint_url=sys.argv[1], region_name='us-east-1', \
         aws_access_key_id='AKIDTEST', aws_secret_access_key='x')\n\
         c = sts.assume_role(RoleArn='{role_arn}', RoleSessionName='ci')['Credentials']\n\
         print(c['AccessKeyId'], c['SecretAccessKey'], c['SessionToken'])"
    );
    let output = Command::new(crate::sim::repo_root().join("iamsim/.venv/bin/python"))
        .args(["-c", &script, url])
        .output()
        .expect("iamsim's python runs");
    let text = String::from_utf8(output.stdout).unwrap();
    let parts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(parts.len(), 3, "{text} {}", String::from_utf8_lossy(&output.stderr));
    (parts[0].into(), parts[1].into(), parts[2].into())
}
