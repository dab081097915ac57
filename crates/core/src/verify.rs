//! Plans are verified, not trusted: what `apply` checks before its first write.
//!
//! A plan file is reviewed by a person, then applied later, perhaps by someone else: between the
//! two, anyone who can edit the file could make it attach `AdministratorAccess`, rewrite a
//! boundary as `Allow *`, send a reserved `aws:` tag or date it into the future. So `apply`
//! carries out only what iamsweep's own rules produce. [`verify_plan`] decides every change of
//! the plan again from the facts the plan records ([`crate::plan::PlanFacts`]: the account, each
//! entity's record and usage, the live boundary policy, the settings) with
//! [`crate::plan::recompute_entity`], the function `plan` itself uses, and refuses the WHOLE
//! plan, naming each entity and field that differs, when anything does. It also checks what a
//! recomputation alone would not: every document is one IAM accepts, every tag key and value is
//! valid (no `aws:` prefix), the settings are valid, no entity is listed twice, the times are not
//! in the future and not too old, the plan is for the account of the credentials and changes
//! nobody running iamsweep.
//!
//! What it cannot know: whether the recorded facts are true. An edit of the facts themselves
//! (claiming a service was used) yields a consistent plan; that is what the reviewer reads in
//! the plan, and why `apply` also checks IAM's current state before each entity.

use std::collections::{BTreeMap, HashSet};
use std::fmt::{self, Debug};

use time::{Duration, OffsetDateTime};

use crate::boundary::{partition_of, policy_arn, policy_name, validate_path};
use crate::guardrails::Caller;
use crate::lists::validate_action;
use crate::model::{EntityKind, EntityRecord};
use crate::plan::{
    BoundaryChange, EntityFacts, EntityPlan, Outcome, Plan, PlanRefusal, TagChange, check_fresh,
    recompute_entity, summarize,
};
use crate::policy_document::validate_managed_policy;
use crate::settings::EnforceSettings;
use crate::tags::{validate_tag_key, validate_tag_value};

/// What `apply` knows besides the plan.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    /// This machine's time.
    pub now: OffsetDateTime,
    /// `guardrails.max_plan_age_hours` of the settings `apply` runs with.
    pub max_age: Duration,
    /// The account of the credentials `apply` runs with.
    pub account_id: &'a str,
    /// The principal running `apply` (`sts:GetCallerIdentity`).
    pub caller_arn: &'a str,
}

/// One reason a plan is refused: the entity (when it is about one), the field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The entity's ARN, when the finding is about one entity.
    pub entity: Option<String>,
    /// The plan field, such as `created_at` or `boundary.policy_arn`.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entity {
            Some(arn) => write!(f, "`{arn}`, field `{}`: {}", self.field, self.message),
            None => write!(f, "field `{}`: {}", self.field, self.message),
        }
    }
}

/// A refused plan: every finding, so one review fixes them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refused(pub Vec<Finding>);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refusing the whole plan, nothing written:")?;
        for finding in &self.0 {
            write!(f, "\n  {finding}")?;
        }
        write!(
            f,
            "\nhint: a plan is applied only as iamsweep's rules produce it from the facts it \
             records; run `iamsweep plan` again instead of editing it"
        )
    }
}

/// Verifies a whole plan before anything of it is written; `Err` lists every finding.
pub fn verify_plan(plan: &Plan, checks: &Checks<'_>) -> Result<(), Refused> {
    let mut findings = Vec::new();
    let mut plan_finding = |field: &str, message: String| {
        findings.push(Finding { entity: None, field: field.to_string(), message })
    };
    if let Err(refusal) = check_fresh(plan, checks.now, checks.max_age) {
        let field = match &refusal {
            PlanRefusal::InTheFuture { field, .. } => field,
            _ => "snapshot_collected_at",
        };
        plan_finding(field, refusal.to_string());
    }
    if plan.account_id != checks.account_id {
        plan_finding(
            "account_id",
            format!(
                "the plan is for account {}, but the credentials are of account {}",
                plan.account_id, checks.account_id
            ),
        );
    }
    if plan.window_days != plan.facts.settings.window_days {
        plan_finding(
            "window_days",
            format!(
                "{} differs from the settings' {}",
                plan.window_days, plan.facts.settings.window_days
            ),
        );
    }
    for (field, message) in settings_findings(&plan.facts.settings) {
        plan_finding(&format!("facts.settings.{field}"), message);
    }
    if plan.summary != summarize(&plan.entities) {
        plan_finding("summary", "does not count the plan's entities".into());
    }
    findings.extend(duplicates(plan));
    if let Some(finding) = check_caller(plan, checks.account_id, checks.caller_arn) {
        findings.push(finding);
    }

    let facts: BTreeMap<String, &EntityFacts> = plan
        .facts
        .entities
        .iter()
        .map(|facts| (facts.record.arn.to_ascii_lowercase(), facts))
        .collect();
    let mut checked = HashSet::new();
    for entity in &plan.entities {
        let mut entity_finding = |field: &str, message: String| {
            findings.push(Finding {
                entity: Some(entity.arn.clone()),
                field: field.to_string(),
                message,
            })
        };
        for (field, message) in shape_findings(plan, entity) {
            entity_finding(&field, message);
        }
        let key = entity.arn.to_ascii_lowercase();
        match facts.get(&key) {
            Some(facts) => {
                checked.insert(key);
                if let Some((field, message)) = facts_mismatch(entity, facts) {
                    entity_finding(&field, message);
                } else if let Some((field, message)) =
                    first_difference(entity, &recompute_entity(plan, facts))
                {
                    entity_finding(&field, message);
                }
            }
            None if entity.outcome == Outcome::Change => entity_finding(
                "outcome",
                "is `change`, but the plan records no facts to decide it from".into(),
            ),
            None => {}
        }
    }
    for facts in &plan.facts.entities {
        if !checked.contains(&facts.record.arn.to_ascii_lowercase()) {
            findings.push(Finding {
                entity: Some(facts.record.arn.clone()),
                field: "facts.entities".into(),
                message: "facts of an entity the plan does not change".into(),
            });
        }
    }
    if findings.is_empty() { Ok(()) } else { Err(Refused(findings)) }
}

/// The caller check: a plan must not change the principal running iamsweep now (for an
/// assumed-role session, the role behind it), whoever made the plan. The same [`Caller::is`]
/// the guardrails use when planning.
pub fn check_caller(plan: &Plan, account_id: &str, caller_arn: &str) -> Option<Finding> {
    let caller = Caller::parse(caller_arn)?;
    let entity = plan.changes().find(|entity| {
        caller.is(&EntityRecord::new(entity.kind, &entity.arn, &entity.name), account_id)
    })?;
    Some(Finding {
        entity: Some(entity.arn.clone()),
        field: "outcome".into(),
        message: format!(
            "it is the principal running iamsweep now (`{caller_arn}`), which is never changed; \
             hint: make the plan with these credentials"
        ),
    })
}

/// The settings a plan recorded, checked as [`EnforceSettings::resolve`] checks a config file.
fn settings_findings(settings: &EnforceSettings) -> Vec<(String, String)> {
    let mut findings = Vec::new();
    if let Err(message) = validate_path(&settings.boundary.path) {
        findings.push(("boundary.path".to_string(), message));
    }
    for action in &settings.boundary.base_actions {
        if let Err(message) = validate_action(action) {
            findings.push(("boundary.base_actions".to_string(), message));
        }
    }
    for (field, key) in settings.tags.keys.all() {
        if let Err(message) = validate_tag_key(key) {
            findings.push((format!("tags.keys.{field}"), message));
        }
    }
    if let Err(message) = validate_tag_key(&settings.guardrails.exclude_tag) {
        findings.push(("guardrails.exclude_tag".to_string(), message));
    }
    findings
}

/// Every entity listed twice (IAM names are case-insensitive, so ARNs are compared so too).
fn duplicates(plan: &Plan) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = HashSet::new();
    for (index, entity) in plan.entities.iter().enumerate() {
        if !seen.insert(entity.arn.to_ascii_lowercase()) {
            findings.push(Finding {
                entity: Some(entity.arn.clone()),
                field: format!("entities[{index}].arn"),
                message: "the entity is listed twice; a plan lists each entity once".into(),
            });
        }
    }
    let mut seen = HashSet::new();
    for (index, facts) in plan.facts.entities.iter().enumerate() {
        if !seen.insert(facts.record.arn.to_ascii_lowercase()) {
            findings.push(Finding {
                entity: Some(facts.record.arn.clone()),
                field: format!("facts.entities[{index}].record.arn"),
                message: "the entity's facts are recorded twice".into(),
            });
        }
    }
    findings
}

/// What IAM itself would refuse, or what no iamsweep plan can hold, whatever the facts say:
/// the entity's ARN outside the account, a policy ARN not under the boundary path, a document
/// IAM refuses, a tag key or value IAM refuses.
fn shape_findings(plan: &Plan, entity: &EntityPlan) -> Vec<(String, String)> {
    let mut findings = Vec::new();
    let partition = partition_of(&entity.arn);
    let resource = entity.arn.strip_prefix(&format!("arn:{partition}:iam::{}:", plan.account_id));
    let named = resource.and_then(|rest| rest.split_once('/')).is_some_and(|(kind, rest)| {
        kind == entity.kind.as_str() && rest.rsplit('/').next() == Some(entity.name.as_str())
    });
    if !named {
        findings.push((
            "arn".to_string(),
            format!(
                "expected the ARN of {} `{}` of account {}",
                entity.kind.as_str(),
                entity.name,
                plan.account_id
            ),
        ));
    }
    if let Some(tags) = &entity.tags {
        for (key, value) in &tags.set {
            if let Err(message) = validate_tag_key(key).and_then(|()| validate_tag_value(value)) {
                findings.push((format!("tags.set.{key}"), message));
            }
        }
    }
    if let Some(change) = &entity.boundary {
        if let Err(reason) = validate_managed_policy(&change.document) {
            findings.push(("boundary.document".to_string(), format!("the document {reason}")));
        }
        let path = &plan.facts.settings.boundary.path;
        let expected = (entity.kind != EntityKind::Group).then(|| {
            policy_arn(partition, &plan.account_id, path, &policy_name(entity.kind, &entity.name))
        });
        if expected.as_deref() != Some(change.policy_arn.as_str()) {
            findings.push((
                "boundary.policy_arn".to_string(),
                format!(
                    "`{}` is not the entity's own boundary policy; expected `{}` \
                     (arn:PARTITION:iam::ACCOUNT:policy{{boundary.path}}{{kind}}-{{name}})",
                    change.policy_arn,
                    expected.as_deref().unwrap_or("none: a group has no boundary")
                ),
            ));
        }
    }
    findings
}

/// The recorded facts must be about the entity they are filed under.
fn facts_mismatch(entity: &EntityPlan, facts: &EntityFacts) -> Option<(String, String)> {
    let same = |arn: &str, kind: EntityKind, name: &str| {
        arn == entity.arn && kind == entity.kind && name == entity.name
    };
    if !same(&facts.record.arn, facts.record.kind, &facts.record.name) {
        return Some(("facts.record".into(), "the recorded entity is not this one".into()));
    }
    if !same(&facts.report.arn, facts.report.kind, &facts.report.name) {
        return Some(("facts.report".into(), "the recorded usage is not this entity's".into()));
    }
    None
}

/// The first field where the plan differs from what the rules give, with both values.
fn first_difference(planned: &EntityPlan, expected: &EntityPlan) -> Option<(String, String)> {
    let differs = |field: &str, planned: &dyn Debug, expected: &dyn Debug| {
        Some((
            field.to_string(),
            format!(
                "the plan says {}, iamsweep's rules give {} from the facts the plan records",
                show(planned),
                show(expected)
            ),
        ))
    };
    if planned.outcome != expected.outcome {
        return differs("outcome", &planned.outcome, &expected.outcome);
    }
    if planned.skips != expected.skips {
        return differs("skips", &planned.skips, &expected.skips);
    }
    if planned.escalation_risks != expected.escalation_risks {
        return differs("escalation_risks", &planned.escalation_risks, &expected.escalation_risks);
    }
    match (&planned.tags, &expected.tags) {
        (Some(planned), Some(expected)) => {
            if let Some(found) = tag_difference(planned, expected) {
                return Some(found);
            }
        }
        (None, None) => {}
        (planned, expected) => return differs("tags", planned, expected),
    }
    match (&planned.boundary, &expected.boundary) {
        (Some(planned), Some(expected)) => boundary_difference(planned, expected),
        (None, None) => None,
        (planned, expected) => differs(
            "boundary",
            &planned.as_ref().map(|change| &change.policy_arn),
            &expected.as_ref().map(|change| &change.policy_arn),
        ),
    }
}

fn tag_difference(planned: &TagChange, expected: &TagChange) -> Option<(String, String)> {
    for (key, value) in &planned.set {
        match expected.set.get(key) {
            Some(wanted) if wanted == value => {}
            Some(wanted) => {
                return Some((
                    format!("tags.set.{key}"),
                    format!("the plan says {}, the rules give {}", show(value), show(wanted)),
                ));
            }
            None => {
                return Some((
                    format!("tags.set.{key}"),
                    "is not a tag iamsweep's rules write to this entity".into(),
                ));
            }
        }
    }
    if let Some(key) = expected.set.keys().find(|key| !planned.set.contains_key(*key)) {
        return Some((format!("tags.set.{key}"), "is missing from the plan".into()));
    }
    (planned.previous != expected.previous).then(|| {
        (
            "tags.previous".to_string(),
            format!(
                "the plan says {}, the entity's tags were {}",
                show(&planned.previous),
                show(&expected.previous)
            ),
        )
    })
}

fn boundary_difference(
    planned: &BoundaryChange,
    expected: &BoundaryChange,
) -> Option<(String, String)> {
    let fields: [(&str, &dyn Debug, &dyn Debug, bool); 10] = [
        (
            "policy_arn",
            &planned.policy_arn,
            &expected.policy_arn,
            planned.policy_arn == expected.policy_arn,
        ),
        (
            "policy_name",
            &planned.policy_name,
            &expected.policy_name,
            planned.policy_name == expected.policy_name,
        ),
        ("path", &planned.path, &expected.path, planned.path == expected.path),
        ("document", &"(a document)", &"another", planned.document == expected.document),
        (
            "create_policy",
            &planned.create_policy,
            &expected.create_policy,
            planned.create_policy == expected.create_policy,
        ),
        (
            "create_version",
            &planned.create_version,
            &expected.create_version,
            planned.create_version == expected.create_version,
        ),
        (
            "delete_version",
            &planned.delete_version,
            &expected.delete_version,
            planned.delete_version == expected.delete_version,
        ),
        ("attach", &planned.attach, &expected.attach, planned.attach == expected.attach),
        (
            "preconditions",
            &planned.preconditions,
            &expected.preconditions,
            planned.preconditions == expected.preconditions,
        ),
        // What the reviewer read: an effect edited to look milder than the document is refused.
        ("effect", &"(an effect)", &"another", planned.effect == expected.effect),
    ];
    let (field, planned_value, expected_value, _) =
        fields.into_iter().find(|(_, _, _, same)| !same)?;
    let message = if field == "document" || field == "effect" {
        format!("differs from the {field} iamsweep's rules give from the facts the plan records")
    } else {
        format!(
            "the plan says {}, iamsweep's rules give {} from the facts the plan records",
            show(planned_value),
            show(expected_value)
        )
    };
    Some((format!("boundary.{field}"), message))
}

/// A value for a message, cut short: a finding names a field, it does not dump documents.
fn show(value: &dyn Debug) -> String {
    let text = format!("{value:?}");
    match text.char_indices().nth(160) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}
