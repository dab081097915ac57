//! `IAMSWEEP_SECURITY_HUB=true`: scheduled and fan-out runs import their findings into the
//! audited account's Security Hub (iamsim's), within the run's deadline; off, no Security Hub
//! call is made.

use std::time::Duration;

use aws_sdk_securityhub::types::AwsSecurityFinding;
use iamsweep_aws::accounts::assume;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_aws::securityhub::{Owner, existing_findings};
use serde_json::{Value, json};
use tokio::time::Instant;

use iamsweep_lambda::handler::handle;

use crate::sim::{Sim, scenario};

const MEMBER: &str = "210987654321";

fn far() -> Instant {
    Instant::now() + Duration::from_secs(900)
}

fn scheduled() -> Value {
    json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
}

/// iamsweep's findings about `account` in its own Security Hub (read on iamsweep's
/// large-stack thread: a test thread's stack is too small for the SDK's deserialiser).
async fn all_findings(hub: &aws_sdk_securityhub::Client, account: &str) -> Vec<AwsSecurityFinding> {
    let owner = Owner {
        product_arn: format!("arn:aws:securityhub:us-east-1:{account}:product/{account}/default"),
        generator_id: "iamsweep/unused-access".to_string(),
        account_id: account.to_string(),
    };
    existing_findings(hub, &RetryPolicy::default(), &owner).await.unwrap()
}

fn hub_calls(sim: &Sim) -> Vec<String> {
    sim.calls()
        .iter()
        .filter(|call| call["service"] == "securityhub")
        .map(|call| call["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn scheduled_and_fan_out_runs_import_into_their_accounts() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    let runtime = sim
        .runtime(&[("IAMSWEEP_JOURNAL", "s3://state/journal"), ("IAMSWEEP_SECURITY_HUB", "true")])
        .await;
    let answer = handle(&runtime, &scheduled(), far()).await.unwrap();
    let hub = &answer["security_hub"];
    assert_eq!(hub["status"], "complete", "{answer}");
    let expected = answer["non_compliant"].as_u64().unwrap() + answer["failed"].as_u64().unwrap();
    assert!(expected > 0, "{answer}");
    assert_eq!(hub["created"], expected, "{answer}");
    let own = aws_sdk_securityhub::Client::new(&sim.sdk().await);
    let findings = all_findings(&own, "111122223333").await;
    assert_eq!(findings.len() as u64, expected);
    assert!(findings.iter().all(|f| f.aws_account_id.as_deref() == Some("111122223333")));

    // The second run updates the same findings in place.
    let answer = handle(&runtime, &scheduled(), far()).await.unwrap();
    assert_eq!(answer["security_hub"]["updated"], expected, "{answer}");
    assert_eq!(answer["security_hub"]["created"], 0, "{answer}");
    assert_eq!(all_findings(&own, "111122223333").await.len() as u64, expected);

    // A fan-out run imports into the member account's Security Hub, with the member role.
    let fan_out = json!({"account_id": MEMBER, "role_name": "iamsweep-member", "mode": "audit"});
    let answer = handle(&runtime, &fan_out, far()).await.unwrap();
    assert_eq!(answer["security_hub"]["created"], 1, "{answer}");
    let member = assume(
        &sim.sdk().await,
        MEMBER,
        "iamsweep-member",
        &Pace::new(100.0),
        &RetryPolicy::default(),
    )
    .await
    .unwrap()
    .securityhub;
    let findings = all_findings(&member, MEMBER).await;
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].aws_account_id.as_deref(), Some(MEMBER));
    assert!(findings[0].id.as_deref().unwrap().ends_with(":user/builder"));
}

#[tokio::test]
async fn off_by_default_and_never_past_the_deadline() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    let runtime = sim.runtime(&[("IAMSWEEP_JOURNAL", "s3://state/journal")]).await;
    let answer = handle(&runtime, &scheduled(), far()).await.unwrap();
    assert!(answer.get("security_hub").is_none(), "{answer}");
    assert!(hub_calls(&sim).is_empty());

    // The deadline less the safety margin (120 s) has passed: nothing is imported, and the
    // answer says so rather than failing.
    let runtime = sim
        .runtime(&[("IAMSWEEP_JOURNAL", "s3://state/journal"), ("IAMSWEEP_SECURITY_HUB", "true")])
        .await;
    let answer =
        handle(&runtime, &scheduled(), Instant::now() + Duration::from_secs(60)).await.unwrap();
    assert_eq!(answer["security_hub"]["status"], "partial", "{answer}");
    assert!(hub_calls(&sim).is_empty(), "{:?}", hub_calls(&sim));
}
