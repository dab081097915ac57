//! Boundaries that stay right, in the function: a run that would write boundaries needs
//! `IAMSWEEP_STATE` (grace and notice decide from the history kept there), and the heal mode
//! gives a bounded role back, at once, a service it tried since it was bounded, writing only
//! with `IAMSWEEP_ENFORCE=true`.

use std::time::Duration;

use iamsweep_aws::journal::JournalStore;
use iamsweep_aws::pace::Pace;
use serde_json::{Value, json};
use tokio::time::Instant;

use iamsweep_lambda::failure::{ErrorKind, kind_of};
use iamsweep_lambda::handler::{Runtime, handle};

use crate::sim::{Sim, scenario};

const ACCOUNT: &str = "111122223333";
const APP: &str = "arn:aws:iam::111122223333:role/app";
const APP_BOUNDARY: &str = "arn:aws:iam::111122223333:policy/iamsweep/role-app";

fn far() -> Instant {
    Instant::now() + Duration::from_secs(900)
}

fn scheduled() -> Value {
    json!({"source": "aws.events", "detail-type": "Scheduled Event", "account": ACCOUNT,
           "detail": {}})
}

/// Every write iamsim recorded from call `from` on: IAM's writing verbs and S3 objects put.
fn writes_since(sim: &Sim, from: usize) -> Vec<String> {
    const VERBS: &[&str] =
        &["Create", "Put", "Tag", "Untag", "Delete", "Set", "Attach", "Detach", "Update"];
    sim.calls()[from..]
        .iter()
        .filter_map(|call| call["action"].as_str())
        .filter(|action| VERBS.iter().any(|verb| action.starts_with(verb)))
        .map(str::to_string)
        .collect()
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: &str) {
    let body = body.as_bytes().to_vec().into();
    s3.put_object().bucket("state").key(key).body(body).send().await.expect("put");
}

/// iamsim's `POST /_iamsim/activity`: `arn` used (or tried) `service` just now.
fn activity(sim: &Sim, arn: &str, service: &str) {
    use std::io::{Read, Write};
    let body = json!({"arn": arn, "service": service, "days_ago": 0}).to_string();
    let host = sim.url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /_iamsim/activity HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"), "{answer}");
}

/// The namespaces the default version of `policy_arn` allows (`NAMESPACE:*` actions).
async fn allowed(sim: &Sim, policy_arn: &str) -> Vec<String> {
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let policy = iam.get_policy().policy_arn(policy_arn).send().await.unwrap().policy.unwrap();
    let version = iam
        .get_policy_version()
        .policy_arn(policy_arn)
        .version_id(policy.default_version_id.unwrap())
        .send()
        .await
        .unwrap()
        .policy_version
        .unwrap();
    let text = urlencoding_decode(&version.document.unwrap());
    let document: Value = serde_json::from_str(&text).unwrap();
    let mut namespaces: Vec<String> = document["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|statement| statement["Effect"] == "Allow")
        .flat_map(|statement| match &statement["Action"] {
            Value::String(action) => vec![action.clone()],
            Value::Array(actions) => {
                actions.iter().filter_map(|a| a.as_str().map(String::from)).collect()
            }
            _ => Vec::new(),
        })
        .filter_map(|action| action.strip_suffix(":*").map(String::from))
        .collect();
    namespaces.sort();
    namespaces
}

/// IAM answers policy documents URL-encoded (RFC 3986 `%XX`; the canonical JSON has no spaces).
fn urlencoding_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|hex| std::str::from_utf8(hex).ok());
        match (bytes[index], hex.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Regression: without `IAMSWEEP_STATE` an enforcing run planned with no history at all: no
/// grace (a service granted yesterday was cut) and, with notice on, an announcement it could
/// never carry out. It is now a configuration error, before any Access Advisor job or write.
#[tokio::test]
async fn boundaries_without_iamsweep_state_are_refused_naming_it_with_zero_writes() {
    let sim = Sim::start(&scenario("lambda.json"));
    let s3 = sim.bucket("state").await;
    let setup = sim.calls().len();
    let enforcing = [("IAMSWEEP_JOURNAL", "s3://state/journal"), ("IAMSWEEP_ENFORCE", "true")];
    let runtime = sim.runtime(&enforcing).await;
    let error = handle(&runtime, &scheduled(), far()).await.expect_err("refused");
    assert_eq!(kind_of(&error), ErrorKind::ConfigError, "{error:#}");
    let message = format!("{error:#}");
    assert!(message.contains("IAMSWEEP_STATE is not set"), "{message}");
    assert!(message.contains("hint: set IAMSWEEP_STATE to s3://BUCKET/PREFIX"), "{message}");
    assert!(message.contains("boundary.grace_days = 14"), "{message}");
    assert_eq!(writes_since(&sim, setup), Vec::<String>::new(), "zero writes");
    let jobs = sim.calls()[setup..]
        .iter()
        .filter(|call| call["action"] == "GenerateServiceLastAccessedDetails")
        .count();
    assert_eq!(jobs, 0, "refused before anything is collected");

    // A fan-out in enforce mode writes boundaries too: the same refusal.
    let fan_out = json!({"account_id": "210987654321", "role_name": "iamsweep-member",
                         "mode": "enforce"});
    let error = handle(&runtime, &fan_out, far()).await.expect_err("refused");
    assert!(format!("{error:#}").contains("IAMSWEEP_STATE is not set"), "{error:#}");
    assert_eq!(writes_since(&sim, setup), Vec::<String>::new(), "zero writes");

    // With notice on, even without grace: announcements need the history.
    put(&s3, "notice.toml", "[boundary]\ngrace_days = 0\nnotice_days = 7\n").await;
    let with_notice = [("IAMSWEEP_CONFIG", "s3://state/notice.toml"), enforcing[0], enforcing[1]];
    let runtime = sim.runtime(&with_notice).await;
    let error = handle(&runtime, &scheduled(), far()).await.expect_err("refused");
    assert!(format!("{error:#}").contains("boundary.notice_days = 7"), "{error:#}");
    let before_tags_only = sim.calls().len();
    assert_eq!(writes_since(&sim, setup), ["PutObject"], "only the test's own config");

    // Tags only (IAMSWEEP_ENFORCE off) need no history: the run goes on and tags.
    let tags_only = sim.runtime(&[enforcing[0]]).await;
    let answer = handle(&tags_only, &scheduled(), far()).await.expect("answer");
    assert_eq!(
        (answer["status"].as_str(), answer["enforced"].as_bool()),
        (Some("complete"), Some(false))
    );
    let written = writes_since(&sim, before_tags_only);
    assert!(written.iter().any(|action| action == "TagUser"), "{written:?}");
    assert!(!written.iter().any(|action| action.contains("Boundary")), "{written:?}");

    // Grace and notice both off: the boundary follows usage alone, and no history is needed.
    put(&s3, "usage.toml", "[boundary]\ngrace_days = 0\nnotice_days = 0\n").await;
    let usage_only = [("IAMSWEEP_CONFIG", "s3://state/usage.toml"), enforcing[0], enforcing[1]];
    let runtime = sim.runtime(&usage_only).await;
    let answer = handle(&runtime, &scheduled(), far()).await.expect("answer");
    assert_eq!(answer["enforced"], true, "{answer}");
    assert!(
        sim.calls().iter().any(|call| call["action"] == "PutRolePermissionsBoundary"),
        "boundaries are written"
    );
}

/// What the Lambda's enforcing scheduled run bounds `app` to: the services it used.
async fn bound_app(sim: &Sim, enforcing: &Runtime) {
    let answer = handle(enforcing, &scheduled(), far()).await.expect("answer");
    assert_eq!(
        (answer["enforced"].as_bool(), answer["write_failures"].as_u64()),
        (Some(true), Some(0))
    );
    // app used lambda; sqs, granted by the same inline policy, is removed (grace is off).
    assert_eq!(allowed(sim, APP_BOUNDARY).await, ["lambda"]);
}

#[tokio::test]
async fn a_heal_run_restores_a_denied_service_once_and_writes_only_when_enforcing() {
    let sim = Sim::start(&scenario("lambda.json"));
    let s3 = sim.bucket("state").await;
    // Grace off: lambda.json grants by inline policies, whose services a first run keeps.
    put(&s3, "config.toml", "[boundary]\ngrace_days = 0\n").await;
    let vars = [
        ("IAMSWEEP_CONFIG", "s3://state/config.toml"),
        ("IAMSWEEP_STATE", "s3://state/iamsweep"),
        ("IAMSWEEP_JOURNAL", "s3://state/journal"),
    ];
    let dry = sim.runtime(&vars).await;
    let enforcing = sim.runtime(&[vars[0], vars[1], vars[2], ("IAMSWEEP_ENFORCE", "true")]).await;
    bound_app(&sim, &enforcing).await;

    // Nothing tried since: nothing to heal.
    let quiet = sim.calls().len();
    let answer = handle(&enforcing, &json!({"mode": "heal"}), far()).await.expect("answer");
    assert_eq!((answer["event"].as_str(), answer["restored"].as_u64()), (Some("heal"), Some(0)));
    assert_eq!(writes_since(&sim, quiet), Vec::<String>::new());

    // app tries sqs, which its boundary denies.
    activity(&sim, APP, "sqs");

    // IAMSWEEP_ENFORCE off: a dry run, which says what it would restore and writes nothing.
    let before = sim.calls().len();
    let answer = handle(&dry, &json!({"mode": "heal"}), far()).await.expect("answer");
    assert_eq!(answer["enforced"], false, "{answer}");
    assert_eq!((answer["would_restore"].as_u64(), answer["restored"].as_u64()), (Some(1), Some(0)));
    let line = answer["restorations"][0].as_str().unwrap_or_default();
    assert!(
        line.starts_with("would restore sqs to role app: denied since bounded, last attempt 20"),
        "{answer}"
    );
    assert_eq!(writes_since(&sim, before), Vec::<String>::new(), "a dry run writes nothing");
    assert_eq!(allowed(&sim, APP_BOUNDARY).await, ["lambda"]);

    // Enforcing: restored within this one run, journaled first.
    let answer = handle(&enforcing, &json!({"mode": "heal"}), far()).await.expect("answer");
    assert_eq!(
        (answer["restored"].as_u64(), answer["changed"].as_u64(), answer["status"].as_str()),
        (Some(1), Some(1), Some("complete")),
        "{answer}"
    );
    assert!(answer.get("would_restore").is_none(), "{answer}");
    let restorations: Vec<&str> =
        answer["restorations"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(restorations.len(), 1, "{answer}");
    assert!(
        restorations[0].starts_with("restored sqs to role app: denied since bounded, last attempt"),
        "{answer}"
    );
    assert_eq!(allowed(&sim, APP_BOUNDARY).await, ["lambda", "sqs"]);
    // Widen only: a new default version of app's boundary (and its journal object), nothing
    // else, nobody else.
    assert_eq!(writes_since(&sim, before), ["PutObject", "CreatePolicyVersion"]);
    let journal = JournalStore::parse("s3://state/journal", Some(enforcing.s3.clone())).unwrap();
    let entries = journal.read_account(&Pace::new(100.0), ACCOUNT, "/iamsweep/").await.unwrap();
    let heal = entries.last().expect("the heal's entry");
    assert_eq!((heal.arn.as_str(), heal.version_created), (APP, true));
    // What `iamsweep rollback --run RUN_ID` sets back as the default version.
    assert_eq!(heal.previous_default_version.as_deref(), Some("v1"), "{heal:?}");
    assert!(entries.iter().filter(|entry| entry.arn == APP).count() == 2, "enforce, then heal");

    // A second heal finds nothing outside the widened boundary.
    let again = sim.calls().len();
    let answer = handle(&enforcing, &json!({"mode": "heal"}), far()).await.expect("answer");
    assert_eq!((answer["restored"].as_u64(), answer["changed"].as_u64()), (Some(0), Some(0)));
    assert_eq!(writes_since(&sim, again), Vec::<String>::new(), "{answer}");
}
