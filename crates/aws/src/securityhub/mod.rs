//! AWS Security Hub: reading iamsweep's findings of an account (`GetFindings`) and importing
//! findings (`BatchImportFindings`), paced and retried like every other call.
//!
//! Security Hub limits these calls apart from IAM (`BatchImportFindings` 10 a second with bursts
//! of 30, `GetFindings` 3 a second with bursts of 6: see "Quotas" in the Security Hub user guide,
//! <https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-limits.html>), so they
//! go through their own [`Pace`] at [`RATE`], never the IAM one. A call of at most
//! [`MAX_FINDINGS_PER_CALL`] findings that fails after its retries fails those findings only:
//! the next batch is still sent. [`sync`] is the import the CLI and the Lambda both run;
//! [`asff`] turns iamsweep's findings into the SDK's type.

pub mod asff;
pub mod sync;

use std::future::Future;

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, StringFilter, StringFilterComparison,
};
use iamsweep_core::securityhub::{Existing, RecordState};
use tokio::time::Instant;

use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// Findings a `BatchImportFindings` call carries at most (AWS refuses more).
pub const MAX_FINDINGS_PER_CALL: usize = 100;
/// Security Hub calls a second at most: `GetFindings`' sustained rate, the lower of the two.
pub const RATE: f64 = 3.0;
/// `GetFindings` page size (its maximum).
const PAGE_SIZE: i32 = 100;

/// The stack of the thread Security Hub calls run on.
///
/// `AwsSecurityFinding` nests hundreds of resource types, and the SDK's generated (de)serialiser
/// of `ResourceDetails` is one function with a frame for each: reading one `GetFindings` page
/// overflowed the 8 MiB main thread of a debug build (tokio's workers have 2 MiB). The memory is
/// reserved, not committed, so a large reservation costs nothing.
const STACK_BYTES: usize = 64 << 20;

/// Runs the future `make` returns on a thread of its own with a [`STACK_BYTES`] stack, driven
/// by the current tokio runtime (its I/O and timers, so the SDK's connection pool and timeouts
/// work as for every other call), and awaits its result without blocking the caller's thread.
async fn on_large_stack<T, F, Fut>(make: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("securityhub".to_string())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let _ = sender.send(handle.block_on(make()));
        })
        .expect("a thread for the Security Hub calls starts");
    receiver.await.expect("the Security Hub thread answers")
}

/// Which findings are iamsweep's in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The product ARN the findings were imported under.
    pub product_arn: String,
    /// Their `GeneratorId`.
    pub generator_id: String,
    /// The audited account (`AwsAccountId`).
    pub account_id: String,
}

fn equals(value: &str) -> StringFilter {
    StringFilter::builder().value(value).comparison(StringFilterComparison::Equals).build()
}

/// Every finding of `owner` Security Hub holds, active and archived, page after page, at most
/// [`RATE`] calls a second.
pub async fn existing_findings(
    client: &aws_sdk_securityhub::Client,
    retry: &RetryPolicy,
    owner: &Owner,
) -> Result<Vec<AwsSecurityFinding>, CallError> {
    let (client, retry, owner) = (client.clone(), *retry, owner.clone());
    on_large_stack(move || async move {
        let pace = Pace::new(RATE);
        let filters = AwsSecurityFindingFilters::builder()
            .product_arn(equals(&owner.product_arn))
            .generator_id(equals(&owner.generator_id))
            .aws_account_id(equals(&owner.account_id))
            .build();
        let mut findings = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = call(&pace, &retry, "securityhub:GetFindings", &owner.product_arn, || {
                client
                    .get_findings()
                    .filters(filters.clone())
                    .max_results(PAGE_SIZE)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            findings.extend(output.findings.unwrap_or_default());
            match output.next_token.filter(|next| !next.is_empty()) {
                // A token that repeats would page forever: stop, as every page was read once.
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                _ => return Ok(findings),
            }
        }
    })
    .await
}

/// What Security Hub holds of a finding, for [`iamsweep_core::securityhub::decide`]; `None`
/// for a finding without an id or a resource, which no import of iamsweep's made.
pub fn existing_of(finding: &AwsSecurityFinding) -> Option<Existing> {
    Some(Existing {
        id: finding.id.clone()?,
        resource_arn: finding.resources.as_ref()?.first()?.id.clone()?,
        record_state: RecordState::parse(finding.record_state.as_ref().map_or("", |s| s.as_str())),
        compliance: finding
            .compliance
            .as_ref()
            .and_then(|compliance| compliance.status.as_ref())
            .map(|status| status.as_str().to_string()),
        first_observed_at: finding.first_observed_at.clone(),
        created_at: finding.created_at.clone(),
    })
}

/// A finding Security Hub did not take, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The finding's id.
    pub id: String,
    /// AWS's error code (`InvalidInput`, `AccessDeniedException`...), when there is one.
    pub code: Option<String>,
    /// AWS's message, or the call's error.
    pub message: String,
}

/// What [`import`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Findings Security Hub took.
    pub succeeded: usize,
    /// Findings it did not take (in `FailedFindings`, or in a call that failed).
    pub failed: Vec<Failed>,
    /// Ids of the findings not sent because `stop` had passed.
    pub not_sent: Vec<String>,
    /// `BatchImportFindings` calls made (retries not counted).
    pub calls: usize,
}

/// Imports `findings` in calls of at most [`MAX_FINDINGS_PER_CALL`], at most [`RATE`] calls a
/// second, starting no call once `stop` has passed (the Lambda's deadline less its margin).
pub async fn import(
    client: &aws_sdk_securityhub::Client,
    retry: &RetryPolicy,
    findings: Vec<AwsSecurityFinding>,
    stop: Option<Instant>,
) -> Imported {
    let (client, retry) = (client.clone(), *retry);
    on_large_stack(move || async move {
        import_batches(&client, &Pace::new(RATE), &retry, &findings, stop).await
    })
    .await
}

async fn import_batches(
    client: &aws_sdk_securityhub::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    findings: &[AwsSecurityFinding],
    stop: Option<Instant>,
) -> Imported {
    let mut imported = Imported::default();
    for (index, batch) in findings.chunks(MAX_FINDINGS_PER_CALL).enumerate() {
        if stop.is_some_and(|stop| Instant::now() >= stop) {
            let sent = index * MAX_FINDINGS_PER_CALL;
            imported.not_sent = findings[sent..].iter().map(id_of).collect();
            break;
        }
        let target = format!("{} findings from `{}`", batch.len(), id_of(&batch[0]));
        imported.calls += 1;
        let answer = call(pace, retry, "securityhub:BatchImportFindings", &target, || {
            client.batch_import_findings().set_findings(Some(batch.to_vec())).send()
        })
        .await;
        match answer {
            Ok(output) => {
                let failed: Vec<Failed> = output
                    .failed_findings
                    .unwrap_or_default()
                    .into_iter()
                    .map(|failed| Failed {
                        id: failed.id.unwrap_or_default(),
                        code: failed.error_code,
                        message: failed.error_message.unwrap_or_default(),
                    })
                    .collect();
                imported.succeeded += batch.len().saturating_sub(failed.len());
                imported.failed.extend(failed);
            }
            Err(error) => {
                tracing::warn!("{error}");
                imported.failed.extend(batch.iter().map(|finding| Failed {
                    id: id_of(finding),
                    code: error.code.clone(),
                    message: error.to_string(),
                }));
            }
        }
    }
    imported
}

fn id_of(finding: &AwsSecurityFinding) -> String {
    finding.id.clone().unwrap_or_default()
}
