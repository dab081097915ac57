//! The HTML report: one self-contained page (`--format html`) that opens from disk with no
//! network, for `audit`, `check`, `plan` and the many-accounts report, and for the Lambda's
//! reports in S3; [`org`] writes `org audit`'s.
//!
//! The page: an overview (the account or accounts, the window, when the data was collected,
//! counts per verdict and status, a chart of coverage across entities, the services most often
//! unused, the riskiest findings first), then a table of every entity, sortable and filterable by
//! kind, verdict and text, each row carrying the entity's ARN in `data-arn` and its details
//! (services by state and last use, riskiest first; the policies granting the unused ones; for a
//! plan, what its boundary keeps and removes) folded in a `<details>` element.
//!
//! It is written as a stream, one account at a time ([`HtmlWriter`]): the rows first, the
//! overview last (shown first by the style sheet), so that a report over an Organization keeps
//! only running sums in memory. [`audit_page`] and [`plan_page`] write a whole page at once.
//!
//! Every text from the input is escaped ([`escape::escape`]); nothing on the page refers to
//! anything outside it.
//!
//! ```
//! use iamsweep_core::analysis::analyze;
//! use iamsweep_core::compliance::Rules;
//! use iamsweep_core::html::{ReportKind, audit_page};
//! use iamsweep_core::snapshot::Snapshot;
//! use time::macros::datetime;
//!
//! let snapshot = Snapshot::from_json(include_str!("../../../../examples/demo-snapshot.json")).unwrap();
//! let report = analyze(&snapshot, &Rules::new(180), datetime!(2026-11-23 12:00 UTC));
//! let page = audit_page(&report, ReportKind::Audit);
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! ```

pub mod chart;
pub mod entity;
pub mod escape;
mod layout;
pub mod org;
mod overview;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::plan::{EntityPlan, Plan};
use crate::report::AuditReport;
use entity::Columns;
use overview::Overview;

/// Which command the page reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// `iamsweep audit` (and the Lambda's reports).
    Audit,
    /// `iamsweep check`: the report under the gate's rules.
    Check,
    /// `iamsweep plan`: the audit and what the plan does to each entity.
    Plan,
}

impl ReportKind {
    fn noun(self) -> &'static str {
        match self {
            ReportKind::Audit => "audit",
            ReportKind::Check => "check",
            ReportKind::Plan => "plan",
        }
    }
}

/// Writes a page piece by piece: [`HtmlWriter::start`], then one call per account, then
/// [`HtmlWriter::finish`]. Each call returns the text to append.
#[derive(Debug)]
pub struct HtmlWriter {
    kind: ReportKind,
    columns: Columns,
    overview: Overview,
}

impl HtmlWriter {
    /// Starts a page titled for `scope` (such as `account 123456789012` or `3 accounts`);
    /// `several_accounts` adds an account column to the table.
    pub fn start(kind: ReportKind, scope: &str, several_accounts: bool) -> (HtmlWriter, String) {
        let columns = Columns { account: several_accounts, plan: kind == ReportKind::Plan };
        let mut out = layout::head(&format!("iamsweep {}: {scope}", kind.noun()));
        out.push_str(
            "<section id=\"entities\">\n<h2>Entities</h2>\n<div class=\"filters\">\
             <label>Search <input type=\"search\" id=\"filter-text\" placeholder=\"name, ARN, service, reason\"></label>\
             <label>Kind <select id=\"filter-kind\"><option value=\"\">all</option>\
             <option value=\"user\">users</option><option value=\"role\">roles</option>\
             <option value=\"group\">groups</option></select></label>\
             <label>Result <select id=\"filter-verdict\"><option value=\"\">all</option>\
             <option value=\"NON_COMPLIANT\">non-compliant</option>\
             <option value=\"COMPLIANT\">compliant</option><option value=\"error\">error</option>\
             <option value=\"skipped\">skipped</option></select></label>\
             <span><output id=\"shown\"></output> shown</span></div>\n\
             <table id=\"entity-table\">\n",
        );
        out.push_str(&entity::header(columns));
        out.push_str("<tbody>\n");
        (HtmlWriter { kind, columns, overview: Overview::default() }, out)
    }

    /// The rows of one account's report.
    pub fn report(&mut self, report: &AuditReport) -> String {
        self.overview.add(report);
        let mut out = String::with_capacity(report.entities.len() * 1024);
        for entity in report.by_severity() {
            entity::row(&mut out, entity, &report.account_id, self.columns, None);
        }
        out
    }

    /// The rows of an account's report with its plan: each entity with what the plan does to
    /// it (matched by ARN).
    pub fn plan(&mut self, report: &AuditReport, plan: &Plan) -> String {
        self.overview.add(report);
        self.overview.add_plan(plan);
        let by_arn: HashMap<&str, &EntityPlan> =
            plan.entities.iter().map(|entity| (entity.arn.as_str(), entity)).collect();
        let mut out = String::with_capacity(report.entities.len() * 1024);
        for entity in report.by_severity() {
            let planned = by_arn.get(entity.arn.as_str()).copied();
            entity::row(&mut out, entity, &report.account_id, self.columns, planned);
        }
        out
    }

    /// Records an account that could not be audited (named in the overview).
    pub fn failed_account(&mut self, account_id: &str, error: &str) {
        self.overview.add_failed(account_id, error);
    }

    /// The end of the page: the overview and the script.
    pub fn finish(self) -> String {
        let mut out = String::from("</tbody>\n</table>\n</section>\n");
        out.push_str(&self.overview.render(self.kind.noun()));
        out.push_str(&layout::tail());
        out
    }
}

/// The whole page of one account's report.
pub fn audit_page(report: &AuditReport, kind: ReportKind) -> String {
    let scope = format!("account {}", report.account_id);
    let (mut writer, mut page) = HtmlWriter::start(kind, &scope, false);
    page.push_str(&writer.report(report));
    page.push_str(&writer.finish());
    page
}

/// The whole page of a plan, over the report it was made from.
pub fn plan_page(report: &AuditReport, plan: &Plan) -> String {
    let scope = format!("account {}", report.account_id);
    let (mut writer, mut page) = HtmlWriter::start(ReportKind::Plan, &scope, false);
    page.push_str(&writer.plan(report, plan));
    page.push_str(&writer.finish());
    page
}
