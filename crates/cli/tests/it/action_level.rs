//! Action-level boundaries against iamsim: an EC2-heavy role gets a boundary that fits, allows
//! each action it used and every untracked one, and denies the tracked ones it did not use; a
//! role whose EC2 Deny cannot fit gets EC2 at service level, stated in the plan, instead of no
//! boundary; and a plan whose record of that is edited is refused with nothing written.

use std::process::Output;

use iamsweep_core::boundary::{MAX_POLICY_CHARS, non_whitespace_chars};
use iamsweep_core::policy_eval::{Policy, Request};
use serde_json::{Value, json};

use crate::boundary::attached_text as attached_document;
use crate::enforce::{WRITES, iam};
use crate::sim::{Sim, assert_code, scenario};

fn run(sim: &Sim, dir: &tempfile::TempDir, args: &[&str]) -> Output {
    let journal = dir.path().join("journal");
    let mut all = vec![args[0], "--granularity", "action", "--rate", "500"];
    if args[0] == "apply" {
        all.extend(["--journal", journal.to_str().unwrap()]);
    }
    all.extend(&args[1..]);
    sim.iamsweep(&all)
}

fn entity<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["entities"].as_array().unwrap().iter().find(|entity| entity["name"] == name).unwrap()
}

#[tokio::test]
async fn an_ec2_heavy_role_gets_a_fitting_action_level_boundary() {
    let sim = Sim::builder(scenario("action_level.json")).start();
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    assert_code(&run(&sim, &dir, &["plan", "--output", plan_path.to_str().unwrap()]), 0);
    let plan: Value = serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    let boundary = &entity(&plan, "builder")["boundary"];
    assert_eq!(boundary["action_level"], json!({"services": ["ec2", "s3"], "service_level": []}));

    assert_code(&run(&sim, &dir, &["apply", "--plan", plan_path.to_str().unwrap(), "--apply"]), 0);
    let document = attached_document(&iam(&sim.url).await, "builder").await.0;
    assert!(non_whitespace_chars(&document) <= MAX_POLICY_CHARS);
    let policy = Policy::parse(&document).unwrap();
    let allowed = |action: &str| policy.evaluate(&Request::new(action, "*")).is_allowed();
    // Each action used within the window, in any letter case.
    for used in [
        "ec2:DescribeInstances",
        "ec2:describesubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeImages",
        "ec2:RunInstances",
        "ec2:CreateTags",
        "ec2:TerminateInstances",
        "s3:ListBucket",
        "s3:GetBucketLocation",
    ] {
        assert!(allowed(used), "{used} was used: {document}");
    }
    // Untracked (S3 object operations are data events): no data, so never denied.
    for untracked in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging"] {
        assert!(allowed(untracked), "{untracked} is untracked: {document}");
    }
    // Tracked and not used within the window (DeleteVpc: 300 days ago).
    for unused in [
        "ec2:DeleteVpc",
        "ec2:CreateVpc",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstanceAttribute",
        "ec2:StopInstances",
        "s3:DeleteBucket",
        "s3:PutBucketPolicy",
    ] {
        assert!(!allowed(unused), "{unused} is tracked and unused: {document}");
    }
    // Not used at all: not allowed.
    assert!(!allowed("sqs:SendMessage"));
}

/// A role that used every other EC2 action: no pattern can cover two unused actions, EC2's Deny
/// cannot fit, so EC2 falls back to service level (said in the plan) and S3 stays at action level.
fn sprawl_scenario(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let catalogue = iamsweep_core::action_catalogue::Catalogue::shipped();
    let ec2: serde_json::Map<String, Value> = catalogue
        .actions("ec2")
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(index, _)| index % 2 == 0)
        .map(|(_, name)| (name.clone(), json!(1)))
        .collect();
    let scenario = json!({
        "account_id": "111122223333",
        "policies": [{"name": "Sprawl", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:*", "s3:*"], "Resource": "*"}]}}],
        "roles": [{"name": "sprawl", "trusted_service": "ec2.amazonaws.com",
                   "managed_policies": ["Sprawl"], "created_days_ago": 500,
                   "activity": {"ec2": {"days_ago": 1, "actions": ec2},
                                "s3": {"days_ago": 1, "actions": {"ListBucket": 1}}}}]
    });
    let path = dir.path().join("sprawl.json");
    std::fs::write(&path, scenario.to_string()).unwrap();
    path
}

#[tokio::test]
async fn a_service_that_does_not_fit_falls_back_to_service_level_and_an_edit_of_that_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::builder(sprawl_scenario(&dir)).record().start();
    let plan_path = dir.path().join("plan.json");
    let output = run(&sim, &dir, &["plan", "--output", plan_path.to_str().unwrap()]);
    assert_code(&output, 0);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains(
            "service level: role sprawl: `ec2` allowed whole, its unused actions not denied: its "
        ),
        "{table}"
    );
    let mut plan: Value = serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    let action_level = entity(&plan, "sprawl")["boundary"]["action_level"].clone();
    assert_eq!(action_level["services"], json!(["s3"]));
    assert_eq!(action_level["service_level"][0]["namespace"], "ec2");
    assert_eq!(action_level["service_level"][0]["reason"], "too_large");

    // Whoever edits the record (to hide a fallback, or to claim one) is refused whole.
    let edited = plan["entities"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|entity| entity["name"] == "sprawl")
        .unwrap();
    edited["boundary"]["action_level"] = json!({"services": ["ec2", "s3"], "service_level": []});
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, plan.to_string()).unwrap();
    let output = run(&sim, &dir, &["apply", "--plan", edited_path.to_str().unwrap(), "--apply"]);
    assert_code(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("boundary.action_level"), "{stderr}");
    let writes: Vec<Value> = sim
        .calls()
        .into_iter()
        .filter(|call| call["action"].as_str().is_some_and(|action| WRITES.contains(&action)))
        .collect();
    assert_eq!(writes, Vec::<Value>::new(), "a refused plan writes nothing");

    // The unedited plan is applied: EC2 allowed whole, S3's unused tracked actions denied.
    assert_code(&run(&sim, &dir, &["apply", "--plan", plan_path.to_str().unwrap(), "--apply"]), 0);
    let document = attached_document(&iam(&sim.url).await, "sprawl").await.0;
    let policy = Policy::parse(&document).unwrap();
    let allowed = |action: &str| policy.evaluate(&Request::new(action, "*")).is_allowed();
    assert!(allowed("ec2:DeleteVpc") && allowed("ec2:RunInstances"), "{document}");
    assert!(allowed("s3:ListBucket") && allowed("s3:GetObject"), "{document}");
    assert!(!allowed("s3:DeleteBucket"), "{document}");
}
