//! The terminal table.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use iamsweep_core::report::AuditReport;

/// One row per entity, most serious first ([`AuditReport::by_severity`]), then the summary line.
pub fn render(report: &AuditReport) -> String {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "KIND", "NAME", "GRANTED", "USED", "STALE", "UNUSED", "COVERAGE", "RESULT", "WHY",
        ]);
    for entity in report.by_severity() {
        let number = |n: usize| Cell::new(n).set_alignment(CellAlignment::Right);
        table.add_row([
            Cell::new(entity.kind.as_str()),
            Cell::new(&entity.name),
            number(entity.granted),
            number(entity.used),
            number(entity.stale),
            number(entity.unused),
            Cell::new(super::coverage(entity)).set_alignment(CellAlignment::Right),
            Cell::new(super::outcome(entity)),
            Cell::new(truncate(&super::note(entity), 120)),
        ]);
    }
    let mut out = format!("{table}\n{}\n", super::summary_line(report));
    for line in super::risk_lines(report) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}
