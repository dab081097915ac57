//! HTML: the self-contained page of [`iamsweep_core::html`], the one renderer the CLI and the
//! Lambda share. The many-accounts page is written account by account by
//! [`crate::accounts::DocumentWriter`] with [`HtmlWriter`].

use iamsweep_core::html::{self, ReportKind};
use iamsweep_core::plan::Plan;
use iamsweep_core::report::AuditReport;

pub use iamsweep_core::html::HtmlWriter;

/// The page of an audit.
pub fn audit(report: &AuditReport) -> String {
    html::audit_page(report, ReportKind::Audit)
}

/// The page of `check`: the report under the gate's rules.
pub fn check(report: &AuditReport) -> String {
    html::audit_page(report, ReportKind::Check)
}

/// The page of a plan, over the report it was made from.
pub fn plan(report: &AuditReport, plan: &Plan) -> String {
    html::plan_page(report, plan)
}
