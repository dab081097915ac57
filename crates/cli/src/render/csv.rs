//! CSV: one row per entity, service lists space-separated (every service, by risk then name).
//!
//! Columns are only ever added, at the end, so that scripts reading by position keep working.
//! `denied_since_bounded` lists the services an iamsweep boundary denied since it took effect
//! (they are also in `used_services` or `stale_services`, as Access Advisor dates them).

use iamsweep_core::report::{AuditReport, ServiceState};

const HEADER: [&str; 21] = [
    "arn",
    "kind",
    "name",
    "path",
    "created",
    "status",
    "error",
    "skip_reason",
    "granted",
    "used",
    "stale",
    "unused",
    "coverage_percent",
    "verdict",
    "reasons",
    "used_services",
    "stale_services",
    "unused_services",
    "idle",
    "role_last_used",
    "denied_since_bounded",
];

/// The CSV document with a header row.
pub fn render(report: &AuditReport) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER)?;
    for entity in &report.entities {
        let time = |at: Option<time::OffsetDateTime>| {
            at.map(|at| {
                at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
            })
            .unwrap_or_default()
        };
        let created = time(entity.created);
        writer.write_record([
            entity.arn.as_str(),
            entity.kind.as_str(),
            &entity.name,
            &entity.path,
            &created,
            entity.status.as_str(),
            entity.error.as_deref().unwrap_or(""),
            entity.skip_reason.as_deref().unwrap_or(""),
            &entity.granted.to_string(),
            &entity.used.to_string(),
            &entity.stale.to_string(),
            &entity.unused.to_string(),
            &entity.coverage_percent.map(|p| p.to_string()).unwrap_or_default(),
            entity.verdict.map(|verdict| verdict.as_str()).unwrap_or(""),
            &entity.reasons.join("; "),
            &super::namespaces(entity, ServiceState::Used),
            &super::namespaces(entity, ServiceState::Stale),
            &super::namespaces(entity, ServiceState::Unused),
            if entity.idle { "true" } else { "false" },
            &time(entity.role_last_used),
            &super::denied_namespaces(entity),
        ])?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}
