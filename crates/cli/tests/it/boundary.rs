//! Boundaries of entities that used IAM, against the `boundary.json` scenario: with
//! `contain_iam_writers` the document attached is read back and compared whole; without it,
//! `plan` and `audit` name the escalation paths the boundary leaves open and write nothing.

use std::process::Output;

use iamsweep_core::policy_eval::{Decision, Policy, Request};
use serde_json::{Value, json};

use crate::enforce::iam;
use crate::sim::{Sim, assert_code, json, scenario};

const ACCOUNT: &str = "111122223333";

fn run(sim: &Sim, dir: &tempfile::TempDir, config: &str, args: &[&str]) -> Output {
    let config_path = dir.path().join("iamsweep.toml");
    std::fs::write(&config_path, config).unwrap();
    let journal = dir.path().join("journal");
    let mut all = vec![args[0], "--config", config_path.to_str().unwrap(), "--rate", "500"];
    if args[0] == "apply" {
        all.extend(["--journal", journal.to_str().unwrap()]);
    }
    all.extend(&args[1..]);
    sim.iamsweep(&all)
}

/// The boundary attached to a role and the default version of its policy, as IAM holds them.
async fn attached_document(iam: &aws_sdk_iam::Client, role: &str) -> (String, Value) {
    let (text, arn) = attached_text(iam, role).await;
    (arn, serde_json::from_str(&text).unwrap())
}

/// The default version of the boundary attached to a role, as IAM holds it, and its ARN.
pub(crate) async fn attached_text(iam: &aws_sdk_iam::Client, role: &str) -> (String, String) {
    let role = iam.get_role().role_name(role).send().await.unwrap().role.unwrap();
    let arn = role.permissions_boundary.unwrap().permissions_boundary_arn.unwrap();
    let policy = iam.get_policy().policy_arn(&arn).send().await.unwrap().policy.unwrap();
    let version = iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id(policy.default_version_id.unwrap())
        .send()
        .await
        .unwrap()
        .policy_version
        .unwrap();
    let text = percent_encoding::percent_decode_str(&version.document.unwrap())
        .decode_utf8()
        .unwrap()
        .into_owned();
    (text, arn)
}

fn principals() -> Value {
    json!([format!("arn:aws:iam::{ACCOUNT}:role/*"), format!("arn:aws:iam::{ACCOUNT}:user/*")])
}

/// The statements every boundary of the scenario's account ends with.
fn protective_statements() -> Vec<Value> {
    let tag_actions = json!([
        "iam:CreateRole",
        "iam:CreateUser",
        "iam:TagRole",
        "iam:TagUser",
        "iam:UntagRole",
        "iam:UntagUser"
    ]);
    vec![
        json!({
            "Sid": "DenyBoundaryPolicyEdit", "Effect": "Deny",
            "Action": ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy",
                       "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
            "Resource": [format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/*")]
        }),
        json!({
            "Sid": "DenyBoundaryRemoval", "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            "Resource": principals()
        }),
        json!({
            "Sid": "DenyBoundaryReplacement", "Effect": "Deny",
            "Action": ["iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"],
            "Resource": principals(),
            "Condition": {"Null": {"aws:ResourceTag/iamsweep:previous-boundary": "false"}}
        }),
        json!({
            "Sid": "DenyIamsweepTagChange", "Effect": "Deny", "Action": tag_actions,
            "Resource": principals(),
            "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["iamsweep:*"]}}
        }),
        json!({
            "Sid": "DenyIamsweepTagCaseChange", "Effect": "Deny", "Action": tag_actions,
            "Resource": principals(),
            "Condition": {"ForAnyValue:StringEqualsIgnoreCase":
                {"aws:TagKeys": ["iamsweep:exclude", "iamsweep:previous-boundary"]}}
        }),
    ]
}

#[tokio::test]
async fn a_contained_iam_writer_gets_exactly_the_containing_boundary() {
    let sim = Sim::builder(scenario("boundary.json")).start();
    let dir = tempfile::tempdir().unwrap();
    let config = "[boundary]\ncontain_iam_writers = true\n";
    assert_code(&run(&sim, &dir, config, &["apply", "--apply"]), 0);
    let iam = iam(&sim.url).await;

    let own = format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/role-deployer");
    let (arn, document) = attached_document(&iam, "deployer").await;
    assert_eq!(arn, own);
    let mut statements = vec![json!({
        "Sid": "AllowUsedServices", "Effect": "Allow", "Action": ["iam:*", "s3:*"], "Resource": ["*"]
    })];
    statements.extend(protective_statements());
    statements.push(json!({
        "Sid": "ContainIamWriters", "Effect": "Deny",
        "Action": ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:CreateRole",
                   "iam:CreateUser", "iam:DeleteRolePolicy", "iam:DeleteUserPolicy",
                   "iam:DetachRolePolicy", "iam:DetachUserPolicy",
                   "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
                   "iam:PutUserPermissionsBoundary", "iam:PutUserPolicy"],
        "Resource": principals(),
        "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": own}}
    }));
    assert_eq!(document, json!({"Version": "2012-10-17", "Statement": statements}));

    // What IAM holds denies a role created without a boundary, and allows one under its own.
    let policy = Policy::parse(&document.to_string()).unwrap();
    let create = Request::new("iam:CreateRole", format!("arn:aws:iam::{ACCOUNT}:role/new"));
    assert_eq!(policy.evaluate(&create), Decision::ExplicitDeny);
    let foreign =
        create.clone().with("iam:PermissionsBoundary", "arn:aws:iam::aws:policy/ReadOnlyAccess");
    assert_eq!(policy.evaluate(&foreign), Decision::ExplicitDeny);
    assert_eq!(policy.evaluate(&create.with("iam:PermissionsBoundary", &own)), Decision::Allow);

    // `app` keeps no IAM write: no containment, and its own boundary protected by name.
    let (_, app) = attached_document(&iam, "app").await;
    let mut statements = vec![
        json!({"Sid": "AllowUsedServices", "Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}),
        json!({"Sid": "DenyOwnBoundaryChange", "Effect": "Deny",
               "Action": ["iam:PutRolePermissionsBoundary"],
               "Resource": [format!("arn:aws:iam::{ACCOUNT}:role/app")]}),
    ];
    statements.extend(protective_statements());
    statements[3]["Condition"] = json!({"StringLike": {"iam:PermissionsBoundary":
        format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/*")}});
    assert_eq!(app, json!({"Version": "2012-10-17", "Statement": statements}));
}

#[tokio::test]
async fn without_containment_plan_and_audit_name_the_escalation_risk_and_write_nothing() {
    let sim = Sim::builder(scenario("boundary.json")).record().start();
    let dir = tempfile::tempdir().unwrap();

    let output = run(&sim, &dir, "", &["plan"]);
    assert_code(&output, 0);
    let table = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        table.contains(
            "escalation risk: role deployer: its boundary leaves open create-principals, \
             edit-policies, pass-roles, create-credentials, change-trust\n"
        ),
        "{table}"
    );
    assert!(table.contains("`boundary.contain_iam_writers = true` closes"), "{table}");
    assert!(!table.contains("role app:"), "app used no IAM: {table}");

    let plan = json(&run(&sim, &dir, "", &["plan", "--format", "json"]));
    let entity = |name: &str| {
        plan["entities"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone()
    };
    let risks = &entity("deployer")["escalation_risks"];
    assert_eq!(
        risks[0],
        json!({"path": "create-principals", "actions": ["iam:CreateRole", "iam:CreateUser"]})
    );
    let paths: Vec<&str> =
        risks.as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["create-principals", "edit-policies", "pass-roles", "create-credentials", "change-trust"]
    );
    assert!(entity("app").get("escalation_risks").is_none());

    let audit = json(&run(&sim, &dir, "", &["audit", "--format", "json"]));
    let audited = |name: &str| {
        audit["entities"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone()
    };
    assert_eq!(audited("deployer")["escalation_risks"], *risks);
    assert!(audited("app").get("escalation_risks").is_none());
    let markdown = run(&sim, &dir, "", &["audit", "--format", "markdown"]);
    assert!(
        String::from_utf8_lossy(&markdown.stdout)
            .contains("- escalation risk: role deployer used IAM; a boundary of what it used leaves open create-principals"),
        "{}",
        String::from_utf8_lossy(&markdown.stdout)
    );

    // Containment closes principal creation; the paths no boundary closes stay named.
    let contained =
        run(&sim, &dir, "[boundary]\ncontain_iam_writers = true\n", &["plan", "--format", "json"]);
    let contained = json(&contained);
    let deployer =
        contained["entities"].as_array().unwrap().iter().find(|e| e["name"] == "deployer").unwrap();
    let paths: Vec<&str> = deployer["escalation_risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["edit-policies", "pass-roles", "create-credentials", "change-trust"]);

    let writes: Vec<String> = sim
        .calls()
        .iter()
        .filter(|call| call["service"] == "iam")
        .filter_map(|call| call["action"].as_str())
        .filter(|action| {
            ["Create", "Put", "Tag", "Untag", "Delete", "Attach", "SetDefault"]
                .iter()
                .any(|verb| action.starts_with(verb))
        })
        .map(str::to_string)
        .collect();
    assert!(writes.is_empty(), "plan and audit write nothing: {writes:?}");
}
