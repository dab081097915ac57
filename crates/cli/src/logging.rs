//! Logs through `tracing` on stderr: text for people, or one JSON object a line with the fields
//! the original Python sample logged (`msgtype` detail|summary, `entitytype`, `entityname`,
//! `service`, `TotalAuthenticatedEntities`, `message`), so existing log searches keep working.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use iamsweep_core::report::AuditReport;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::env_vars;

/// iamsweep's own crates: their `info` is what a person reads. The SDK's crates (`aws_config`,
/// `aws_smithy_*`, `hyper`...) are left out unless `IAMSWEEP_LOG` names them: their raw
/// warnings (a credential chain trying instance metadata, say) repeat, at length, what the one
/// error sentence iamsweep prints already says.
const OWN_TARGETS: [&str; 3] = ["iamsweep", "iamsweep_aws", "iamsweep_core"];

/// Set by `--quiet`: nothing but errors on stderr.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Installs the global subscriber. `quiet` keeps errors only; `IAMSWEEP_LOG`, when set, is
/// the filter whatever else is asked. Colour only when stderr is a terminal and `NO_COLOR` is
/// not set (<https://no-color.org>): a log file or a pipe carries no escape codes.
pub fn init(format: LogFormat, quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    let level = if quiet { "error" } else { "info" };
    let filter = EnvFilter::try_from_env(env_vars::LOG).unwrap_or_else(|_| {
        EnvFilter::new(
            OWN_TARGETS
                .iter()
                .map(|target| format!("{target}={level}"))
                .collect::<Vec<_>>()
                .join(","),
        )
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os(env_vars::NO_COLOR).as_deref(),
            std::env::var_os("TERM").as_deref(),
        ));
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        // `flatten_event` puts the fields at the top level, where the original's log searches
        // expect them, instead of under "fields".
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).init(),
    }
}

/// Whether to colour a stream, for logs and tables alike: it is a terminal, `NO_COLOR` is unset
/// or empty (<https://no-color.org>), and `TERM` is not `dumb`. The variables' values are passed
/// in, so the rule is tested without touching the environment.
pub fn colour(
    is_terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
) -> bool {
    is_terminal && no_color.is_none_or(|value| value.is_empty()) && term.is_none_or(|t| t != "dumb")
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Prints a line for people on stderr (a summary, a confirmation), unless `--quiet`.
macro_rules! status {
    ($($arg:tt)*) => {
        if !$crate::logging::quiet() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use status;

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

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let xterm = Some(OsStr::new("xterm-256color"));
        assert!(colour(true, None, xterm));
        assert!(colour(true, Some(OsStr::new("")), xterm), "an empty NO_COLOR is unset");
        assert!(!colour(true, Some(OsStr::new("1")), xterm));
        assert!(!colour(true, None, Some(OsStr::new("dumb"))));
        assert!(!colour(false, None, xterm), "a file or a pipe never gets escape codes");
    }
}
