//! The fan-out answers the Step Functions test stands in for.
//!
//! `deploy/tests/test_fan_out.py` runs the state machine of `deploy/template.yaml` in moto's
//! interpreter, which cannot run `bootstrap`; a Python stub answers each invocation with one of
//! the answers recorded in `deploy/tests/fan_out_answers.json`. This test runs the real handler
//! for each kind of fan-out answer (complete, partial, refused role) and fails when the recorded
//! answer's shape (field names, JSON types, `status`) no longer matches, so the stub cannot drift
//! from the handler. `IAMSWEEP_RECORD_FAN_OUT_ANSWERS=1` rewrites the file from the real answers.

use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use iamsweep_lambda::handler::handle;

use crate::sim::{Sim, repo_root, scenario};

const MEMBER: &str = "210987654321";
const LOCKED: &str = "333344445555";

/// Field name -> JSON type, and the status, of an answer. A map, so key order does not count:
/// `serde_json` keeps it or sorts it depending on which features the build unified.
fn shape(answer: &Value) -> (std::collections::BTreeMap<String, &'static str>, Value) {
    let fields = answer
        .as_object()
        .map(Map::iter)
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            let kind = match value {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            (key.clone(), kind)
        })
        .collect();
    (fields, answer["status"].clone())
}

#[tokio::test]
async fn the_step_functions_stub_answers_as_the_handler_does() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    let runtime = sim
        .runtime(&[
            ("IAMSWEEP_JOURNAL", "s3://state/journal"),
            ("IAMSWEEP_STATE", "s3://state/iamsweep"),
            ("IAMSWEEP_SAFETY_MARGIN_SECONDS", "0"),
            // As the template sets it: the answers then list the reports written.
            ("IAMSWEEP_REPORTS", "s3://state/iamsweep/stack/reports"),
        ])
        .await;
    let payload =
        |account: &str| json!({"account_id": account, "role_name": "Audit", "mode": "audit"});
    let far = Instant::now() + Duration::from_secs(900);
    // The deadline has passed before the first entity: every entity is left for the next run.
    let partial = handle(&runtime, &payload(MEMBER), Instant::now()).await.expect("partial");
    let complete = handle(&runtime, &payload(MEMBER), far).await.expect("complete");
    let refused = handle(&runtime, &payload(LOCKED), far).await.expect("a refusal is an answer");
    assert_eq!(
        (&complete["status"], &partial["status"], &refused["status"]),
        (&json!("complete"), &json!("partial"), &json!("error"))
    );
    let real = json!({"complete": complete, "partial": partial, "refused": refused});

    let path = repo_root().join("deploy/tests/fan_out_answers.json");
    if std::env::var_os("IAMSWEEP_RECORD_FAN_OUT_ANSWERS").is_some() {
        let text = serde_json::to_string_pretty(&real).expect("JSON") + "\n";
        std::fs::write(&path, text).expect("fixture written");
    }
    let text = std::fs::read_to_string(&path).expect("deploy/tests/fan_out_answers.json");
    let recorded: Value = serde_json::from_str(&text).expect("the fixture is JSON");
    for case in ["complete", "partial", "refused"] {
        assert_eq!(
            shape(&recorded[case]),
            shape(&real[case]),
            "`{case}` answer of the handler differs from deploy/tests/fan_out_answers.json; \
             hint: rerun with IAMSWEEP_RECORD_FAN_OUT_ANSWERS=1, then check that the state \
             machine's ResultSelector and deploy/tests/test_fan_out.py still read what it answers"
        );
    }
}
