//! `--accounts`, `--organization` and `--assume-role` against iamsim with three accounts, one of
//! which refuses `AssumeRole`.

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

    assert_eq!(entries[0]["account_id"], MEMBER);
    assert_eq!(entries[0]["status"], "ok");
    let report = &entries[0]["report"];
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

    assert_eq!(entries[1]["account_id"], LOCKED);
    assert_eq!(entries[1]["status"], "error");
    let error = entries[1]["error"].as_str().unwrap();
    assert!(error.contains("AccessDenied") && error.contains("hint:"), "{error}");

    assert_eq!(document["rollup"]["accounts"], 2);
    assert_eq!(document["rollup"]["audited"], 1);
    assert_eq!(document["rollup"]["failed"], 1);
    assert_eq!(document["rollup"]["entities"], 4);

    // One session per account, asked once, whatever the number of IAM calls that follow (the
    // 400s are session lengths the role does not allow, stepped down: see `sessions`).
    let mut assumed: Vec<String> = sim
        .calls()
        .iter()
        .filter(|call| call["action"] == "AssumeRole" && call["status"] != 400)
        .map(|call| call["params"]["RoleArn"].as_str().unwrap().to_string())
        .collect();
    assumed.sort();
    assert_eq!(
        assumed,
        [format!("arn:aws:iam::{MEMBER}:role/Audit"), format!("arn:aws:iam::{LOCKED}:role/Audit")]
    );
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
    let ids: Vec<&str> = document["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["account_id"].as_str().unwrap())
        .collect();
    // The suspended account is left out; the management account is audited like the others.
    assert_eq!(ids, ["111122223333", MEMBER, LOCKED]);
    assert_eq!(names(&document["accounts"][0]["report"]), ["user:ops"]);
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
    // builder never used ec2: a finding, exit 1.
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
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
