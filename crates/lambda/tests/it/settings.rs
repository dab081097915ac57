//! The function resolves its settings with the CLI's resolver: the same bad value is refused
//! with the same words (the CLI's end-to-end tests assert the same text), and its list files
//! from S3 are read as strictly as the CLI's.

use std::time::Duration;

use iamsweep_lambda::handler::{Runtime, handle};
use iamsweep_lambda::settings::EnvSettings;
use serde_json::json;
use tokio::time::Instant;

use crate::sim::{Sim, scenario};

/// What `iamsweep audit --rate 0` and `[audit] rate = 0` say after naming their source.
const RATE_ZERO: &str = "expected 0.1..=1000 IAM calls per second, found 0";

/// Every IAM action that changes something.
const WRITES: &[&str] = &[
    "CreatePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "TagUser",
    "TagRole",
    "UntagUser",
    "UntagRole",
    "PutUserPermissionsBoundary",
    "PutRolePermissionsBoundary",
];

fn lookup(vars: &[(&str, &str)]) -> anyhow::Result<EnvSettings> {
    let vars: Vec<(String, String)> =
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    EnvSettings::from_lookup(|name| {
        vars.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
    })
}

async fn put(sim: &Sim, key: &str, body: &[u8]) {
    let config = aws_sdk_s3::config::Builder::from(&sim.sdk().await).force_path_style(true);
    aws_sdk_s3::Client::from_conf(config.build())
        .put_object()
        .bucket("state")
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .expect("object written");
}

fn writes(sim: &Sim) -> Vec<String> {
    sim.calls()
        .iter()
        .filter_map(|call| call["action"].as_str())
        .filter(|action| WRITES.contains(action))
        .map(str::to_string)
        .collect()
}

/// Regression: `[audit] rate = 0` meant "no limit" in the function and was refused by the CLI,
/// and `IAMSWEEP_RATE=0` silently fell back to the config.
#[tokio::test]
async fn a_zero_rate_is_refused_from_the_variable_and_the_config_as_the_cli_refuses_it() {
    let error = lookup(&[("IAMSWEEP_RATE", "0")]).unwrap_err();
    assert_eq!(error.to_string(), format!("`IAMSWEEP_RATE`: {RATE_ZERO}"));

    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    put(&sim, "config.toml", b"[audit]\nrate = 0\n").await;
    let env = lookup(&[("IAMSWEEP_CONFIG", "s3://state/config.toml")]).unwrap();
    let error = Runtime::from_config(sim.sdk().await, env).await.unwrap_err();
    // The function adds its error kind's context; the cause is the CLI's very sentence.
    assert_eq!(
        error.root_cause().to_string(),
        format!("`[audit] rate` in `s3://state/config.toml`: {RATE_ZERO}")
    );

    put(&sim, "config.toml", b"[audit]\nwindow_days = 0\n").await;
    let env = lookup(&[("IAMSWEEP_CONFIG", "s3://state/config.toml")]).unwrap();
    let error = Runtime::from_config(sim.sdk().await, env).await.unwrap_err();
    assert!(format!("{error:#}").contains("expected 1..=400 days, found 0"), "{error:#}");
    assert!(sim.calls().iter().all(|call| call["service"] != "iam"), "no IAM call at all");
}

/// The function reads its list files as bytes through core, as the CLI does: a BOM is dropped
/// (its first entry protects), UTF-16 is refused naming the object and line, with zero writes.
#[tokio::test]
async fn list_files_from_s3_are_read_strictly() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    put(&sim, "config.toml", b"[guardrails]\ndo_not_list_file = \"s3://state/dnl.txt\"\n").await;
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("alice\r\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    put(&sim, "dnl.txt", &utf16).await;
    let vars = [
        ("IAMSWEEP_CONFIG", "s3://state/config.toml"),
        ("IAMSWEEP_STATE", "s3://state/iamsweep"),
        ("IAMSWEEP_JOURNAL", "s3://state/journal"),
        ("IAMSWEEP_ENFORCE", "true"),
        ("IAMSWEEP_RATE", "500"),
        ("IAMSWEEP_POLL_FIRST_MS", "5"),
    ];
    let runtime = Runtime::from_config(sim.sdk().await, lookup(&vars).unwrap()).await.unwrap();
    let far = Instant::now() + Duration::from_secs(900);
    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let error = format!("{:#}", handle(&runtime, &scheduled, far).await.unwrap_err());
    assert!(error.contains("`s3://state/dnl.txt`, line 1"), "{error}");
    assert!(error.contains("UTF-16"), "{error}");
    assert_eq!(writes(&sim), Vec::<String>::new(), "zero writes");

    put(&sim, "dnl.txt", b"\xEF\xBB\xBFalice\r\n").await;
    let answer = handle(&runtime, &scheduled, far).await.expect("answer");
    assert!(answer["changed"].as_u64().unwrap() > 0, "the others are written: {answer}");
    let touched_alice = sim.calls().iter().any(|call| {
        WRITES.contains(&call["action"].as_str().unwrap_or(""))
            && call.to_string().contains("alice")
    });
    assert!(!touched_alice, "alice, first on the list after the BOM, is never written");
}
