//! Markdown: one table row per entity, for pull requests and wikis.
//!
//! Markdown tables cannot wrap a row, so this output is the same at every terminal width; long
//! lists are cut with `… and N more` as in the terminal table.

use iamsweep_core::report::{AuditReport, EntityReport};

use super::table::LISTED;
use super::text::list;

/// A heading, the summary line and the table.
pub fn render(report: &AuditReport) -> String {
    let mut out = format!(
        "## iamsweep audit of account {}\n\n{}\n\n",
        report.account_id,
        super::summary_line(report)
    );
    out.push_str(
        "| kind | name | granted | used | stale | unused | coverage | result | idle | used services | why |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|---|---|---|\n");
    for entity in &report.entities {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            entity.kind.as_str(),
            escape(&entity.name),
            entity.granted,
            entity.used,
            entity.stale,
            entity.unused,
            super::coverage(entity),
            super::outcome(entity),
            if entity.idle { "idle" } else { "" },
            escape(&used(entity)),
            escape(&super::note(entity)),
        ));
    }
    let risks = super::risk_lines(report);
    if !risks.is_empty() {
        out.push_str("\n### Escalation risks\n\n");
        for line in risks {
            out.push_str(&format!("- {}\n", escape(&line)));
        }
    }
    out
}

/// The used services, most serious first, cut after [`LISTED`], each denied since bounded
/// saying so.
fn used(entity: &EntityReport) -> String {
    list(&super::used_labels(entity), LISTED)
}

/// Escapes what would break a table cell.
pub fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
