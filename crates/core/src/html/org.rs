//! The Organization audit's page (`iamsweep org audit --format html`): one self-contained page,
//! like the entity reports, with the Organization's facts first, then a table of its units (the
//! root and every OU, parents before children) and one of its accounts.
//!
//! Each unit's row carries its id in `data-id` and each account's its id in `data-account`,
//! the way entity rows carry `data-arn`, so scripts and tests find them without reading text.
//! The services of each unit and account are folded in a `<details>` element, by state, riskiest
//! first (the report's order), each used one with the accounts that used it and when. The page
//! needs no script: there are tens of units and at most a few thousand accounts, and the tables
//! are read rather than searched; it has none, so nothing on it can fail to run.

use std::fmt::Write;

use super::escape::{escape, push};
use super::layout;
use super::overview::time_element;
use crate::org::report::{OrgAuditReport, OrgServiceReport};
use crate::org::snapshot::UnitKind;
use crate::report::ServiceState;

/// The whole page of an Organization audit.
pub fn org_audit_page(report: &OrgAuditReport) -> String {
    let mut out =
        layout::head(&format!("iamsweep org audit: organization {}", report.organization_id));
    overview(&mut out, report);
    units(&mut out, report);
    accounts(&mut out, report);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn overview(out: &mut String, report: &OrgAuditReport) {
    out.push_str(
        "<section id=\"overview\">\n<header>\n<h1>Organization audit</h1>\n<dl class=\"facts\">",
    );
    for (term, value) in [
        ("Organization", report.organization_id.clone()),
        ("Management account", report.management_account_id.clone()),
        ("Window", format!("{} days", report.window_days)),
    ] {
        let _ = write!(out, "<div><dt>{term}</dt><dd>{}</dd></div>", escape(&value));
    }
    for (term, at) in [("Collected", report.collected_at), ("Generated", report.generated_at)] {
        let _ = write!(out, "<div><dt>{term}</dt><dd>{}</dd></div>", time_element(at));
    }
    out.push_str("</dl>\n</header>\n<div class=\"cards\" id=\"counts\">");
    let summary = &report.summary;
    for (label, count) in
        [("OUs", summary.ous), ("accounts", summary.accounts), ("reports failed", summary.errors)]
    {
        let _ = write!(out, "<div class=\"card\"><b>{count}</b>{label}</div>");
    }
    out.push_str(
        "</div>\n<p>A unit's services are those its SCPs allow; a service no account below it used \
         within the window is what <code>iamsweep org plan</code> would deny there.</p>\n\
         </section>\n",
    );
}

fn units(out: &mut String, report: &OrgAuditReport) {
    out.push_str(
        "<section id=\"units\">\n<h2>Units</h2>\n<table id=\"unit-table\">\n<thead><tr>\
         <th>Unit</th><th>Id</th><th>Accounts</th><th>Allowed</th><th>Used</th><th>Stale</th>\
         <th>Unused</th><th>Status</th></tr></thead>\n<tbody>\n",
    );
    for unit in &report.units {
        let kind = match unit.kind {
            UnitKind::Root => "root",
            UnitKind::Ou => "ou",
        };
        let _ = write!(
            out,
            "<tr data-id=\"{}\" data-kind=\"{kind}\" data-status=\"{}\"><td>",
            escape(&unit.id),
            unit.status.as_str()
        );
        push(out, &unit.path);
        services(out, &unit.services);
        let _ = write!(out, "</td><td class=\"arn\">{}</td>", escape(&unit.id));
        counts(out, &[unit.accounts.len(), unit.allowed, unit.used, unit.stale, unit.unused]);
        status(out, unit.status.as_str(), unit.error.as_deref());
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn accounts(out: &mut String, report: &OrgAuditReport) {
    out.push_str(
        "<section id=\"accounts\">\n<h2>Accounts</h2>\n<table id=\"account-table\">\n<thead><tr>\
         <th>Account</th><th>Name</th><th>Unit</th><th>Joined</th><th>Allowed</th><th>Used</th>\
         <th>Stale</th><th>Unused</th><th>Status</th></tr></thead>\n<tbody>\n",
    );
    for account in &report.accounts {
        let _ = write!(
            out,
            "<tr data-account=\"{}\" data-status=\"{}\"><td>",
            escape(&account.id),
            account.status.as_str()
        );
        push(out, &account.id);
        services(out, &account.services);
        out.push_str("</td><td>");
        push(out, account.name.as_deref().unwrap_or(""));
        if account.management {
            out.push_str(" <em>(management)</em>");
        }
        // The unit by its path, as people name it, and by its id for the tools.
        let unit = report.units.iter().find(|unit| unit.id == account.parent_id);
        out.push_str("</td><td>");
        push(out, unit.map_or(account.parent_id.as_str(), |unit| unit.path.as_str()));
        let _ = write!(out, " <span class=\"arn\">{}</span></td><td>", escape(&account.parent_id));
        if let Some(joined) = account.joined {
            let _ = write!(out, "{}", joined.date());
        }
        out.push_str("</td>");
        counts(out, &[account.allowed, account.used, account.stale, account.unused]);
        status(out, account.status.as_str(), account.error.as_deref());
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn counts(out: &mut String, numbers: &[usize]) {
    for number in numbers {
        let _ = write!(out, "<td class=\"n\">{number}</td>");
    }
}

fn status(out: &mut String, status: &str, error: Option<&str>) {
    match error {
        Some(error) => {
            out.push_str("<td class=\"failed\">");
            push(out, error);
            out.push_str("</td>");
        }
        None => {
            let _ = write!(out, "<td>{status}</td>");
        }
    }
}

/// The services folded under a unit or account: each state on its own line, used ones with
/// who used them.
fn services(out: &mut String, services: &[OrgServiceReport]) {
    if services.is_empty() {
        return;
    }
    out.push_str("<details><summary>services</summary><dl class=\"more\">");
    for state in [ServiceState::Used, ServiceState::Stale, ServiceState::Unused] {
        let of_state: Vec<&OrgServiceReport> =
            services.iter().filter(|service| service.state == state).collect();
        if of_state.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "<dt>{} ({})</dt><dd class=\"s-{}\">",
            state.as_str(),
            of_state.len(),
            state.as_str()
        );
        for (index, service) in of_state.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            push(out, &service.namespace);
            if state != ServiceState::Unused && !service.used_by.is_empty() {
                out.push_str(" (");
                for (index, user) in service.used_by.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    push(out, &user.account_id);
                    let _ = write!(out, " {}", user.last_authenticated.date());
                }
                out.push(')');
            }
        }
        out.push_str("</dd>");
    }
    out.push_str("</dl></details>");
}
