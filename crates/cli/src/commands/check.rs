//! `iamsweep check`: the compliance gate for pipelines and people.
//!
//! Exit codes: 0 when every entity is compliant; 1 when any is not; 2 on bad input, when the
//! run could not finish, or when some entity could not be evaluated (an unevaluated entity must
//! not pass a gate). With `--min-severity LEVEL`, only non-compliant entities of that severity
//! or above count (and are listed); an unevaluated entity still fails the gate, since its
//! severity is unknown.

use std::process::ExitCode;

use anyhow::bail;
use iamsweep_core::html::ReportKind;
use iamsweep_core::model::Status;
use iamsweep_core::report::{AuditReport, SeverityCounts, Verdict};
use iamsweep_core::risk::Severity;

use crate::cli::{CheckArgs, CheckFormat, Format, LogFormat};
use crate::settings::{AuditSettings, Targets};
use crate::{accounts, logging, render, source};

/// Runs the gate.
pub async fn run(args: &CheckArgs, log_format: LogFormat) -> anyhow::Result<ExitCode> {
    let mut settings = AuditSettings::resolve_check(args)?;
    let rules = settings.default_rules();
    if !rules.ignore_policies.is_empty() {
        // Ignoring a policy means knowing which policies grant each service.
        settings.collect.attribute = true;
    }
    if settings.targets != Targets::Caller {
        return run_accounts(args, &settings, &rules, log_format).await;
    }
    let facts = source::obtain(&settings).await?;
    if !rules.ignore_policies.is_empty() && !facts.snapshot.attributed {
        bail!(
            "--ignore-policy needs to know which policies grant each service, and this snapshot \
             was collected without them\nhint: collect it again with `iamsweep audit --attribute \
             --save-snapshot FILE`"
        );
    }
    let report = facts.analyze(&rules);
    let minimum = args.min_severity.unwrap_or(Severity::Informational);
    logging::report_records(&report, log_format);
    logging::warn_errors(&report);
    match args.format {
        CheckFormat::Json => super::emit(None, |out| render::json(&report, out))?,
        CheckFormat::Html => {
            super::emit(None, |out| Ok(out.write_all(render::html::check(&report).as_bytes())?))?
        }
        CheckFormat::Text => {
            super::emit(None, |out| Ok(out.write_all(findings(&report, minimum).as_bytes())?))?
        }
    }
    let summary = &report.summary;
    crate::logging::status!(
        "{} of {} entities non-compliant{}, {} could not be evaluated",
        summary.verdict.non_compliant,
        summary.entities,
        at_or_above(&summary.severity, args.min_severity),
        summary.status.error + summary.status.skipped
    );
    Ok(ExitCode::from(gate(
        gated(summary.verdict.non_compliant, &summary.severity, minimum),
        summary.status.error + summary.status.skipped,
    )))
}

/// The findings that fail the gate: every non-compliant entity by default (as before severities
/// existed), else those at or above `minimum`.
fn gated(non_compliant: usize, counts: &SeverityCounts, minimum: Severity) -> usize {
    if minimum == Severity::Informational { non_compliant } else { counts.at_or_above(minimum) }
}

/// `(N at HIGH or above)` when a minimum severity was given.
fn at_or_above(counts: &SeverityCounts, minimum: Option<Severity>) -> String {
    minimum.map_or_else(String::new, |minimum| {
        format!(" ({} at {minimum} or above)", counts.at_or_above(minimum))
    })
}

/// The gate over several accounts: an account that could not be audited fails it like an
/// entity that could not be evaluated.
async fn run_accounts(
    args: &CheckArgs,
    settings: &AuditSettings,
    rules: &iamsweep_core::compliance::Rules,
    log_format: LogFormat,
) -> anyhow::Result<ExitCode> {
    let run =
        accounts::AccountRun::resolve(settings, settings.resolved.account_concurrency).await?;
    let minimum = args.min_severity.unwrap_or(Severity::Informational);
    let rollup = match args.format {
        CheckFormat::Json => {
            run.write_report(settings, rules, log_format, Format::Json, ReportKind::Check, None)
                .await?
        }
        CheckFormat::Html => {
            run.write_report(settings, rules, log_format, Format::Html, ReportKind::Check, None)
                .await?
        }
        CheckFormat::Text => {
            // Each account's findings as soon as it is done, like the report.
            let mut out = accounts::Output::open(None)?;
            let rollup = run
                .audit(settings, rules, log_format, |account| {
                    let text = match &account.report {
                        Some(audit) => findings(audit, minimum),
                        None => format!(
                            "ERROR account {}: {}\n",
                            account.account_id,
                            account.error.as_deref().unwrap_or("not audited")
                        ),
                    };
                    out.write(|out| Ok(out.write_all(text.as_bytes())?))
                })
                .await?;
            out.finish()?;
            rollup
        }
    };
    crate::logging::status!("{}", accounts::rollup_line(&rollup));
    Ok(ExitCode::from(gate(
        gated(rollup.verdict.non_compliant, &rollup.severity, minimum),
        rollup.failed + rollup.status.error + rollup.status.skipped,
    )))
}

/// One line per non-compliant entity at or above `minimum`, then one per entity that could not
/// be evaluated.
fn findings(report: &AuditReport, minimum: Severity) -> String {
    let mut out = String::new();
    for entity in &report.entities {
        // A report without severities (older than the field) counts every finding.
        let severity = entity.severity.unwrap_or(Severity::Critical);
        if entity.verdict == Some(Verdict::NonCompliant) && severity >= minimum {
            out.push_str(&format!("NON_COMPLIANT {}: {}\n", entity.arn, entity.reasons.join("; ")));
        }
    }
    for entity in &report.entities {
        match entity.status {
            Status::Error => out.push_str(&format!(
                "ERROR {}: {}\n",
                entity.arn,
                entity.error.as_deref().unwrap_or("unknown error")
            )),
            Status::Skipped => out.push_str(&format!(
                "SKIPPED {}: {}\n",
                entity.arn,
                entity.skip_reason.as_deref().unwrap_or("no reason given")
            )),
            Status::Ok => {}
        }
    }
    out
}

/// The gate's exit code from the counts of non-compliant and unevaluated entities (or
/// accounts). An entity that could not be evaluated outranks a finding: a run that reports
/// findings for some entities and could not judge others must not look like a plain "fix
/// these" (1), since the unjudged ones may be worse; so 2 wins over 1.
fn gate(non_compliant: usize, unevaluated: usize) -> u8 {
    if unevaluated > 0 {
        2
    } else if non_compliant > 0 {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::gate;

    #[test]
    fn an_unevaluated_entity_outranks_a_finding() {
        assert_eq!(gate(0, 0), 0);
        assert_eq!(gate(3, 0), 1);
        assert_eq!(gate(0, 1), 2);
        // Regression: this was 1, so a pipeline read "findings" and missed the unjudged entity.
        assert_eq!(gate(3, 1), 2);
    }
}
