//! `plan --format html` end to end: the real binary plans the `enforce.json` scenario served by
//! iamsim, and the page is read back with an HTML parser (`scraper`): every planned entity's
//! row by `data-arn`, what each boundary keeps (the scenario's truth) and removes, the base
//! actions only mark, nothing outside the page, and no write to IAM.

use std::collections::BTreeSet;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

use crate::enforce::{ACCOUNT, BOUNDED, WRITES, Workspace, assert_code, stdout};
use crate::sim::{Sim, scenario};

fn select<'a>(element: ElementRef<'a>, selector: &str) -> Vec<ElementRef<'a>> {
    element.select(&Selector::parse(selector).expect("a valid selector")).collect()
}

fn text(element: ElementRef<'_>) -> String {
    element.text().collect()
}

/// The namespaces listed in the `<dd>` after the row's `<dt>` starting with `title`
/// (`s3 (2026-11-20), kms (unused)` gives `s3`, `kms`); `None` when there is no such `<dt>`.
fn listed(row: ElementRef<'_>, title: &str) -> Option<BTreeSet<String>> {
    let dt = select(row, "dt").into_iter().find(|dt| {
        let text = text(*dt);
        text == title || text.starts_with(&format!("{title} ("))
    })?;
    let dd = dt.next_siblings().find_map(ElementRef::wrap).expect("a <dd> after each <dt>");
    let listed = text(dd);
    if listed == "none" {
        return Some(BTreeSet::new());
    }
    Some(listed.split(", ").map(|item| item.split(' ').next().unwrap().to_string()).collect())
}

#[test]
fn plan_html_shows_what_each_boundary_keeps_and_removes_and_writes_nothing() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    let plan_file = work.path("plan.json");
    let output = work.run(&sim, "plan", &["--format", "html", "--output", &plan_file]);
    assert_code(&output, 0);
    let html = stdout(&output);
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    // A plan writes nothing, whatever its format.
    let writes: Vec<Value> = sim
        .calls()
        .into_iter()
        .filter(|call| WRITES.contains(&call["action"].as_str().unwrap_or_default()))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");

    let page = Html::parse_document(&html);
    assert!(page.errors.is_empty(), "the page parses without errors: {:?}", page.errors);
    let root = page.root_element();
    assert_eq!(
        text(select(root, "head > title")[0]),
        format!("iamsweep plan: account {ACCOUNT}"),
        "titled by its command"
    );
    // Nothing on the page names another resource.
    for tag in ["link", "img", "iframe", "object", "embed", "base", "source", "video", "audio"] {
        assert!(select(root, tag).is_empty(), "no <{tag}>");
    }
    assert!(select(root, "script[src]").is_empty());
    for element in select(root, "*") {
        for (name, value) in element.value().attrs() {
            assert!(!matches!(name, "href" | "src" | "action" | "srcset"), "{name}={value}");
            assert!(!value.contains("://"), "{name}={value}");
        }
    }
    for needle in ["http:", "https:", "url(", "@import"] {
        assert!(!html.contains(needle), "the page holds `{needle}`");
    }

    // Every planned entity has its row, found by its ARN.
    let rows = select(root, "#entity-table > tbody > tr");
    let row = |arn: &str| {
        *rows
            .iter()
            .find(|row| row.value().attr("data-arn") == Some(arn))
            .unwrap_or_else(|| panic!("a row for {arn}"))
    };
    let planned = plan["entities"].as_array().unwrap();
    assert!(planned.len() >= BOUNDED.len());
    for entity in planned {
        row(entity["arn"].as_str().unwrap());
    }
    // What each boundary keeps is what the entity used in the scenario; what it removes is
    // the rest of what its policies grant, each stale or unused; one that used nothing is
    // marked as left with the base actions only.
    for (kind, name, allowed) in BOUNDED {
        let arn = format!("arn:aws:iam::{ACCOUNT}:{kind}/{name}");
        let row = row(&arn);
        let entity = planned.iter().find(|entity| entity["arn"] == arn.as_str()).unwrap();
        let effect = &entity["boundary"]["effect"];
        let keeps = listed(row, "boundary keeps").unwrap_or_else(|| panic!("{arn}: keeps"));
        let base_only = allowed == &["sts:GetCallerIdentity"];
        let expected: BTreeSet<String> = if base_only {
            BTreeSet::new()
        } else {
            allowed.iter().map(|action| action.trim_end_matches(":*").to_string()).collect()
        };
        assert_eq!(keeps, expected, "{arn}");
        let removes = listed(row, "boundary removes").unwrap_or_else(|| panic!("{arn}: removes"));
        let planned_removes: BTreeSet<String> = effect["removes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|service| service["namespace"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(removes, planned_removes, "{arn}");
        assert!(keeps.is_disjoint(&removes), "{arn}");
        let marked = !select(row, "dt.base-only").is_empty();
        assert_eq!(marked, base_only, "{arn}: the base actions only mark");
        let changes = text(*row.children().filter_map(ElementRef::wrap).last().as_ref().unwrap());
        assert_eq!(changes.contains("base actions only"), base_only, "{arn}: {changes}");
        if base_only {
            assert_eq!(
                listed(row, "base actions"),
                Some(BTreeSet::from(["sts:GetCallerIdentity".into()]))
            );
        }
    }
    // alice's boundary removes what she was granted and did not use, with its state.
    let alice = row(&format!("arn:aws:iam::{ACCOUNT}:user/alice"));
    let dt = select(alice, "dt").into_iter().find(|dt| text(*dt).starts_with("boundary removes"));
    let dd = text(dt.unwrap().next_siblings().find_map(ElementRef::wrap).unwrap());
    assert!(dd.contains("(unused)") || dd.contains("(stale: "), "{dd}");
    // The overview counts the entities left with the base actions only.
    let card = select(root, "#counts .card")
        .into_iter()
        .find(|card| text(*card).ends_with("plan: base actions only"))
        .expect("a base actions only card");
    let base_only = BOUNDED.iter().filter(|(_, _, a)| a == &["sts:GetCallerIdentity"]).count();
    assert_eq!(text(select(card, "b")[0]), base_only.to_string());
}
