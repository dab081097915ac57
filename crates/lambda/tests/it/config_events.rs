//! AWS Config rule events written by others, replayed through `handle` against iamsim.
//!
//! Origins (see `tests/fixtures/README.md` for versions and licenses):
//! - `aws_lambda_events` 1.2.1 (crates.io), `src/fixtures/example-config-event.json`;
//! - AWS SAM CLI 1.170.0 (PyPI `aws-sam-cli`), `samcli/lib/generated_sample_events/events/config/`;
//! - AWS Config RDK 1.0.0 (PyPI `rdk`), `rdk/template/test_event_template.yaml` and
//!   `rdk/template/example_ci/AWS_IAM_*.json`, combined as `rdk test-local` does.
//!
//! What a test changes in an event is said where it does it.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use iamsweep_lambda::failure::diagnostic;
use iamsweep_lambda::handler::handle;

use crate::sim::{Sim, scenario};

const ACCOUNT: &str = "111122223333";

fn far() -> Instant {
    Instant::now() + Duration::from_secs(900)
}

fn fixture(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A SAM CLI event template rendered as `sam local generate-event config ... --account-id
/// 111122223333 --region us-east-1 --partition aws` renders it.
fn sam(name: &str) -> Value {
    let text = fixture(&format!("sam-cli/{name}.json"))
        .replace("{{{account_id}}}", ACCOUNT)
        .replace("{{{region}}}", "us-east-1")
        .replace("{{{partition}}}", "aws");
    serde_json::from_str(&text).expect("SAM event is JSON")
}

/// The RDK's test event with one of its example configuration items, as `rdk test-local`
/// builds it (`invokingEvent.configurationItem` = the item).
fn rdk(item: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut event: Value =
        serde_yaml::from_str(&fixture("rdk/test_event_template.yaml")).expect("RDK template");
    let mut item: Value = serde_json::from_str(&fixture(&format!("rdk/{item}"))).expect("RDK CI");
    edit(&mut item);
    let mut invoking: Value =
        serde_json::from_str(event["invokingEvent"].as_str().unwrap()).expect("invokingEvent");
    invoking["configurationItem"] = item;
    invoking["notificationCreationTime"] = json!("2026-11-23T12:00:00.000Z");
    event["invokingEvent"] = json!(invoking.to_string());
    event
}

/// Changes what a sample item must change to name an entity iamsim holds: its `resourceId`
/// (IAM ids are random, so iamsim's differ from the sample's).
fn with_id(id: &str) -> impl FnOnce(&mut Value) + '_ {
    move |item| item["resourceId"] = json!(id)
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

fn iam_actions(sim: &Sim) -> Vec<String> {
    sim.calls()
        .iter()
        .filter(|call| call["service"] == "iam")
        .map(|call| call["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn evaluation(kind: &str, id: &str, compliance: &str) -> (String, String, String) {
    (kind.to_string(), id.to_string(), compliance.to_string())
}

async fn ids(sim: &Sim) -> (String, String, String) {
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let user = iam.get_user().user_name("johndoe").send().await.unwrap().user.unwrap().user_id;
    let role =
        iam.get_role().role_name("config-role-ezcrc2").send().await.unwrap().role.unwrap().role_id;
    let group =
        iam.get_group().group_name("MyTestGroup").send().await.unwrap().group.unwrap().group_id;
    (user, role, group)
}

/// Regression: SAM's item event is an EC2 instance; it was evaluated as the IAM user
/// `i-00000000`. Now it is NOT_APPLICABLE under its own type and id, with no IAM call, and the
/// answer names the account.
#[tokio::test]
async fn sam_item_events_of_another_type_are_not_applicable_under_their_own_type() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    for name in
        ["ConfigurationItemChangeNotification", "OversizedConfigurationItemChangeNotification"]
    {
        let answer = handle(&runtime, &sam(name), far()).await.expect("answer");
        assert_eq!(answer["event"], "config-item");
        assert_eq!(answer["account_id"], ACCOUNT, "{answer}");
        assert_eq!(answer["evaluations"], 1);
    }
    let expected = evaluation("AWS::EC2::Instance", "i-00000000", "NOT_APPLICABLE");
    assert_eq!(evaluations(&sim), [expected.clone(), expected]);
    assert!(iam_actions(&sim).is_empty(), "{:?}", iam_actions(&sim));
}

/// SAM's oversized event carries a summary with `"resourceName": null`. Changed to name the IAM
/// user `johndoe` (type, id and ARN), it is evaluated from per-entity reads, the name taken
/// from the ARN.
#[tokio::test]
async fn an_oversized_item_of_an_iam_user_is_read_by_the_name_in_its_arn() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    let (user, _, _) = ids(&sim).await;
    let mut event = sam("OversizedConfigurationItemChangeNotification");
    let mut invoking: Value =
        serde_json::from_str(event["invokingEvent"].as_str().unwrap()).unwrap();
    let summary = &mut invoking["configurationItemSummary"];
    summary["resourceType"] = json!("AWS::IAM::User");
    summary["resourceId"] = json!(user);
    summary["ARN"] = json!(format!("arn:aws:iam::{ACCOUNT}:user/johndoe"));
    assert!(summary["resourceName"].is_null());
    event["invokingEvent"] = json!(invoking.to_string());
    let answer = handle(&runtime, &event, far()).await.expect("answer");
    assert_eq!((answer["entities"].as_u64(), answer["evaluations"].as_u64()), (Some(1), Some(1)));
    assert_eq!(evaluations(&sim), [evaluation("AWS::IAM::User", &user, "NON_COMPLIANT")]);
    assert!(iam_actions(&sim).contains(&"GetUser".to_string()));
}

/// SAM's periodic event (its `notificationCreationTime` is 1970) evaluates every entity.
#[tokio::test]
async fn the_sam_periodic_event_evaluates_every_entity() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    let answer = handle(&runtime, &sam("PeriodicRule"), far()).await.expect("answer");
    assert_eq!(answer["event"], "config-periodic");
    assert_eq!(answer["account_id"], ACCOUNT);
    assert_eq!(answer["evaluations"], 4, "two users, a role, a group: {answer}");
}

/// `aws_lambda_events`' Config fixture is a `ConfigurationSnapshotDeliveryCompleted` message:
/// no evaluation follows from it, and it is answered (not failed, which would make Lambda
/// retry it) with the account the event names.
#[tokio::test]
async fn the_aws_lambda_events_snapshot_delivery_is_answered_without_evaluations() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    let event: Value =
        serde_json::from_str(&fixture("aws_lambda_events/example-config-event.json"))
            .expect("fixture is JSON");
    let answer = handle(&runtime, &event, far()).await.expect("answer");
    assert_eq!(answer["event"], "config-ignored");
    assert_eq!(answer["status"], "complete");
    assert_eq!(answer["evaluations"], 0);
    assert_eq!(answer["account_id"], "012345678912");
    assert!(sim.calls().is_empty(), "no call at all: {:?}", sim.calls());
}

/// The RDK's test event says `eventLeftScope: true`: every item is NOT_APPLICABLE, with no IAM
/// call (AWS Config and the RDK's own boilerplate answer so).
#[tokio::test]
async fn rdk_items_that_left_the_scope_are_not_applicable_without_reads() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    let (user, role, group) = ids(&sim).await;
    let before = sim.calls().len();
    for (item, id) in
        [("AWS_IAM_User.json", &user), ("AWS_IAM_Role.json", &role), ("AWS_IAM_Group.json", &group)]
    {
        let answer = handle(&runtime, &rdk(item, with_id(id)), far()).await.expect("answer");
        assert_eq!(answer["evaluations"], 1, "{answer}");
        assert_eq!(answer["account_id"], "123456789012", "the event's account: {answer}");
    }
    assert_eq!(
        evaluations(&sim),
        [
            evaluation("AWS::IAM::User", &user, "NOT_APPLICABLE"),
            evaluation("AWS::IAM::Role", &role, "NOT_APPLICABLE"),
            evaluation("AWS::IAM::Group", &group, "NOT_APPLICABLE"),
        ]
    );
    let iam_after: usize =
        sim.calls()[before..].iter().filter(|call| call["service"] == "iam").count();
    assert_eq!(iam_after, 0);
}

/// In scope (`eventLeftScope` changed to `false`), each RDK item is evaluated alone, with
/// per-entity reads: never the whole account's `GetAccountAuthorizationDetails`.
#[tokio::test]
async fn rdk_items_in_scope_are_evaluated_with_per_entity_reads() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    let (user, role, group) = ids(&sim).await;
    for (item, id) in
        [("AWS_IAM_User.json", &user), ("AWS_IAM_Role.json", &role), ("AWS_IAM_Group.json", &group)]
    {
        let mut event = rdk(item, with_id(id));
        event["eventLeftScope"] = json!(false);
        let answer = handle(&runtime, &event, far()).await.expect("answer");
        assert_eq!(
            (answer["entities"].as_u64(), answer["evaluations"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(answer["account_id"], ACCOUNT, "the entity's account: {answer}");
    }
    assert_eq!(
        evaluations(&sim),
        [
            // johndoe used codedeploy, never its group's elasticloadbalancing.
            evaluation("AWS::IAM::User", &user, "NON_COMPLIANT"),
            evaluation("AWS::IAM::Role", &role, "COMPLIANT"),
            evaluation("AWS::IAM::Group", &group, "NON_COMPLIANT"),
        ]
    );
    let actions = iam_actions(&sim);
    for read in ["GetUser", "ListGroupsForUser", "GetRole", "ListAttachedRolePolicies", "GetGroup"]
    {
        assert!(actions.iter().any(|action| action == read), "{read} in {actions:?}");
    }
    assert!(
        !actions.iter().any(|action| action == "GetAccountAuthorizationDetails"),
        "{actions:?}"
    );
    let jobs: Vec<String> = sim
        .calls()
        .iter()
        .filter(|call| call["action"] == "GenerateServiceLastAccessedDetails")
        .map(|call| call["params"]["Arn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(jobs.len(), 3, "one job per item, none for the bystander: {jobs:?}");
}

/// Deleted items are NOT_APPLICABLE with no read; so is an item whose id is not the id of the
/// entity now holding its name (the RDK sample's own id: deleted and recreated since).
#[tokio::test]
async fn deleted_or_replaced_entities_are_not_applicable() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    for status in ["ResourceDeleted", "ResourceDeletedNotRecorded"] {
        let mut event = rdk("AWS_IAM_User.json", |item| {
            item["configurationItemStatus"] = json!(status);
        });
        event["eventLeftScope"] = json!(false);
        handle(&runtime, &event, far()).await.expect("answer");
    }
    assert!(iam_actions(&sim).is_empty(), "{:?}", iam_actions(&sim));
    let mut event = rdk("AWS_IAM_User.json", |_| {});
    event["eventLeftScope"] = json!(false);
    let answer = handle(&runtime, &event, far()).await.expect("answer");
    assert_eq!(answer["evaluations"], 1);
    let sample_id = "AIDAILEDWOGIPJFAKOJKW";
    assert_eq!(
        evaluations(&sim),
        vec![evaluation("AWS::IAM::User", sample_id, "NOT_APPLICABLE"); 3]
    );
    assert!(!iam_actions(&sim).iter().any(|action| action == "GenerateServiceLastAccessedDetails"));
}

/// Answers that needed no IAM call still carry the account id: from the event when it names
/// it, else from STS, asked once per cold start.
#[tokio::test]
async fn an_answer_without_reads_asks_sts_for_the_account_once() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    let mut event = sam("ConfigurationItemChangeNotification");
    event.as_object_mut().unwrap().remove("accountId");
    for _ in 0..2 {
        let answer = handle(&runtime, &event, far()).await.expect("answer");
        assert_eq!(answer["account_id"], ACCOUNT);
    }
    let sts = sim.calls().iter().filter(|call| call["action"] == "GetCallerIdentity").count();
    assert_eq!(sts, 1);
}

/// Function errors name their kind (`errorType`), not a Rust type path.
#[tokio::test]
async fn function_errors_name_their_kind() {
    let sim = Sim::start(&scenario("rdk.json"));
    let runtime = sim.runtime(&[]).await;
    let error = handle(&runtime, &json!({"hello": "world"}), far()).await.unwrap_err();
    assert_eq!(diagnostic(&error).error_type, "InvalidEvent");
    let mut event = sam("PeriodicRule");
    event["invokingEvent"] = json!("{\"messageType\": \"SomethingNew\"}");
    let error = handle(&runtime, &event, far()).await.unwrap_err();
    assert_eq!(diagnostic(&error).error_type, "InvalidEvent");
    assert!(diagnostic(&error).error_message.contains("SomethingNew"));

    // A config that cannot be read is a ConfigError, at cold start.
    sim.bucket("state").await;
    let env = iamsweep_lambda::settings::EnvSettings::from_lookup(|name| {
        (name == "IAMSWEEP_CONFIG").then(|| "s3://state/missing.toml".to_string())
    })
    .unwrap();
    let error =
        iamsweep_lambda::handler::Runtime::from_config(sim.sdk().await, env).await.unwrap_err();
    assert_eq!(diagnostic(&error).error_type, "ConfigError", "{error:#}");
    assert!(diagnostic(&error).error_message.contains("s3://state/missing.toml"));

    // Tag writes without a journal: a ConfigError too, before any write.
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
    let error = handle(&runtime, &scheduled, far()).await.unwrap_err();
    assert_eq!(diagnostic(&error).error_type, "ConfigError", "{error:#}");
    assert!(!iam_actions(&sim).iter().any(|action| action.starts_with("Tag")));
}
