//! The page's structure, read back with an HTML parser (`scraper`, the html5ever parser
//! browsers' rules are written in), never by looking for substrings.

use std::collections::BTreeSet;

use scraper::{ElementRef, Html, Selector};
use time::macros::datetime;

use super::*;
use crate::analysis::analyze;
use crate::compliance::Rules;
use crate::model::PolicyRef;
use crate::plan::{LiveState, build_plan};
use crate::report::{ServiceState, Verdict};
use crate::rollup::AccountEntry;
use crate::settings::EnforceSettings;
use crate::snapshot::Snapshot;

const DEMO: &str = include_str!("../../../../examples/demo-snapshot.json");

fn demo() -> (Snapshot, AuditReport) {
    let snapshot = Snapshot::from_json(DEMO).expect("the demo snapshot parses");
    let report = analyze(&snapshot, &Rules::new(180), datetime!(2026-11-23 12:00 UTC));
    (snapshot, report)
}

fn select<'a>(page: &'a Html, selector: &str) -> Vec<ElementRef<'a>> {
    page.select(&Selector::parse(selector).expect("a valid selector")).collect()
}

fn text(element: &ElementRef<'_>) -> String {
    element.text().collect()
}

/// The `data-arn` of every row of the entity table, in order.
fn row_arns(page: &Html) -> Vec<String> {
    select(page, "#entity-table > tbody > tr")
        .iter()
        .map(|row| row.value().attr("data-arn").expect("every row has data-arn").to_string())
        .collect()
}

#[test]
fn every_entity_has_one_row_with_its_arn_and_the_overview_is_complete() {
    let (_, report) = demo();
    let page = Html::parse_document(&audit_page(&report, ReportKind::Audit));
    assert!(page.errors.is_empty(), "the page parses without errors: {:?}", page.errors);
    // Most serious first, as every format people read orders them.
    let expected: Vec<String> =
        report.by_severity().iter().map(|entity| entity.arn.clone()).collect();
    assert_eq!(row_arns(&page), expected);
    assert_eq!(text(&select(&page, "title")[0]), "iamsweep audit: account 123456789012");
    let header = text(&select(&page, "#overview header")[0]);
    for fact in ["account 123456789012", "180 days", "2026-11-23 12:00 UTC", "entities8"] {
        assert!(header.contains(fact), "the header says {fact}: {header}");
    }
    // Counts per verdict and status, as the report's summary says.
    let cards: Vec<(String, String)> = select(&page, "#counts .card")
        .iter()
        .map(|card| (text(&select_in(card, "b")[0]), text(card)))
        .collect();
    let summary = &report.summary;
    assert_eq!(
        cards[0],
        (
            summary.verdict.non_compliant.to_string(),
            format!("{}non-compliant", summary.verdict.non_compliant)
        )
    );
    assert_eq!(cards[1].0, summary.verdict.compliant.to_string());
    assert_eq!(cards[2].0, summary.status.ok.to_string());
    // The coverage chart has one bar per bucket, and the bars count every entity with coverage.
    let bars = select(&page, "#coverage svg g title");
    assert_eq!(bars.len(), 11);
    let counted: usize = bars
        .iter()
        .map(|title| text(title).split(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    let with_coverage = report.entities.iter().filter(|e| e.coverage_percent.is_some()).count();
    assert_eq!(counted, with_coverage);
    assert!(!select(&page, "#unused-services svg rect").is_empty());
    // Sorting headers are buttons; the filter controls are there.
    assert_eq!(select(&page, "#entity-table thead th button").len(), 9);
    for id in ["#filter-text", "#filter-kind", "#filter-verdict", "#shown"] {
        assert_eq!(select(&page, id).len(), 1, "{id}");
    }
}

fn select_in<'a>(element: &ElementRef<'a>, selector: &str) -> Vec<ElementRef<'a>> {
    element.select(&Selector::parse(selector).unwrap()).collect()
}

#[test]
fn the_page_refers_to_nothing_outside_it() {
    let (_, report) = demo();
    let html = audit_page(&report, ReportKind::Audit);
    let page = Html::parse_document(&html);
    // No element that loads anything.
    for tag in ["link", "img", "iframe", "object", "embed", "base", "source", "video", "audio"] {
        assert!(select(&page, tag).is_empty(), "no <{tag}>");
    }
    // One script, inline.
    let scripts = select(&page, "script");
    assert_eq!(scripts.len(), 1);
    assert!(scripts[0].value().attr("src").is_none());
    // No attribute anywhere holds a URL, and no text either (not even in comments, CSS or
    // the script): the demo's names hold none, so any is the page's own.
    for element in select(&page, "*") {
        for (name, value) in element.value().attrs() {
            assert!(!value.contains("://") && !value.starts_with("//"), "{name}={value}");
            assert!(!matches!(name, "href" | "src" | "action" | "srcset"), "{name}={value}");
        }
    }
    for needle in ["http:", "https:", "//", "url(", "@import", "xmlns"] {
        assert!(!html.contains(needle), "the page holds `{needle}`");
    }
}

#[test]
fn hostile_names_tags_and_policies_are_text_never_markup() {
    let (_, mut report) = demo();
    let hostile = "<script>alert(\"x\")</script>&amp;'q'\"><img src=x onerror=alert(1)>";
    let entity = &mut report.entities[1];
    entity.name = hostile.to_string();
    entity.arn = format!("arn:aws:iam::123456789012:user/{hostile}");
    entity.path = format!("/{hostile}/");
    entity.reasons.push(hostile.to_string());
    entity.escalation_risks.clear();
    let unused = entity.services.iter_mut().find(|s| s.state != ServiceState::Used).unwrap();
    unused.granted_by = Some(vec![PolicyRef {
        name: hostile.to_string(),
        policy_type: "INLINE".to_string(),
        arn: None,
        entity_type: Some("USER".to_string()),
        entity_name: Some(hostile.to_string()),
    }]);
    let page = Html::parse_document(&audit_page(&report, ReportKind::Audit));
    assert_eq!(select(&page, "script").len(), 1, "only the page's own script");
    assert!(select(&page, "img").is_empty(), "no element from the name");
    assert!(select(&page, "[onerror]").is_empty());
    // Rows are most serious first: find the hostile entity's row by its (escaped) ARN.
    let arn = report.entities[1].arn.clone();
    let rows = select(&page, "#entity-table > tbody > tr");
    let row = *rows
        .iter()
        .find(|row| row.value().attr("data-arn") == Some(arn.as_str()))
        .expect("the hostile entity's row carries its ARN verbatim in data-arn");
    assert_eq!(text(&select_in(&row, "summary")[0]), hostile);
    let details = text(&select_in(&row, ".more")[0]);
    assert!(details.contains(&format!("path/{hostile}/")), "{details}");
    assert_eq!(text(&select_in(&row, ".more li b")[0]), hostile);
    // The findings list names it as text too.
    let findings = text(&select(&page, "#findings")[0]);
    assert!(findings.contains(hostile), "{findings}");
}

#[test]
fn services_are_listed_riskiest_first_and_findings_by_severity() {
    let (_, report) = demo();
    let page = Html::parse_document(&audit_page(&report, ReportKind::Audit));
    let admin = select(&page, "#entity-table > tbody > tr")[0];
    let unused = text(&select_in(&admin, "dt.s-unused + dd")[0]);
    let listed: Vec<&str> = unused.split(", ").collect();
    let mut sorted = listed.clone();
    crate::risk::sort_services(&mut sorted);
    assert_eq!(listed, sorted);
    assert_ne!(listed[0], "a2c", "not alphabetical: {:?}", &listed[..5]);
    let severities: Vec<crate::risk::Severity> = select(&page, "#findings li .sev")
        .iter()
        .map(|badge| crate::risk::Severity::parse(&text(badge)).unwrap())
        .collect();
    assert_eq!(
        severities.len(),
        report.entities.iter().filter(|e| e.verdict == Some(Verdict::NonCompliant)).count()
    );
    assert!(severities.windows(2).all(|pair| pair[0] >= pair[1]), "{severities:?}");
}

#[test]
fn several_accounts_stream_into_one_page_with_an_account_column() {
    let (_, report) = demo();
    let mut other = report.clone();
    other.account_id = "210987654321".to_string();
    for entity in &mut other.entities {
        entity.arn = entity.arn.replace("123456789012", "210987654321");
    }
    let entries = [
        AccountEntry::audited(report.clone()),
        AccountEntry::failed("333344445555", "cannot assume the role: <AccessDenied>"),
        AccountEntry::audited(other.clone()),
    ];
    let (mut writer, mut html) = HtmlWriter::start(ReportKind::Audit, "3 accounts", true);
    for entry in &entries {
        match &entry.report {
            Some(audit) => html.push_str(&writer.report(audit)),
            None => writer.failed_account(&entry.account_id, entry.error.as_deref().unwrap()),
        }
    }
    html.push_str(&writer.finish());
    let page = Html::parse_document(&html);
    let arns: BTreeSet<String> = row_arns(&page).into_iter().collect();
    let expected: BTreeSet<String> =
        report.entities.iter().chain(&other.entities).map(|e| e.arn.clone()).collect();
    assert_eq!(arns, expected);
    assert_eq!(row_arns(&page).len(), 16);
    let accounts: BTreeSet<String> =
        select(&page, "#entity-table > tbody > tr > td:nth-child(3)").iter().map(text).collect();
    assert_eq!(accounts, BTreeSet::from(["123456789012".into(), "210987654321".into()]));
    let failed = text(&select(&page, "#failed-accounts")[0]);
    assert!(failed.contains("333344445555: cannot assume the role: <AccessDenied>"), "{failed}");
    assert!(text(&select(&page, "h1")[0]).ends_with("3 accounts"));
}

#[test]
fn a_plan_page_shows_each_entity_outcome_and_changes() {
    let (snapshot, report) = demo();
    let settings = EnforceSettings::defaults(180);
    let plan =
        build_plan(&snapshot, &report, &LiveState::default(), &settings, report.generated_at);
    let page = Html::parse_document(&plan_page(&report, &plan));
    assert_eq!(row_arns(&page).len(), report.entities.len());
    assert_eq!(select(&page, "#entity-table thead th").len(), 11);
    for entity in &plan.entities {
        let selector = format!("#entity-table tr[data-arn=\"{}\"]", entity.arn);
        let row = select(&page, &selector);
        assert_eq!(row.len(), 1, "{}", entity.arn);
        let cells: Vec<String> = select_in(&row[0], ":scope > td").iter().map(text).collect();
        let outcome = match entity.outcome {
            crate::plan::Outcome::Change => "change",
            crate::plan::Outcome::Unchanged => "unchanged",
            crate::plan::Outcome::Skipped => "skipped",
        };
        assert_eq!(cells[9], outcome, "{}", entity.arn);
        assert_eq!(cells[10], entity::changes(entity));
    }
}

/// The namespaces a `<dd>` lists, without their dates or states.
fn listed(dd: &ElementRef<'_>) -> Vec<String> {
    let text = text(dd);
    if text == "none" {
        return Vec::new();
    }
    text.split(", ").map(|item| item.split(' ').next().unwrap().to_string()).collect()
}

#[test]
fn a_plan_page_shows_what_each_boundary_keeps_and_removes_and_marks_a_lockout() {
    let (snapshot, report) = demo();
    let settings = EnforceSettings::defaults(180);
    let plan =
        build_plan(&snapshot, &report, &LiveState::default(), &settings, report.generated_at);
    let page = Html::parse_document(&plan_page(&report, &plan));
    let mut bounded = 0;
    let mut locked_out = 0;
    for entity in &plan.entities {
        let selector = format!("#entity-table tr[data-arn=\"{}\"]", entity.arn);
        let row = select(&page, &selector)[0];
        let Some(boundary) = &entity.boundary else {
            assert!(select_in(&row, "dt.s-used + dd").len() <= 1, "usage only, no effect");
            continue;
        };
        bounded += 1;
        let terms: Vec<String> = select_in(&row, "dt").iter().map(text).collect();
        let keeps = terms.iter().position(|term| term.starts_with("boundary keeps")).unwrap();
        let removes = terms.iter().position(|term| term.starts_with("boundary removes")).unwrap();
        let details: Vec<ElementRef<'_>> = select_in(&row, "dd");
        let kept: Vec<String> = boundary.effect.kept_namespaces().map(String::from).collect();
        let removed: Vec<String> = boundary.effect.removed_namespaces().map(String::from).collect();
        assert_eq!(listed(&details[keeps]), kept, "{}", entity.arn);
        assert_eq!(listed(&details[removes]), removed, "{}", entity.arn);
        let marked = !select_in(&row, "dt.base-only").is_empty();
        assert_eq!(marked, boundary.effect.base_actions_only, "{}", entity.arn);
        if marked {
            locked_out += 1;
            assert!(text(&row).contains("base actions only"));
        }
    }
    assert!(bounded > 0 && locked_out > 0, "the demo has both: {bounded} {locked_out}");
    let card = select(&page, "#counts .card.base-only b");
    assert_eq!(text(&card[0]), locked_out.to_string());
}

#[test]
fn a_plan_page_names_the_services_an_action_level_boundary_denies_and_keeps_whole() {
    use crate::action_level::{ActionLevel, FallbackReason, ServiceLevel};
    let (snapshot, report) = demo();
    let settings = EnforceSettings::defaults(180);
    let mut plan =
        build_plan(&snapshot, &report, &LiveState::default(), &settings, report.generated_at);
    let entity = plan.entities.iter_mut().find(|entity| entity.boundary.is_some()).unwrap();
    let arn = entity.arn.clone();
    entity.boundary.as_mut().unwrap().action_level = Some(ActionLevel {
        services: vec!["ec2".into(), "s3".into()],
        service_level: vec![ServiceLevel {
            namespace: "sqs".into(),
            reason: FallbackReason::UnknownAction,
            detail: "Access Advisor names <b>sqs:Odd</b>".into(),
        }],
    });
    let page = Html::parse_document(&plan_page(&report, &plan));
    let row = select(&page, &format!("#entity-table tr[data-arn=\"{arn}\"]"))[0];
    let terms: Vec<String> = select_in(&row, "dt").iter().map(text).collect();
    let details: Vec<String> = select_in(&row, "dd").iter().map(text).collect();
    let denied = terms.iter().position(|term| term == "unused actions denied").unwrap();
    assert_eq!(details[denied], "ec2, s3");
    let whole = terms.iter().position(|term| term == "service level").unwrap();
    assert_eq!(
        details[whole],
        "sqs allowed whole, its unused actions not denied: Access Advisor names <b>sqs:Odd</b>"
    );
    let dd = select_in(&row, "dd")[whole];
    assert!(select_in(&dd, "b").is_empty(), "the detail is text, never markup");
}

#[test]
fn a_policy_granting_every_flagged_service_is_said_to_grant_them_all() {
    let (_, mut report) = demo();
    let entity = report
        .entities
        .iter_mut()
        .find(|entity| entity.services.iter().filter(|s| s.state != ServiceState::Used).count() > 2)
        .expect("an entity with several flagged services");
    let arn = entity.arn.clone();
    let policy = |name: &str| PolicyRef {
        name: name.to_string(),
        policy_type: "MANAGED".to_string(),
        arn: Some(format!("arn:aws:iam::aws:policy/{name}")),
        entity_type: None,
        entity_name: None,
    };
    let mut first = None;
    for service in entity.services.iter_mut().filter(|s| s.state != ServiceState::Used) {
        let mut granted = vec![policy("Everything")];
        if first.is_none() {
            first = Some(service.namespace.to_string());
            granted.push(policy("OneOnly"));
        }
        service.granted_by = Some(granted);
    }
    let flagged = entity.services.iter().filter(|s| s.state != ServiceState::Used).count();
    let stale = entity.services.iter().any(|s| s.state == ServiceState::Stale);
    let page = Html::parse_document(&audit_page(&report, ReportKind::Audit));
    let row = select(&page, &format!("#entity-table tr[data-arn=\"{arn}\"]"))[0];
    let items: Vec<String> = select_in(&row, "dt + dd li")
        .iter()
        .map(text)
        .filter(|item| item.contains("arn:aws:iam::aws:policy/"))
        .collect();
    let states = if stale { "unused and stale" } else { "unused" };
    assert_eq!(
        items,
        [
            format!(
                "Everything managed policy arn:aws:iam::aws:policy/Everything: all {flagged} {states} services"
            ),
            format!("OneOnly managed policy arn:aws:iam::aws:policy/OneOnly: {}", first.unwrap()),
        ]
    );
}
