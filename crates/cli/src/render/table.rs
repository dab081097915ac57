//! The terminal table of an audit: one aligned row of counts per entity, and under it what the
//! entity used (what a boundary keeps) and why it fails, wrapped between words.
//!
//! Compact on purpose: at 80 columns the demo account's 8 entities take about 30 lines, not the
//! 151 of a grid whose narrow cells broke `NON_COMPLIANT` into three. A name too long for its
//! column gets the row's first line to itself, whole.

use iamsweep_core::model::Status;
use iamsweep_core::report::{AuditReport, EntityReport, Verdict};

use super::text::{Colour, Style, columns, detail, list, pad, wrap};

/// Namespaces named on a `used:` line at most; the rest are counted (JSON, CSV and HTML list
/// them all).
pub const LISTED: usize = 10;

const NUMBERS: [&str; 5] = ["GRANTED", "USED", "STALE", "UNUSED", "COVERAGE"];

/// The table, most serious entities first ([`AuditReport::by_severity`]), then the summary line
/// and the escalation risks, laid out for `style`.
pub fn render(report: &AuditReport, style: &Style) -> String {
    let rows: Vec<Row<'_>> = report.by_severity().into_iter().map(Row::of).collect();
    let kind_width = rows.iter().map(|row| columns(row.kind)).chain([4]).max().unwrap_or(4);
    let mut number_widths = NUMBERS.map(columns);
    for row in &rows {
        for (width, cell) in number_widths.iter_mut().zip(&row.numbers) {
            *width = (*width).max(columns(cell));
        }
    }
    let result_width = rows.iter().map(|row| columns(row.result)).chain([6]).max().unwrap_or(6);
    // Everything but the name: kind, the counts (one space apart), result and idle.
    let fixed = kind_width + 2 + 2 + number_widths.iter().sum::<usize>() + number_widths.len() - 1
        + 2
        + result_width
        + 2
        + 4;
    let longest = rows.iter().map(|row| columns(row.name)).chain([4]).max().unwrap_or(4);
    let name_width = match style.width {
        Some(width) if fixed + longest > width => width.saturating_sub(fixed).max(4),
        _ => longest,
    };
    let layout = Layout { kind_width, name_width, number_widths, result_width };

    let mut lines = vec![layout.line(
        "KIND",
        "NAME",
        &NUMBERS.map(str::to_string),
        ("RESULT", None),
        ("IDLE", None),
        style,
    )];
    let rule = columns(&lines[0]).min(style.width.unwrap_or(usize::MAX));
    lines.push(style.paint(&"─".repeat(rule), Colour::Dim));
    let indent = kind_width + 2;
    for row in &rows {
        if columns(row.name) > name_width {
            lines.push(format!("{}  {}", pad(row.kind, kind_width, false), row.name));
            lines.push(layout.line(
                "",
                "",
                &row.numbers,
                row.result_cell(),
                row.idle_cell(),
                style,
            ));
        } else {
            lines.push(layout.line(
                row.kind,
                row.name,
                &row.numbers,
                row.result_cell(),
                row.idle_cell(),
                style,
            ));
        }
        for (label, text) in row.details() {
            lines.extend(detail(indent, label, &text, style));
        }
    }
    let mut out: String = lines.iter().map(|line| format!("{}\n", line.trim_end())).collect();
    for line in wrap(&super::summary_line(report), style.width) {
        out.push_str(&line);
        out.push('\n');
    }
    for risk in super::risk_lines(report) {
        for line in wrap(&risk, style.width) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

struct Layout {
    kind_width: usize,
    name_width: usize,
    number_widths: [usize; 5],
    result_width: usize,
}

impl Layout {
    fn line(
        &self,
        kind: &str,
        name: &str,
        numbers: &[String; 5],
        result: (&str, Option<Colour>),
        idle: (&str, Option<Colour>),
        style: &Style,
    ) -> String {
        let numbers: Vec<String> = numbers
            .iter()
            .zip(self.number_widths)
            .map(|(cell, width)| pad(cell, width, true))
            .collect();
        let painted = |(text, colour): (&str, Option<Colour>), width: usize| {
            let fill = " ".repeat(width.saturating_sub(columns(text)));
            match colour {
                Some(colour) => format!("{}{fill}", style.paint(text, colour)),
                None => format!("{text}{fill}"),
            }
        };
        format!(
            "{}  {}  {}  {}  {}",
            pad(kind, self.kind_width, false),
            pad(name, self.name_width, false),
            numbers.join(" "),
            painted(result, self.result_width),
            painted(idle, 4),
        )
    }
}

/// One entity's cells and details, as plain text.
struct Row<'a> {
    entity: &'a EntityReport,
    kind: &'static str,
    name: &'a str,
    numbers: [String; 5],
    result: &'static str,
}

impl<'a> Row<'a> {
    fn of(entity: &'a EntityReport) -> Self {
        Row {
            entity,
            kind: entity.kind.as_str(),
            name: &entity.name,
            numbers: [
                entity.granted.to_string(),
                entity.used.to_string(),
                entity.stale.to_string(),
                entity.unused.to_string(),
                super::coverage(entity),
            ],
            result: super::outcome(entity),
        }
    }

    fn result_cell(&self) -> (&'static str, Option<Colour>) {
        let colour = match (self.entity.verdict, self.entity.status) {
            (Some(Verdict::Compliant), _) => Colour::Green,
            (Some(Verdict::NonCompliant), _) | (None, Status::Error) => Colour::Red,
            (None, _) => Colour::Yellow,
        };
        (self.result, Some(colour))
    }

    fn idle_cell(&self) -> (&'static str, Option<Colour>) {
        if self.entity.idle { ("idle", Some(Colour::Yellow)) } else { ("", None) }
    }

    /// `used:` (what a boundary keeps) and `why:` for an entity with data; the error or the
    /// skip reason otherwise.
    fn details(&self) -> Vec<(&'static str, String)> {
        let entity = self.entity;
        match entity.status {
            Status::Error => {
                vec![("error:", entity.error.clone().unwrap_or_else(|| "unknown".into()))]
            }
            Status::Skipped => vec![(
                "skipped:",
                entity.skip_reason.clone().unwrap_or_else(|| "no reason given".into()),
            )],
            Status::Ok => {
                let used = super::used_labels(entity);
                let mut details = vec![(
                    "used:",
                    if used.is_empty() { "none".into() } else { list(&used, LISTED) },
                )];
                if !entity.reasons.is_empty() {
                    details.push(("why: ", entity.reasons.join("; ")));
                }
                details
            }
        }
    }
}
