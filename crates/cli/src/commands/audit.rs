//! `iamsweep audit`: collect (or load) and report.

use std::process::ExitCode;

use crate::cli::{AuditArgs, LogFormat};
use crate::settings::{AuditSettings, Targets};
use crate::{accounts, logging, render, source};

/// Runs the audit; exits 0 once the report is written (entity errors are in the report).
pub async fn run(args: &AuditArgs, log_format: LogFormat) -> anyhow::Result<ExitCode> {
    let settings = AuditSettings::resolve(&args.input)?;
    if settings.targets != Targets::Caller {
        let run =
            accounts::AccountRun::resolve(&settings, settings.resolved.account_concurrency).await?;
        let rules = settings.default_rules();
        let rollup = run
            .write_report(&settings, &rules, log_format, args.format, args.output.as_deref())
            .await?;
        super::wrote("audit report", args.format, args.output.as_deref());
        crate::logging::status!("{}", accounts::rollup_line(&rollup));
        return Ok(ExitCode::SUCCESS);
    }
    let facts = source::obtain(&settings).await?;
    let report = facts.analyze(&settings.default_rules());
    logging::report_records(&report, log_format);
    logging::warn_errors(&report);
    // Colour and the terminal's width for stdout only, never in a file.
    let style = match args.output {
        Some(_) => render::text::Style::plain(),
        None => render::text::Style::stdout(),
    };
    super::emit(args.output.as_deref(), |out| {
        render::write_with(&report, args.format, out, &style)
    })?;
    super::wrote("audit report", args.format, args.output.as_deref());
    Ok(ExitCode::SUCCESS)
}
