//! `--accounts`, `--organization`, `--assume-role` and `--account-concurrency` against iamsim:
//! three accounts, one of which refuses `AssumeRole` (`accounts.json`), and an Organization of
//! six, the fourth refusing it (`organization.json`), for the streamed document and the bound
//! on accounts in flight, read from iamsim's record of every call and the account it served.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::sim::{Sim, json, scenario};

const MEMBER: &str = "210987654321";
const LOCKED: &str = "333344445555";

fn sim() -> Sim {
    Sim::builder(scenario("accounts.json")).record().start()
}

fn names(report: &Value) -> Vec<String> {
    report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entity| {
            format!("{}:{}", entity["kind"].as_str().unwrap(), entity["name"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn each_account_is_audited_through_its_own_session_and_a_refusal_is_reported() {
    let sim = sim();
    let accounts = format!("{MEMBER},{LOCKED}");
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
    let document = json(&output);
    assert_eq!(document["schema"], "iamsweep.accounts/v1");
    let entries = document["accounts"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    // Entries come in the order their audits complete: find each by its account.
    let entry = |id: &str| entries.iter().find(|entry| entry["account_id"] == id).unwrap();

    assert_eq!(entry(MEMBER)["status"], "ok");
    let report = &entry(MEMBER)["report"];
    assert_eq!(report["schema"], "iamsweep.audit/v1");
    assert_eq!(report["account_id"], MEMBER);
    assert_eq!(
        names(report),
        [
            "user:builder",
            "role:AWSServiceRoleForSupport",
            "role:Audit",
            // Created by Organizations in every account it creates, as in AWS.
            "role:OrganizationAccountAccessRole",
        ]
    );

    assert_eq!(entry(LOCKED)["status"], "error");
    let error = entry(LOCKED)["error"].as_str().unwrap();
    assert!(error.contains("AccessDenied") && error.contains("hint:"), "{error}");

    assert_eq!(document["rollup"]["accounts"], 2);
    assert_eq!(document["rollup"]["audited"], 1);
    assert_eq!(document["rollup"]["failed"], 1);
    assert_eq!(document["rollup"]["entities"], 4);

    // One session per account, reused for every IAM call that follows, not asked per call (the
    // 400s are session lengths the role does not allow, stepped down: see `sessions`). A loaded
    // machine may see the SDK retry an `AssumeRole` that timed out, so the count is bounded by
    // its attempts, and the reuse is shown against the account's own IAM calls.
    let calls = sim.calls();
    let mut assumed: BTreeMap<String, usize> = BTreeMap::new();
    for call in calls.iter().filter(|call| call["action"] == "AssumeRole" && call["status"] != 400)
    {
        *assumed.entry(call["params"]["RoleArn"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(
        assumed.keys().cloned().collect::<Vec<_>>(),
        [format!("arn:aws:iam::{MEMBER}:role/Audit"), format!("arn:aws:iam::{LOCKED}:role/Audit")]
    );
    assert!(assumed.values().all(|&count| count <= 3), "{assumed:?}");
    let member_iam_calls =
        calls.iter().filter(|call| call["service"] == "iam" && call["account"] == MEMBER).count();
    let member_sessions = assumed[&format!("arn:aws:iam::{MEMBER}:role/Audit")];
    assert!(member_iam_calls > 3 * member_sessions, "{member_iam_calls} IAM calls, {assumed:?}");
}

#[test]
fn the_organization_means_its_active_accounts() {
    let sim = sim();
    let output = sim.iamsweep(&[
        "audit",
        "--organization",
        "--assume-role",
        "Audit",
        "--format",
        "json",
        "--rate",
        "500",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let document = json(&output);
    let entries = document["accounts"].as_array().unwrap();
    let mut ids: Vec<&str> =
        entries.iter().map(|entry| entry["account_id"].as_str().unwrap()).collect();
    ids.sort();
    // The suspended account is left out; the management account is audited like the others.
    assert_eq!(ids, ["111122223333", MEMBER, LOCKED]);
    let management = entries.iter().find(|entry| entry["account_id"] == "111122223333").unwrap();
    assert_eq!(names(&management["report"]), ["user:ops"]);
    assert_eq!(document["rollup"]["audited"], 2);
    assert_eq!(document["rollup"]["failed"], 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("3 accounts: 2 audited, 1 not audited"), "{stderr}");
}

#[test]
fn one_account_keeps_the_single_account_report() {
    let sim = sim();
    let output = sim.iamsweep(&[
        "audit",
        "--accounts",
        MEMBER,
        "--assume-role",
        "Audit",
        "--format",
        "json",
        "--rate",
        "500",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = json(&output);
    assert_eq!(report["schema"], "iamsweep.audit/v1");
    assert_eq!(report["account_id"], MEMBER);
}

#[test]
fn check_fails_the_gate_on_findings_and_names_the_account_it_could_not_audit() {
    let sim = sim();
    let accounts = format!("{MEMBER},{LOCKED}");
    let output = sim.iamsweep(&[
        "check",
        "--accounts",
        &accounts,
        "--assume-role",
        "Audit",
        "--rate",
        "500",
    ]);
    // builder never used ec2 (a finding), and the locked account could not be audited: the
    // error outranks the finding, exit 2.
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("NON_COMPLIANT arn:aws:iam::{MEMBER}:user/builder")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("ERROR account {LOCKED}: cannot assume the role")),
        "{stdout}"
    );
}

#[test]
fn accounts_need_a_role_and_twelve_digits() {
    let output = crate::sim::iamsweep(&["audit", "--accounts", MEMBER]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--assume-role"));
    let output = crate::sim::iamsweep(&["audit", "--accounts", "12345", "--assume-role", "Audit"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("12-digit account id"));
}

/// The Organization of `organization.json`, in the order `ListAccounts` sorts it.
const ORGANIZATION: [&str; 6] = [
    "111122223333",
    "210000000001",
    "210000000002",
    "210000000003",
    "210000000004",
    "210000000005",
];
/// The member that refuses `AssumeRole`: fourth of six, so its failure comes mid-stream.
const REFUSING: &str = "210000000003";

/// An Organization whose jobs take a while, so that accounts audited at once overlap.
fn organization() -> Sim {
    Sim::builder(scenario("organization.json")).args(["--job-latency-ms", "300"]).record().start()
}

fn audit_organization(sim: &Sim, concurrency: &str, format: &str) -> std::process::Output {
    sim.iamsweep(&[
        "audit",
        "--organization",
        "--assume-role",
        "Audit",
        "--account-concurrency",
        concurrency,
        "--format",
        format,
        "--rate",
        "500",
    ])
}

/// For each account, the span of record lines from its `AssumeRole` to its last call, and the
/// most spans open at once. Each line is recorded before its answer is sent, so an account's
/// span ends before its audit can complete: the count is exact, not a matter of timing.
fn most_accounts_in_flight(calls: &[Value]) -> usize {
    let mut spans: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (index, call) in calls.iter().enumerate() {
        if call["action"] == "AssumeRole" {
            let arn = call["params"]["RoleArn"].as_str().unwrap();
            let account = arn.split(':').nth(4).unwrap().to_string();
            spans.entry(account).or_insert((index, index)).1 = index;
        } else if let Some(span) = spans.get_mut(call["account"].as_str().unwrap()) {
            span.1 = index;
        }
    }
    assert_eq!(spans.len(), ORGANIZATION.len(), "every account was started: {spans:?}");
    (0..calls.len())
        .map(|index| spans.values().filter(|(from, to)| (*from..=*to).contains(&index)).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn org_streamed_json_has_every_account_and_a_rollup_that_sums_them() {
    let sim = organization();
    let output = audit_organization(&sim, "2", "json");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let document = json(&output);
    let keys: Vec<&str> = document.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(document["schema"], "iamsweep.accounts/v1");
    assert!(document["generated_at"].as_str().unwrap().ends_with('Z'));
    let entries = document["accounts"].as_array().unwrap();
    let mut ids: Vec<&str> =
        entries.iter().map(|entry| entry["account_id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ORGANIZATION, "each account exactly once");

    let mut sums = BTreeMap::<&str, u64>::new();
    for entry in entries {
        let id = entry["account_id"].as_str().unwrap();
        if id == REFUSING {
            assert_eq!(entry["status"], "error");
            assert!(entry.get("report").is_none());
            assert!(entry["error"].as_str().unwrap().contains("AccessDenied"), "{entry}");
            continue;
        }
        assert_eq!(entry["status"], "ok", "{entry}");
        assert!(entry.get("error").is_none());
        let report = &entry["report"];
        assert_eq!(report["schema"], "iamsweep.audit/v1");
        assert_eq!(report["account_id"], id);
        assert!(
            report["entities"]
                .as_array()
                .unwrap()
                .iter()
                .all(|entity| entity["arn"].as_str().unwrap().contains(&format!(":{id}:"))),
            "{id}: only its own entities"
        );
        let summary = &report["summary"];
        for (name, value) in [
            ("entities", &summary["entities"]),
            ("ok", &summary["status"]["ok"]),
            ("error", &summary["status"]["error"]),
            ("skipped", &summary["status"]["skipped"]),
            ("COMPLIANT", &summary["verdict"]["COMPLIANT"]),
            ("NON_COMPLIANT", &summary["verdict"]["NON_COMPLIANT"]),
            ("calls", &summary["calls"]),
            ("throttles", &summary["throttles"]),
        ] {
            *sums.entry(name).or_default() += value.as_u64().unwrap();
        }
    }
    let rollup = &document["rollup"];
    assert_eq!(rollup["accounts"], 6);
    assert_eq!(rollup["audited"], 5);
    assert_eq!(rollup["failed"], 1);
    assert_eq!(rollup["entities"], sums["entities"]);
    assert_eq!(rollup["status"]["ok"], sums["ok"]);
    assert_eq!(rollup["status"]["error"], sums["error"]);
    assert_eq!(rollup["status"]["skipped"], sums["skipped"]);
    assert_eq!(rollup["verdict"]["COMPLIANT"], sums["COMPLIANT"]);
    assert_eq!(rollup["verdict"]["NON_COMPLIANT"], sums["NON_COMPLIANT"]);
    assert_eq!(rollup["calls"], sums["calls"]);
    assert_eq!(rollup["throttles"], sums["throttles"]);
    // tidy used everything it was granted; each devN never used sqs.
    assert!(sums["COMPLIANT"] >= 1 && sums["NON_COMPLIANT"] >= 4, "{sums:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("6 accounts: 5 audited, 1 not audited"), "{stderr}");
}

#[test]
fn org_account_concurrency_bounds_the_accounts_in_flight() {
    for (concurrency, most) in [("1", 1), ("2", 2)] {
        let sim = organization();
        let output = audit_organization(&sim, concurrency, "json");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        // Never more than asked; and with jobs of 300 ms and six accounts started as soon as
        // a slot frees, the slots are used: two accounts do overlap when two are allowed.
        assert_eq!(
            most_accounts_in_flight(&sim.calls()),
            most,
            "--account-concurrency {concurrency}"
        );
    }
}

#[test]
fn org_a_refused_account_mid_stream_is_reported_and_the_others_go_on() {
    let sim = organization();
    // One at a time, accounts complete in the Organization's order: the refusal is fourth.
    let output = audit_organization(&sim, "1", "json");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let document = json(&output);
    let statuses: Vec<(&str, &str)> = document["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["account_id"].as_str().unwrap(), entry["status"].as_str().unwrap()))
        .collect();
    let expected: Vec<(&str, &str)> =
        ORGANIZATION.iter().map(|id| (*id, if *id == REFUSING { "error" } else { "ok" })).collect();
    assert_eq!(statuses, expected);

    let sim = organization();
    let output = audit_organization(&sim, "1", "markdown");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle}: {text}"));
    let refused = at(&format!("account {REFUSING}: not audited: cannot assume the role"));
    assert!(at("## Account 210000000002") < refused && refused < at("## Account 210000000004"));
    assert_eq!(text.matches("## Account ").count(), 5);
}

#[test]
fn org_check_streams_findings_and_fails_for_the_refused_account() {
    let sim = organization();
    let output = sim.iamsweep(&[
        "check",
        "--organization",
        "--assume-role",
        "Audit",
        "--account-concurrency",
        "3",
        "--rate",
        "500",
    ]);
    // Findings (devN never used sqs) and an account not audited: the error outranks the
    // findings, exit 2.
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for id in ["210000000001", "210000000002", "210000000004", "210000000005"] {
        assert!(stdout.contains(&format!("NON_COMPLIANT arn:aws:iam::{id}:user/dev")), "{stdout}");
    }
    assert!(stdout.contains(&format!("ERROR account {REFUSING}: cannot assume")), "{stdout}");
    assert!(!stdout.contains("user/tidy"), "{stdout}");
}

#[test]
fn org_account_concurrency_is_bounded_and_needs_several_accounts() {
    let sim = organization();
    for bad in ["0", "65", "1.5", "four"] {
        let output = audit_organization(&sim, bad, "json");
        assert_eq!(output.status.code(), Some(2), "--account-concurrency {bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--account-concurrency"), "{stderr}");
    }
    let output = sim.iamsweep(&["audit", "--account-concurrency", "2"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--accounts") || stderr.contains("--organization"), "{stderr}");
    assert!(sim.calls().is_empty(), "bad flags call nothing: {:?}", sim.calls());
}

#[test]
fn org_an_output_file_that_cannot_be_created_stops_the_run_before_any_account() {
    let sim = organization();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing/report.json");
    let path = path.to_str().unwrap();
    let output = sim.iamsweep(&[
        "audit",
        "--organization",
        "--assume-role",
        "Audit",
        "--format",
        "json",
        "--output",
        path,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("cannot create the output file `{path}`")), "{stderr}");
    let calls = sim.calls();
    assert!(calls.iter().all(|call| call["action"] == "ListAccounts"), "{calls:?}");
}
