//! `iamsweep org audit`: collect (or load) the Organization's access reports and report per OU
//! and per account.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use iamsweep_core::org::report::{OrgAuditReport, OrgServiceReport, analyze_org};
use iamsweep_core::report::ServiceState;
use time::OffsetDateTime;

use crate::commands::org::{OrgAuditArgs, OrgFormat, OrgRun};

/// Runs the audit; exits 0 once the report is written (failed reports are in it).
pub async fn run(args: &OrgAuditArgs) -> anyhow::Result<ExitCode> {
    let run = OrgRun::resolve(&args.input, None)?;
    let snapshot = run.snapshot(None).await?;
    let report = analyze_org(&snapshot, run.settings.window_days, OffsetDateTime::now_utc());
    for unit in report.units.iter().filter(|unit| unit.error.is_some()) {
        tracing::warn!(target_id = %unit.id, "{}", unit.error.as_deref().unwrap_or_default());
    }
    super::emit(args.output.as_deref(), |out| write(&report, args.format, out))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `report` in `format`.
pub fn write(
    report: &OrgAuditReport,
    format: OrgFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        OrgFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            out.write_all(b"\n")?;
        }
        OrgFormat::Table => out.write_all(table(report).as_bytes())?,
        OrgFormat::Markdown => out.write_all(markdown(report).as_bytes())?,
        OrgFormat::Csv => csv(report, out)?,
        OrgFormat::Html => {
            out.write_all(iamsweep_core::html::org::org_audit_page(report).as_bytes())?;
        }
    }
    Ok(())
}

fn date(when: Option<OffsetDateTime>) -> String {
    when.map_or_else(|| "-".to_string(), |when| when.date().to_string())
}

/// Who used a service: `210987654321 (2026-11-20), 333344445555 (2026-10-01)`.
pub fn users(service: &OrgServiceReport) -> String {
    users_since(service, None)
}

/// [`users`], leaving out uses before `since`.
fn users_since(service: &OrgServiceReport, since: Option<OffsetDateTime>) -> String {
    service
        .used_by
        .iter()
        .filter(|user| since.is_none_or(|since| user.last_authenticated >= since))
        .map(|user| format!("{} ({})", user.account_id, user.last_authenticated.date()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table(report: &OrgAuditReport) -> String {
    let number = |n: usize| Cell::new(n).set_alignment(CellAlignment::Right);
    let mut units = Table::new();
    units
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["UNIT", "ID", "ACCOUNTS", "ALLOWED", "USED", "STALE", "UNUSED", "STATUS"]);
    for unit in &report.units {
        units.add_row([
            Cell::new(&unit.path),
            Cell::new(&unit.id),
            number(unit.accounts.len()),
            number(unit.allowed),
            number(unit.used),
            number(unit.stale),
            number(unit.unused),
            Cell::new(unit.error.as_deref().unwrap_or(unit.status.as_str())),
        ]);
    }
    let mut accounts = Table::new();
    accounts
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "ACCOUNT", "NAME", "UNIT", "JOINED", "ALLOWED", "USED", "STALE", "UNUSED", "STATUS",
        ]);
    for account in &report.accounts {
        let name = match (&account.name, account.management) {
            (Some(name), true) => format!("{name} (management)"),
            (None, true) => "(management)".to_string(),
            (name, false) => name.clone().unwrap_or_default(),
        };
        accounts.add_row([
            Cell::new(&account.id),
            Cell::new(name),
            Cell::new(&account.parent_id),
            Cell::new(date(account.joined)),
            number(account.allowed),
            number(account.used),
            number(account.stale),
            number(account.unused),
            Cell::new(account.error.as_deref().unwrap_or(account.status.as_str())),
        ]);
    }
    let mut out = format!("{units}\n{accounts}\n");
    // Only the uses within the window are named on the "used within" lines.
    let since = report.collected_at - time::Duration::days(i64::from(report.window_days));
    for unit in &report.units {
        let used: Vec<String> = unit
            .services
            .iter()
            .filter(|service| service.state == ServiceState::Used)
            .map(|service| {
                format!("{} by {}", service.namespace, users_since(service, Some(since)))
            })
            .collect();
        let _ = writeln!(
            out,
            "{} ({}) used within {} days: {}",
            unit.path,
            unit.id,
            report.window_days,
            if used.is_empty() { "nothing".to_string() } else { used.join("; ") }
        );
    }
    let _ = writeln!(
        out,
        "{} OUs, {} accounts, {} reports failed; window {} days",
        report.summary.ous, report.summary.accounts, report.summary.errors, report.window_days
    );
    out
}

fn markdown(report: &OrgAuditReport) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from(
        "## Organization units\n\n| Unit | Id | Accounts | Allowed | Used | Stale | Unused | Used services (by account, last use) | Status |\n|---|---|---:|---:|---:|---:|---:|---|---|\n",
    );
    for unit in &report.units {
        let used: Vec<String> = unit
            .services
            .iter()
            .filter(|service| service.state == ServiceState::Used)
            .map(|service| format!("`{}` {}", service.namespace, users(service)))
            .collect();
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} |",
            cell(&unit.path),
            unit.id,
            unit.accounts.len(),
            unit.allowed,
            unit.used,
            unit.stale,
            unit.unused,
            cell(&used.join("; ")),
            cell(unit.error.as_deref().unwrap_or(unit.status.as_str()))
        );
    }
    out.push_str("\n## Accounts\n\n| Account | Name | Unit | Joined | Allowed | Used | Stale | Unused | Status |\n|---|---|---|---|---:|---:|---:|---:|---|\n");
    for account in &report.accounts {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | {} | {} | {} | {} | {} |",
            account.id,
            cell(account.name.as_deref().unwrap_or("")),
            account.parent_id,
            date(account.joined),
            account.allowed,
            account.used,
            account.stale,
            account.unused,
            cell(account.error.as_deref().unwrap_or(account.status.as_str()))
        );
    }
    out
}

fn csv(report: &OrgAuditReport, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record([
        "target_kind",
        "target_id",
        "target",
        "status",
        "service",
        "state",
        "last_authenticated",
        "used_by",
        "used",
        "stale",
        "unused",
    ])?;
    let rfc = |when: Option<OffsetDateTime>| {
        when.and_then(|when| when.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default()
    };
    // One row per service of a unit or an account, with the target's own counts.
    let mut rows = |kind: &str,
                    id: &str,
                    label: &str,
                    status: &str,
                    services: &[OrgServiceReport],
                    counts: [usize; 3]|
     -> anyhow::Result<()> {
        for service in services {
            let used_by: Vec<&str> =
                service.used_by.iter().map(|user| user.account_id.as_str()).collect();
            writer.write_record([
                kind,
                id,
                label,
                status,
                &service.namespace,
                service.state.as_str(),
                &rfc(service.last_authenticated),
                &used_by.join(" "),
                &counts[0].to_string(),
                &counts[1].to_string(),
                &counts[2].to_string(),
            ])?;
        }
        Ok(())
    };
    for unit in &report.units {
        let kind = match unit.kind {
            iamsweep_core::org::snapshot::UnitKind::Root => "root",
            iamsweep_core::org::snapshot::UnitKind::Ou => "ou",
        };
        let counts = [unit.used, unit.stale, unit.unused];
        rows(kind, &unit.id, &unit.path, unit.status.as_str(), &unit.services, counts)?;
    }
    for account in &report.accounts {
        let name = account.name.as_deref().unwrap_or("");
        let counts = [account.used, account.stale, account.unused];
        rows("account", &account.id, name, account.status.as_str(), &account.services, counts)?;
    }
    writer.flush()?;
    Ok(())
}
