//! Each kind of event, end to end through `handle`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use iamsweep_lambda::handler::handle;

use crate::sim::{Sim, scenario};

const ACCOUNT: &str = "111122223333";
const MEMBER: &str = "210987654321";
const LOCKED: &str = "333344445555";

fn far() -> Instant {
    Instant::now() + Duration::from_secs(900)
}

fn scheduled() -> Value {
    json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
           "account": ACCOUNT, "time": "2026-11-23T12:00:00Z", "region": "us-east-1",
           "resources": ["arn:aws:events:us-east-1:111122223333:rule/iamsweep"], "detail": {}})
}

fn config_event(invoking: Value) -> Value {
    json!({"invokingEvent": invoking.to_string(), "ruleParameters": "{}",
           "resultToken": "token-1", "eventLeftScope": false,
           "executionRoleArn": "arn:aws:iam::111122223333:role/config",
           "configRuleArn": "arn:aws:config:us-east-1:111122223333:config-rule/config-rule-1",
           "configRuleName": "iamsweep", "configRuleId": "config-rule-1",
           "accountId": ACCOUNT, "version": "1.0"})
}

/// The evaluations iamsim received, in order: `(type, id, compliance)`.
fn evaluations(sim: &Sim) -> Vec<(String, String, String)> {
    sim.calls()
        .iter()
        .filter(|call| call["action"] == "PutEvaluations")
        .flat_map(|call| call["params"]["Evaluations"].as_array().cloned().unwrap_or_default())
        .map(|evaluation| {
            let text = |key: &str| evaluation[key].as_str().unwrap_or_default().to_string();
            (text("ComplianceResourceType"), text("ComplianceResourceId"), text("ComplianceType"))
        })
        .collect()
}

async fn user_id(sim: &Sim, name: &str) -> String {
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let user = iam.get_user().user_name(name).send().await.expect("user").user.expect("user");
    user.user_id
}

#[tokio::test]
async fn scheduled_run_audits_and_tags_but_attaches_no_boundary_unless_enforcing() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    let runtime = sim.runtime(&[("IAMSWEEP_JOURNAL", "s3://state/journal")]).await;
    let answer = handle(&runtime, &scheduled(), far()).await.expect("answer");
    assert_eq!(answer["event"], "scheduled");
    assert_eq!(answer["account_id"], ACCOUNT);
    assert_eq!(answer["status"], "complete");
    assert_eq!(answer["entities"], 4);
    // alice (ec2), app (sqs) and the service-linked role (its AWS policy): reported, though only
    // the first two can be tagged.
    assert_eq!(answer["non_compliant"], 3, "{answer}");
    assert_eq!(answer["enforced"], false);
    assert!(answer["changed"].as_u64().unwrap() > 0, "{answer}");
    let actions: Vec<String> =
        sim.calls().iter().map(|call| call["action"].as_str().unwrap().to_string()).collect();
    assert!(actions.iter().any(|action| action == "TagUser"), "{actions:?}");
    assert!(
        !actions
            .iter()
            .any(|action| action.contains("PermissionsBoundary") || action == "CreatePolicy"),
        "no boundary without IAMSWEEP_ENFORCE=true: {actions:?}"
    );
}

#[tokio::test]
async fn scheduled_run_enforces_only_when_turned_on() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    let runtime = sim
        .runtime(&[
            ("IAMSWEEP_STATE", "s3://state/iamsweep"),
            ("IAMSWEEP_JOURNAL", "s3://state/journal"),
            ("IAMSWEEP_ENFORCE", "true"),
        ])
        .await;
    let answer = handle(&runtime, &scheduled(), far()).await.expect("answer");
    assert_eq!(answer["enforced"], true, "{answer}");
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let alice = iam.get_user().user_name("alice").send().await.unwrap().user.unwrap();
    let boundary = alice.permissions_boundary.expect("alice is bounded").permissions_boundary_arn;
    assert_eq!(boundary.as_deref(), Some("arn:aws:iam::111122223333:policy/iamsweep/user-alice"));
    // The journal went to S3 before the writes.
    assert!(sim.calls().iter().any(|call| call["action"] == "PutObject"
        && call["params"]["Key"].as_str().unwrap_or("").starts_with("journal/")));
}

#[tokio::test]
async fn a_config_item_is_evaluated_alone_and_deleted_or_service_linked_ones_do_not_apply() {
    let sim = Sim::start(&scenario("lambda.json"));
    let runtime = sim.runtime(&[]).await;
    let alice = user_id(&sim, "alice").await;
    let item = |resource_type: &str, id: &str, name: &str, status: &str, path: &str| {
        config_event(json!({
            "messageType": "ConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-23T12:00:00.000Z",
            "configurationItem": {
                "resourceType": resource_type, "resourceId": id, "resourceName": name,
                "configurationItemStatus": status,
                "configurationItemCaptureTime": "2026-11-23T11:59:00.000Z",
                "configuration": {"path": path}
            }
        }))
    };
    let answer = handle(&runtime, &item("AWS::IAM::User", &alice, "alice", "OK", "/"), far())
        .await
        .expect("answer");
    assert_eq!(answer["event"], "config-item");
    assert_eq!((answer["evaluations"].as_u64(), answer["entities"].as_u64()), (Some(1), Some(1)));
    let jobs = sim
        .calls()
        .iter()
        .filter(|call| call["action"] == "GenerateServiceLastAccessedDetails")
        .count();
    assert_eq!(jobs, 1, "only the changed entity is collected");

    let deleted = item("AWS::IAM::Role", "AROAGONE", "gone", "ResourceDeleted", "/");
    handle(&runtime, &deleted, far()).await.expect("answer");
    let linked = item(
        "AWS::IAM::Role",
        "AROALINKED",
        "AWSServiceRoleForSupport",
        "OK",
        "/aws-service-role/support.amazonaws.com/",
    );
    handle(&runtime, &linked, far()).await.expect("answer");
    assert_eq!(
        evaluations(&sim),
        [
            ("AWS::IAM::User".to_string(), alice, "NON_COMPLIANT".to_string()),
            ("AWS::IAM::Role".to_string(), "AROAGONE".to_string(), "NOT_APPLICABLE".to_string()),
            ("AWS::IAM::Role".to_string(), "AROALINKED".to_string(), "NOT_APPLICABLE".to_string()),
        ]
    );
}

#[tokio::test]
async fn the_periodic_trigger_evaluates_every_entity_a_hundred_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<Value> = (0..104)
        .map(|index| {
            json!({"name": format!("user{index:03}"), "created_days_ago": 400,
            "inline_policies": {"p": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
            "activity": {"s3": {"days_ago": 1}}})
        })
        .collect();
    let roles = json!([{"name": "AWSServiceRoleForSupport", "path": "/aws-service-role/support.amazonaws.com/",
        "trusted_service": "support.amazonaws.com", "created_days_ago": 400}]);
    let path = dir.path().join("many.json");
    std::fs::write(
        &path,
        json!({"account_id": ACCOUNT, "users": users, "roles": roles}).to_string(),
    )
    .unwrap();
    let sim = Sim::start(&path);
    let runtime = sim.runtime(&[]).await;
    let event =
        config_event(json!({"messageType": "ScheduledNotification", "awsAccountId": ACCOUNT,
        "notificationCreationTime": "2026-11-23T12:00:00.000Z", "recordVersion": "1.0"}));
    let answer = handle(&runtime, &event, far()).await.expect("answer");
    assert_eq!(answer["event"], "config-periodic");
    assert_eq!(answer["evaluations"], 105);
    let calls: Vec<usize> = sim
        .calls()
        .iter()
        .filter(|call| call["action"] == "PutEvaluations")
        .map(|call| call["params"]["Evaluations"].as_array().unwrap().len())
        .collect();
    assert_eq!(calls, [100, 5]);
    let all = evaluations(&sim);
    assert_eq!(all.iter().filter(|(_, _, compliance)| compliance == "COMPLIANT").count(), 104);
    assert_eq!(
        all.iter()
            .filter(
                |(kind, _, compliance)| kind == "AWS::IAM::Role" && compliance == "NOT_APPLICABLE"
            )
            .count(),
        1
    );
}

#[tokio::test]
async fn a_fan_out_payload_audits_the_member_account_and_reports_a_refused_role() {
    let sim = Sim::start(&scenario("lambda.json"));
    let runtime = sim.runtime(&[]).await;
    // Audit mode writes summary tags, and every write needs a journal.
    let payload = json!({"account_id": MEMBER, "role_name": "Audit", "mode": "audit"});
    let answer = handle(&runtime, &payload, far()).await;
    // Without IAMSWEEP_JOURNAL the tag writes are refused, naming the variable.
    let error = format!("{:#}", answer.unwrap_err());
    assert!(error.contains("IAMSWEEP_JOURNAL"), "{error}");

    sim.bucket("state").await;
    let runtime = sim.runtime(&[("IAMSWEEP_JOURNAL", "s3://state/journal")]).await;
    let answer = handle(&runtime, &payload, far()).await.expect("answer");
    assert_eq!(answer["event"], "fan-out");
    assert_eq!(answer["account_id"], MEMBER);
    assert_eq!(answer["status"], "complete");
    assert_eq!(answer["non_compliant"], 1, "{answer}");

    let refused = json!({"account_id": LOCKED, "role_name": "Audit", "mode": "audit"});
    let answer = handle(&runtime, &refused, far()).await.expect("a refusal is an answer");
    assert_eq!(answer["status"], "error");
    assert!(answer["error"].as_str().unwrap().contains("AccessDenied"), "{answer}");
}

#[tokio::test]
async fn a_run_cut_short_by_the_deadline_leaves_a_marker_and_the_next_run_resumes_there() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    let vars = [("IAMSWEEP_STATE", "s3://state/iamsweep"), ("IAMSWEEP_SAFETY_MARGIN_SECONDS", "0")];
    let runtime = sim.runtime(&vars).await;
    let event =
        config_event(json!({"messageType": "ScheduledNotification", "awsAccountId": ACCOUNT,
        "notificationCreationTime": "2026-11-23T12:00:00.000Z", "recordVersion": "1.0"}));

    // The deadline has passed: no entity may start, and every one is left for the next run.
    let answer = handle(&runtime, &event, Instant::now()).await.expect("answer");
    assert_eq!(answer["status"], "partial");
    assert_eq!(answer["pending"], 4);
    assert_eq!(answer["resume_marker"], "s3://state/iamsweep/resume/111122223333/config.json");
    // No `PutEvaluations` starts after the deadline either: every entity is left, unanswered.
    assert_eq!(answer["evaluations"], 0);

    let answer = handle(&runtime, &event, far()).await.expect("answer");
    assert_eq!(answer["resumed"], true);
    assert_eq!(answer["status"], "complete");
    assert_eq!((answer["entities"].as_u64(), answer["pending"].as_u64()), (Some(4), Some(0)));

    // The pass is over: the next run starts afresh rather than resuming an empty list.
    let answer = handle(&runtime, &event, far()).await.expect("answer");
    assert_eq!(answer["resumed"], false);
    assert_eq!(answer["entities"], 4);
}

#[tokio::test]
async fn an_event_of_unknown_shape_is_an_error_naming_what_is_expected() {
    let sim = Sim::start(&scenario("lambda.json"));
    let runtime = sim.runtime(&[]).await;
    let error = handle(&runtime, &json!({"hello": "world"}), far()).await.unwrap_err();
    assert!(error.to_string().contains("account_id"), "{error}");
}
