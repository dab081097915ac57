//! `--accounts` and `--organization`: audit several accounts through a role, report each and a
//! roll-up.
//!
//! One account whose role cannot be assumed is reported in its entry and warned about; the others
//! go on. The JSON of a multi-account run is the `iamsweep.accounts/v1` document
//! ([`iamsweep_core::rollup`]); the other formats print each account's report under a heading
//! (CSV: one header row, the ARNs name the account), then the roll-up on stderr.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use iamsweep_aws::accounts::{DEFAULT_PARALLEL_ACCOUNTS, audit_accounts, list_active_accounts};
use iamsweep_aws::clients::Clients;
use iamsweep_aws::collector::NoProgress;
use iamsweep_aws::pace::Pace;
use iamsweep_core::analysis::analyze_owned;
use iamsweep_core::compliance::Rules;
use iamsweep_core::rollup::{AccountEntry, AccountsReport};
use time::OffsetDateTime;

use crate::cli::{Format, LogFormat};
use crate::settings::{AuditSettings, Targets};
use crate::{logging, render};

/// Audits every target account and analyses each with `rules`.
pub async fn audit(
    settings: &AuditSettings,
    rules: &Rules,
    log_format: LogFormat,
) -> anyhow::Result<AccountsReport> {
    let base = settings.connection.load().await;
    let (ids, role) = match &settings.targets {
        Targets::Accounts { ids, role } => (ids.clone(), role.clone()),
        Targets::Organization { role } => {
            let clients = Clients::new(&base);
            let pace = Pace::new(settings.collect.rate);
            let accounts =
                list_active_accounts(&clients.organizations, &pace, &settings.collect.retry)
                    .await
                    .context(
                        "cannot list the Organization's accounts\nhint: run from the management \
                         account or a delegated administrator, or name them with --accounts",
                    )?;
            (accounts.into_iter().map(|account| account.id).collect(), role.clone())
        }
        Targets::Caller => unreachable!("only called for several accounts"),
    };
    tracing::info!(accounts = ids.len(), role = %role, "auditing accounts");
    let audits = audit_accounts(
        &base,
        &ids,
        &role,
        &settings.collect,
        DEFAULT_PARALLEL_ACCOUNTS,
        Arc::new(NoProgress),
    )
    .await;
    let now = OffsetDateTime::now_utc();
    let mut entries = Vec::with_capacity(audits.len());
    for audit in audits {
        match audit.outcome {
            Ok(collection) => {
                let report = analyze_owned(collection.snapshot, rules, now);
                logging::report_records(&report, log_format);
                logging::warn_errors(&report);
                entries.push(AccountEntry::audited(report));
            }
            Err(error) => {
                let message = format!("{error:#}");
                tracing::warn!(account_id = %audit.account_id, "account not audited: {message}");
                entries.push(AccountEntry::failed(audit.account_id, message));
            }
        }
    }
    Ok(AccountsReport::new(entries, now))
}

/// Writes the multi-account document in `format`.
pub fn write(report: &AccountsReport, format: Format, out: &mut dyn Write) -> anyhow::Result<()> {
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, report)?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    let mut csv_header_written = false;
    for account in &report.accounts {
        let Some(audit) = &account.report else {
            if format != Format::Csv {
                writeln!(out, "account {}: not audited: {}\n", account.account_id, error(account))?;
            }
            continue;
        };
        match format {
            Format::Csv => {
                let mut text = Vec::new();
                render::write(audit, format, &mut text)?;
                let text = String::from_utf8(text)?;
                // Every account's CSV starts with the same header row: keep the first only.
                let body = if csv_header_written {
                    text.split_once('\n').map_or("", |(_, rest)| rest)
                } else {
                    &text
                };
                csv_header_written = true;
                out.write_all(body.as_bytes())?;
            }
            Format::Markdown => {
                writeln!(out, "## Account {}\n", account.account_id)?;
                render::write(audit, format, out)?;
                writeln!(out)?;
            }
            _ => {
                writeln!(out, "account {}", account.account_id)?;
                render::write(audit, format, out)?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// The roll-up in one line, for stderr.
pub fn rollup_line(report: &AccountsReport) -> String {
    let rollup = &report.rollup;
    format!(
        "{} accounts: {} audited, {} not audited; {} entities, {} non-compliant, {} could not be \
         evaluated",
        rollup.accounts,
        rollup.audited,
        rollup.failed,
        rollup.entities,
        rollup.verdict.non_compliant,
        rollup.status.error + rollup.status.skipped
    )
}

fn error(account: &AccountEntry) -> &str {
    account.error.as_deref().unwrap_or("unknown error")
}
