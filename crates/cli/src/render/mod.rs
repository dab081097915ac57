//! Rendering an audit report: table, JSON, CSV, Markdown, HTML, and findings (ASFF, OCSF).

mod csv;
pub mod findings;
pub mod html;
mod markdown;
pub mod plan;
mod table;
#[cfg(test)]
mod tests;
pub mod text;

use std::io::Write;

use iamsweep_core::report::{AuditReport, EntityReport, ServiceState};

use crate::cli::Format;

/// Writes `report` in `format`, for a file (no colour, no wrapping).
pub fn write(report: &AuditReport, format: Format, out: &mut dyn Write) -> anyhow::Result<()> {
    write_with(report, format, out, &text::Style::plain())
}

/// Writes `report` in `format`, the table laid out for `style`.
pub fn write_with(
    report: &AuditReport,
    format: Format,
    out: &mut dyn Write,
    style: &text::Style,
) -> anyhow::Result<()> {
    match format {
        Format::Table => out.write_all(table::render(report, style).as_bytes())?,
        Format::Json => json(report, out)?,
        Format::Csv => out.write_all(csv::render(report)?.as_bytes())?,
        Format::Markdown => out.write_all(markdown::render(report).as_bytes())?,
        Format::Html => out.write_all(html::audit(report).as_bytes())?,
        Format::Asff | Format::Ocsf => {
            findings::write(report, format, &findings::context(report, None), out)?
        }
    }
    Ok(())
}

/// Writes the `iamsweep.audit/v1` document, streamed: a 10,000-entity report is over 100 MB of
/// text, which is never held in memory at once.
pub fn json(report: &AuditReport, out: &mut dyn Write) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// The namespaces of `entity` in `state`, space-separated, in report order (by risk).
fn namespaces(entity: &EntityReport, state: ServiceState) -> String {
    entity
        .services
        .iter()
        .filter(|service| service.state == state)
        .map(|service| &*service.namespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The used services in report order (by risk), each denied since bounded saying so:
/// `dynamodb (denied since bounded)` (see `iamsweep_core::denied`).
fn used_labels(entity: &EntityReport) -> Vec<String> {
    entity
        .services
        .iter()
        .filter(|service| service.state == ServiceState::Used)
        .map(|service| match service.denied_since_bounded {
            true => format!("{} (denied since bounded)", service.namespace),
            false => service.namespace.to_string(),
        })
        .collect()
}

/// The namespaces of `entity` denied since bounded, space-separated, in report order.
fn denied_namespaces(entity: &EntityReport) -> String {
    entity
        .services
        .iter()
        .filter(|service| service.denied_since_bounded)
        .map(|service| &*service.namespace)
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

/// One line per user or role whose boundary, made from its usage, would leave an escalation
/// path open (it used IAM): a person decides.
fn risk_lines(report: &AuditReport) -> Vec<String> {
    report
        .entities
        .iter()
        .filter(|entity| !entity.escalation_risks.is_empty())
        .map(|entity| {
            format!(
                "escalation risk: {} {} used IAM; a boundary of what it used leaves open {}",
                entity.kind.as_str(),
                entity.name,
                iamsweep_core::escalation::describe(&entity.escalation_risks)
            )
        })
        .collect()
}

/// One line summing the report up. The collection's figures are this run's for a live audit;
/// from a saved snapshot they are that snapshot's, and said so.
fn summary_line(report: &AuditReport) -> String {
    let summary = &report.summary;
    let counts = format!(
        "{} entities in account {} (window {} days): {} compliant, {} non-compliant, {} errors, \
         {} skipped",
        summary.entities,
        report.account_id,
        report.window_days,
        summary.verdict.compliant,
        summary.verdict.non_compliant,
        summary.status.error,
        summary.status.skipped,
    );
    if let Some(at) = report.snapshot_collected_at {
        let at = at
            .replace_nanosecond(0)
            .unwrap_or(at)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        return format!(
            "{counts}; from a snapshot collected at {at} ({} calls, {} throttles)",
            summary.calls, summary.throttles
        );
    }
    format!(
        "{counts}; {} calls, {} throttles, {:.1} s",
        summary.calls, summary.throttles, summary.wall_seconds
    )
}
