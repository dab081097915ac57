//! The deadline over a whole run: a run cut short answers and names in its marker what it did
//! not audit and what it audited but did not write; the next run finishes exactly that,
//! writing no entity twice and running no Access Advisor job twice.
//!
//! No timed assertion. iamsim's jobs take 2 s and one entity is collected at a time, so a run
//! that may start nothing after 1.5 s is always cut short; where exactly (before, during or
//! after the first entity's writes) depends on the machine, and every assertion holds wherever
//! it falls. The reuse of a marker's audited entities is then checked on its own, from a marker
//! written by the test.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use iamsweep_lambda::handler::handle;

use crate::sim::{Sim, scenario};

const ACCOUNT: &str = "111122223333";
const MARKER_KEY: &str = "iamsweep/resume/111122223333/scheduled.json";

fn scheduled() -> Value {
    json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
           "account": ACCOUNT, "time": "2026-11-23T12:00:00Z", "region": "us-east-1",
           "resources": [], "detail": {}})
}

/// IAM writes per `(action, entity name)`.
fn writes(sim: &Sim) -> BTreeMap<(String, String), usize> {
    let mut writes = BTreeMap::new();
    for call in sim.calls() {
        let action = call["action"].as_str().unwrap_or_default().to_string();
        let is_write = ["Tag", "Put", "Create", "Delete", "Attach", "SetDefault"]
            .iter()
            .any(|prefix| action.starts_with(prefix));
        if call["service"] != "iam" || !is_write {
            continue;
        }
        let params = &call["params"];
        let name = ["UserName", "RoleName", "PolicyName", "PolicyArn"]
            .iter()
            .find_map(|key| params[*key].as_str())
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        *writes.entry((action, name)).or_insert(0) += 1;
    }
    writes
}

/// Access Advisor jobs per entity ARN.
fn jobs(sim: &Sim) -> BTreeMap<String, usize> {
    let mut jobs = BTreeMap::new();
    for call in sim.calls() {
        if call["action"] == "GenerateServiceLastAccessedDetails" {
            *jobs.entry(call["params"]["Arn"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
    }
    jobs
}

async fn marker(s3: &aws_sdk_s3::Client) -> Value {
    let object = s3.get_object().bucket("state").key(MARKER_KEY).send().await.expect("marker");
    let bytes = object.body.collect().await.unwrap().into_bytes();
    serde_json::from_slice(&bytes).expect("marker is JSON")
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: &str) {
    s3.put_object()
        .bucket("state")
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .expect("put");
}

#[tokio::test]
async fn writes_cut_by_the_deadline_are_finished_by_the_next_run_exactly_once() {
    let sim = Sim::start_with(&scenario("lambda.json"), &["--job-latency-ms", "2000"]);
    let s3 = sim.bucket("state").await;
    put(&s3, "config.toml", "[audit]\nconcurrency = 1\n").await;
    let vars = [
        ("IAMSWEEP_STATE", "s3://state/iamsweep"),
        ("IAMSWEEP_JOURNAL", "s3://state/journal"),
        ("IAMSWEEP_CONFIG", "s3://state/config.toml"),
        ("IAMSWEEP_ENFORCE", "true"),
        ("IAMSWEEP_SAFETY_MARGIN_SECONDS", "0"),
    ];
    let runtime = sim.runtime(&vars).await;

    // Run 1: nothing may start after 1.5 s; the first job alone takes 2 s.
    let answer = handle(&runtime, &scheduled(), Instant::now() + Duration::from_millis(1500))
        .await
        .expect("a run cut short still answers");
    assert_eq!(answer["status"], "partial", "{answer}");
    assert_eq!(answer["account_id"], ACCOUNT);
    assert_eq!(answer["resume_marker"], format!("s3://state/{MARKER_KEY}"));
    let written_in_run_1: BTreeSet<String> =
        writes(&sim).into_keys().map(|(_, name)| name).collect();

    let left = marker(&s3).await;
    assert_eq!(left["schema"], "iamsweep.resume/v2");
    let not_audited: BTreeSet<String> = left["not_audited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arn| arn.as_str().unwrap().to_string())
        .collect();
    let not_written: Vec<&Value> = left["not_written"].as_array().unwrap().iter().collect();
    assert_eq!(not_written.len() + not_audited.len(), answer["pending"].as_u64().unwrap() as usize);
    assert_eq!(not_written.len(), answer["pending_writes"].as_u64().unwrap() as usize);
    assert!(answer["pending"].as_u64().unwrap() >= 1, "{answer}");
    // Entities audited and not written are named with their data; none was written.
    let audited_in_run_1: BTreeSet<String> = jobs(&sim).into_keys().collect();
    for entity in &not_written {
        let arn = entity["arn"].as_str().unwrap();
        assert!(audited_in_run_1.contains(arn), "{arn} was audited in run 1");
        assert!(!entity["services"].as_array().unwrap().is_empty(), "{entity}");
        assert!(!written_in_run_1.contains(entity["name"].as_str().unwrap()), "{entity}");
    }
    // A job still running at the stop instant is abandoned (polling never outlives the
    // deadline) and its entity counts as not audited: its job, a read, runs again next time.
    // Every other entity audited in run 1 is in `not_written` or written, never audited again.
    let abandoned: BTreeSet<String> =
        audited_in_run_1.intersection(&not_audited).cloned().collect();

    // Run 2 finishes: the entities left, and only them.
    let answer = handle(&runtime, &scheduled(), Instant::now() + Duration::from_secs(900))
        .await
        .expect("answer");
    assert_eq!(answer["resumed"], true);
    assert_eq!(answer["status"], "complete", "{answer}");
    assert_eq!(answer["pending"], 0);
    assert!(answer["changed"].as_u64().unwrap() >= 1, "{answer}");
    let after_run_2 = writes(&sim);
    assert!(
        after_run_2.values().all(|count| *count == 1),
        "no entity written twice: {after_run_2:?}"
    );
    assert_eq!(after_run_2.get(&("PutUserPermissionsBoundary".into(), "alice".into())), Some(&1));
    assert_eq!(after_run_2.get(&("PutRolePermissionsBoundary".into(), "app".into())), Some(&1));
    for (arn, count) in jobs(&sim) {
        let expected = if abandoned.contains(&arn) { 2 } else { 1 };
        assert_eq!(count, expected, "{arn}: jobs in the pass (abandoned in run 1: {abandoned:?})");
    }
    assert_eq!(jobs(&sim).len(), 4, "every entity audited once in the pass");
    let cleared = marker(&s3).await;
    assert_eq!(
        (
            cleared["not_audited"].as_array().unwrap().len(),
            cleared["not_written"].as_array().unwrap().len()
        ),
        (0, 0)
    );

    // Run 3 starts a new pass: everything is audited again, and nothing needs writing.
    let answer = handle(&runtime, &scheduled(), Instant::now() + Duration::from_secs(900))
        .await
        .expect("answer");
    assert_eq!((answer["resumed"].as_bool(), answer["changed"].as_u64()), (Some(false), Some(0)));
    assert_eq!(writes(&sim), after_run_2);
}

/// An entity the marker says was audited and not written is planned from its stored Access
/// Advisor data over a fresh read of the inventory: no job runs for it, and its writes are
/// made once.
#[tokio::test]
async fn a_marker_s_audited_entities_are_written_from_their_stored_data_without_a_job() {
    let sim = Sim::start(&scenario("lambda.json"));
    let s3 = sim.bucket("state").await;
    // Grace off: the stored data alone decides (lambda.json grants by inline policies, whose
    // services a first run keeps in grace).
    put(&s3, "config.toml", "[boundary]\ngrace_days = 0\n").await;
    let vars = [
        ("IAMSWEEP_CONFIG", "s3://state/config.toml"),
        ("IAMSWEEP_STATE", "s3://state/iamsweep"),
        ("IAMSWEEP_JOURNAL", "s3://state/journal"),
        ("IAMSWEEP_ENFORCE", "true"),
    ];
    let runtime = sim.runtime(&vars).await;
    let yesterday = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let an_hour_ago = (time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    // Stored data that differs from iamsim's (ec2 used, s3 not): the boundary must follow it.
    let marker = json!({"schema": "iamsweep.resume/v2", "account_id": ACCOUNT, "not_audited": [],
        "not_written": [{"arn": format!("arn:aws:iam::{ACCOUNT}:user/alice"), "kind": "user",
            "name": "alice", "path": "/", "status": "ok", "tags": {"stale": "tag"},
            "services": [{"namespace": "ec2", "name": "Amazon EC2", "last_authenticated": yesterday},
                         {"namespace": "s3", "name": "Amazon S3"}]}],
        "written_at": an_hour_ago});
    put(&s3, MARKER_KEY, &marker.to_string()).await;
    let answer = handle(&runtime, &scheduled(), Instant::now() + Duration::from_secs(900))
        .await
        .expect("answer");
    assert_eq!((answer["resumed"].as_bool(), answer["entities"].as_u64()), (Some(true), Some(1)));
    assert_eq!(
        (answer["status"].as_str(), answer["pending"].as_u64()),
        (Some("complete"), Some(0))
    );
    assert!(jobs(&sim).is_empty(), "no job for a reused entity: {:?}", jobs(&sim));
    let written = writes(&sim);
    assert_eq!(written.get(&("PutUserPermissionsBoundary".into(), "alice".into())), Some(&1));
    assert!(written.keys().all(|(_, name)| name == "alice" || name == "user-alice"), "{written:?}");
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/user-alice");
    let document = iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap()
        .policy_version
        .unwrap()
        .document
        .unwrap();
    assert!(document.contains("ec2%3A%2A") || document.contains("ec2:*"), "{document}");
    assert!(!document.contains("s3%3A%2A") && !document.contains("s3:*"), "{document}");
}

/// A marker written by the previous version (schema v1: `pending` ARNs, all not audited) is
/// resumed; a marker that is not one (garbage, another account's) is ignored with a full pass.
#[tokio::test]
async fn an_old_marker_is_resumed_and_a_broken_one_means_a_full_pass() {
    let sim = Sim::start(&scenario("lambda.json"));
    let s3 = sim.bucket("state").await;
    let vars =
        [("IAMSWEEP_STATE", "s3://state/iamsweep"), ("IAMSWEEP_JOURNAL", "s3://state/journal")];
    let runtime = sim.runtime(&vars).await;
    let v1 = json!({"schema": "iamsweep.resume/v1", "account_id": ACCOUNT,
        "pending": [format!("arn:aws:iam::{ACCOUNT}:user/alice")],
        "written_at": "2026-11-23T12:00:00Z"});
    put(&s3, MARKER_KEY, &v1.to_string()).await;
    let far = || Instant::now() + Duration::from_secs(900);
    let answer = handle(&runtime, &scheduled(), far()).await.expect("answer");
    assert_eq!((answer["resumed"].as_bool(), answer["entities"].as_u64()), (Some(true), Some(1)));
    assert_eq!(marker(&s3).await["schema"], "iamsweep.resume/v2");

    for broken in [
        "<html>".to_string(),
        json!({"schema": "iamsweep.resume/v9", "account_id": ACCOUNT, "not_audited": ["x"],
               "written_at": "2026-11-23T12:00:00Z"})
        .to_string(),
        json!({"schema": "iamsweep.resume/v2", "account_id": "999999999999",
               "not_audited": ["x"], "written_at": "2026-11-23T12:00:00Z"})
        .to_string(),
    ] {
        put(&s3, MARKER_KEY, &broken).await;
        let answer = handle(&runtime, &scheduled(), far()).await.expect("a full pass");
        assert_eq!(
            (answer["resumed"].as_bool(), answer["entities"].as_u64()),
            (Some(false), Some(4))
        );
    }
}

/// Stored data older than a plan may be (`max_plan_age_hours`, 24 by default) is never written
/// from: its entities are audited again, since the data may miss a use made since.
#[tokio::test]
async fn a_marker_s_data_older_than_a_plan_may_be_is_collected_again() {
    let sim = Sim::start(&scenario("lambda.json"));
    let s3 = sim.bucket("state").await;
    let vars = [
        ("IAMSWEEP_STATE", "s3://state/iamsweep"),
        ("IAMSWEEP_JOURNAL", "s3://state/journal"),
        ("IAMSWEEP_ENFORCE", "true"),
    ];
    let runtime = sim.runtime(&vars).await;
    let marker = json!({"schema": "iamsweep.resume/v2", "account_id": ACCOUNT, "not_audited": [],
        "not_written": [{"arn": format!("arn:aws:iam::{ACCOUNT}:user/alice"), "kind": "user",
            "name": "alice", "path": "/", "status": "ok",
            "services": [{"namespace": "ec2", "name": "Amazon EC2"}]}],
        "written_at": "2026-01-01T00:00:00Z"});
    put(&s3, MARKER_KEY, &marker.to_string()).await;
    let answer = handle(&runtime, &scheduled(), Instant::now() + Duration::from_secs(900))
        .await
        .expect("answer");
    assert_eq!((answer["resumed"].as_bool(), answer["entities"].as_u64()), (Some(true), Some(1)));
    assert_eq!(jobs(&sim).len(), 1, "the old data is collected again: {:?}", jobs(&sim));
}

/// An entity carried over from the last pass keeps its Access Advisor data but has its boundary
/// read again: under one of iamsweep's boundaries, the service it tried outside that boundary is
/// marked `denied_since_bounded` in the resumed run's report, as in a fresh run.
#[tokio::test]
async fn a_resumed_entity_under_an_iamsweep_boundary_has_its_denied_service_marked() {
    let sim = Sim::start(&scenario("lambda.json"));
    let s3 = sim.bucket("state").await;
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let boundary = iam
        .create_policy()
        .policy_name("user-alice")
        .path("/iamsweep/")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "AllowUsedServices",
                "Effect": "Allow", "Action": ["ec2:*"], "Resource": ["*"]}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    iam.put_user_permissions_boundary()
        .user_name("alice")
        .permissions_boundary(&boundary)
        .send()
        .await
        .unwrap();
    let format = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339).unwrap()
    };
    let now = time::OffsetDateTime::now_utc();
    // sqs tried after the boundary was set (denied); ec2 allowed and used.
    let marker = json!({"schema": "iamsweep.resume/v2", "account_id": ACCOUNT, "not_audited": [],
        "not_written": [{"arn": format!("arn:aws:iam::{ACCOUNT}:user/alice"), "kind": "user",
            "name": "alice", "path": "/", "status": "ok",
            "services": [
                {"namespace": "ec2", "name": "Amazon EC2",
                 "last_authenticated": format(now - time::Duration::days(1))},
                {"namespace": "sqs", "name": "Amazon SQS",
                 "last_authenticated": format(now + time::Duration::seconds(1))}]}],
        "written_at": format(now - time::Duration::hours(1))});
    put(&s3, MARKER_KEY, &marker.to_string()).await;
    let runtime = sim
        .runtime(&[
            ("IAMSWEEP_STATE", "s3://state/iamsweep"),
            ("IAMSWEEP_JOURNAL", "s3://state/journal"),
            ("IAMSWEEP_REPORTS", "s3://state/iamsweep/test-stack/reports"),
        ])
        .await;
    let answer = handle(&runtime, &scheduled(), Instant::now() + Duration::from_secs(900))
        .await
        .expect("answer");
    assert_eq!(answer["resumed"], true, "{answer}");
    let object = s3
        .get_object()
        .bucket("state")
        .key(format!("iamsweep/test-stack/reports/{ACCOUNT}/latest.json"))
        .send()
        .await
        .unwrap();
    let report: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    let alice = report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entity| entity["name"] == "alice")
        .unwrap();
    let marked: Vec<&str> = alice["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|service| service["denied_since_bounded"] == true)
        .map(|service| service["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["sqs"], "{alice}");
}
