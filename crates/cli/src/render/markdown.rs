//! Markdown: one table row per entity, for pull requests and wikis.

use iamsweep_core::report::AuditReport;

/// A heading, the summary line and the table.
pub fn render(report: &AuditReport) -> String {
    let mut out = format!(
        "## iamsweep audit of account {}\n\n{}\n\n",
        report.account_id,
        super::summary_line(report)
    );
    out.push_str("| kind | name | granted | used | stale | unused | coverage | result | why |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|---|\n");
    for entity in &report.entities {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            entity.kind.as_str(),
            escape(&entity.name),
            entity.granted,
            entity.used,
            entity.stale,
            entity.unused,
            super::coverage(entity),
            super::outcome(entity),
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

/// Escapes what would break a table cell.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
