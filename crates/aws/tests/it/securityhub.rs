//! ASFF validated by the AWS SDK's own model: every finding of the demo snapshot converts to the
//! SDK's `AwsSecurityFinding`, and the `BatchImportFindings` request the SDK serialises from
//! them is, field for field, the body `--format asff` writes.

use std::sync::{Arc, Mutex};

use aws_sdk_securityhub::config::{BehaviorVersion, Credentials, Region, RuntimeComponents};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use iamsweep_aws::securityhub::asff::{AsffError, all_to_sdk, from_json};
use iamsweep_core::analysis::analyze;
use iamsweep_core::compliance::Rules;
use iamsweep_core::findings::FindingContext;
use iamsweep_core::findings::asff;
use iamsweep_core::model::{EntityKind, Status};
use iamsweep_core::snapshot::Snapshot;
use serde_json::Value;
use time::macros::datetime;

const DEMO: &str = include_str!("../../../../examples/demo-snapshot.json");

fn demo_body() -> asff::BatchImportFindings {
    let mut snapshot: Snapshot = serde_json::from_str(DEMO).unwrap();
    // An entity that could not be evaluated, so NOT_AVAILABLE goes through the SDK too.
    let mut broken = snapshot.entities[0].clone();
    broken.kind = EntityKind::Role;
    broken.name = "broken".into();
    broken.arn = "arn:aws:iam::123456789012:role/team/broken".into();
    broken.path = "/team/".into();
    broken.status = Status::Error;
    broken.error = Some("Access Advisor job FAILED".into());
    broken.services.clear();
    snapshot.entities.push(broken);
    let report = analyze(&snapshot, &Rules::new(90), snapshot.collected_at);
    let mut context = FindingContext::for_report(&report, "eu-west-1");
    context.generated_at = datetime!(2026-11-23 12:40 UTC);
    let mut body = asff::request(&report, &context);
    let gone = "arn:aws:iam::123456789012:user/gone";
    body.findings.push(asff::deleted(EntityKind::User, gone, "123456789012", &context));
    body
}

/// Each request sent: its URI and body.
type Sent = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An HTTP client that keeps each request's URI and body and answers `answer`: the SDK's
/// serialiser runs as in production, and nothing leaves the process.
#[derive(Debug, Clone)]
struct Capture {
    sent: Sent,
    answer: &'static str,
}

impl HttpConnector for Capture {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request.body().bytes().unwrap_or_default().to_vec();
        self.sent.lock().unwrap().push((request.uri().to_string(), body));
        let status = StatusCode::try_from(200).unwrap();
        HttpConnectorFuture::ready(Ok(Response::new(status, SdkBody::from(self.answer))))
    }
}

impl HttpClient for Capture {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

#[tokio::test]
async fn the_sdk_serialises_exactly_the_asff_body() {
    let body = demo_body();
    assert!(body.findings.len() <= asff::MAX_FINDINGS_PER_CALL);
    let findings = all_to_sdk(&body.findings).expect("every finding converts");
    let answer = r#"{"FailedCount":0,"SuccessCount":10,"FailedFindings":[]}"#;
    let http = Capture { sent: Arc::default(), answer };
    let config = aws_sdk_securityhub::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(http.clone())
        .build();
    let client = aws_sdk_securityhub::Client::from_conf(config);
    let output = client.batch_import_findings().set_findings(Some(findings)).send().await.unwrap();
    assert_eq!(output.success_count(), Some(10));
    let (uri, sent) = http.sent.lock().unwrap().pop().expect("one request");
    assert!(uri.ends_with("/findings/import"), "{uri}");
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    let written = serde_json::to_value(&body).unwrap();
    assert_eq!(sent, written, "the SDK's request body is the file --format asff writes");
}

#[test]
fn a_finding_the_sdk_model_does_not_know_is_refused() {
    let body = demo_body();
    let mut value = serde_json::to_value(&body.findings[0]).unwrap();
    value["Severity"]["Label"] = Value::from("URGENT");
    assert!(matches!(from_json(&value), Err(AsffError::Invalid { .. })));
    let mut value = serde_json::to_value(&body.findings[0]).unwrap();
    value.as_object_mut().unwrap().remove("ProductArn");
    assert!(matches!(from_json(&value), Err(AsffError::Missing { .. })));
}
