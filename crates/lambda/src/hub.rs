//! The Security Hub import after a scheduled or fan-out run (`IAMSWEEP_SECURITY_HUB=true`): the
//! same [`iamsweep_aws::securityhub::sync`] as `iamsweep findings import --apply`, into the
//! function's region, with the account's own clients (for the fan-out, the member role's: a
//! finding is taken only from the account it is about). A failure is reported in the answer and
//! never fails the run, whose audit and writes are done by then.

use iamsweep_aws::clients::Clients;
use iamsweep_aws::securityhub::sync::{self, Request};
use iamsweep_core::report::AuditReport;
use iamsweep_core::securityhub::Scope;
use serde::Serialize;
use tokio::time::Instant;

use crate::handler::Runtime;

/// What the import did, in the run's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HubAnswer {
    /// `complete`; `partial` when the deadline kept findings from being sent (the next run
    /// sends them); `error` when nothing could be imported (see `error`).
    pub status: &'static str,
    /// Why nothing was imported, when `status` is `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// New findings.
    pub created: usize,
    /// Findings updated in place.
    pub updated: usize,
    /// Findings archived (entities now compliant or deleted).
    pub archived: usize,
    /// Findings Security Hub did not take (each is logged with its entity).
    pub failed: usize,
    /// Findings the deadline kept from being sent.
    pub not_sent: usize,
}

/// Imports the report's findings, starting no call after `stop`. `resumed`: the run collected
/// only what an earlier run of the same pass left, so an entity absent from the report may
/// exist, and no finding is archived for its absence.
pub async fn import(
    runtime: &Runtime,
    clients: &Clients,
    report: &AuditReport,
    resumed: bool,
    stop: Instant,
) -> HubAnswer {
    if Instant::now() >= stop {
        tracing::warn!("the deadline came before the Security Hub import: the next run imports");
        return HubAnswer {
            status: "partial",
            not_sent: report.entities.len(),
            ..HubAnswer::default()
        };
    }
    let region = runtime.base.region().map(ToString::to_string).unwrap_or_default();
    let request = Request {
        report,
        region: &region,
        importer_account_id: &report.account_id,
        scope: Scope { kinds: runtime.settings.collect.kinds.clone(), narrowed: resumed },
        apply: true,
        stop: Some(stop),
        iam: &clients.iam,
        iam_rate: runtime.settings.collect.rate,
    };
    match sync::sync(&clients.securityhub, &runtime.settings.collect.retry, &request).await {
        Ok(outcome) => {
            for entry in &outcome.entries {
                if matches!(entry.result, sync::Result::Failed(_)) {
                    tracing::warn!(entityname = %entry.decision.entity_arn, "Security Hub: {}", sync::line(entry));
                }
            }
            let failed = outcome.failed();
            let not_sent = outcome.not_sent();
            let sent = |verb: &str| {
                outcome
                    .entries
                    .iter()
                    .filter(|e| e.result == sync::Result::Sent && e.decision.action.verb() == verb)
                    .count()
            };
            HubAnswer {
                status: if not_sent > 0 { "partial" } else { "complete" },
                error: None,
                created: sent("create"),
                updated: sent("update"),
                archived: sent("archive"),
                failed,
                not_sent,
            }
        }
        Err(error) => {
            let message = format!("cannot read iamsweep's findings in Security Hub: {error}");
            tracing::warn!("{message}; nothing was imported");
            HubAnswer { status: "error", error: Some(message), ..HubAnswer::default() }
        }
    }
}
