//! `--accounts` and `--organization`: audit several accounts through a role and write each
//! account's report as soon as its audit completes, then a roll-up.
//!
//! An Organization can have thousands of accounts, so nothing here holds them all: at most
//! `--account-concurrency` accounts are audited at once ([`audit_accounts`]), each completed
//! account is analysed, written out (and flushed), logged and dropped, and only the roll-up's
//! counters outlive it. Accounts therefore appear in the order their audits complete; every
//! entry names its account.
//!
//! One account whose role cannot be assumed is reported in its entry and warned about; the others
//! go on. The JSON of a multi-account run is the `iamsweep.accounts/v1` document
//! ([`iamsweep_core::rollup`]), written piece by piece ([`DocumentWriter`]); the other formats
//! print each account's report under a heading (CSV: one header row, the ARNs name the account),
//! then the roll-up on stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use iamsweep_aws::accounts::{audit_accounts, list_active_accounts};
use iamsweep_aws::clients::Clients;
use iamsweep_aws::collector::NoProgress;
use iamsweep_aws::pace::Pace;
use iamsweep_core::analysis::analyze_owned;
use iamsweep_core::compliance::Rules;
use iamsweep_core::html::ReportKind;
use iamsweep_core::rollup::{ACCOUNTS_SCHEMA, AccountEntry, Rollup};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{Format, LogFormat};
use crate::settings::{AuditSettings, Targets};
use crate::{logging, render};

/// The accounts of one run, known before anything is audited or written.
pub struct AccountRun {
    base: SdkConfig,
    ids: Vec<String>,
    role: String,
    concurrency: usize,
}

impl AccountRun {
    /// The accounts to audit: the ids given, or the Organization's active accounts; at most
    /// `concurrency` audited at once.
    pub async fn resolve(settings: &AuditSettings, concurrency: usize) -> anyhow::Result<Self> {
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
                            "cannot list the Organization's accounts\nhint: run from the \
                             management account or a delegated administrator, or name them with \
                             --accounts",
                        )?;
                (accounts.into_iter().map(|account| account.id).collect(), role.clone())
            }
            Targets::Caller => unreachable!("only called for several accounts"),
        };
        Ok(AccountRun { base, ids, role, concurrency })
    }

    /// Audits every account, analyses each with `rules` and hands it to `on_account` as soon as
    /// its audit completes; returns the roll-up. An error from `on_account` (the output cannot
    /// be written) stops the run: no further account is started.
    pub async fn audit(
        self,
        settings: &AuditSettings,
        rules: &Rules,
        log_format: LogFormat,
        mut on_account: impl FnMut(AccountEntry) -> anyhow::Result<()>,
    ) -> anyhow::Result<Rollup> {
        let total = self.ids.len();
        tracing::info!(
            accounts = total,
            role = %self.role,
            account_concurrency = self.concurrency,
            "auditing accounts"
        );
        let mut audits = audit_accounts(
            &self.base,
            self.ids,
            &self.role,
            &settings.collect,
            self.concurrency,
            Arc::new(NoProgress),
        );
        let mut rollup = Rollup::default();
        while let Some(audit) = audits.recv().await {
            let entry = match audit.outcome {
                Ok(collection) => {
                    let report =
                        analyze_owned(collection.snapshot, rules, OffsetDateTime::now_utc());
                    logging::report_records(&report, log_format);
                    logging::warn_errors(&report);
                    AccountEntry::audited(report)
                }
                Err(error) => {
                    let message = format!("{error:#}");
                    tracing::warn!(account_id = %audit.account_id, "account not audited: {message}");
                    AccountEntry::failed(audit.account_id, message)
                }
            };
            rollup.add(&entry);
            tracing::info!(
                account_id = %entry.account_id,
                "account {} of {total} done",
                rollup.accounts
            );
            on_account(entry)?;
        }
        Ok(rollup)
    }

    /// Audits the accounts and writes the document in `format` to `output` (stdout when
    /// `None`), each account as it completes; an HTML page is titled for `command`. Exactly one
    /// account, audited, keeps the single-account report in every format.
    pub async fn write_report(
        self,
        settings: &AuditSettings,
        rules: &Rules,
        log_format: LogFormat,
        format: Format,
        command: ReportKind,
        output: Option<&Path>,
    ) -> anyhow::Result<Rollup> {
        if self.ids.len() == 1 {
            // One account is held whole anyway: decide its shape once it is known.
            let mut only = None;
            let rollup = self
                .audit(settings, rules, log_format, |entry| {
                    only = Some(entry);
                    Ok(())
                })
                .await?;
            let mut out = Output::open(output)?;
            match only {
                Some(AccountEntry { report: Some(audit), .. }) if format == Format::Html => {
                    let page = iamsweep_core::html::audit_page(&audit, command);
                    out.write(|out| Ok(out.write_all(page.as_bytes())?))?;
                }
                Some(AccountEntry { report: Some(audit), .. }) => {
                    out.write(|out| render::write(&audit, format, out))?;
                }
                only => out.write(|out| {
                    let mut writer =
                        DocumentWriter::start(out, format, command, OffsetDateTime::now_utc())?;
                    if let Some(entry) = &only {
                        writer.account(out, entry)?;
                    }
                    writer.finish(out, &rollup)
                })?,
            }
            out.finish()?;
            return Ok(rollup);
        }
        // Opened before the first account completes, so that each is written as it does.
        let mut out = Output::open(output)?;
        let mut writer = out
            .write(|out| DocumentWriter::start(out, format, command, OffsetDateTime::now_utc()))?;
        let rollup = self
            .audit(settings, rules, log_format, |entry| {
                out.write(|out| writer.account(out, &entry))
            })
            .await?;
        out.write(|out| writer.finish(out, &rollup))?;
        out.finish()?;
        Ok(rollup)
    }
}

/// Where a report goes: a file (created when opened) or stdout, buffered, every error naming
/// the destination.
pub struct Output {
    writer: BufWriter<Box<dyn Write>>,
    name: String,
}

impl Output {
    /// Creates `path`, or writes to stdout when `None`.
    pub fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        Ok(match path {
            Some(path) => {
                let file = File::create(path).with_context(|| {
                    format!("cannot create the output file `{}`", path.display())
                })?;
                let name = format!("the output file `{}`", path.display());
                Output { writer: BufWriter::new(Box::new(file)), name }
            }
            None => Output {
                writer: BufWriter::new(Box::new(crate::stdout::Stdout)),
                name: "stdout".to_string(),
            },
        })
    }

    /// Writes through `write` and flushes, so that what was written is visible at once.
    pub fn write<T>(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let value = write(&mut self.writer)
            .and_then(|value| self.writer.flush().map(|()| value).map_err(Into::into))
            .with_context(|| format!("cannot write to {}", self.name))?;
        Ok(value)
    }

    /// Flushes what is left.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.writer.flush().with_context(|| format!("cannot write to {}", self.name))
    }
}

/// Writes the multi-account document in a format, one account at a time: for JSON the
/// `iamsweep.accounts/v1` document, byte for byte what serializing the whole
/// [`iamsweep_core::rollup::AccountsReport`] at once would give, but never holding more than
/// one account. It keeps only where it is; each call is given the output.
#[derive(Debug)]
pub struct DocumentWriter {
    format: Format,
    accounts_written: usize,
    csv_header_written: bool,
    /// For HTML: the page's running sums (its overview is written last).
    html: Option<render::html::HtmlWriter>,
}

impl DocumentWriter {
    /// Writes what comes before the first account (for JSON: `schema`, `generated_at` and the
    /// opening of `accounts`; for HTML the page's head, titled for `command`).
    pub fn start(
        out: &mut dyn Write,
        format: Format,
        command: ReportKind,
        generated_at: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        if format == Format::Json {
            let generated_at = generated_at.format(&Rfc3339)?;
            write!(
                out,
                "{{\n  \"schema\": {},\n  \"generated_at\": {},\n  \"accounts\": [",
                serde_json::to_string(ACCOUNTS_SCHEMA)?,
                serde_json::to_string(&generated_at)?
            )?;
        }
        let html = if format == Format::Html {
            let (writer, head) = render::html::HtmlWriter::start(command, "accounts", true);
            out.write_all(head.as_bytes())?;
            Some(writer)
        } else {
            None
        };
        Ok(DocumentWriter { format, accounts_written: 0, csv_header_written: false, html })
    }

    /// Writes one account.
    pub fn account(&mut self, out: &mut dyn Write, account: &AccountEntry) -> anyhow::Result<()> {
        let first = self.accounts_written == 0;
        self.accounts_written += 1;
        if self.format == Format::Json {
            out.write_all(if first { b"\n    " } else { b",\n    " })?;
            serde_json::to_writer_pretty(Indented { out, indent: b"    " }, account)?;
            return Ok(());
        }
        if let Some(html) = &mut self.html {
            match &account.report {
                Some(audit) => out.write_all(html.report(audit).as_bytes())?,
                None => html.failed_account(
                    &account.account_id,
                    account.error.as_deref().unwrap_or("unknown error"),
                ),
            }
            return Ok(());
        }
        let Some(audit) = &account.report else {
            if self.format != Format::Csv {
                let error = account.error.as_deref().unwrap_or("unknown error");
                writeln!(out, "account {}: not audited: {error}\n", account.account_id)?;
            }
            return Ok(());
        };
        match self.format {
            Format::Csv => {
                let mut text = Vec::new();
                render::write(audit, self.format, &mut text)?;
                // Every account's CSV starts with the same header row: keep the first only.
                let body = if self.csv_header_written {
                    text.splitn(2, |&byte| byte == b'\n').nth(1).unwrap_or_default()
                } else {
                    &text
                };
                self.csv_header_written = true;
                out.write_all(body)?;
            }
            Format::Markdown => {
                writeln!(out, "## Account {}\n", account.account_id)?;
                render::write(audit, self.format, out)?;
                writeln!(out)?;
            }
            // Findings are of one account (`audit` refuses them with several): each account's
            // findings follow its name like a table would.
            Format::Table | Format::Json | Format::Html | Format::Asff | Format::Ocsf => {
                writeln!(out, "account {}", account.account_id)?;
                render::write(audit, self.format, out)?;
                writeln!(out)?;
            }
        }
        Ok(())
    }

    /// Writes what comes after the last account (for JSON: the roll-up).
    pub fn finish(self, out: &mut dyn Write, rollup: &Rollup) -> anyhow::Result<()> {
        if let Some(html) = self.html {
            out.write_all(html.finish().as_bytes())?;
            return Ok(());
        }
        if self.format == Format::Json {
            out.write_all(if self.accounts_written == 0 { b"]" } else { b"\n  ]" })?;
            out.write_all(b",\n  \"rollup\": ")?;
            serde_json::to_writer_pretty(Indented { out: &mut *out, indent: b"  " }, rollup)?;
            out.write_all(b"\n}\n")?;
        }
        Ok(())
    }
}

/// Indents every line after the first by `indent`, so that a value pretty-printed on its own
/// nests in the document as the whole document pretty-printed at once would. JSON strings never
/// hold a raw newline (serde_json escapes it), so every newline is between tokens.
struct Indented<'a> {
    out: &'a mut dyn Write,
    indent: &'static [u8],
}

impl Write for Indented<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut lines = buf.split(|&byte| byte == b'\n');
        if let Some(first) = lines.next() {
            self.out.write_all(first)?;
        }
        for line in lines {
            self.out.write_all(b"\n")?;
            self.out.write_all(self.indent)?;
            self.out.write_all(line)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The roll-up in one line, for stderr.
pub fn rollup_line(rollup: &Rollup) -> String {
    format!(
        "{} accounts: {} audited, {} not audited; {} entities, {} non-compliant, {} idle, {} \
         could not be evaluated",
        rollup.accounts,
        rollup.audited,
        rollup.failed,
        rollup.entities,
        rollup.verdict.non_compliant,
        rollup.idle,
        rollup.status.error + rollup.status.skipped
    )
}

#[cfg(test)]
mod tests {
    use iamsweep_core::analysis::analyze;
    use iamsweep_core::rollup::AccountsReport;
    use iamsweep_core::snapshot::Snapshot;
    use time::macros::datetime;

    use super::*;

    const DEMO: &str = include_str!("../../../examples/demo-snapshot.json");

    fn entries() -> Vec<AccountEntry> {
        let snapshot = Snapshot::from_json(DEMO).expect("the demo snapshot parses");
        let report = analyze(&snapshot, &Rules::new(180), datetime!(2026-11-23 12:00 UTC));
        let mut other = report.clone();
        other.account_id = "210987654321".to_string();
        vec![
            AccountEntry::audited(report),
            AccountEntry::failed("333344445555", "cannot assume the role: AccessDenied\nhint: x"),
            AccountEntry::audited(other),
        ]
    }

    fn streamed(format: Format, entries: &[AccountEntry]) -> (Vec<u8>, Rollup) {
        let mut out = Vec::new();
        let mut rollup = Rollup::default();
        let mut writer = DocumentWriter::start(
            &mut out,
            format,
            ReportKind::Audit,
            datetime!(2026-11-23 12:00 UTC),
        )
        .unwrap();
        for entry in entries {
            rollup.add(entry);
            writer.account(&mut out, entry).unwrap();
        }
        writer.finish(&mut out, &rollup).unwrap();
        (out, rollup)
    }

    #[test]
    fn the_streamed_json_is_the_whole_document_byte_for_byte() {
        for entries in [entries(), entries()[..1].to_vec(), Vec::new()] {
            let (out, rollup) = streamed(Format::Json, &entries);
            let whole = AccountsReport::new(entries, datetime!(2026-11-23 12:00 UTC));
            assert_eq!(rollup, whole.rollup, "the roll-up summed account by account");
            let expected = serde_json::to_string_pretty(&whole).unwrap() + "\n";
            assert_eq!(String::from_utf8(out.clone()).unwrap(), expected);
            let parsed: AccountsReport = serde_json::from_slice(&out).unwrap();
            assert_eq!(parsed, whole);
        }
    }

    #[test]
    fn the_rollup_sums_idle_entities() {
        let entries = entries();
        let idle: usize =
            entries.iter().filter_map(|entry| entry.report.as_ref()).map(|r| r.summary.idle).sum();
        assert!(idle > 0, "the demo has idle entities");
        let (out, rollup) = streamed(Format::Json, &entries);
        assert_eq!(rollup.idle, idle);
        let parsed: AccountsReport = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed.rollup.idle, idle);
        assert!(rollup_line(&rollup).contains(&format!(", {idle} idle, ")), "{rollup:?}");
    }

    #[test]
    fn a_many_accounts_page_is_titled_by_its_command() {
        for (command, noun) in [(ReportKind::Audit, "audit"), (ReportKind::Check, "check")] {
            let mut out = Vec::new();
            let mut writer =
                DocumentWriter::start(&mut out, Format::Html, command, OffsetDateTime::UNIX_EPOCH)
                    .unwrap();
            for entry in entries() {
                writer.account(&mut out, &entry).unwrap();
            }
            writer.finish(&mut out, &Rollup::default()).unwrap();
            let page = scraper::Html::parse_document(&String::from_utf8(out).unwrap());
            let title = scraper::Selector::parse("head > title").unwrap();
            let titles: Vec<String> =
                page.select(&title).map(|title| title.text().collect()).collect();
            assert_eq!(titles, [format!("iamsweep {noun}: accounts")]);
        }
    }

    #[test]
    fn csv_keeps_one_header_row_and_no_row_for_an_account_not_audited() {
        let entries = entries();
        let (out, _) = streamed(Format::Csv, &entries);
        let text = String::from_utf8(out).unwrap();
        let rows = entries[0].report.as_ref().unwrap().entities.len();
        assert_eq!(text.lines().filter(|line| line.starts_with("arn,")).count(), 1);
        assert_eq!(text.lines().count(), 1 + 2 * rows);
        assert!(!text.contains("333344445555"));
    }

    #[test]
    fn markdown_gives_each_account_a_section_and_names_the_one_not_audited() {
        let (out, _) = streamed(Format::Markdown, &entries());
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("## Account ").count(), 2);
        assert!(text.contains("account 333344445555: not audited: cannot assume the role"));
    }

    #[test]
    fn indented_output_indents_every_line_but_the_first() {
        let mut out = Vec::new();
        let mut indented = Indented { out: &mut out, indent: b"  " };
        indented.write_all(b"{\n\"a\": 1,").unwrap();
        indented.write_all(b"\n\"b\": \"x\\ny\"\n}").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\n  \"a\": 1,\n  \"b\": \"x\\ny\"\n  }");
    }
}
