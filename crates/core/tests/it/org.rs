//! SCPs per OU: the synthesis property (for any usage, nothing used or always allowed is
//! denied, the document is deterministic, canonical and within 5,120 characters or refused),
//! proven with the policy evaluator; plan guardrails; the verifier refusing edited plans.

use std::collections::{BTreeMap, BTreeSet};

use iamsweep_core::boundary::canonicalize;
use iamsweep_core::config::OrgConfig;
use iamsweep_core::model::Status;
use iamsweep_core::org::plan::{
    AttachedPolicy, LiveTarget, OrgChecks, OrgPlan, build_org_plan, verify_org_plan,
};
use iamsweep_core::org::scp::{MAX_SCP_CHARS, ScpRefusal, kept_services, synthesize};
use iamsweep_core::org::settings::OrgSettings;
use iamsweep_core::org::snapshot::{
    ORG_SNAPSHOT_SCHEMA, OrgAccount, OrgService, OrgSnapshot, OrgUnit, UnitKind,
};
use iamsweep_core::plan::Outcome;
use iamsweep_core::policy_eval::{Decision, Policy, Request};
use proptest::prelude::*;
use time::Duration;

use crate::support::NOW;

const MANAGEMENT: &str = "123456789012";
const ROOT: &str = "r-ab12";
const PROD: &str = "ou-ab12-prod0001";
const PAYMENTS: &str = "ou-ab12-paym0001";
const DEV: &str = "ou-ab12-devv0001";

fn service(namespace: &str, days_ago: Option<i64>) -> OrgService {
    OrgService {
        namespace: namespace.into(),
        name: namespace.into(),
        last_authenticated: days_ago.map(|days| NOW - Duration::days(days)),
        entity_path: None,
        region: None,
        total_authenticated_entities: None,
    }
}

fn unit(
    id: &str,
    kind: UnitKind,
    name: &str,
    parent: Option<&str>,
    services: Vec<OrgService>,
) -> OrgUnit {
    OrgUnit {
        id: id.into(),
        kind,
        name: name.into(),
        parent_id: parent.map(str::to_string),
        entity_path: format!("o-a1b2c3d4e5/{id}"),
        status: Status::Ok,
        error: None,
        services,
    }
}

fn account(id: &str, parent: &str, joined_days_ago: i64, services: Vec<OrgService>) -> OrgAccount {
    OrgAccount {
        id: id.into(),
        name: Some(format!("acct-{id}")),
        parent_id: parent.into(),
        joined: Some(NOW - Duration::days(joined_days_ago)),
        state: Some("ACTIVE".into()),
        entity_path: format!("o-a1b2c3d4e5/{parent}/{id}"),
        status: Status::Ok,
        error: None,
        services,
    }
}

/// Root > prod > payments, root > dev; the management account under the root.
fn org() -> OrgSnapshot {
    let allowed = |used: &[(&str, Option<i64>)]| -> Vec<OrgService> {
        let mut services: BTreeMap<&str, Option<i64>> =
            ["s3", "ec2", "lambda", "dynamodb", "sts", "iam"].iter().map(|n| (*n, None)).collect();
        services.extend(used.iter().copied());
        services.into_iter().map(|(n, d)| service(n, d)).collect()
    };
    OrgSnapshot {
        schema: ORG_SNAPSHOT_SCHEMA.into(),
        collected_at: NOW,
        organization_id: "o-a1b2c3d4e5".into(),
        management_account_id: MANAGEMENT.into(),
        caller_arn: None,
        stats: Default::default(),
        units: vec![
            unit(ROOT, UnitKind::Root, "Root", None, allowed(&[("s3", Some(2))])),
            unit(
                PROD,
                UnitKind::Ou,
                "prod",
                Some(ROOT),
                allowed(&[("s3", Some(2)), ("lambda", Some(10))]),
            ),
            unit(PAYMENTS, UnitKind::Ou, "payments", Some(PROD), allowed(&[("lambda", Some(10))])),
            unit(DEV, UnitKind::Ou, "dev", Some(ROOT), allowed(&[("ec2", Some(300))])),
        ],
        accounts: vec![
            account(MANAGEMENT, ROOT, 900, allowed(&[])),
            account("210987654321", PROD, 500, allowed(&[("s3", Some(2))])),
            account(
                "333344445555",
                PAYMENTS,
                500,
                allowed(&[("lambda", Some(10)), ("dynamodb", Some(200))]),
            ),
            account("444455556666", DEV, 500, allowed(&[("ec2", Some(300))])),
        ],
    }
}

fn full_access(target: &str) -> LiveTarget {
    LiveTarget {
        target_id: target.into(),
        policies: vec![AttachedPolicy {
            id: "p-FullAWSAccess".into(),
            name: "FullAWSAccess".into(),
            aws_managed: true,
            content: None,
        }],
    }
}

fn live(snapshot: &OrgSnapshot) -> Vec<LiveTarget> {
    snapshot.units.iter().map(|unit| full_access(&unit.id)).collect()
}

fn settings(config: OrgConfig) -> OrgSettings {
    OrgSettings::resolve(&config, None, 180, None).unwrap()
}

fn outcome<'a>(plan: &'a OrgPlan, id: &str) -> &'a iamsweep_core::org::plan::UnitPlan {
    plan.units.iter().find(|unit| unit.target_id == id).unwrap()
}

fn denies(document: &str, namespace: &str, principal: &str) -> bool {
    let policy = Policy::parse(document).unwrap();
    let request =
        Request::new(format!("{namespace}:DoSomething"), "*").with("aws:PrincipalArn", principal);
    policy.evaluate(&request) == Decision::ExplicitDeny
}

#[test]
fn each_ou_keeps_what_any_account_below_used_and_denies_the_rest() {
    let snapshot = org();
    let plan = build_org_plan(&snapshot, &live(&snapshot), &settings(OrgConfig::default()), NOW);
    let prod = outcome(&plan, PROD);
    assert_eq!(prod.outcome, Outcome::Change, "{prod:?}");
    let document = &prod.change.as_ref().unwrap().document;
    let role = "arn:aws:iam::210987654321:role/app";
    // prod's accounts used s3 (prod) and lambda (payments, nested) within the window.
    assert!(!denies(document, "s3", role));
    assert!(!denies(document, "lambda", role));
    assert!(!denies(document, "sts", role), "always_allow");
    // dynamodb was used 200 days ago: stale for a 180-day window, denied.
    assert!(denies(document, "dynamodb", role));
    assert!(denies(document, "ec2", role));
    let denied: BTreeSet<&str> = prod.denied.iter().map(String::as_str).collect();
    assert_eq!(denied, BTreeSet::from(["dynamodb", "ec2"]));
    let lambda = prod.kept.iter().find(|kept| kept.namespace == "lambda").unwrap();
    assert_eq!(lambda.used_by[0].account_id, "333344445555");
    assert_eq!(prod.accounts.len(), 2);
    // The root is left alone by default; dev used only ec2, stale: everything but always_allow.
    assert_eq!(outcome(&plan, ROOT).outcome, Outcome::Skipped);
    let dev = outcome(&plan, DEV);
    assert!(denies(
        &dev.change.as_ref().unwrap().document,
        "ec2",
        "arn:aws:iam::444455556666:role/x"
    ));
}

#[test]
fn guardrails_leave_units_alone_with_the_reason() {
    let mut snapshot = org();
    // A young account makes payments (and prod above it) wait.
    snapshot.accounts[2].joined = Some(NOW - Duration::days(20));
    let plan = build_org_plan(&snapshot, &live(&snapshot), &settings(OrgConfig::default()), NOW);
    for id in [PROD, PAYMENTS] {
        let unit = outcome(&plan, id);
        assert_eq!(unit.outcome, Outcome::Skipped);
        assert!(
            unit.skips[0].contains("333344445555") && unit.skips[0].contains("waits"),
            "{:?}",
            unit.skips
        );
    }
    assert_eq!(outcome(&plan, DEV).outcome, Outcome::Change);

    // Excluding payments by name excludes it and prod above it (an SCP there caps it).
    let snapshot = org();
    let config = OrgConfig { exclude: Some(vec!["payments".into()]), ..OrgConfig::default() };
    let plan = build_org_plan(&snapshot, &live(&snapshot), &settings(config), NOW);
    assert!(outcome(&plan, PAYMENTS).skips[0].contains("excluded"));
    assert!(outcome(&plan, PROD).skips[0].contains("excluded OU `payments`"));
    // Excluding an account leaves every OU above it alone.
    let config = OrgConfig { exclude: Some(vec!["444455556666".into()]), ..OrgConfig::default() };
    let plan = build_org_plan(&snapshot, &live(&snapshot), &settings(config), NOW);
    assert!(outcome(&plan, DEV).skips[0].contains("444455556666"));
    assert_eq!(outcome(&plan, PROD).outcome, Outcome::Change);

    // A failed report of an account below skips its OUs.
    let mut snapshot = org();
    snapshot.accounts[3].status = Status::Error;
    snapshot.accounts[3].error = Some("job FAILED".into());
    let plan = build_org_plan(&snapshot, &live(&snapshot), &settings(OrgConfig::default()), NOW);
    assert!(outcome(&plan, DEV).skips[0].contains("job FAILED"));

    // Five SCPs already attached: a sixth is refused, with the reason.
    let snapshot = org();
    let mut targets = live(&snapshot);
    let prod = targets.iter_mut().find(|target| target.target_id == PROD).unwrap();
    for n in 0..4 {
        prod.policies.push(AttachedPolicy {
            id: format!("p-other{n:04}"),
            name: format!("other-{n}"),
            aws_managed: false,
            content: None,
        });
    }
    let plan = build_org_plan(&snapshot, &targets, &settings(OrgConfig::default()), NOW);
    assert!(outcome(&plan, PROD).skips[0].contains("a sixth is refused"));

    // max_changes caps the units changed, the rest waiting for the next run.
    let config = OrgConfig { max_changes: Some(1), ..OrgConfig::default() };
    let plan = build_org_plan(&snapshot, &live(&snapshot), &settings(config), NOW);
    assert_eq!(plan.summary.change, 1);
    assert!(
        plan.units.iter().any(|unit| unit.skips.iter().any(|skip| skip.contains("max_changes")))
    );
}

#[test]
fn a_second_plan_after_apply_is_empty() {
    let snapshot = org();
    let settings = settings(OrgConfig::default());
    let plan = build_org_plan(&snapshot, &live(&snapshot), &settings, NOW);
    // What apply leaves: each changed unit with iamsweep's SCP attached, as written.
    let after: Vec<LiveTarget> = live(&snapshot)
        .into_iter()
        .map(|mut target| {
            if let Some(change) = outcome(&plan, &target.target_id).change.as_ref() {
                target.policies.push(AttachedPolicy {
                    id: format!("p-{}", &target.target_id[8..]),
                    name: change.policy_name.clone(),
                    aws_managed: false,
                    // Organizations may hand it back formatted: compared canonically.
                    content: Some(
                        serde_json::to_string_pretty(
                            &serde_json::from_str::<serde_json::Value>(&change.document).unwrap(),
                        )
                        .unwrap(),
                    ),
                });
            }
            target
        })
        .collect();
    let again = build_org_plan(&snapshot, &after, &settings, NOW);
    assert_eq!(again.summary.change, 0, "{:#?}", again.units);
    assert_eq!(again.summary.unchanged, plan.summary.change);
}

#[test]
fn the_verifier_refuses_an_edited_plan_and_accepts_the_real_one() {
    let snapshot = org();
    let plan = build_org_plan(&snapshot, &live(&snapshot), &settings(OrgConfig::default()), NOW);
    let checks = OrgChecks {
        now: NOW + Duration::hours(1),
        max_age: Duration::hours(24),
        account_id: MANAGEMENT,
    };
    verify_org_plan(&plan, &checks).unwrap();
    let text = plan.to_json();
    assert_eq!(OrgPlan::from_json(&text).unwrap(), plan);

    let edited = |edit: &dyn Fn(&mut OrgPlan)| {
        let mut bad = plan.clone();
        edit(&mut bad);
        verify_org_plan(&bad, &checks).unwrap_err().to_string()
    };
    let error = edited(&|plan| {
        let change = plan.units.iter_mut().find_map(|unit| unit.change.as_mut()).unwrap();
        change.document = r#"{"Statement":[{"Effect":"Deny","NotAction":["*"],"Resource":"*"}],"Version":"2012-10-17"}"#.into();
    });
    assert!(error.contains("field `change`"), "{error}");
    let error = edited(&|plan| plan.units[0].outcome = Outcome::Change);
    assert!(error.contains(ROOT), "{error}");
    let error = edited(&|plan| plan.facts.settings.always_allow.push("zzz bad".into()));
    assert!(error.contains("always_allow"), "{error}");
    let error = edited(&|plan| plan.created_at = NOW + Duration::days(3));
    assert!(error.contains("created_at"), "{error}");
    let wrong = OrgChecks { account_id: "999999999999", ..checks };
    assert!(verify_org_plan(&plan, &wrong).unwrap_err().to_string().contains("management account"));
    let old = OrgChecks { now: NOW + Duration::days(3), ..checks };
    assert!(verify_org_plan(&plan, &old).unwrap_err().to_string().contains("older than 24 hours"));
}

#[test]
fn a_hostile_snapshot_is_refused_naming_the_field() {
    let refused = |edit: &dyn Fn(&mut serde_json::Value), field: &str| {
        let mut value = serde_json::to_value(org()).unwrap();
        edit(&mut value);
        let error = OrgSnapshot::from_slice(value.to_string().as_bytes()).unwrap_err();
        assert!(error.to_string().contains(field), "{field}: {error}");
    };
    refused(&|v| v["schema"] = "iamsweep.snapshot/v1".into(), "schema");
    refused(&|v| v["units"][1]["parent_id"] = "ou-ab12-nowhere1".into(), "units[1].parent_id");
    refused(&|v| v["units"][2]["id"] = PROD.into(), "units[2].id");
    refused(&|v| v["accounts"][1]["id"] = "21098765432".into(), "accounts[1].id");
    refused(&|v| v["accounts"][1]["services"][0]["namespace"] = "s3:*".into(), "namespace");
    refused(&|v| v["units"][0]["extra"] = 1.into(), "unknown field");
    refused(&|v| v["organization_id"] = "o-x".into(), "organization_id");
}

proptest! {
    // Each case builds a whole plan of up to 300 services; 64 cases keep the debug run short.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For any usage: nothing used within the window or always allowed is denied, every other
    /// allowed service is, the document is canonical, deterministic and at most 5,120
    /// characters, or the plan refuses the unit with the reason.
    #[test]
    fn an_scp_never_denies_a_used_or_always_allowed_service(
        usage in prop::collection::btree_map("[a-z][a-z0-9-]{1,24}", prop::option::of(0i64..450), 0..300),
        always in prop::collection::btree_set("[a-z][a-z0-9-]{1,12}", 0..20),
        exempt in prop::collection::btree_set("[A-Za-z][A-Za-z0-9]{0,20}", 0..3),
    ) {
        let mut snapshot = org();
        let services: Vec<OrgService> = usage.iter().map(|(n, d)| service(n, *d)).collect();
        snapshot.units[1].services = services.clone();
        snapshot.accounts[1].services = services;
        let config = OrgConfig {
            always_allow: Some(always.iter().cloned().collect()),
            exempt_principals: Some(exempt.iter().map(|name| format!("arn:aws:iam::*:role/{name}")).collect()),
            ..OrgConfig::default()
        };
        let settings = settings(config);
        let plan = build_org_plan(&snapshot, &live(&snapshot), &settings, NOW);
        let again = build_org_plan(&snapshot, &live(&snapshot), &settings, NOW);
        prop_assert_eq!(&plan, &again);
        let prod = outcome(&plan, PROD);
        let used: BTreeSet<String> = usage
            .iter()
            .filter(|(_, days)| days.is_some_and(|days| days <= 180))
            .map(|(n, _)| n.clone())
            .chain(["lambda".to_string()]) // payments, below prod, used it 10 days ago
            .collect();
        let kept: BTreeSet<String> = used.union(&always).cloned().collect();
        match &prod.change {
            Some(change) => {
                let document = &change.document;
                prop_assert!(document.chars().count() <= MAX_SCP_CHARS);
                prop_assert_eq!(&canonicalize(document).unwrap(), document);
                prop_assert_eq!(kept_services(document).unwrap(), kept.clone());
                let role = "arn:aws:iam::210987654321:role/workload";
                for namespace in &kept {
                    prop_assert!(!denies(document, namespace, role), "{} denied", namespace);
                }
                for (namespace, _) in usage.iter().filter(|(n, _)| !kept.contains(*n)) {
                    prop_assert!(denies(document, namespace, role), "{} kept", namespace);
                    for name in &exempt {
                        let exempted = format!("arn:aws:iam::210987654321:role/{name}");
                        prop_assert!(!denies(document, namespace, &exempted));
                    }
                }
            }
            None => {
                let expected = synthesize(&kept, &settings.exempt_principals).unwrap_err();
                let refused = matches!(expected, ScpRefusal::TooLarge { .. } | ScpRefusal::NothingKept);
                prop_assert!(refused);
                prop_assert_eq!(&prod.skips, &vec![expected.to_string()]);
            }
        }
    }
}

/// `org audit --format html`, read back with an HTML parser: one row per unit (`data-id`) and
/// per account (`data-account`), each unit's services by state with who used them, hostile
/// names escaped, and nothing on the page that runs or loads anything.
#[test]
fn the_org_audit_page_has_every_unit_and_account_and_escapes_names() {
    use iamsweep_core::html::org::org_audit_page;
    use iamsweep_core::org::report::analyze_org;
    use scraper::{Html, Selector};

    let mut snapshot = org();
    snapshot.accounts[1].name = Some("<script>alert(1)</script> & co".into());
    let report = analyze_org(&snapshot, 180, NOW);
    let page = Html::parse_document(&org_audit_page(&report));
    assert!(page.errors.is_empty(), "{:?}", page.errors);
    let select = |selector: &str| -> Vec<scraper::ElementRef<'_>> {
        page.select(&Selector::parse(selector).unwrap()).collect()
    };
    let attrs = |selector: &str, attr: &str| -> Vec<String> {
        select(selector).iter().map(|row| row.value().attr(attr).unwrap().to_string()).collect()
    };
    assert_eq!(attrs("#unit-table > tbody > tr", "data-id"), [ROOT, PROD, PAYMENTS, DEV]);
    assert_eq!(
        attrs("#account-table > tbody > tr", "data-account"),
        [MANAGEMENT, "210987654321", "333344445555", "444455556666"]
    );
    let prod = select(&format!("#unit-table tr[data-id=\"{PROD}\"]"))[0];
    let text: String = prod.text().collect();
    assert!(text.starts_with("Root/prod"), "{text}");
    // prod allows six services; s3 (2 days) and lambda (payments, 10 days) are used below it,
    // dynamodb (payments, 200 days) is stale.
    let used: String =
        prod.select(&Selector::parse("dd.s-used").unwrap()).next().unwrap().text().collect();
    assert!(used.contains("s3 (210987654321 ") && used.contains("lambda (333344445555 "), "{used}");
    let cells: Vec<String> =
        prod.select(&Selector::parse("td.n").unwrap()).map(|cell| cell.text().collect()).collect();
    assert_eq!(cells, ["2", "6", "2", "1", "3"], "accounts, allowed, used, stale, unused");
    // The hostile name is text, not markup; the page has no script, link or external URL.
    let name: String =
        select("#account-table tr[data-account=\"210987654321\"] td")[1].text().collect();
    assert_eq!(name, "<script>alert(1)</script> & co");
    assert!(select("script, link, img, iframe").is_empty());
    let html = org_audit_page(&report);
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("url("));
}
