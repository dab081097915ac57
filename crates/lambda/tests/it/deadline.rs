//! The deadline over a whole run: a run cut short before its writes answers, names in its
//! marker what it audited and did not write, and the next run finishes exactly that, writing no
//! entity twice and running no Access Advisor job twice.
//!
//! No timed assertion: iamsim's jobs take 2 s and one entity is collected at a time, so a
//! run whose writes must stop 1.5 s after it starts can never reach them once it started an
//! entity. The assertions hold wherever the deadline falls.

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

    // Run 1: no entity may start after 1.5 s; the first job alone takes 2 s.
    let answer = handle(&runtime, &scheduled(), Instant::now() + Duration::from_millis(1500))
        .await
        .expect("a run cut short still answers");
    assert_eq!(answer["status"], "partial", "{answer}");
    assert_eq!(answer["account_id"], ACCOUNT);
    assert_eq!(answer["resume_marker"], format!("s3://state/{MARKER_KEY}"));
    assert!(answer["pending_writes"].as_u64().unwrap() >= 1, "{answer}");
    assert_eq!(answer["changed"], 0, "no write started after the deadline: {answer}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));

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
    // Every entity audited in run 1 that needs writes is named, with its Access Advisor data.
    let audited_in_run_1: BTreeSet<String> = jobs(&sim).into_keys().collect();
    for entity in &not_written {
        let arn = entity["arn"].as_str().unwrap();
        assert!(audited_in_run_1.contains(arn), "{arn} was audited in run 1");
        assert!(!entity["services"].as_array().unwrap().is_empty(), "{entity}");
    }
    assert!(not_written.iter().any(|entity| entity["name"] == "alice"), "{left}");
    assert!(audited_in_run_1.is_disjoint(&not_audited));

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
    assert!(jobs(&sim).values().all(|count| *count == 1), "no job twice: {:?}", jobs(&sim));
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
