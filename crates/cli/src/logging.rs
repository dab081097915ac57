//! Logs through `tracing` on stderr: text for people, or one JSON object a line with the fields
//! the original Python sample logged (`msgtype` detail|summary, `entitytype`, `entityname`,
//! `service`, `TotalAuthenticatedEntities`, `message`), so existing log searches keep working.

use iamsweep_core::report::AuditReport;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::env_vars;

/// Installs the global subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env(env_vars::LOG).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        // `flatten_event` puts the fields at the top level, where the original's log searches
        // expect them, instead of under "fields".
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).init(),
    }
}

/// Emits the per-service `detail` and per-entity `summary` records of a report, as the original
/// sample did, then the run's summary. Only for JSON logs: for people the report itself says
/// the same.
pub fn report_records(report: &AuditReport, format: LogFormat) {
    if format != LogFormat::Json {
        return;
    }
    iamsweep_aws::logs::report_records(report);
    tracing::info!(
        msgtype = "summary",
        entities = report.summary.entities,
        calls = report.summary.calls,
        throttles = report.summary.throttles,
        wall_seconds = report.summary.wall_seconds,
        message = "audit finished",
    );
}

/// Warns once about entities whose data could not be collected, naming the first error, so a
/// missing permission reads as one sentence instead of one line per entity.
pub fn warn_errors(report: &AuditReport) {
    let mut failed = report.entities.iter().filter_map(|entity| entity.error.as_deref());
    if let Some(first) = failed.next() {
        let count = 1 + failed.count();
        tracing::warn!(
            "{count} of {} entities could not be audited; first: {first}",
            report.entities.len()
        );
    }
}
