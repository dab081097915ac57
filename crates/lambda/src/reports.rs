//! Reports in S3: every scheduled run and every fan-out account run writes its audit report, the
//! `iamsweep.audit/v1` JSON and the self-contained HTML page of the CLI's `--format html`, to
//! `PREFIX/ACCOUNT/DATE.json`, `PREFIX/ACCOUNT/DATE.html`, `PREFIX/ACCOUNT/latest.json` and
//! `PREFIX/ACCOUNT/latest.html` (`IAMSWEEP_REPORTS` is the prefix; `DATE` the run's UTC date, so
//! a later run on the same day replaces that day's report).
//!
//! A report is a by-product of the run: a failure to write one is logged and named in the
//! answer (`report_error`), and never stops the run's other work. It is written after the run's
//! writes, so it cannot delay them, and only within the first half of the safety margin: the
//! rest stays for the resume marker and the answer.

use iamsweep_aws::pace::Pace;
use iamsweep_aws::s3::{S3, S3Uri};
use iamsweep_core::html::{ReportKind, audit_page};
use iamsweep_core::report::AuditReport;
use time::Date;
use tokio::time::Instant;

/// `application/json` for the JSON report.
pub const JSON_TYPE: &str = "application/json";
/// `text/html; charset=utf-8` for the page, so a browser opening it from S3 renders it.
pub const HTML_TYPE: &str = "text/html; charset=utf-8";

/// The four objects of an account's report on `date`: the dated pair, then `latest`.
pub fn locations(prefix: &S3Uri, account_id: &str, date: Date) -> [(S3Uri, &'static str); 4] {
    let key = |name: &str| {
        let base = prefix.key.trim_end_matches('/');
        let key = if base.is_empty() {
            format!("{account_id}/{name}")
        } else {
            format!("{base}/{account_id}/{name}")
        };
        S3Uri { bucket: prefix.bucket.clone(), key }
    };
    [
        (key(&format!("{date}.json")), JSON_TYPE),
        (key(&format!("{date}.html")), HTML_TYPE),
        (key("latest.json"), JSON_TYPE),
        (key("latest.html"), HTML_TYPE),
    ]
}

/// Writes `report` under `prefix` before `until`; returns the keys written, or why not all
/// were. Each object is written even when an earlier one failed: a dated report without its
/// `latest` copy is still a report.
pub async fn write(
    s3: &S3,
    prefix: &S3Uri,
    report: &AuditReport,
    until: Instant,
) -> Result<Vec<String>, String> {
    let json =
        serde_json::to_vec(report).map_err(|error| format!("report not serialized: {error}"))?;
    let html = audit_page(report, ReportKind::Audit).into_bytes();
    let date = report.generated_at.date();
    let pace = Pace::new(10.0);
    let mut written = Vec::new();
    let mut errors = Vec::new();
    for (uri, content_type) in locations(prefix, &report.account_id, date) {
        let body = if content_type == JSON_TYPE { &json } else { &html };
        let put = s3.put_bytes(&pace, &uri, body, content_type);
        match tokio::time::timeout_at(until, put).await {
            Ok(Ok(())) => written.push(uri.to_string()),
            Ok(Err(error)) => errors.push(format!("`{uri}`: {error}")),
            Err(_) => {
                errors.push(format!("`{uri}`: not written, the run's deadline was near"));
            }
        }
    }
    if errors.is_empty() { Ok(written) } else { Err(errors.join("; ")) }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn keys_are_the_account_then_the_date_or_latest() {
        let prefix = S3Uri::parse("s3://bucket/iamsweep/prod/reports/").unwrap().unwrap();
        let keys: Vec<(String, &str)> = locations(&prefix, "111122223333", date!(2026 - 11 - 23))
            .into_iter()
            .map(|(uri, content_type)| (uri.to_string(), content_type))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "s3://bucket/iamsweep/prod/reports/111122223333/2026-11-23.json".into(),
                    JSON_TYPE
                ),
                (
                    "s3://bucket/iamsweep/prod/reports/111122223333/2026-11-23.html".into(),
                    HTML_TYPE
                ),
                ("s3://bucket/iamsweep/prod/reports/111122223333/latest.json".into(), JSON_TYPE),
                ("s3://bucket/iamsweep/prod/reports/111122223333/latest.html".into(), HTML_TYPE),
            ]
        );
        let bare = S3Uri::parse("s3://bucket").unwrap().unwrap();
        assert_eq!(
            locations(&bare, "111122223333", date!(2026 - 01 - 02))[0].0.to_string(),
            "s3://bucket/111122223333/2026-01-02.json"
        );
    }
}
