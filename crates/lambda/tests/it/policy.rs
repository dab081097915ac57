//! Least privilege, checked: every action the function calls against iamsim (`--record`) is
//! granted by `deploy/`, and nothing is granted that no run calls.
//!
//! One recording server sees, in order: the function's own-account runs (scheduled with
//! enforcement on and attribution, a Config item, the periodic trigger), the Organizations
//! listing the CLI's `--organization` and the state machine make, then a fan-out in enforce mode
//! into a member account. The record is split by position and by who makes each call: in the
//! fan-out, S3 and `sts:AssumeRole` use the function's own role, IAM the member role.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use serde_yaml::Value as Yaml;
use tokio::time::Instant;

use iamsweep_aws::accounts::{assume, list_active_accounts};
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_lambda::handler::handle;

use crate::sim::{Sim, repo_root, scenario};

/// Granted without a call of that name, each for a stated reason.
const GRANTED_WITHOUT_CALL: &[(&str, &str)] = &[(
    "s3:ListBucket",
    "S3 answers a missing resume marker with 404 NoSuchKey only to a caller allowed to list \
     the bucket; without it the answer is 403 and a first run could not tell 'no marker'",
)];

/// `service:Action` of a recorded call, as IAM policies name it; `None` for calls that need no
/// permission.
fn action(call: &Value) -> Option<String> {
    let service = call["service"].as_str()?;
    let name = call["action"].as_str()?;
    let name = match (service, name) {
        ("sts", "GetCallerIdentity") => return None,
        ("s3", "ListObjects" | "ListObjectsV2") => "ListBucket",
        (_, name) => name,
    };
    Some(format!("{service}:{name}"))
}

fn actions<'a>(calls: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    calls.into_iter().filter_map(action).collect()
}

/// The actions an `Allow` statement of the role's inline policies grants.
fn granted(template: &str, role: &str) -> BTreeSet<String> {
    let path = repo_root().join("deploy").join(template);
    let text = std::fs::read_to_string(&path).expect("template readable");
    let document: Yaml = serde_yaml::from_str(&text).expect("template is YAML");
    let policies = document["Resources"][role]["Properties"]["Policies"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{template}: {role} has inline Policies"));
    let mut actions = BTreeSet::new();
    for policy in policies {
        for statement in policy["PolicyDocument"]["Statement"].as_sequence().expect("statements") {
            if statement["Effect"].as_str() != Some("Allow") {
                continue;
            }
            match &statement["Action"] {
                Yaml::String(action) => {
                    actions.insert(action.clone());
                }
                Yaml::Sequence(list) => {
                    actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_string)));
                }
                other => panic!("{template}: {role}: unexpected Action {other:?}"),
            }
        }
    }
    actions
}

fn compare(what: &str, called: &BTreeSet<String>, granted: &BTreeSet<String>) {
    let exempt: BTreeMap<&str, &str> = GRANTED_WITHOUT_CALL.iter().copied().collect();
    let missing: Vec<&String> = called.difference(granted).collect();
    let unused: Vec<&String> =
        granted.difference(called).filter(|action| !exempt.contains_key(action.as_str())).collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "{what}: called but not granted: {missing:?}; granted but never called: {unused:?}\n\
         called: {called:?}"
    );
}

/// Gives `user` a boundary `/iamsweep/user-USER` with five versions.
async fn five_versions(iam: &aws_sdk_iam::Client, user: &str, account_id: &str) {
    let document = |sid: &str| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": sid, "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        .to_string()
    };
    let name = format!("user-{user}");
    iam.create_policy()
        .policy_name(&name)
        .path("/iamsweep/")
        .policy_document(document("v1"))
        .send()
        .await
        .unwrap();
    let arn = format!("arn:aws:iam::{account_id}:policy/iamsweep/{name}");
    for version in 2..=5 {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(document(&format!("v{version}")))
            .send()
            .await
            .unwrap();
    }
    iam.put_user_permissions_boundary()
        .user_name(user)
        .permissions_boundary(&arn)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_templates_grant_exactly_what_the_function_calls() {
    // lambda.json with a group in each account (groups cost one more Access Advisor call).
    let sim = Sim::start(&scenario("policy.json"));
    let s3 = sim.bucket("state").await;
    s3.put_object()
        .bucket("state")
        .key("config.toml")
        .body(b"[audit]\nattribute = true\n".to_vec().into())
        .send()
        .await
        .unwrap();
    // A boundary policy at IAM's five-version limit in each account, so enforcement deletes the
    // oldest version there.
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let member = assume(
        &sim.sdk().await,
        "210987654321",
        "iamsweep-member",
        &Pace::new(100.0),
        &RetryPolicy::default(),
    )
    .await
    .unwrap()
    .iam;
    five_versions(&iam, "alice", "111122223333").await;
    five_versions(&member, "builder", "210987654321").await;
    let setup = sim.calls().len();

    let far = || Instant::now() + Duration::from_secs(900);
    let runtime = sim
        .runtime(&[
            ("IAMSWEEP_CONFIG", "s3://state/config.toml"),
            ("IAMSWEEP_STATE", "s3://state/iamsweep"),
            ("IAMSWEEP_JOURNAL", "s3://state/journal"),
            ("IAMSWEEP_ENFORCE", "true"),
            ("IAMSWEEP_REPORTS", "s3://state/iamsweep/reports"),
        ])
        .await;
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let answer = handle(&runtime, &scheduled, far()).await.unwrap();
    assert_eq!(answer["write_failures"], 0, "{answer}");
    let before_ids = sim.calls().len();
    // One item of each kind, read with per-entity calls.
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let ids = [
        (
            "AWS::IAM::User",
            "alice",
            iam.get_user().user_name("alice").send().await.unwrap().user.unwrap().user_id,
        ),
        (
            "AWS::IAM::Role",
            "app",
            iam.get_role().role_name("app").send().await.unwrap().role.unwrap().role_id,
        ),
        (
            "AWS::IAM::Group",
            "devs",
            iam.get_group().group_name("devs").send().await.unwrap().group.unwrap().group_id,
        ),
    ];
    let setup_reads = sim.calls().len();
    for (resource_type, name, id) in ids {
        let item = json!({"invokingEvent": json!({
            "messageType": "ConfigurationItemChangeNotification",
            "configurationItem": {"resourceType": resource_type, "resourceId": id,
                "resourceName": name, "configurationItemStatus": "OK",
                "configurationItemCaptureTime": "2026-11-23T11:59:00.000Z"}}).to_string(),
            "resultToken": "token"});
        let answer = handle(&runtime, &item, far()).await.unwrap();
        assert_eq!(answer["evaluations"], 1, "{answer}");
    }
    let periodic = json!({"invokingEvent": json!({"messageType": "ScheduledNotification",
        "notificationCreationTime": "2026-11-23T12:00:00.000Z"}).to_string(), "resultToken": "token"});
    handle(&runtime, &periodic, far()).await.unwrap();
    let own_runs = sim.calls().len();

    let organizations = aws_sdk_organizations::Client::new(&sim.sdk().await);
    list_active_accounts(&organizations, &Pace::new(100.0), &RetryPolicy::default()).await.unwrap();
    let listing = sim.calls().len();

    let fan_out =
        json!({"account_id": "210987654321", "role_name": "iamsweep-member", "mode": "enforce"});
    let answer = handle(&runtime, &fan_out, far()).await.unwrap();
    assert_eq!(answer["status"], "complete", "{answer}");
    assert!(answer["changed"].as_u64().unwrap() > 0, "{answer}");

    let calls = sim.calls();
    let (fan_out_own, fan_out_member): (Vec<&Value>, Vec<&Value>) = calls[listing..]
        .iter()
        .partition(|call| call["service"] == "s3" || call["action"] == "AssumeRole");
    // The test's own reads of the three ids are not the function's.
    let mut function = actions(&calls[setup..before_ids]);
    function.extend(actions(&calls[setup_reads..own_runs]));
    function.extend(actions(fan_out_own));
    compare(
        "deploy/template.yaml FunctionRole",
        &function,
        &granted("template.yaml", "FunctionRole"),
    );
    compare(
        "deploy/member-role.yaml MemberRole",
        &actions(fan_out_member),
        &granted("member-role.yaml", "MemberRole"),
    );
    let listed = actions(&calls[own_runs..listing]);
    let state_machine: BTreeSet<String> = granted("template.yaml", "StateMachineRole")
        .into_iter()
        .filter(|action| action.starts_with("organizations:"))
        .collect();
    compare("deploy/template.yaml StateMachineRole (Organizations)", &listed, &state_machine);
}
