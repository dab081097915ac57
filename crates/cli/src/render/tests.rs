//! The terminal layouts of the demo account, at every width: wrapping only ever moves whole
//! words between lines, never cuts one, and there is colour only when the style asks for it.
//! (What the layouts look like at 80 and 200 columns is snapshotted end to end, in
//! `tests/it/layout.rs`.)

use iamsweep_core::analysis::analyze;
use iamsweep_core::compliance::Rules;
use iamsweep_core::plan::{LiveState, Plan, build_plan};
use iamsweep_core::report::AuditReport;
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::snapshot::Snapshot;

use super::text::{Style, columns};

const DEMO: &str = include_str!("../../../../examples/demo-snapshot.json");

fn demo() -> (Snapshot, AuditReport) {
    let snapshot = Snapshot::from_json(DEMO).unwrap();
    let report = analyze(&snapshot, &Rules::new(180), snapshot.collected_at);
    (snapshot, report)
}

fn demo_plan() -> Plan {
    let (snapshot, report) = demo();
    let mut settings = EnforceSettings::defaults(180);
    settings.boundary.base_actions = vec!["sts:GetCallerIdentity".into()];
    build_plan(&snapshot, &report, &LiveState::default(), &settings, snapshot.collected_at)
}

/// The words of a layout, rules left out: what a reader reads, whatever the width.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().filter(|word| !word.chars().all(|c| c == '─')).collect()
}

#[track_caller]
fn assert_wraps_whole_words(render: impl Fn(&Style) -> String) {
    let unwrapped = render(&Style::plain());
    for width in 40..=220 {
        let text = render(&Style::width(width));
        assert_eq!(words(&text), words(&unwrapped), "width {width}: a word was cut or lost");
        // Narrower than a row of counts, rows overflow (the terminal wraps them) but words
        // are still whole; from 72 columns, every line fits but one holding a single word
        // longer than the room (an ARN), which is not cut either.
        for line in text.lines().filter(|_| width >= 72) {
            let one_word = !line.trim().contains(' ');
            assert!(columns(line) <= width || one_word, "width {width}: `{line}`");
        }
        assert!(!text.contains('\x1b'), "no colour unless asked");
    }
}

#[test]
fn the_audit_table_wraps_whole_words_at_every_width() {
    let (_, report) = demo();
    assert_wraps_whole_words(|style| super::table::render(&report, style));
}

#[test]
fn the_plan_table_wraps_whole_words_at_every_width() {
    let plan = demo_plan();
    assert_wraps_whole_words(|style| super::plan::table(&plan, style));
}

#[test]
fn eight_entities_take_a_screen_not_151_lines_at_80_columns() {
    // Regression: the grid took 151 lines for the demo's 8 entities at 80 columns.
    let (_, report) = demo();
    let lines = super::table::render(&report, &Style::width(80)).lines().count();
    assert!(lines <= 45, "{lines} lines");
}

#[test]
fn verdicts_are_coloured_when_the_style_says_so() {
    let (_, report) = demo();
    let style = Style { width: Some(120), colour: true };
    let text = super::table::render(&report, &style);
    assert!(text.contains("\x1b[32mCOMPLIANT\x1b[0m"), "{text}");
    assert!(text.contains("\x1b[1;31mNON_COMPLIANT\x1b[0m"));
    assert!(text.contains("\x1b[33midle\x1b[0m"));
    let plan = super::plan::table(&demo_plan(), &style);
    assert!(plan.contains("\x1b[1;31m"), "the lockout is red: {plan}");
}

#[test]
fn a_plan_shows_what_each_boundary_keeps_and_removes_and_marks_a_lockout() {
    let plan = demo_plan();
    for text in [super::plan::table(&plan, &Style::width(100)), super::plan::markdown(&plan)] {
        assert!(text.contains("BASE ACTIONS ONLY"), "{text}");
        assert!(text.contains("sts:GetCallerIdentity"), "{text}");
        assert!(text.contains("user stale-bob"), "named in the warning: {text}");
        assert!(text.contains("ec2 (stale)"), "{text}");
        // Most serious first: iam before s3 before ec2.
        let admin = text.lines().skip_while(|line| !line.contains("admin")).take(4);
        let admin: String = admin.collect();
        let (iam, s3) = (admin.find("iam").unwrap(), admin.find("s3").unwrap());
        assert!(iam < s3, "{admin}");
    }
}
