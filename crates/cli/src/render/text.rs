//! Text layout for the terminal formats: word wrapping, aligned cells, truncated lists, colour.
//!
//! A table cell or detail line is wrapped between words, never inside one: a word longer than
//! the room left goes on a line of its own, whole (a line may then overflow the width, which a
//! terminal wraps, rather than `NON_CO|MPLIAN|T`). Everything iamsweep writes in a table is
//! ASCII but the ellipsis, so a character is a column.

use std::io::IsTerminal;

use crate::env_vars;

/// How text output is laid out: the width to wrap at and whether to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Columns to wrap at; `None`: never wrap (a pipe or a file, where a line is a record).
    pub width: Option<usize>,
    /// Colour verdicts and markers with ANSI codes (a terminal only).
    pub colour: bool,
}

/// Narrower than this, wrapping would leave a word a line: treat as this.
const MIN_WIDTH: usize = 40;

impl Style {
    /// No wrapping, no colour: files, and every test that does not choose a width.
    pub fn plain() -> Self {
        Style { width: None, colour: false }
    }

    /// `width` columns, no colour.
    #[cfg(test)]
    pub fn width(width: usize) -> Self {
        Style { width: Some(width.max(MIN_WIDTH)), colour: false }
    }

    /// For stdout: on a terminal, its width and colour unless `NO_COLOR` is set (to anything
    /// but the empty string, <https://no-color.org>) or `TERM=dumb`; elsewhere no colour ever,
    /// and wrapping only when `COLUMNS` asks for it.
    pub fn stdout() -> Self {
        let stdout = std::io::stdout();
        let terminal = stdout.is_terminal();
        let columns = std::env::var(env_vars::COLUMNS)
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .filter(|columns| *columns > 0);
        let width = if terminal {
            terminal_size::terminal_size_of(&stdout)
                .map(|(width, _)| usize::from(width.0))
                .or(columns)
        } else {
            columns
        };
        let colour = crate::logging::colour(
            terminal,
            std::env::var_os(env_vars::NO_COLOR).as_deref(),
            std::env::var_os("TERM").as_deref(),
        );
        Style { width: width.map(|width| width.max(MIN_WIDTH)), colour }
    }

    /// `text` in `colour` when colouring, as is otherwise.
    pub fn paint(&self, text: &str, colour: Colour) -> String {
        if self.colour && !text.trim().is_empty() {
            format!("\x1b[{}m{text}\x1b[0m", colour.code())
        } else {
            text.to_string()
        }
    }
}

/// The few colours the tables use, each with one meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// Compliant, unchanged.
    Green,
    /// Non-compliant, failed, an effective lockout.
    Red,
    /// Idle, skipped, a change to review.
    Yellow,
    /// Secondary text.
    Dim,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Green => "32",
            Colour::Red => "1;31",
            Colour::Yellow => "33",
            Colour::Dim => "2",
        }
    }
}

/// The number of columns `text` takes.
pub fn columns(text: &str) -> usize {
    text.chars().count()
}

/// `text` padded with spaces to `width` columns, on the left for numbers.
pub fn pad(text: &str, width: usize, right_align: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(columns(text)));
    if right_align { format!("{fill}{text}") } else { format!("{text}{fill}") }
}

/// `text` broken into lines of at most `width` columns between words; a word longer than
/// `width` is a line of its own, whole. Never empty: empty text is one empty line.
pub fn wrap(text: &str, width: Option<usize>) -> Vec<String> {
    let Some(width) = width else {
        return vec![text.split_whitespace().collect::<Vec<_>>().join(" ")];
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if line.is_empty() {
            line.push_str(word);
        } else if columns(&line) + 1 + columns(word) <= width {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(std::mem::take(&mut line));
            line.push_str(word);
        }
    }
    lines.push(line);
    lines
}

/// `items` joined by `, ` and broken into lines of at most `width` columns between items: an
/// item (`tag 8`, `attach user-alice`) is never split.
pub fn wrap_items<T: AsRef<str>>(items: &[T], width: Option<usize>) -> Vec<String> {
    let Some(width) = width else {
        return vec![items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")];
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    for (index, item) in items.iter().enumerate() {
        let item = item.as_ref();
        let unit = if index + 1 < items.len() { format!("{item},") } else { item.to_string() };
        if line.is_empty() {
            line = unit;
        } else if columns(&line) + 1 + columns(&unit) <= width {
            line.push(' ');
            line.push_str(&unit);
        } else {
            lines.push(std::mem::replace(&mut line, unit));
        }
    }
    lines.push(line);
    lines
}

/// A labelled detail line under a row, such as `used: s3, sts`, wrapped at the style's width
/// with the continuation lines aligned after the label.
pub fn detail(indent: usize, label: &str, text: &str, style: &Style) -> Vec<String> {
    let hang = indent + columns(label) + 1;
    let room = style.width.map(|width| width.saturating_sub(hang).max(MIN_WIDTH / 2));
    wrap(text, room)
        .into_iter()
        .enumerate()
        .map(|(index, line)| {
            if index == 0 {
                format!("{}{label} {line}", " ".repeat(indent))
            } else {
                format!("{}{line}", " ".repeat(hang))
            }
        })
        .collect()
}

/// At most `max` items joined by `, `, then `… and N more` for the rest: a table shows the
/// first (most serious) items of a long list; JSON, CSV and HTML keep them all.
pub fn list<T: AsRef<str>>(items: &[T], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut text = shown.join(", ");
    if items.len() > max {
        text.push_str(&format!(" … and {} more", items.len() - max));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_never_breaks_a_word() {
        let text = "3 services never accessed in the tracking period: cloudwatch, dynamodb";
        for width in 1..=80 {
            for line in wrap(text, Some(width)) {
                for word in line.split(' ') {
                    assert!(text.split(' ').any(|whole| whole == word), "{width}: `{word}`");
                }
                assert!(columns(&line) <= width || !line.contains(' '), "{width}: `{line}`");
            }
        }
        assert_eq!(wrap("NON_COMPLIANT", Some(4)), ["NON_COMPLIANT"]);
        assert_eq!(wrap("", Some(10)), [""]);
        assert_eq!(wrap("a  b\nc", None), ["a b c"]);
    }

    #[test]
    fn items_are_wrapped_whole() {
        let items = ["create policy", "attach user-stale-bob", "tag 8"];
        assert_eq!(
            wrap_items(&items, Some(30)),
            ["create policy,", "attach user-stale-bob, tag 8"]
        );
        assert_eq!(wrap_items(&items, None), ["create policy, attach user-stale-bob, tag 8"]);
        assert_eq!(wrap_items::<&str>(&[], Some(10)), [""]);
    }

    #[test]
    fn a_long_list_is_cut_with_a_count_of_the_rest() {
        assert_eq!(list(&["iam", "s3"], 3), "iam, s3");
        assert_eq!(list(&["iam", "s3", "ec2", "sqs"], 2), "iam, s3 … and 2 more");
    }

    #[test]
    fn detail_lines_hang_after_their_label() {
        let style = Style::width(40);
        let lines = detail(2, "why:", &"word ".repeat(20), &style);
        assert!(lines[0].starts_with("  why: word"));
        assert!(lines[1].starts_with("       word"));
        assert!(lines.iter().all(|line| columns(line) <= 40));
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(Style::plain().paint("COMPLIANT", Colour::Green), "COMPLIANT");
        let style = Style { width: None, colour: true };
        assert_eq!(style.paint("x", Colour::Red), "\x1b[1;31mx\x1b[0m");
        assert_eq!(style.paint("  ", Colour::Red), "  ");
    }
}
