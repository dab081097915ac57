//! Reports in S3 (`IAMSWEEP_REPORTS`): each scheduled run and each fan-out account run writes
//! its audit as JSON and HTML under `PREFIX/ACCOUNT/DATE` and `PREFIX/ACCOUNT/latest`, read back
//! from iamsim's S3 with their content types; a report that cannot be written is named in the
//! answer and the run's other work is done all the same; the template's prefix and grant agree.

use std::collections::BTreeSet;
use std::time::Duration;

use scraper::{Html, Selector};
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;
use tokio::time::Instant;

use iamsweep_lambda::handler::handle;

use crate::sim::{Sim, repo_root, scenario};

const PREFIX: &str = "s3://state/iamsweep/test-stack/reports";

fn far() -> Instant {
    Instant::now() + Duration::from_secs(900)
}

fn scheduled() -> Value {
    json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
}

/// The object's content type and body.
async fn object(s3: &aws_sdk_s3::Client, key: &str) -> (String, String) {
    let object = s3.get_object().bucket("state").key(key).send().await.unwrap_or_else(|error| {
        panic!("`{key}` exists: {}", aws_smithy_types::error::display::DisplayErrorContext(error))
    });
    let content_type = object.content_type.clone().unwrap_or_default();
    let body = object.body.collect().await.expect("body").into_bytes();
    (content_type, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

/// Checks the four objects of `account`'s report and returns the JSON report.
async fn check_report(s3: &aws_sdk_s3::Client, answer: &Value, account: &str) -> Value {
    let listed = s3
        .list_objects_v2()
        .bucket("state")
        .prefix(format!("iamsweep/test-stack/reports/{account}/"))
        .send()
        .await
        .unwrap();
    let keys: BTreeSet<String> =
        listed.contents().iter().filter_map(|object| object.key.clone()).collect();
    let json_key = keys
        .iter()
        .find(|key| key.ends_with(".json") && !key.ends_with("latest.json"))
        .expect("a dated JSON report")
        .clone();
    let date = json_key.rsplit('/').next().unwrap().trim_end_matches(".json").to_string();
    assert!(
        time::Date::parse(&date, time::macros::format_description!("[year]-[month]-[day]")).is_ok(),
        "{date}"
    );
    let base = format!("iamsweep/test-stack/reports/{account}");
    let expected: BTreeSet<String> = [
        format!("{base}/{date}.json"),
        format!("{base}/{date}.html"),
        format!("{base}/latest.json"),
        format!("{base}/latest.html"),
    ]
    .into();
    assert_eq!(keys, expected);
    let reported: BTreeSet<String> = answer["reports"]
        .as_array()
        .expect("the answer lists the reports")
        .iter()
        .map(|uri| uri.as_str().unwrap().strip_prefix("s3://state/").unwrap().to_string())
        .collect();
    assert_eq!(reported, expected, "{answer}");

    let (json_type, json_text) = object(s3, &format!("{base}/{date}.json")).await;
    assert_eq!(json_type, "application/json");
    let report: Value = serde_json::from_str(&json_text).expect("the JSON report parses");
    assert_eq!(report["schema"], "iamsweep.audit/v1");
    assert_eq!(report["account_id"], account);
    assert_eq!(object(s3, &format!("{base}/latest.json")).await.1, json_text);

    let (html_type, html_text) = object(s3, &format!("{base}/{date}.html")).await;
    assert_eq!(html_type, "text/html; charset=utf-8");
    assert_eq!(object(s3, &format!("{base}/latest.html")).await, (html_type, html_text.clone()));
    // Every entity of the JSON report has its row in the page.
    let page = Html::parse_document(&html_text);
    let rows: BTreeSet<String> = page
        .select(&Selector::parse("#entity-table tbody tr[data-arn]").unwrap())
        .map(|row| row.value().attr("data-arn").unwrap().to_string())
        .collect();
    let arns: BTreeSet<String> = report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entity| entity["arn"].as_str().unwrap().to_string())
        .collect();
    assert!(!arns.is_empty());
    assert_eq!(rows, arns);
    report
}

#[tokio::test]
async fn scheduled_and_fan_out_runs_write_json_and_html_reports() {
    let sim = Sim::start(&scenario("lambda.json"));
    let s3 = sim.bucket("state").await;
    let runtime = sim
        .runtime(&[("IAMSWEEP_JOURNAL", "s3://state/journal"), ("IAMSWEEP_REPORTS", PREFIX)])
        .await;
    let answer = handle(&runtime, &scheduled(), far()).await.expect("answer");
    assert_eq!(answer["status"], "complete", "{answer}");
    assert!(answer.get("report_error").is_none(), "{answer}");
    let report = check_report(&s3, &answer, "111122223333").await;
    assert_eq!(
        report["entities"].as_array().unwrap().len(),
        answer["entities"].as_u64().unwrap() as usize
    );

    let fan_out = json!({"account_id": "210987654321", "role_name": "Audit", "mode": "audit"});
    let answer = handle(&runtime, &fan_out, far()).await.expect("answer");
    assert_eq!(answer["status"], "complete", "{answer}");
    let report = check_report(&s3, &answer, "210987654321").await;
    assert!(report["entities"].as_array().unwrap().iter().any(|e| e["name"] == "builder"));
}

#[tokio::test]
async fn a_report_that_cannot_be_written_is_named_and_the_run_goes_on() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    // No such bucket: every PutObject of the reports fails.
    let runtime = sim
        .runtime(&[
            ("IAMSWEEP_JOURNAL", "s3://state/journal"),
            ("IAMSWEEP_REPORTS", "s3://no-such-bucket/reports"),
        ])
        .await;
    let answer = handle(&runtime, &scheduled(), far()).await.expect("an answer, not a failure");
    assert_eq!(answer["status"], "complete", "{answer}");
    let error = answer["report_error"].as_str().expect("the answer names the failure");
    assert!(error.contains("s3://no-such-bucket/reports/111122223333/latest.html"), "{error}");
    assert!(answer.get("reports").is_none(), "{answer}");
    // The summary tags were written all the same.
    assert!(answer["changed"].as_u64().unwrap() > 0, "{answer}");
    let iam = aws_sdk_iam::Client::new(&sim.sdk().await);
    let tags = iam.list_user_tags().user_name("alice").send().await.unwrap();
    assert!(tags.tags().iter().any(|tag| tag.key() == "Permissions_Coverage_Percent"));
}

#[tokio::test]
async fn no_report_is_started_past_the_deadline() {
    let sim = Sim::start(&scenario("lambda.json"));
    sim.bucket("state").await;
    let runtime =
        sim.runtime(&[("IAMSWEEP_REPORTS", PREFIX), ("IAMSWEEP_SAFETY_MARGIN_SECONDS", "0")]).await;
    // The deadline has passed: nothing is audited, and no report is waited for.
    let answer = handle(&runtime, &scheduled(), Instant::now()).await.expect("answer");
    assert_eq!(answer["status"], "partial", "{answer}");
    let error = answer["report_error"].as_str().expect("named");
    assert!(error.contains("deadline"), "{error}");
}

/// The template's grant is exactly `s3:PutObject` under the prefix it gives the function.
#[test]
fn the_template_grants_put_object_under_the_reports_prefix_only() {
    let text = std::fs::read_to_string(repo_root().join("deploy/template.yaml")).unwrap();
    let template: Yaml = serde_yaml::from_str(&text).unwrap();
    let sub = |value: &Yaml| -> String {
        let Yaml::Tagged(tagged) = value else { panic!("a !Sub: {value:?}") };
        assert_eq!(tagged.tag, "Sub");
        tagged.value[0].as_str().expect("the !Sub pattern").to_string()
    };
    let variable = sub(
        &template["Resources"]["Function"]["Properties"]["Environment"]["Variables"]["IAMSWEEP_REPORTS"],
    );
    assert_eq!(variable, "s3://${Bucket}/iamsweep/${AWS::StackName}/reports");
    let statements: Vec<&Yaml> = template["Resources"]["FunctionRole"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|policy| policy["PolicyDocument"]["Statement"].as_sequence().unwrap())
        .filter(|statement| statement["Sid"] == "WriteReports")
        .collect();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(statements[0]["Action"], "s3:PutObject");
    let resource = sub(&statements[0]["Resource"]);
    let bucket_and_prefix = variable.strip_prefix("s3://").unwrap();
    assert_eq!(resource, format!("arn:${{AWS::Partition}}:s3:::{bucket_and_prefix}/*"));
}
