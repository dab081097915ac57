//! `iamsweep findings import` against iamsim's Security Hub, read back through the SDK: a dry run
//! writes nothing; an import creates one finding per non-compliant or unevaluated entity; after
//! a plan/apply/rollback cycle, an entity made compliant and one deleted, a second import updates
//! the others in place (same ids, first observation kept, a person's SUPPRESSED kept) and
//! archives those two; the counts in Security Hub equal the report's.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingIdentifier, WorkflowStatus, WorkflowUpdate,
};
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_aws::securityhub::{Owner, existing_findings};
use serde_json::{Value, json};

use crate::enforce::{ACCOUNT, Workspace, assert_code, iam, sdk_config, stderr, stdout};
use crate::sim::{Sim, json, scenario};

const PRODUCT: &str = "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default";
/// Fields that belong to the customer (or to Security Hub) once a finding exists: iamsweep
/// never sends them.
const NEVER_SENT: &[&str] = &[
    "Workflow",
    "WorkflowState",
    "Note",
    "UserDefinedFields",
    "VerificationState",
    "Confidence",
    "Criticality",
    "RelatedFindings",
];

async fn hub(url: &str) -> aws_sdk_securityhub::Client {
    aws_sdk_securityhub::Client::new(&sdk_config(url).await)
}

fn id(arn: &str) -> String {
    format!("iamsweep/aws/{ACCOUNT}/{arn}")
}

fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:{kind}/{name}")
}

/// Every finding of iamsweep's Security Hub holds, by resource ARN (read on iamsweep's own
/// large-stack thread: a test thread's stack is too small for the SDK's deserialiser).
async fn findings(hub: &aws_sdk_securityhub::Client) -> BTreeMap<String, AwsSecurityFinding> {
    let owner = Owner {
        product_arn: PRODUCT.to_string(),
        generator_id: "iamsweep/unused-access".to_string(),
        account_id: ACCOUNT.to_string(),
    };
    existing_findings(hub, &RetryPolicy::default(), &owner)
        .await
        .unwrap()
        .into_iter()
        .map(|finding| (finding.resources.as_ref().unwrap()[0].id.clone().unwrap(), finding))
        .collect()
}

fn record_state(finding: &AwsSecurityFinding) -> &str {
    finding.record_state.as_ref().map_or("", |state| state.as_str())
}

fn compliance(finding: &AwsSecurityFinding) -> &str {
    finding.compliance.as_ref().and_then(|c| c.status.as_ref()).map_or("", |s| s.as_str())
}

/// The audit's JSON report, for the counts Security Hub must match.
fn report(sim: &Sim) -> Value {
    let output = sim.iamsweep(&["audit", "--format", "json", "--rate", "500"]);
    assert_code(&output, 0);
    json(&output)
}

/// The ARNs of the report's entities with this verdict (`null`: not evaluated).
fn with_verdict(report: &Value, verdict: Value) -> BTreeSet<String> {
    report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entity| entity["verdict"] == verdict)
        .map(|entity| entity["arn"].as_str().unwrap().to_string())
        .collect()
}

/// The Security Hub calls recorded from `from` on, and every finding they sent.
fn hub_calls(sim: &Sim, from: usize) -> (Vec<String>, Vec<Value>) {
    let calls: Vec<Value> =
        sim.calls()[from..].iter().filter(|c| c["service"] == "securityhub").cloned().collect();
    let actions = calls.iter().map(|c| c["action"].as_str().unwrap().to_string()).collect();
    let sent = calls
        .iter()
        .filter(|c| c["action"] == "BatchImportFindings")
        .flat_map(|c| c["params"]["Findings"].as_array().unwrap().clone())
        .collect();
    (actions, sent)
}

fn import(sim: &Sim, apply: bool) -> std::process::Output {
    let mut args = vec!["findings", "import", "--rate", "500"];
    if apply {
        args.push("--apply");
    }
    sim.iamsweep(&args)
}

#[tokio::test]
async fn import_close_and_keep_what_people_set() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let hub = hub(&sim.url).await;
    let first_report = report(&sim);
    let non_compliant = with_verdict(&first_report, json!("NON_COMPLIANT"));
    let unevaluated = with_verdict(&first_report, Value::Null);
    assert!(non_compliant.contains(&arn("role", "worker")) && !unevaluated.is_empty());

    // A dry run reads Security Hub and writes nothing anywhere.
    let before = sim.calls().len();
    let output = import(&sim, false);
    assert_code(&output, 0);
    let (actions, sent) = hub_calls(&sim, before);
    assert!(actions.iter().all(|a| a == "GetFindings"), "{actions:?}");
    assert!(sent.is_empty());
    assert!(crate::enforce::writes_since(&sim, before).is_empty());
    assert!(findings(&hub).await.is_empty());
    assert!(stdout(&output).contains(&format!("would create {}", arn("role", "worker"))));
    assert!(stderr(&output).contains("dry run, nothing imported"), "{}", stderr(&output));

    // The first import: one finding per non-compliant or unevaluated entity, nothing for
    // compliant ones (there is nothing to close).
    let before = sim.calls().len();
    assert_code(&import(&sim, true), 0);
    let (_, sent) = hub_calls(&sim, before);
    for finding in &sent {
        for field in NEVER_SENT {
            assert!(finding.get(field).is_none(), "{field} sent: {finding}");
        }
    }
    let first = findings(&hub).await;
    let expected: BTreeSet<String> = non_compliant.union(&unevaluated).cloned().collect();
    assert_eq!(first.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for (resource, finding) in &first {
        assert_eq!(finding.id.as_deref(), Some(id(resource).as_str()));
        assert_eq!(record_state(finding), "ACTIVE");
        let status = if non_compliant.contains(resource) { "FAILED" } else { "NOT_AVAILABLE" };
        assert_eq!(compliance(finding), status, "{resource}");
    }

    // A person suppresses worker's finding in Security Hub.
    let worker = arn("role", "worker");
    hub.batch_update_findings()
        .finding_identifiers(
            AwsSecurityFindingIdentifier::builder().id(id(&worker)).product_arn(PRODUCT).build(),
        )
        .workflow(WorkflowUpdate::builder().status(WorkflowStatus::Suppressed).build())
        .send()
        .await
        .unwrap();

    // A plan/apply/rollback cycle; then alice is made compliant (her unused dynamodb grant
    // removed) and idle is deleted.
    let work = Workspace::new();
    assert_code(&work.run(&sim, "plan", &[]), 0);
    assert_code(&work.run(&sim, "apply", &["--apply"]), 0);
    assert_code(&work.run(&sim, "rollback", &["--all", "--apply"]), 0);
    let iam = iam(&sim.url).await;
    let app_data = format!("arn:aws:iam::{ACCOUNT}:policy/AppData");
    iam.detach_user_policy().user_name("alice").policy_arn(&app_data).send().await.unwrap();
    let s3_only = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("s3")
        .policy_document(s3_only.to_string())
        .send()
        .await
        .unwrap();
    iam.detach_role_policy().role_name("idle").policy_arn(&app_data).send().await.unwrap();
    iam.delete_role().role_name("idle").send().await.unwrap();

    let second_report = report(&sim);
    assert!(with_verdict(&second_report, json!("COMPLIANT")).contains(&arn("user", "alice")));
    let output = import(&sim, true);
    assert_code(&output, 0);
    let text = stdout(&output);
    assert!(text.contains(&format!("archived {}: compliant now", arn("user", "alice"))), "{text}");
    assert!(text.contains(&format!("archived {}: deleted since", arn("role", "idle"))), "{text}");

    let second = findings(&hub).await;
    // Ids are stable: the same findings, updated in place, none added.
    assert_eq!(second.keys().collect::<Vec<_>>(), first.keys().collect::<Vec<_>>());
    for (resource, finding) in &second {
        assert_eq!(finding.id, first[resource].id, "{resource}");
        assert_eq!(finding.first_observed_at, first[resource].first_observed_at, "{resource}");
        assert_eq!(finding.created_at, first[resource].created_at, "{resource}");
    }
    let alice = &second[&arn("user", "alice")];
    assert_eq!((record_state(alice), compliance(alice)), ("ARCHIVED", "PASSED"));
    assert_eq!(record_state(&second[&arn("role", "idle")]), "ARCHIVED");
    let workflow = second[&worker].workflow.as_ref().and_then(|w| w.status.as_ref());
    assert_eq!(workflow.map(|s| s.as_str()), Some("SUPPRESSED"), "a person's choice is kept");
    assert!(second[&worker].updated_at > first[&worker].updated_at);

    // Counts in Security Hub equal the report's.
    let active_failed = second
        .values()
        .filter(|f| record_state(f) == "ACTIVE" && compliance(f) == "FAILED")
        .count();
    assert_eq!(active_failed, with_verdict(&second_report, json!("NON_COMPLIANT")).len());
    let active_unavailable = second
        .values()
        .filter(|f| record_state(f) == "ACTIVE" && compliance(f) == "NOT_AVAILABLE")
        .count();
    assert_eq!(active_unavailable, with_verdict(&second_report, Value::Null).len());

    // An edited snapshot that leaves out an entity IAM still holds closes nothing: only an
    // entity IAM answers `NoSuchEntity` for is taken for deleted.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("snapshot.json");
    let saved = saved.to_str().unwrap();
    assert_code(&sim.iamsweep(&["audit", "--save-snapshot", saved, "--rate", "500"]), 0);
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    snapshot["entities"].as_array_mut().unwrap().retain(|entity| entity["arn"] != worker.as_str());
    std::fs::write(saved, snapshot.to_string()).unwrap();
    let output = sim.iamsweep(&["findings", "import", "--snapshot", saved, "--apply"]);
    assert_code(&output, 0);
    assert!(
        stdout(&output)
            .contains(&format!("leave {worker}: not in this audit, and IAM still holds it")),
        "{}",
        stdout(&output)
    );
    assert_eq!(record_state(&findings(&hub).await[&worker]), "ACTIVE");

    // A third import changes no finding's state: archived stays archived.
    assert_code(&import(&sim, true), 0);
    let third = findings(&hub).await;
    for (resource, finding) in &third {
        assert_eq!(record_state(finding), record_state(&second[resource]), "{resource}");
    }
}

#[tokio::test]
async fn batches_of_at_most_100_and_refused_findings_named_per_entity() {
    // 130 users with an unused grant each, and Security Hub refusing one user's finding.
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<Value> = (0..130)
        .map(|i| {
            json!({"name": format!("u{i:03}"), "created_days_ago": 400,
                        "managed_policies": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]})
        })
        .collect();
    let refused = arn("user", "u042");
    let path = dir.path().join("many.json");
    std::fs::write(
        &path,
        json!({"account_id": ACCOUNT, "users": users,
               "security_hub": {"refuse_resources": [refused]}})
        .to_string(),
    )
    .unwrap();
    let sim = Sim::builder(path).record().start();
    let before = sim.calls().len();
    let output = import(&sim, true);
    assert_code(&output, 2);
    let calls: Vec<Value> = sim.calls()[before..]
        .iter()
        .filter(|c| c["action"] == "BatchImportFindings")
        .cloned()
        .collect();
    let sizes: Vec<usize> =
        calls.iter().map(|c| c["params"]["Findings"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, vec![100, 30]);
    let text = stdout(&output);
    assert!(text.contains(&format!("FAILED to create {refused}: InvalidInput")), "{text}");
    assert_eq!(text.matches("FAILED").count(), 1, "{text}");
    assert_eq!(findings(&hub(&sim.url).await).await.len(), 129, "the others are imported");
    assert!(stderr(&output).contains("1 failed"), "{}", stderr(&output));
}

#[tokio::test]
async fn a_snapshot_of_another_account_is_refused_before_any_security_hub_call() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let snapshot = crate::sim::repo_root().join("examples/demo-snapshot.json");
    let output =
        sim.iamsweep(&["findings", "import", "--snapshot", snapshot.to_str().unwrap(), "--apply"]);
    assert_code(&output, 2);
    assert!(stderr(&output).contains("Security Hub takes an account's findings only from"));
    assert!(sim.calls().iter().all(|c| c["service"] != "securityhub"));

    // A snapshot file that is not one: named, refused, nothing called at all.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema\": \"iamsweep.snapshot/v1\", \"entities\": 3}").unwrap();
    let before = sim.calls().len();
    let output = sim.iamsweep(&["findings", "import", "--snapshot", bad.to_str().unwrap()]);
    assert_code(&output, 2);
    assert!(stderr(&output).contains("bad.json"), "{}", stderr(&output));
    assert_eq!(sim.calls().len(), before);
}
