//! Rendering an audit report: table, JSON, CSV, Markdown.

mod csv;
mod markdown;
mod table;

use iamsweep_core::report::{AuditReport, EntityReport, ServiceState};

use crate::cli::Format;

/// Renders `report` in `format`.
pub fn render(report: &AuditReport, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => table::render(report),
        Format::Json => json(report),
        Format::Csv => csv::render(report)?,
        Format::Markdown => markdown::render(report),
    })
}

/// The `iamsweep.audit/v1` document.
pub fn json(report: &AuditReport) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report always serialises");
    text.push('\n');
    text
}

/// The namespaces of `entity` in `state`, space-separated.
fn namespaces(entity: &EntityReport, state: ServiceState) -> String {
    entity
        .services
        .iter()
        .filter(|service| service.state == state)
        .map(|service| service.namespace.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Coverage as `NN%`, or `-` when nothing is granted.
fn coverage(entity: &EntityReport) -> String {
    entity.coverage_percent.map_or_else(|| "-".to_string(), |percent| format!("{percent}%"))
}

/// The verdict, or the status when there is none (`error`, `skipped`).
fn outcome(entity: &EntityReport) -> &'static str {
    match entity.verdict {
        Some(verdict) => verdict.as_str(),
        None => entity.status.as_str(),
    }
}

/// The reasons, the error or the skip reason: whatever explains the outcome.
fn note(entity: &EntityReport) -> String {
    entity
        .error
        .clone()
        .or_else(|| entity.skip_reason.clone())
        .unwrap_or_else(|| entity.reasons.join("; "))
}

/// One line summing the report up.
fn summary_line(report: &AuditReport) -> String {
    let summary = &report.summary;
    format!(
        "{} entities in account {} (window {} days): {} compliant, {} non-compliant, {} errors, \
         {} skipped; {} calls, {} throttles, {:.1} s",
        summary.entities,
        report.account_id,
        report.window_days,
        summary.verdict.compliant,
        summary.verdict.non_compliant,
        summary.status.error,
        summary.status.skipped,
        summary.calls,
        summary.throttles,
        summary.wall_seconds,
    )
}
