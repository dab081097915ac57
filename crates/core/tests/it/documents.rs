//! Boundary documents, tested exactly: insta snapshots of every shape (so any change to a
//! statement shows in review), and the documents evaluated with `policy_eval` against the escapes
//! they must deny and the services they must allow. The mutation test removes each action and
//! each protected tag key from the protective statements in turn and checks that some escape
//! test then fails: no part of them is untested.

use iamsweep_core::analysis::analyze_entity;
use iamsweep_core::boundary::{AuditContext, synthesize};
use iamsweep_core::compliance::Rules;
use iamsweep_core::escalation::EscalationPath;
use iamsweep_core::model::{ActionRecord, EntityKind};
use iamsweep_core::policy_eval::{Decision, Policy, Request};
use iamsweep_core::report::EntityReport;
use iamsweep_core::settings::{BoundarySettings, EnforceSettings};
use serde_json::Value;
use time::Duration;

use crate::support::*;

fn settings(contain: bool) -> BoundarySettings {
    let mut settings = EnforceSettings::defaults(WINDOW).boundary;
    settings.contain_iam_writers = contain;
    settings
}

fn audit(action_level: bool) -> AuditContext<'static> {
    AuditContext { account_id: ACCOUNT, action_level, window_days: WINDOW, collected_at: NOW }
}

fn action(name: &str, days_ago: Option<i64>) -> ActionRecord {
    ActionRecord {
        name: name.into(),
        last_accessed: days_ago.map(|days| NOW - Duration::days(days)),
        last_accessed_region: None,
        last_accessed_entity: None,
    }
}

/// `app`: used S3 and DynamoDB, not EC2 (stale) nor SQS (unused).
fn app() -> EntityReport {
    let mut record = entity(EntityKind::Role, "app");
    record.services = vec![
        service("s3", Some(2)),
        service("dynamodb", Some(0)),
        service("ec2", Some(300)),
        service("sqs", None),
    ];
    analyze_entity(&record, &Rules::new(WINDOW), NOW)
}

/// `deployer`: a pipeline role that used IAM and S3 (service-level data).
fn deployer() -> EntityReport {
    let mut record = entity(EntityKind::Role, "deployer");
    record.services =
        vec![service("iam", Some(1)), service("s3", Some(1)), service("lambda", None)];
    analyze_entity(&record, &Rules::new(WINDOW), NOW)
}

/// `operator`: a user with action-level data: of IAM it used `GetRole` and `CreateRole` in the
/// window, `DeleteRole` only before it, never `CreateUser`; of S3, `GetObject`.
fn operator() -> EntityReport {
    let mut record = entity(EntityKind::User, "operator");
    let mut iam = service("iam", Some(1));
    iam.actions = Some(vec![
        action("GetRole", Some(1)),
        action("CreateRole", Some(10)),
        action("DeleteRole", Some(300)),
        action("CreateUser", None),
    ]);
    let mut s3 = service("s3", Some(4));
    s3.actions = Some(vec![action("GetObject", Some(4)), action("PutBucketPolicy", None)]);
    record.services = vec![iam, s3];
    analyze_entity(&record, &Rules::new(WINDOW), NOW)
}

/// `newcomer`: a user that used nothing: it gets the base actions.
fn newcomer() -> EntityReport {
    let mut record = entity(EntityKind::User, "newcomer");
    record.services = vec![service("s3", None)];
    analyze_entity(&record, &Rules::new(WINDOW), NOW)
}

fn document(report: &EntityReport, settings: &BoundarySettings, action_level: bool) -> String {
    synthesize(report, settings, &audit(action_level)).unwrap().document
}

fn pretty(document: &str) -> String {
    let value: Value = serde_json::from_str(document).unwrap();
    serde_json::to_string_pretty(&value).unwrap()
}

#[test]
fn snapshots_of_every_document_shape() {
    insta::assert_snapshot!("service_level", pretty(&document(&app(), &settings(false), false)));
    insta::assert_snapshot!("action_level", pretty(&document(&operator(), &settings(false), true)));
    let mut base = settings(false);
    base.base_actions = vec!["sts:GetCallerIdentity".into(), "s3:ListAllMyBuckets".into()];
    insta::assert_snapshot!("base_actions", pretty(&document(&newcomer(), &base, false)));
    insta::assert_snapshot!(
        "iam_writer_uncontained",
        pretty(&document(&deployer(), &settings(false), false))
    );
    insta::assert_snapshot!(
        "iam_writer_contained",
        pretty(&document(&deployer(), &settings(true), false))
    );
    insta::assert_snapshot!(
        "action_level_contained",
        pretty(&document(&operator(), &settings(true), true))
    );
    // Another path, other tag keys, another partition: every ARN and key follows the settings.
    let mut custom = settings(true);
    custom.path = "/guard/rails/".into();
    custom.previous_boundary_tag = "Prev_Boundary".into();
    custom.exclude_tag = "DoNotTouch".into();
    let mut china = deployer();
    china.arn = format!("arn:aws-cn:iam::{ACCOUNT}:role/deployer");
    insta::assert_snapshot!("custom_keys_and_partition", pretty(&document(&china, &custom, false)));
}

fn evaluate(document: &str, request: &Request) -> Decision {
    Policy::parse(document).unwrap().evaluate(request)
}

fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:{kind}/{name}")
}

const BOUNDARY: &str = "iam:PermissionsBoundary";
const MARKER: &str = "aws:ResourceTag/iamsweep:previous-boundary";

fn ours(name: &str) -> String {
    arn("policy", &format!("iamsweep/{name}"))
}

/// What no boundary may let through, whatever the entity used: each request must be explicitly
/// denied, so no identity policy can allow it. `subject` is the bounded entity's kind and name.
pub fn escapes(kind: &str, name: &str) -> Vec<(&'static str, Request)> {
    let own_boundary = ours(&format!("{kind}-{name}"));
    let mut escapes = vec![
        (
            "remove its own boundary",
            Request::new(
                format!("iam:Delete{}PermissionsBoundary", capitalized(kind)),
                arn(kind, name),
            )
            .with(BOUNDARY, &own_boundary),
        ),
        (
            "replace its own boundary (no tag: do_not_tag)",
            Request::new(
                format!("iam:Put{}PermissionsBoundary", capitalized(kind)),
                arn(kind, name),
            )
            .with(BOUNDARY, &arn("policy", "Fence")),
        ),
    ];
    for (target, title) in [("role", "Role"), ("user", "User")] {
        let other = arn(target, "other");
        let other_boundary = ours(&format!("{target}-other"));
        escapes.extend([
            (
                "remove another principal's iamsweep boundary",
                Request::new(format!("iam:Delete{title}PermissionsBoundary"), &other)
                    .with(BOUNDARY, &other_boundary),
            ),
            (
                "replace another principal's iamsweep boundary with a foreign one",
                Request::new(format!("iam:Put{title}PermissionsBoundary"), &other)
                    .with(BOUNDARY, &arn("policy", "Fence"))
                    .with(MARKER, "none"),
            ),
            (
                "replace another principal's iamsweep boundary with a broader iamsweep one",
                Request::new(format!("iam:Put{title}PermissionsBoundary"), &other)
                    .with(BOUNDARY, &ours("role-admin"))
                    .with(MARKER, "arn:aws:iam::aws:policy/PowerUserAccess"),
            ),
            (
                "replace another principal's iamsweep boundary with its own",
                Request::new(format!("iam:Put{title}PermissionsBoundary"), &other)
                    .with(BOUNDARY, &own_boundary)
                    .with(MARKER, "none"),
            ),
            (
                "rewrite the previous-boundary record",
                Request::new(format!("iam:Tag{title}"), &other)
                    .with_values("aws:TagKeys", &["team", "iamsweep:previous-boundary"]),
            ),
            (
                "rewrite the previous-boundary record in another letter case",
                Request::new(format!("iam:Tag{title}"), &other)
                    .with_values("aws:TagKeys", &["IAMSWEEP:Previous-Boundary"]),
            ),
            (
                "remove the previous-boundary record",
                Request::new(format!("iam:Untag{title}"), &other)
                    .with_values("aws:TagKeys", &["iamsweep:previous-boundary"]),
            ),
            (
                "exclude a principal from iamsweep",
                Request::new(format!("iam:Tag{title}"), &other)
                    .with_values("aws:TagKeys", &["iamsweep:exclude"]),
            ),
            (
                "exclude a principal from iamsweep in another letter case",
                Request::new(format!("iam:Tag{title}"), &other)
                    .with_values("aws:TagKeys", &["IamSweep:Exclude"]),
            ),
            (
                "remove the exclusion of a principal",
                Request::new(format!("iam:Untag{title}"), &other)
                    .with_values("aws:TagKeys", &["iamsweep:exclude"]),
            ),
        ]);
        // Any iamsweep key, and the protected keys in any case, by every action that sets or
        // removes tags: creating a principal with a forged record included.
        for verb in ["Tag", "Untag", "Create"] {
            for key in ["iamsweep:anything", "IAMSWEEP:PREVIOUS-BOUNDARY", "IAMSWEEP:EXCLUDE"] {
                let mut request = Request::new(format!("iam:{verb}{title}"), &other)
                    .with_values("aws:TagKeys", &["team", key]);
                if verb == "Create" {
                    request = request.with(BOUNDARY, &own_boundary);
                }
                escapes.push(("set or remove an iamsweep tag", request));
            }
        }
    }
    for action in [
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
    ] {
        escapes
            .push(("edit iamsweep's boundary policies", Request::new(action, ours("role-other"))));
    }
    escapes
}

/// What `contain_iam_writers` adds, for an entity whose boundary keeps IAM writes.
pub fn contained_escapes() -> Vec<(&'static str, Request)> {
    let mut escapes = Vec::new();
    for (target, title) in [("role", "Role"), ("user", "User")] {
        let new = arn(target, "new");
        escapes.extend([
            (
                "create a principal without a boundary",
                Request::new(format!("iam:Create{title}"), &new),
            ),
            (
                "create a principal with a foreign boundary",
                Request::new(format!("iam:Create{title}"), &new)
                    .with(BOUNDARY, &arn("policy", "Fence")),
            ),
            (
                "create a principal with another entity's iamsweep boundary",
                Request::new(format!("iam:Create{title}"), &new)
                    .with(BOUNDARY, &ours("role-admin")),
            ),
            (
                "bound a principal with a foreign boundary",
                Request::new(format!("iam:Put{title}PermissionsBoundary"), &new)
                    .with(BOUNDARY, &arn("policy", "Fence")),
            ),
            (
                "remove a foreign boundary",
                Request::new(format!("iam:Delete{title}PermissionsBoundary"), &new)
                    .with(BOUNDARY, &arn("policy", "Fence")),
            ),
        ]);
        for verb in ["Attach", "Put", "Detach", "Delete"] {
            let action = format!("iam:{verb}{title}Policy");
            escapes.extend([
                ("change the policies of an unbounded principal", Request::new(&action, &new)),
                (
                    "change the policies of a principal under another iamsweep boundary",
                    Request::new(&action, &new).with(BOUNDARY, &ours("role-admin")),
                ),
            ]);
        }
    }
    escapes
}

fn capitalized(kind: &str) -> &'static str {
    if kind == "role" { "Role" } else { "User" }
}

#[track_caller]
fn assert_denied(document: &str, escapes: &[(&str, Request)]) {
    for (what, request) in escapes {
        assert_eq!(
            evaluate(document, request),
            Decision::ExplicitDeny,
            "{what}: {request:?}\n{}",
            pretty(document)
        );
    }
}

#[test]
fn every_boundary_denies_the_escapes_and_allows_what_was_used() {
    for (report, action_level) in [(app(), false), (deployer(), false), (operator(), true)] {
        for contain in [false, true] {
            let doc = document(&report, &settings(contain), action_level);
            let kind = report.kind.as_str();
            assert_denied(&doc, &escapes(kind, &report.name));
            for service in report.services.iter().filter(|s| s.state.as_str() == "used") {
                // An action no Access Advisor data names: allowed, tracked or not.
                let request = Request::new(format!("{}:SomeAction", service.namespace), "*");
                assert!(
                    evaluate(&doc, &request).is_allowed(),
                    "{} {}: the services it used are allowed",
                    report.name,
                    service.namespace
                );
            }
            let unused = Request::new("sqs:SendMessage", "*");
            assert_eq!(evaluate(&doc, &unused), Decision::ImplicitDeny);
            // Tags iamsweep does not own stay free.
            let team = Request::new(format!("iam:Tag{}", capitalized(kind)), arn(kind, "x"))
                .with_values("aws:TagKeys", &["team"]);
            let writes_iam = report.services.iter().any(|s| &*s.namespace == "iam");
            assert_eq!(evaluate(&doc, &team).is_allowed(), writes_iam);
        }
    }
}

#[test]
fn action_level_boundaries_allow_the_used_tracked_actions_only() {
    let doc = document(&operator(), &settings(false), true);
    let allowed = |action: &str| evaluate(&doc, &Request::new(action, "*")).is_allowed();
    assert!(allowed("iam:GetRole") && allowed("iam:CreateRole") && allowed("s3:GetObject"));
    assert!(allowed("iam:PassRole"), "untracked: no data is no evidence");
    assert!(!allowed("iam:DeleteRole") && !allowed("iam:CreateUser"));
    assert!(!allowed("s3:PutBucketPolicy"));
}

#[test]
fn base_actions_are_allowed_to_an_entity_that_used_nothing() {
    let mut base = settings(false);
    base.base_actions = vec!["sts:GetCallerIdentity".into(), "s3:List*".into()];
    let doc = document(&newcomer(), &base, false);
    for action in ["sts:GetCallerIdentity", "s3:ListAllMyBuckets", "S3:LISTBUCKET"] {
        assert!(evaluate(&doc, &Request::new(action, "*")).is_allowed(), "{action}");
    }
    assert!(!evaluate(&doc, &Request::new("s3:GetObject", "*")).is_allowed());
    assert_denied(&doc, &escapes("user", "newcomer"));
}

#[test]
fn contained_iam_writers_create_and_change_principals_only_under_their_own_boundary() {
    let report = deployer();
    let own = ours("role-deployer");
    let open = document(&report, &settings(false), false);
    let contained = document(&report, &settings(true), false);
    let escapes = contained_escapes();
    // Without containment each of these is open: a risk the plan names.
    for (what, request) in &escapes {
        assert_eq!(evaluate(&open, request), Decision::Allow, "{what}: open without containment");
    }
    assert_denied(&contained, &escapes);
    // The delegation that stays allowed: principals under the writer's own boundary.
    for (target, title) in [("role", "Role"), ("user", "User")] {
        let new = arn(target, "new");
        let allowed = [
            Request::new(format!("iam:Create{title}"), &new).with(BOUNDARY, &own),
            Request::new(format!("iam:Put{title}PermissionsBoundary"), &new).with(BOUNDARY, &own),
            Request::new(format!("iam:Attach{title}Policy"), &new).with(BOUNDARY, &own),
            Request::new(format!("iam:Put{title}Policy"), &new).with(BOUNDARY, &own),
        ];
        for request in allowed {
            assert_eq!(evaluate(&contained, &request), Decision::Allow, "{request:?}");
        }
    }
    // An entity whose boundary keeps no IAM write gets no containment statement at all.
    let quiet = document(&app(), &settings(true), false);
    assert_eq!(quiet, document(&app(), &settings(false), false));
}

#[test]
fn configured_tag_keys_are_protected_too() {
    let mut custom = settings(false);
    custom.previous_boundary_tag = "Prev_Boundary".into();
    custom.exclude_tag = "DoNotTouch".into();
    let doc = document(&deployer(), &custom, false);
    let other = arn("role", "other");
    let denied = [
        Request::new("iam:TagRole", &other).with_values("aws:TagKeys", &["Prev_Boundary"]),
        Request::new("iam:UntagRole", &other).with_values("aws:TagKeys", &["prev_boundary"]),
        Request::new("iam:TagRole", &other).with_values("aws:TagKeys", &["DONOTTOUCH"]),
        Request::new("iam:TagRole", &other).with_values("aws:TagKeys", &["iamsweep:exclude"]),
        Request::new("iam:PutRolePermissionsBoundary", &other)
            .with(BOUNDARY, &arn("policy", "Fence"))
            .with("aws:ResourceTag/Prev_Boundary", "none"),
    ];
    assert_denied(&doc, &denied.map(|request| ("configured key", request)));
}

#[test]
fn plan_and_audit_name_the_escalation_paths_a_boundary_leaves_open() {
    let paths = |document: &str| {
        iamsweep_core::escalation::risks_of_document(document, "aws", ACCOUNT, "/iamsweep/")
            .into_iter()
            .map(|risk| risk.path)
            .collect::<Vec<_>>()
    };
    let all = [
        EscalationPath::CreatePrincipals,
        EscalationPath::EditPolicies,
        EscalationPath::PassRoles,
        EscalationPath::CreateCredentials,
        EscalationPath::ChangeTrust,
    ];
    assert_eq!(paths(&document(&deployer(), &settings(false), false)), all);
    // Containment closes principal creation; the rest no boundary can close.
    assert_eq!(paths(&document(&deployer(), &settings(true), false)), &all[1..]);
    assert!(paths(&document(&app(), &settings(false), false)).is_empty());
    // The audit names the same for the boundary the entity's usage would give it.
    assert_eq!(deployer().escalation_risks.iter().map(|r| r.path).collect::<Vec<_>>(), all);
    assert!(app().escalation_risks.is_empty());
    // With action-level data, what it did not use is denied and no risk: `CreateUser`.
    let operator = operator();
    let create = &operator.escalation_risks[0];
    assert_eq!(create.path, EscalationPath::CreatePrincipals);
    assert_eq!(create.actions, ["iam:CreateRole"]);
}

/// Removing any one action, or any one protected tag key, from the protective statements lets
/// at least one escape through: each part is tested by name.
#[test]
fn removing_any_part_of_the_protective_statements_fails_a_test() {
    for (contain, report) in [(false, deployer()), (true, deployer()), (false, app())] {
        let doc = document(&report, &settings(contain), false);
        let mut escapes = escapes("role", &report.name);
        if contain {
            escapes.extend(contained_escapes());
        }
        assert_denied(&doc, &escapes);
        let value: Value = serde_json::from_str(&doc).unwrap();
        let statements = value["Statement"].as_array().unwrap();
        let mut mutants = 0;
        for (index, statement) in statements.iter().enumerate() {
            if statement["Effect"] != "Deny" || statement["Sid"] == "DenyUnusedTrackedActions" {
                continue;
            }
            let mut parts: Vec<Vec<&str>> = vec![vec!["Action"]];
            if statement["Condition"]["ForAnyValue:StringLike"].is_object() {
                parts.push(vec!["Condition", "ForAnyValue:StringLike", "aws:TagKeys"]);
            }
            if statement["Condition"]["ForAnyValue:StringEqualsIgnoreCase"].is_object() {
                parts.push(vec!["Condition", "ForAnyValue:StringEqualsIgnoreCase", "aws:TagKeys"]);
            }
            for path in parts {
                let list = path.iter().fold(statement, |value, key| &value[key]);
                for removed in 0..list.as_array().unwrap().len() {
                    let mut mutant = value.clone();
                    let target = path
                        .iter()
                        .fold(&mut mutant["Statement"][index], |value, key| &mut value[key]);
                    let gone = target.as_array_mut().unwrap().remove(removed);
                    let text = mutant.to_string();
                    let caught = escapes
                        .iter()
                        .any(|(_, request)| evaluate(&text, request) != Decision::ExplicitDeny);
                    assert!(caught, "removing {gone} from {} goes unnoticed", statement["Sid"]);
                    mutants += 1;
                }
            }
        }
        assert!(mutants >= 20, "{mutants} mutants");
    }
}

/// The resolver carries the new key and the protected tag keys from where they are configured.
#[test]
fn the_configuration_reaches_the_boundary_settings() {
    use iamsweep_core::config::Config;
    use iamsweep_core::settings::ListTexts;
    let defaults = EnforceSettings::defaults(WINDOW).boundary;
    assert!(!defaults.contain_iam_writers, "opt-in");
    assert_eq!(defaults.previous_boundary_tag, "iamsweep:previous-boundary");
    assert_eq!(defaults.exclude_tag, "iamsweep:exclude");
    let config = Config::from_toml(
        "[boundary]\ncontain_iam_writers = true\n[tags.keys]\nprevious_boundary = \"Prev\"\n\
         [guardrails]\nexclude_tag = \"Skip\"\n",
    )
    .unwrap();
    let settings = EnforceSettings::resolve(&config, WINDOW, &ListTexts::default()).unwrap();
    assert!(settings.boundary.contain_iam_writers);
    assert_eq!(settings.boundary.previous_boundary_tag, "Prev");
    assert_eq!(settings.boundary.exclude_tag, "Skip");
    let error = Config::from_toml("[boundary]\ncontain_iam_writers = \"yes\"\n").unwrap_err();
    assert!(error.to_string().contains("line 2"), "{error}");
}
