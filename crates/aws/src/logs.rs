//! The log records of an audit, as the original Python sample wrote them, for both binaries.
//!
//! One `"msgtype": "detail"` record per granted service and one `"msgtype": "summary"` record
//! per entity, with the sample's field names (`entitytype`, `entityname`, `service`,
//! `TotalAuthenticatedEntities`, `message`), so existing log searches keep working. The
//! binaries choose the subscriber (JSON, one object a line); this module only emits events.

use iamsweep_core::report::{AuditReport, ServiceState};

/// Emits the `detail` and `summary` records of every entity of `report`.
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
            coverage_percent = entity.coverage_percent,
            verdict = entity.verdict.map(|verdict| verdict.as_str()),
            message = %entity
                .error
                .clone()
                .or_else(|| entity.skip_reason.clone())
                .unwrap_or_else(|| entity.reasons.join("; ")),
        );
    }
}
