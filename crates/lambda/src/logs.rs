//! JSON logs, one object a line, with the CLI's `--log-format json` fields (`msgtype`
//! detail|summary, `entitytype`, `entityname`, `service`, `TotalAuthenticatedEntities`,
//! `message`), ending with one summary line per invocation.

use iamsweep_core::report::{AuditReport, ServiceState};
use tracing_subscriber::EnvFilter;

use crate::env_vars;
use crate::handler::Answer;

/// Installs the JSON subscriber on stdout (CloudWatch Logs keeps each line as one event).
pub fn init() {
    let filter = EnvFilter::try_from_env(env_vars::LOG).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_ansi(false)
        .init();
}

/// The per-service `detail` and per-entity `summary` records of a report.
pub fn report_records(report: &AuditReport) {
    for entity in &report.entities {
        for service in &entity.services {
            let message = match (service.state, service.last_authenticated) {
                (ServiceState::Unused, _) | (_, None) => {
                    "not accessed in the tracking period".to_string()
                }
                (state, Some(when)) => format!("{} (last accessed {when})", state.as_str()),
            };
            tracing::info!(
                msgtype = "detail",
                account_id = %report.account_id,
                entitytype = entity.kind.as_str(),
                entityname = %entity.name,
                service = %service.namespace,
                TotalAuthenticatedEntities = service.total_authenticated_entities.unwrap_or(0),
                state = service.state.as_str(),
                message = %message,
            );
        }
        tracing::info!(
            msgtype = "summary",
            account_id = %report.account_id,
            entitytype = entity.kind.as_str(),
            entityname = %entity.name,
            status = entity.status.as_str(),
            granted = entity.granted,
            used = entity.used,
            stale = entity.stale,
            unused = entity.unused,
            verdict = entity.verdict.map(|verdict| verdict.as_str()),
            message = %entity
                .error
                .clone()
                .or_else(|| entity.skip_reason.clone())
                .unwrap_or_else(|| entity.reasons.join("; ")),
        );
    }
}

/// The invocation's last line.
pub fn summary(answer: &Answer) {
    tracing::info!(
        msgtype = "summary",
        event = answer.event,
        account_id = %answer.account_id,
        status = answer.status,
        entities = answer.entities,
        ok = answer.ok,
        failed = answer.failed,
        non_compliant = answer.non_compliant,
        pending = answer.pending,
        evaluations = answer.evaluations,
        changed = answer.changed,
        enforced = answer.enforced,
        message = "run finished",
    );
}
