//! `iamsweep audit`: collect (or load) and report.

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::{AuditArgs, LogFormat};
use crate::settings::{AuditSettings, Targets};
use crate::{accounts, logging, render, source};

/// Runs the audit; exits 0 once the report is written (entity errors are in the report).
pub async fn run(args: &AuditArgs, log_format: LogFormat) -> anyhow::Result<ExitCode> {
    let settings = AuditSettings::resolve(&args.input)?;
    if settings.targets != Targets::Caller && args.format.is_findings() {
        // Security Hub imports a custom integration's findings only in the account they are
        // about (`AwsAccountId`), so one body cannot hold several accounts' findings.
        bail!(
            "--format {} writes the findings of one account, and --accounts or --organization \
             audits several\nhint: run `iamsweep audit --format {}` with each account's \
             credentials, or `iamsweep findings import` in each",
            format_name(args.format),
            format_name(args.format)
        );
    }
    if settings.targets != Targets::Caller {
        let run =
            accounts::AccountRun::resolve(&settings, settings.resolved.account_concurrency).await?;
        let rules = settings.default_rules();
        let rollup = run
            .write_report(
                &settings,
                &rules,
                log_format,
                args.format,
                iamsweep_core::html::ReportKind::Audit,
                args.output.as_deref(),
            )
            .await?;
        super::wrote("audit report", args.format, args.output.as_deref());
        crate::logging::status!("{}", accounts::rollup_line(&rollup));
        return Ok(ExitCode::SUCCESS);
    }
    let facts = source::obtain(&settings).await?;
    let report = facts.analyze(&settings.default_rules());
    logging::report_records(&report, log_format);
    logging::warn_errors(&report);
    if args.format.is_findings() {
        let context = render::findings::context(&report, settings.connection.region.as_deref());
        super::emit(args.output.as_deref(), |out| {
            render::findings::write(&report, args.format, &context, out)
        })?;
        super::wrote("audit findings", args.format, args.output.as_deref());
        return Ok(ExitCode::SUCCESS);
    }
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

fn format_name(format: crate::cli::Format) -> &'static str {
    if format == crate::cli::Format::Ocsf { "ocsf" } else { "asff" }
}
