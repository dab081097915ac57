//! Charts drawn as inline SVG: no script, no image, nothing fetched.
//!
//! Every bar carries a `<title>` (the browser's tooltip) with its exact figure, and every chart
//! an `aria-label` summing it up, so the numbers are readable without seeing the picture.

use std::fmt::Write;

use super::escape::escape;

/// Labels of the coverage buckets: tens of percent, and 100 on its own (fully used).
pub const COVERAGE_BUCKETS: [&str; 11] =
    ["0–9", "10–19", "20–29", "30–39", "40–49", "50–59", "60–69", "70–79", "80–89", "90–99", "100"];

/// From red (nothing used) to green (everything used).
const COVERAGE_COLOURS: [&str; 11] = [
    "#a40e26", "#cf222e", "#d1462f", "#d86b2b", "#bc4c00", "#9a6700", "#7d8a00", "#4d8a17",
    "#2f8a2a", "#238636", "#1a7f37",
];

/// The bucket of a coverage percentage.
pub fn coverage_bucket(percent: u32) -> usize {
    (percent.min(100) / 10) as usize
}

/// Vertical bars: how many entities fall in each coverage bucket.
pub fn coverage(buckets: &[usize; 11], without: usize) -> String {
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    let (width, height, top, bottom) = (470, 190, 18, 36);
    let plot = (height - top - bottom) as f64;
    let slot = 40;
    let total: usize = buckets.iter().sum();
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-label=\"Coverage of {total} entities with services granted, in buckets of \
         ten percent\">"
    );
    for (index, (&count, label)) in buckets.iter().zip(COVERAGE_BUCKETS).enumerate() {
        let bar = (count as f64 / max as f64 * plot).round();
        let bar = if count > 0 { bar.max(1.0) } else { 0.0 };
        let x = 10 + index * slot;
        let y = f64::from(height - bottom) - bar;
        let _ = write!(
            out,
            "<g><title>{count} entities with {label}% coverage</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{bar}\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{count}</text>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{label}</text></g>",
            slot - 8,
            COVERAGE_COLOURS[index],
            x + (slot - 8) / 2,
            y - 4.0,
            x + (slot - 8) / 2,
            height - bottom + 14,
        );
    }
    let _ = write!(
        out,
        "<text x=\"10\" y=\"{}\">coverage, % of granted services used in the window{}</text></svg>",
        height - 4,
        if without > 0 {
            format!(" ({without} without any service granted or data)")
        } else {
            String::new()
        }
    );
    out
}

/// One bar of the services chart: a namespace, the entities leaving it unused, and stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceBar {
    /// The IAM namespace.
    pub namespace: String,
    /// Entities granted it without using it in the tracking period.
    pub unused: usize,
    /// Entities that used it only before the window.
    pub stale: usize,
}

/// Horizontal stacked bars: per service, the entities leaving it unused (red) and stale (amber).
pub fn services(bars: &[ServiceBar]) -> String {
    let max = bars.iter().map(|bar| bar.unused + bar.stale).max().unwrap_or(0).max(1);
    let (label, plot, row) = (150.0, 250.0, 20);
    let height = 8 + bars.len() * row + 16;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 470 {height}\" width=\"470\" height=\"{height}\" \
         role=\"img\" aria-label=\"The {} services most often granted and not used\">",
        bars.len()
    );
    for (index, bar) in bars.iter().enumerate() {
        let y = 4 + index * row;
        let unused = (bar.unused as f64 / max as f64 * plot).round();
        let stale = (bar.stale as f64 / max as f64 * plot).round();
        let namespace = escape(&bar.namespace);
        let _ = write!(
            out,
            "<g><title>{namespace}: unused by {}, stale for {}</title>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{namespace}</text>\
             <rect x=\"{label}\" y=\"{y}\" width=\"{unused}\" height=\"14\" fill=\"#cf222e\"/>\
             <rect x=\"{}\" y=\"{y}\" width=\"{stale}\" height=\"14\" fill=\"#d4a72c\"/>\
             <text x=\"{}\" y=\"{}\">{}</text></g>",
            bar.unused,
            bar.stale,
            label - 6.0,
            y + 11,
            label + unused,
            label + unused + stale + 4.0,
            y + 11,
            bar.unused + bar.stale,
        );
    }
    let _ = write!(
        out,
        "<g transform=\"translate(0 {})\"><rect x=\"{label}\" y=\"0\" width=\"10\" height=\"10\" \
         fill=\"#cf222e\"/><text x=\"{}\" y=\"9\">unused</text><rect x=\"{}\" y=\"0\" width=\"10\" \
         height=\"10\" fill=\"#d4a72c\"/><text x=\"{}\" y=\"9\">stale</text></g></svg>",
        height - 14,
        label + 14.0,
        label + 70.0,
        label + 84.0
    );
    out
}
