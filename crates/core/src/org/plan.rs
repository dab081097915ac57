//! The SCP plan (`iamsweep.org-plan/v1`): per unit, the iamsweep SCP to create or update and
//! attach, or why the unit is left alone, and what it costs (the services it denies, the
//! accounts below, who used each kept service and when).
//!
//! Pure: [`build_org_plan`] decides from the snapshot, the SCPs attached now ([`LiveTarget`])
//! and the [`OrgSettings`], all of which the plan records in `facts`, so that `org apply`
//! decides again with the same function ([`verify_org_plan`]) and refuses an edited plan.
//! Guardrails, in the order a unit meets them: the root only with `include_root`; excluded
//! units, units below an excluded OU, and units with an excluded OU or account below them (an
//! SCP caps everything below its target, so the excluded would be capped too); a failed access
//! report of the unit or of an account below; no account below (nothing to learn from); an
//! account below younger than `min_account_age_days`; an SCP that would be empty or over 5,120
//! characters; a sixth SCP on the target; and `max_changes` units changed per run.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::boundary::canonicalize;
use crate::error::InputError;
use crate::model::Status;
use crate::org::report::{AccountUse, OrgServiceReport, analyze_org};
use crate::org::scp::{MAX_POLICIES_PER_TARGET, policy_name, synthesize};
use crate::org::settings::OrgSettings;
use crate::org::snapshot::{OrgSnapshot, UnitKind, valid_ou_id, valid_root_id};
use crate::plan::{CLOCK_SKEW, Outcome};
use crate::report::ServiceState;
use crate::verify::{Finding, Refused};

/// The `schema` value of every SCP plan.
pub const ORG_PLAN_SCHEMA: &str = "iamsweep.org-plan/v1";

/// The SCPs attached to one target, as Organizations listed them when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveTarget {
    /// The root or OU id.
    pub target_id: String,
    /// Every SCP attached to it (`FullAWSAccess` included), by id.
    pub policies: Vec<AttachedPolicy>,
}

/// One SCP attached to a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachedPolicy {
    /// `p-...`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// An AWS managed policy (`FullAWSAccess`).
    pub aws_managed: bool,
    /// Its document, read only for iamsweep's own policy.
    #[serde(default)]
    pub content: Option<String>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPlan {
    /// Always [`ORG_PLAN_SCHEMA`].
    pub schema: String,
    /// When the plan was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its snapshot was collected.
    #[serde(with = "time::serde::rfc3339")]
    pub snapshot_collected_at: OffsetDateTime,
    /// `o-...`.
    pub organization_id: String,
    /// The management account: only its credentials may apply the plan.
    pub management_account_id: String,
    /// The window.
    pub window_days: u32,
    /// One entry per unit of the snapshot, root first.
    pub units: Vec<UnitPlan>,
    /// Counts over `units`.
    pub summary: OrgPlanSummary,
    /// What the plan was decided from, for `org apply` to decide again.
    pub facts: OrgPlanFacts,
}

/// What the plan was decided from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPlanFacts {
    /// The settings.
    pub settings: OrgSettings,
    /// The snapshot.
    pub snapshot: OrgSnapshot,
    /// The SCPs attached to each unit.
    pub live: Vec<LiveTarget>,
}

/// Counts over a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPlanSummary {
    /// Units whose SCP is written.
    pub change: usize,
    /// Units whose SCP is already what it should be.
    pub unchanged: usize,
    /// Units left alone, with reasons.
    pub skipped: usize,
}

/// The plan for one root or OU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitPlan {
    /// `r-...` or `ou-...`.
    pub target_id: String,
    /// Root or OU.
    pub kind: UnitKind,
    /// Its name.
    pub name: String,
    /// Names from the root down.
    pub path: String,
    /// Change, unchanged or skipped.
    pub outcome: Outcome,
    /// Why it is left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skips: Vec<String>,
    /// The accounts below it, which its SCP would cap.
    pub accounts: Vec<AccountBelow>,
    /// Services the SCPs in force allow and iamsweep's SCP denies: what the change costs.
    pub denied: Vec<String>,
    /// Services kept, each with why.
    pub kept: Vec<KeptService>,
    /// The SCP to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ScpChange>,
}

/// An account below a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountBelow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
}

/// One service an SCP keeps, and why a reviewer should agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptService {
    /// The namespace.
    pub namespace: String,
    /// Used by an account below within the window.
    pub used: bool,
    /// On the `always_allow` list.
    pub always_allow: bool,
    /// Which accounts below used it, latest first, with when.
    pub used_by: Vec<AccountUse>,
}

/// The write for one unit, in the order `org apply` carries it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScpChange {
    /// `iamsweep-TARGET_ID`.
    pub policy_name: String,
    /// The policy's id, when it exists.
    pub policy_id: Option<String>,
    /// The canonical document.
    pub document: String,
    /// `CreatePolicy`.
    pub create_policy: bool,
    /// `UpdatePolicy` (the live content differs).
    pub update_policy: bool,
    /// `AttachPolicy`.
    pub attach: bool,
    /// The SCP ids attached before, for the journal and rollback.
    pub previous_attachments: Vec<String>,
    /// The policy's content before the update.
    pub previous_content: Option<String>,
}

impl OrgPlan {
    /// Reads a plan file, naming the line or field of any problem.
    pub fn from_json(text: &str) -> Result<OrgPlan, InputError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| InputError::at_json("SCP plan", &error))?;
        match value.get("schema").and_then(serde_json::Value::as_str) {
            Some(ORG_PLAN_SCHEMA) => {}
            Some(other) => {
                return Err(InputError::field(
                    "schema",
                    format!("expected `{ORG_PLAN_SCHEMA}`, found `{other}`"),
                ));
            }
            None => {
                return Err(InputError::field(
                    "schema",
                    format!(
                        "missing; expected `{ORG_PLAN_SCHEMA}` (is this an `org plan --output` file?)"
                    ),
                ));
            }
        }
        serde_json::from_str(text).map_err(|error| InputError::at_json("SCP plan", &error))
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan always serialises")
    }

    /// The units with a change.
    pub fn changes(&self) -> impl Iterator<Item = &UnitPlan> {
        self.units.iter().filter(|unit| unit.outcome == Outcome::Change)
    }
}

/// Decides the plan.
pub fn build_org_plan(
    snapshot: &OrgSnapshot,
    live: &[LiveTarget],
    settings: &OrgSettings,
    created_at: OffsetDateTime,
) -> OrgPlan {
    let report = analyze_org(snapshot, settings.window_days, snapshot.collected_at);
    let mut changes = 0;
    let units: Vec<UnitPlan> = report
        .units
        .iter()
        .map(|unit| {
            let mut plan = plan_unit(snapshot, live, settings, unit);
            if plan.outcome == Outcome::Change {
                if changes >= settings.max_changes {
                    plan.outcome = Outcome::Skipped;
                    plan.change = None;
                    plan.skips.push(format!(
                        "max_changes ({}) OUs already change in this run; the next run takes it",
                        settings.max_changes
                    ));
                } else {
                    changes += 1;
                }
            }
            plan
        })
        .collect();
    let count = |outcome| units.iter().filter(|unit| unit.outcome == outcome).count();
    let summary = OrgPlanSummary {
        change: count(Outcome::Change),
        unchanged: count(Outcome::Unchanged),
        skipped: count(Outcome::Skipped),
    };
    OrgPlan {
        schema: ORG_PLAN_SCHEMA.to_string(),
        created_at,
        snapshot_collected_at: snapshot.collected_at,
        organization_id: snapshot.organization_id.clone(),
        management_account_id: snapshot.management_account_id.clone(),
        window_days: settings.window_days,
        units,
        summary,
        facts: OrgPlanFacts {
            settings: settings.clone(),
            snapshot: snapshot.clone(),
            live: live.to_vec(),
        },
    }
}

fn plan_unit(
    snapshot: &OrgSnapshot,
    live: &[LiveTarget],
    settings: &OrgSettings,
    unit: &crate::org::report::UnitReport,
) -> UnitPlan {
    let accounts: Vec<AccountBelow> = snapshot
        .accounts_below(&unit.id)
        .iter()
        .map(|account| AccountBelow { id: account.id.clone(), name: account.name.clone() })
        .collect();
    let always: BTreeSet<&str> = settings.always_allow.iter().map(String::as_str).collect();
    let used: Vec<&OrgServiceReport> =
        unit.services.iter().filter(|service| service.state == ServiceState::Used).collect();
    let mut kept_names: BTreeSet<String> = always.iter().map(|name| name.to_string()).collect();
    kept_names.extend(used.iter().map(|service| service.namespace.clone()));
    let kept: Vec<KeptService> = kept_names
        .iter()
        .map(|namespace| {
            let service = unit.services.iter().find(|service| &service.namespace == namespace);
            KeptService {
                namespace: namespace.clone(),
                used: service.is_some_and(|service| service.state == ServiceState::Used),
                always_allow: always.contains(namespace.as_str()),
                used_by: service.map(|service| service.used_by.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let denied: Vec<String> = unit
        .services
        .iter()
        .filter(|service| !kept_names.contains(&service.namespace))
        .map(|service| service.namespace.clone())
        .collect();
    let mut plan = UnitPlan {
        target_id: unit.id.clone(),
        kind: unit.kind,
        name: unit.name.clone(),
        path: unit.path.clone(),
        outcome: Outcome::Skipped,
        skips: Vec::new(),
        accounts,
        denied,
        kept,
        change: None,
    };
    if let Some(reason) = skip_reason(snapshot, settings, unit) {
        plan.skips.push(reason);
        return plan;
    }
    let document = match synthesize(&kept_names, &settings.exempt_principals) {
        Ok(document) => document,
        Err(refusal) => {
            plan.skips.push(refusal.to_string());
            return plan;
        }
    };
    let Some(target) = live.iter().find(|target| target.target_id == unit.id) else {
        plan.skips.push("the SCPs attached to it were not read".to_string());
        return plan;
    };
    let name = policy_name(&unit.id);
    let ours: Vec<&AttachedPolicy> =
        target.policies.iter().filter(|policy| policy.name == name).collect();
    let previous_attachments: Vec<String> =
        target.policies.iter().map(|policy| policy.id.clone()).collect();
    match ours.as_slice() {
        [] if target.policies.len() >= MAX_POLICIES_PER_TARGET => {
            let names: Vec<&str> =
                target.policies.iter().map(|policy| policy.name.as_str()).collect();
            plan.skips.push(format!(
                "{} SCPs are attached already ({}); Organizations allows {MAX_POLICIES_PER_TARGET} \
                 a target, so a sixth is refused",
                target.policies.len(),
                names.join(", ")
            ));
        }
        [] => {
            plan.outcome = Outcome::Change;
            plan.change = Some(ScpChange {
                policy_name: name,
                policy_id: None,
                document,
                create_policy: true,
                update_policy: false,
                attach: true,
                previous_attachments,
                previous_content: None,
            });
        }
        [policy] => {
            let same = policy
                .content
                .as_deref()
                .and_then(|content| canonicalize(content).ok())
                .is_some_and(|content| content == document);
            if same {
                plan.outcome = Outcome::Unchanged;
            } else {
                plan.outcome = Outcome::Change;
                plan.change = Some(ScpChange {
                    policy_name: name,
                    policy_id: Some(policy.id.clone()),
                    document,
                    create_policy: false,
                    update_policy: true,
                    attach: false,
                    previous_attachments,
                    previous_content: policy.content.clone(),
                });
            }
        }
        _ => plan.skips.push(format!(
            "{} policies named `{name}` are attached; at most one iamsweep SCP a target",
            ours.len()
        )),
    }
    plan
}

/// Why a unit gets no SCP, before its document is even made.
fn skip_reason(
    snapshot: &OrgSnapshot,
    settings: &OrgSettings,
    unit: &crate::org::report::UnitReport,
) -> Option<String> {
    if unit.kind == UnitKind::Root && !settings.include_root {
        return Some("the root is left alone unless `[org] include_root` is true".to_string());
    }
    let excluded = |item: &str| settings.exclude.iter().any(|excluded| excluded == item);
    for ancestor in snapshot.ancestry(&unit.id) {
        if let Some(above) = snapshot.unit(ancestor)
            && (excluded(&above.id) || (above.kind == UnitKind::Ou && excluded(&above.name)))
        {
            return Some(if above.id == unit.id {
                "excluded by `[org] exclude`".to_string()
            } else {
                format!("below the excluded OU `{}` ({})", above.name, above.id)
            });
        }
    }
    for below in snapshot.units_below(&unit.id) {
        if excluded(&below.id) || excluded(&below.name) {
            return Some(format!(
                "the excluded OU `{}` ({}) is below it, and an SCP here would cap it",
                below.name, below.id
            ));
        }
    }
    let accounts = snapshot.accounts_below(&unit.id);
    if let Some(account) = accounts.iter().find(|account| excluded(&account.id)) {
        return Some(format!(
            "the excluded account {} is below it, and an SCP here would cap it",
            account.id
        ));
    }
    if unit.status != Status::Ok {
        return Some(format!(
            "its access report is incomplete: {}",
            unit.error.as_deref().unwrap_or("no detail")
        ));
    }
    if accounts.is_empty() {
        return Some("no account below it: no usage to learn from".to_string());
    }
    let min_age = Duration::days(i64::from(settings.min_account_age_days));
    for account in &accounts {
        let young = match account.joined {
            Some(joined) => snapshot.collected_at - joined < min_age,
            None => settings.min_account_age_days > 0,
        };
        if young {
            let age = account.joined.map_or("an unknown number of".to_string(), |joined| {
                (snapshot.collected_at - joined).whole_days().to_string()
            });
            return Some(format!(
                "account {} joined {age} days ago, fewer than min_account_age_days ({}): its OU \
                 waits until it has a history",
                account.id, settings.min_account_age_days
            ));
        }
    }
    None
}

/// What `org apply` knows besides the plan.
#[derive(Debug, Clone, Copy)]
pub struct OrgChecks<'a> {
    /// This machine's time.
    pub now: OffsetDateTime,
    /// Oldest snapshot accepted.
    pub max_age: Duration,
    /// The account of the credentials.
    pub account_id: &'a str,
}

/// Refuses a plan `org plan` could not have made from the facts it records, or that is not
/// for these credentials, or too old, or from the future; every finding at once.
pub fn verify_org_plan(plan: &OrgPlan, checks: &OrgChecks<'_>) -> Result<(), Refused> {
    let mut findings = Findings::default();
    let mut refuse =
        |entity: Option<&str>, field: &str, message: String| findings.add(entity, field, message);
    if let Err(message) = plan.facts.settings.check() {
        refuse(None, "facts.settings", message);
    }
    if let Err(error) = plan.facts.snapshot.check() {
        refuse(None, "facts.snapshot", error.to_string());
    }
    for (index, target) in plan.facts.live.iter().enumerate() {
        if !valid_ou_id(&target.target_id) && !valid_root_id(&target.target_id) {
            refuse(
                None,
                &format!("facts.live[{index}].target_id"),
                format!("`{}` is not a root or OU id", target.target_id),
            );
        }
    }
    if plan.management_account_id != checks.account_id {
        refuse(
            None,
            "management_account_id",
            format!(
                "the plan is for the Organization managed by {}, but the credentials are of account \
                 {}; expected the management account's credentials",
                plan.management_account_id, checks.account_id
            ),
        );
    }
    for (field, at) in
        [("created_at", plan.created_at), ("snapshot_collected_at", plan.snapshot_collected_at)]
    {
        if at - checks.now > CLOCK_SKEW {
            refuse(None, field, "in the future; expected a time before now".to_string());
        }
    }
    if plan.snapshot_collected_at > plan.created_at {
        refuse(
            None,
            "snapshot_collected_at",
            "after `created_at`; a plan is made from a snapshot collected before it".to_string(),
        );
    }
    if checks.now - plan.snapshot_collected_at > checks.max_age {
        refuse(
            None,
            "snapshot_collected_at",
            format!(
                "the snapshot is older than {} hours; make a new plan",
                checks.max_age.whole_hours()
            ),
        );
    }
    if findings.0.is_empty() {
        let again = build_org_plan(
            &plan.facts.snapshot,
            &plan.facts.live,
            &plan.facts.settings,
            plan.created_at,
        );
        compare(plan, &again, &mut findings);
    }
    if findings.0.is_empty() { Ok(()) } else { Err(Refused(findings.0)) }
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, entity: Option<&str>, field: &str, message: String) {
        self.0.push(Finding {
            entity: entity.map(str::to_string),
            field: field.to_string(),
            message,
        });
    }
}

fn compare(plan: &OrgPlan, again: &OrgPlan, findings: &mut Findings) {
    let mut refuse =
        |entity: Option<&str>, field: &str, message: String| findings.add(entity, field, message);
    let header = [
        ("organization_id", plan.organization_id == again.organization_id),
        ("management_account_id", plan.management_account_id == again.management_account_id),
        ("snapshot_collected_at", plan.snapshot_collected_at == again.snapshot_collected_at),
        ("window_days", plan.window_days == again.window_days),
        ("summary", plan.summary == again.summary),
    ];
    for (field, same) in header {
        if !same {
            refuse(None, field, "differs from what the recorded facts give".to_string());
        }
    }
    if plan.units.len() != again.units.len() {
        refuse(
            None,
            "units",
            format!("{} units; the recorded facts give {}", plan.units.len(), again.units.len()),
        );
        return;
    }
    for (mine, theirs) in plan.units.iter().zip(&again.units) {
        if mine == theirs {
            continue;
        }
        let target = Some(theirs.target_id.as_str());
        let fields = [
            ("target_id", mine.target_id == theirs.target_id),
            ("outcome", mine.outcome == theirs.outcome),
            ("skips", mine.skips == theirs.skips),
            ("change", mine.change == theirs.change),
            ("kept", mine.kept == theirs.kept),
            ("denied", mine.denied == theirs.denied),
            ("accounts", mine.accounts == theirs.accounts),
        ];
        let mut named = false;
        for (field, same) in fields {
            if !same {
                named = true;
                refuse(
                    target,
                    field,
                    "differs from what the recorded facts give; was the plan edited?".to_string(),
                );
            }
        }
        if !named {
            refuse(
                target,
                "unit",
                "differs from what the recorded facts give; was the plan edited?".to_string(),
            );
        }
    }
}
