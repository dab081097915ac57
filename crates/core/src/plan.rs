//! The plan: the desired state (summary tags, one boundary per user and role) diffed against the
//! current state, with every change and every skip explained.
//!
//! [`build_plan`] is pure: the snapshot gives each entity's current boundary and tags, the
//! [`LiveState`] gives iamsweep's boundary policies as the `aws` crate read them, and the time
//! comes in as an argument. A plan with no changes is the normal result of a second run: the
//! documents are canonical and the audit-date tag only moves when another summary value does.
//! The `iamsweep.plan/v3` JSON is a contract (`plan --output`, `apply --plan`). Besides the
//! decisions it records the facts they were made from ([`PlanFacts`]), so that `apply` can
//! recompute every change with these same functions and refuse an edited plan
//! (see [`crate::verify`]).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::boundary::{AuditContext, canonicalize, is_own_boundary, partition_of, synthesize};
use crate::effect::BoundaryEffect;
use crate::error::InputError;
use crate::escalation::{EscalationRisk, risks_of_document};
use crate::guardrails::{self, Caller, Skip, SkipScope};
use crate::model::{EntityKind, EntityRecord, Granularity};
use crate::policy_document::validate_managed_policy;
use crate::policy_versions;
use crate::report::{AuditReport, EntityReport};
use crate::settings::EnforceSettings;
use crate::snapshot::Snapshot;
use crate::tags::{find_tag, group_member_tags, previous_boundary_value, summary_tags};

/// The `schema` value of every plan this version writes and reads.
pub const PLAN_SCHEMA: &str = "iamsweep.plan/v3";
/// Earlier plan schemas, refused with a hint to plan again, and what each lacks: v1 did not
/// record the facts a change is verified against; v2 held documents as escaped strings and did
/// not say what each boundary keeps and removes.
const OLDER_PLAN_SCHEMAS: &[(&str, &str)] = &[
    ("iamsweep.plan/v1", "did not record the facts `apply` verifies a plan against"),
    (
        "iamsweep.plan/v2",
        "held policy documents as strings and did not record what each boundary keeps and removes",
    ),
];

/// What the `aws` crate read about iamsweep's boundary policies (those under the boundary path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveState {
    /// Per policy ARN.
    pub policies: BTreeMap<String, LivePolicy>,
}

/// One boundary policy as it is in IAM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePolicy {
    /// The id of the default version, such as `v3`.
    pub default_version_id: String,
    /// The default version's document, URL-decoded and passed through
    /// [`crate::boundary::canonicalize`]; a JSON value in the plan file.
    #[serde(with = "crate::json_document")]
    pub default_document: String,
    /// Every version (at most five).
    pub versions: Vec<LiveVersion>,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveVersion {
    /// Such as `v3`.
    pub version_id: String,
    /// Whether it is the default version.
    pub is_default: bool,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// A whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`PLAN_SCHEMA`].
    pub schema: String,
    /// When the plan was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its snapshot was collected: `apply --plan` measures the plan's age from here.
    #[serde(with = "time::serde::rfc3339")]
    pub snapshot_collected_at: OffsetDateTime,
    /// The account.
    pub account_id: String,
    /// The principal the plan protects from itself (see the guardrails).
    pub caller_arn: Option<String>,
    /// The window the boundaries were computed for.
    pub window_days: u32,
    /// One entry per entity of the report, in report order.
    pub entities: Vec<EntityPlan>,
    /// Counts over `entities`.
    pub summary: PlanSummary,
    /// What the changes were decided from, for `apply` to decide them again.
    pub facts: PlanFacts,
}

/// The facts a plan's changes were decided from: with them, [`recompute_entity`] gives back
/// each change exactly, or the plan was edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFacts {
    /// The resolved enforcement settings the plan was made with.
    pub settings: EnforceSettings,
    /// Service or action level (action level adds the deny of unused tracked actions).
    pub granularity: Granularity,
    /// One entry per entity whose outcome is `change`, in plan order.
    pub entities: Vec<EntityFacts>,
}

/// What the plan knew of one changed entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityFacts {
    /// The snapshot's record (its services left out: `report` holds them, classified).
    pub record: EntityRecord,
    /// The usage: the entity's classified services.
    pub report: EntityReport,
    /// The reports of its groups, for the group summary tags of a user (only when
    /// `tags.tag_group_members`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<EntityReport>,
    /// iamsweep's boundary policy of this entity as IAM held it (`null`: none).
    pub live_policy: Option<LivePolicy>,
}

/// Counts over a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Entities with at least one change.
    pub change: usize,
    /// Entities already in the desired state.
    pub unchanged: usize,
    /// Entities left alone, with reasons.
    pub skipped: usize,
    /// Entities whose boundary changes: what `max_changes` caps.
    pub restricted: usize,
}

/// What happens to one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Tags and/or its boundary are written.
    Change,
    /// Already in the desired state.
    Unchanged,
    /// Nothing is written; `skips` says why.
    Skipped,
}

/// The plan for one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityPlan {
    /// The entity's ARN.
    pub arn: String,
    /// User, role or group.
    pub kind: EntityKind,
    /// The entity's name.
    pub name: String,
    /// Change, unchanged or skipped.
    pub outcome: Outcome,
    /// Why it, its tags or its boundary are left alone (also for partly changed entities).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skips: Vec<Skip>,
    /// The tags to write, in one `TagUser`/`TagRole` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagChange>,
    /// The boundary to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<BoundaryChange>,
    /// The escalation paths its iamsweep boundary (the one planned, or the one in place when
    /// unchanged) leaves open, for a person to decide (see [`crate::escalation`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation_risks: Vec<EscalationRisk>,
}

/// Tags to set on one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    /// Key to value, every one valid for IAM.
    pub set: BTreeMap<String, String>,
    /// For each key of `set`, its value before (`null`: the key was absent), for the journal.
    pub previous: BTreeMap<String, Option<String>>,
}

/// The boundary change of one entity, in the order `apply` carries it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundaryChange {
    /// `role-NAME` or `user-NAME`.
    pub policy_name: String,
    /// The policy's ARN.
    pub policy_arn: String,
    /// The policy's IAM path.
    pub path: String,
    /// The canonical document: compact JSON text here, a JSON value in the plan file (so a
    /// reviewer reads it, and an edit of it is still an edit: see [`crate::json_document`]).
    #[serde(with = "crate::json_document")]
    pub document: String,
    /// `CreatePolicy` (the policy does not exist yet).
    pub create_policy: bool,
    /// `CreatePolicyVersion` with `SetAsDefault` (the live default differs).
    pub create_version: bool,
    /// `DeletePolicyVersion` of this version first: five versions exist, and this is the oldest
    /// non-default one (the original sample deleted "default minus 3").
    pub delete_version: Option<String>,
    /// `PutRolePermissionsBoundary`/`PutUserPermissionsBoundary`.
    pub attach: bool,
    /// What the plan saw; `apply` refuses the change when IAM now says otherwise.
    pub preconditions: Preconditions,
    /// What the boundary keeps and removes, for the reviewer: every format shows this value.
    pub effect: BoundaryEffect,
}

/// The state a boundary change was planned against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preconditions {
    /// The boundary attached to the entity (`null`: none).
    pub boundary_arn: Option<String>,
    /// The default version of the policy (`null`: the policy did not exist).
    pub default_version_id: Option<String>,
}

/// Why an apply refuses a whole plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanRefusal {
    /// More entities would be restricted than allowed.
    #[error(
        "the plan restricts {count} entities, over the limit of {max} per run; hint: review the \
         plan, then raise the limit with `--max-changes {count}` or guardrails.max_changes"
    )]
    TooManyChanges {
        /// Entities whose boundary would change.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A time of the plan is later than now (beyond the clock skew allowed), or the plan says
    /// it was made before its snapshot was collected: its age cannot be trusted.
    #[error(
        "{at} is {ahead} in the future of this machine's clock (at most \
         {allowed_minutes} minutes of clock skew are allowed); hint: check the clock, or run \
         `iamsweep plan` again"
    )]
    InTheFuture {
        /// `created_at` or `snapshot_collected_at`.
        field: &'static str,
        /// The time, as written.
        at: String,
        /// How far ahead, in words.
        ahead: String,
        /// The allowance.
        allowed_minutes: i64,
    },
    /// The plan says it was made before the snapshot it was made from was collected.
    #[error(
        "{collected} is after the plan's `created_at` {created}; \
         a plan is made from a snapshot collected before it"
    )]
    BeforeItsSnapshot {
        /// `created_at`.
        created: String,
        /// `snapshot_collected_at`.
        collected: String,
    },
    /// The plan's snapshot is too old to trust.
    #[error(
        "the plan's snapshot was collected {age_hours} hours ago, over the limit of {max_hours} \
         hours; hint: run `iamsweep plan` again, or raise guardrails.max_plan_age_hours"
    )]
    TooOld {
        /// Hours since the snapshot.
        age_hours: i64,
        /// The limit.
        max_hours: i64,
    },
}

impl Plan {
    /// Parses a plan, naming the line and column of malformed JSON and checking the schema.
    pub fn from_json(text: &str) -> Result<Plan, InputError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| InputError::at_json("plan", &error))?;
        match value.get("schema").and_then(|schema| schema.as_str()) {
            Some(PLAN_SCHEMA) => {}
            Some(old) if OLDER_PLAN_SCHEMAS.iter().any(|(schema, _)| *schema == old) => {
                let lacks = OLDER_PLAN_SCHEMAS
                    .iter()
                    .find_map(|(schema, lacks)| (*schema == old).then_some(*lacks))
                    .unwrap_or_default();
                return Err(InputError::field(
                    "schema",
                    format!(
                        "`{old}` is a plan of an earlier iamsweep, which {lacks}; \
                         expected `{PLAN_SCHEMA}`; hint: run `iamsweep plan` again"
                    ),
                ));
            }
            other => {
                return Err(InputError::field(
                    "schema",
                    format!(
                        "expected `{PLAN_SCHEMA}`, found {}",
                        other.map_or("none (is this an iamsweep plan?)".into(), |s| format!(
                            "`{s}`"
                        ))
                    ),
                ));
            }
        }
        serde_json::from_str(text).map_err(|error| InputError::at_json("plan", &error))
    }

    /// Serialises the plan as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan always serialises")
    }

    /// The entities with at least one change.
    pub fn changes(&self) -> impl Iterator<Item = &EntityPlan> {
        self.entities.iter().filter(|entity| entity.outcome == Outcome::Change)
    }
}

/// Checks that the plan restricts (changes the boundary of) at most `max` entities.
///
/// Tag-only changes do not count: summary tags restrict nothing, and counting them would make
/// the first run on any account of more than `max` entities fail. The cap limits how much one
/// run can break.
pub fn check_max_changes(plan: &Plan, max: usize) -> Result<(), PlanRefusal> {
    let count = plan.entities.iter().filter(|entity| entity.boundary.is_some()).count();
    if count > max { Err(PlanRefusal::TooManyChanges { count, max }) } else { Ok(()) }
}

/// How far ahead of this machine's clock a plan's time may be: clocks of two machines (the one
/// that planned and the one that applies) drift apart by seconds, rarely by minutes. Beyond
/// that, a time in the future is an edit or a broken clock, and would make the age check pass
/// whatever the real age.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Checks the plan's times at `now`: none in the future (beyond [`CLOCK_SKEW`]), the snapshot
/// collected before the plan was made, and the snapshot at most `max_age` old. Every path that
/// applies (`apply --plan`, `apply --snapshot`, a live run, the Lambda) calls it.
pub fn check_fresh(plan: &Plan, now: OffsetDateTime, max_age: Duration) -> Result<(), PlanRefusal> {
    let show = |at: OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| at.to_string())
    };
    for (field, at) in
        [("created_at", plan.created_at), ("snapshot_collected_at", plan.snapshot_collected_at)]
    {
        let ahead = at - now;
        if ahead > CLOCK_SKEW {
            let ahead = if ahead.whole_days() >= 1 {
                format!("{} days", ahead.whole_days())
            } else {
                format!("{} minutes", ahead.whole_minutes())
            };
            return Err(PlanRefusal::InTheFuture {
                field,
                at: show(at),
                ahead,
                allowed_minutes: CLOCK_SKEW.whole_minutes(),
            });
        }
    }
    if plan.snapshot_collected_at > plan.created_at + CLOCK_SKEW {
        return Err(PlanRefusal::BeforeItsSnapshot {
            created: show(plan.created_at),
            collected: show(plan.snapshot_collected_at),
        });
    }
    let age = now - plan.snapshot_collected_at;
    if age > max_age {
        Err(PlanRefusal::TooOld { age_hours: age.whole_hours(), max_hours: max_age.whole_hours() })
    } else {
        Ok(())
    }
}

/// Checks, just before applying an entity's boundary change, that IAM still holds what the plan
/// saw: the same boundary attached and the same default version of the policy. Otherwise
/// someone changed the entity since, and the plan's decision may no longer hold.
pub fn check_preconditions(
    entity: &EntityPlan,
    current_boundary_arn: Option<&str>,
    current_default_version: Option<&str>,
) -> Result<(), String> {
    let Some(change) = &entity.boundary else { return Ok(()) };
    let seen = &change.preconditions;
    let show = |value: Option<&str>| value.map_or("none".to_string(), |v| format!("`{v}`"));
    if seen.boundary_arn.as_deref() != current_boundary_arn {
        return Err(format!(
            "`{}` changed since the plan: its boundary was {} and is now {}; hint: run `iamsweep plan` again",
            entity.arn,
            show(seen.boundary_arn.as_deref()),
            show(current_boundary_arn)
        ));
    }
    if seen.default_version_id.as_deref() != current_default_version {
        return Err(format!(
            "`{}` changed since the plan: the default version of `{}` was {} and is now {}; hint: run `iamsweep plan` again",
            entity.arn,
            change.policy_arn,
            show(seen.default_version_id.as_deref()),
            show(current_default_version)
        ));
    }
    Ok(())
}

/// Plans every entity of `report` (made from `snapshot`) against the live boundary policies.
///
/// The caller to protect is `snapshot.caller_arn`: when planning from a saved snapshot, the
/// binaries set it to the current `GetCallerIdentity` ARN first.
pub fn build_plan(
    snapshot: &Snapshot,
    report: &AuditReport,
    live: &LiveState,
    settings: &EnforceSettings,
    now: OffsetDateTime,
) -> Plan {
    let records: HashMap<&str, &EntityRecord> =
        snapshot.entities.iter().map(|record| (record.arn.as_str(), record)).collect();
    let groups: HashMap<&str, &EntityReport> = report
        .entities
        .iter()
        .filter(|entity| entity.kind == EntityKind::Group)
        .map(|entity| (entity.name.as_str(), entity))
        .collect();
    let caller = snapshot.caller_arn.as_deref().and_then(Caller::parse);
    let context = Context::new(snapshot, live, settings, &groups, caller.as_ref());
    let entities: Vec<EntityPlan> = report
        .entities
        .iter()
        .map(|entity| match records.get(entity.arn.as_str()) {
            Some(record) => plan_entity(record, entity, &context),
            None => EntityPlan {
                arn: entity.arn.clone(),
                kind: entity.kind,
                name: entity.name.clone(),
                outcome: Outcome::Skipped,
                skips: vec![guardrails::missing_from_snapshot()],
                tags: None,
                boundary: None,
                escalation_risks: Vec::new(),
            },
        })
        .collect();
    let reports: HashMap<&str, &EntityReport> =
        report.entities.iter().map(|entity| (entity.arn.as_str(), entity)).collect();
    let facts = entities
        .iter()
        .filter(|entity| entity.outcome == Outcome::Change)
        .filter_map(|entity| {
            let record = records.get(entity.arn.as_str())?;
            let report = reports.get(entity.arn.as_str())?;
            Some(entity_facts(record, report, &context))
        })
        .collect();
    Plan {
        schema: PLAN_SCHEMA.to_string(),
        created_at: now,
        snapshot_collected_at: snapshot.collected_at,
        account_id: snapshot.account_id.clone(),
        caller_arn: snapshot.caller_arn.clone(),
        window_days: settings.window_days,
        summary: summarize(&entities),
        entities,
        facts: PlanFacts {
            settings: settings.clone(),
            granularity: snapshot.granularity,
            entities: facts,
        },
    }
}

/// Counts over a plan's entities.
pub fn summarize(entities: &[EntityPlan]) -> PlanSummary {
    let mut summary = PlanSummary::default();
    for entity in entities {
        match entity.outcome {
            Outcome::Change => summary.change += 1,
            Outcome::Unchanged => summary.unchanged += 1,
            Outcome::Skipped => summary.skipped += 1,
        }
        summary.restricted += usize::from(entity.boundary.is_some());
    }
    summary
}

/// What [`plan_entity`] read about one entity, kept in the plan.
fn entity_facts(
    record: &EntityRecord,
    report: &EntityReport,
    context: &Context<'_>,
) -> EntityFacts {
    let settings = context.settings;
    let mut record = record.clone();
    // The report holds the services, classified: the record's copy would double the plan.
    record.services = Vec::new();
    let groups = if settings.tags.tag_group_members && record.kind == EntityKind::User {
        record
            .groups
            .iter()
            .filter_map(|name| context.groups.get(name.as_str()).map(|group| (*group).clone()))
            .collect()
    } else {
        Vec::new()
    };
    let arn = own_policy_arn(report, &context.snapshot.account_id, &settings.boundary.path);
    let live_policy = context.live.policies.get(&arn).cloned();
    EntityFacts { record, report: report.clone(), groups, live_policy }
}

/// The ARN of the entity's boundary policy, as [`synthesize`] names it.
fn own_policy_arn(report: &EntityReport, account_id: &str, path: &str) -> String {
    crate::boundary::policy_arn(
        crate::boundary::partition_of(&report.arn),
        account_id,
        path,
        &crate::boundary::policy_name(report.kind, &report.name),
    )
}

/// Decides one entity again from the facts a plan recorded, with the same functions
/// [`build_plan`] uses: for an unedited plan, the result equals the plan's entry exactly.
pub fn recompute_entity(plan: &Plan, facts: &EntityFacts) -> EntityPlan {
    let settings = &plan.facts.settings;
    let snapshot = Snapshot {
        schema: crate::snapshot::SNAPSHOT_SCHEMA.to_string(),
        collected_at: plan.snapshot_collected_at,
        account_id: plan.account_id.clone(),
        caller_arn: plan.caller_arn.clone(),
        granularity: plan.facts.granularity,
        attributed: false,
        stats: Default::default(),
        entities: Vec::new(),
    };
    let groups: HashMap<&str, &EntityReport> =
        facts.groups.iter().map(|group| (group.name.as_str(), group)).collect();
    let mut live = LiveState::default();
    if let Some(policy) = &facts.live_policy {
        let arn = own_policy_arn(&facts.report, &plan.account_id, &settings.boundary.path);
        live.policies.insert(arn, policy.clone());
    }
    let caller = plan.caller_arn.as_deref().and_then(Caller::parse);
    let context = Context::new(&snapshot, &live, settings, &groups, caller.as_ref());
    plan_entity(&facts.record, &facts.report, &context)
}

struct Context<'a> {
    snapshot: &'a Snapshot,
    live: &'a LiveState,
    settings: &'a EnforceSettings,
    groups: &'a HashMap<&'a str, &'a EntityReport>,
    caller: Option<&'a Caller>,
    audit: AuditContext<'a>,
}

impl<'a> Context<'a> {
    /// One way to set up the decisions, so `plan` and the verifier's recomputation cannot differ.
    fn new(
        snapshot: &'a Snapshot,
        live: &'a LiveState,
        settings: &'a EnforceSettings,
        groups: &'a HashMap<&'a str, &'a EntityReport>,
        caller: Option<&'a Caller>,
    ) -> Self {
        Context {
            snapshot,
            live,
            settings,
            groups,
            caller,
            audit: AuditContext {
                account_id: &snapshot.account_id,
                action_level: snapshot.granularity == Granularity::Action,
                window_days: settings.window_days,
                collected_at: snapshot.collected_at,
            },
        }
    }
}

fn plan_entity(record: &EntityRecord, report: &EntityReport, context: &Context<'_>) -> EntityPlan {
    let settings = context.settings;
    let mut skips = guardrails::entity_skips(
        record,
        &context.snapshot.account_id,
        context.caller,
        settings,
        context.snapshot.collected_at,
    );
    let mut plan = EntityPlan {
        arn: record.arn.clone(),
        kind: record.kind,
        name: record.name.clone(),
        outcome: Outcome::Unchanged,
        skips: Vec::new(),
        tags: None,
        boundary: None,
        escalation_risks: Vec::new(),
    };
    if skips.iter().any(|skip| skip.scope == SkipScope::Entity) {
        plan.outcome = Outcome::Skipped;
        plan.skips = skips;
        return plan;
    }
    let skipped = |skips: &[Skip], scope| skips.iter().any(|skip| skip.scope == scope);
    let may_tag = !skipped(&skips, SkipScope::Tags);

    // The desired summary: only keys whose value differs from the entity's count as changes.
    let mut wanted: BTreeMap<String, String> = BTreeMap::new();
    if settings.tags.enabled && may_tag {
        let keys = &settings.tags.keys;
        wanted
            .extend(summary_tags(report, keys, context.snapshot.collected_at).unwrap_or_default());
        if settings.tags.tag_group_members && record.kind == EntityKind::User {
            let groups: Vec<&EntityReport> = record
                .groups
                .iter()
                .filter_map(|name| context.groups.get(name.as_str()).copied())
                .collect();
            wanted.extend(group_member_tags(&groups, keys).unwrap_or_default());
        }
    }
    let mut tag_set = changed_tags(&record.tags, wanted);
    // The audit date alone is no change: otherwise every daily run would rewrite every entity.
    if tag_set.keys().all(|key| key.eq_ignore_ascii_case(&settings.tags.keys.audited)) {
        tag_set.clear();
    }

    let mut boundary = None;
    let mut previous_tag = None;
    // Unchanged: its iamsweep boundary is in place, and its risks are still worth naming.
    let mut in_place = false;
    if settings.boundary.enabled && !skipped(&skips, SkipScope::Boundary) {
        match plan_boundary(record, report, context) {
            Ok(Some((change, previous))) => match previous {
                // The previous-boundary tag is the rollback record of last resort: when it
                // cannot be written, the boundary is not changed either.
                Some(Err(reason)) => {
                    skips.push(guardrails::previous_boundary_unrecordable(&reason))
                }
                // `do_not_tag` means no tag at all, this one included: rollback then relies on
                // the journal alone.
                Some(Ok(value)) if may_tag => {
                    previous_tag = Some(value);
                    boundary = Some(change);
                }
                _ => boundary = Some(change),
            },
            Ok(None) => in_place = true,
            Err(skip) => skips.push(skip),
        }
    }

    // Everything goes in one TagUser/TagRole call, which IAM refuses as a whole when the entity
    // would exceed 50 tags; a refused call is reported as a skip, never attempted.
    let existing = record.tags.len();
    let room = |set: &BTreeMap<String, String>| {
        guardrails::no_room_for_tags(existing, new_keys(&record.tags, set))
    };
    let summary = tag_set;
    let mut tag_set = summary.clone();
    let mut checked = false;
    if let Some(value) = previous_tag {
        let previous = BTreeMap::from([(settings.tags.keys.previous_boundary.clone(), value)]);
        let mut combined = summary.clone();
        combined.extend(previous.clone());
        match (room(&combined), room(&previous)) {
            (None, _) => tag_set = combined,
            (Some(no_room), None) => {
                skips.push(no_room);
                tag_set = previous;
            }
            (Some(_), Some(_)) => {
                skips.push(guardrails::no_room_for_previous_boundary(existing));
                boundary = None;
            }
        }
        checked = boundary.is_some();
    }
    if !checked && let Some(no_room) = room(&tag_set).filter(|_| !tag_set.is_empty()) {
        skips.push(no_room);
        tag_set.clear();
    }
    if !tag_set.is_empty() {
        let previous = tag_set
            .keys()
            .map(|key| {
                (key.clone(), find_tag(&record.tags, key).map(|(_, value)| value.to_string()))
            })
            .collect();
        plan.tags = Some(TagChange { set: tag_set, previous });
    }
    plan.escalation_risks = boundary_risks(report, boundary.as_ref(), in_place, context);
    plan.boundary = boundary;
    plan.outcome = if plan.tags.is_some() || plan.boundary.is_some() {
        Outcome::Change
    } else if skips.is_empty() {
        Outcome::Unchanged
    } else {
        Outcome::Skipped
    };
    plan.skips = skips;
    plan
}

type PlannedBoundary = (BoundaryChange, Option<Result<String, String>>);

/// The boundary change of one entity, with the previous-boundary tag value when it attaches.
fn plan_boundary(
    record: &EntityRecord,
    report: &EntityReport,
    context: &Context<'_>,
) -> Result<Option<PlannedBoundary>, Skip> {
    let settings = &context.settings.boundary;
    let document = synthesize(report, settings, &context.audit)
        .map_err(|refusal| guardrails::boundary_refused(&refusal))?;
    // Never plan a document IAM would refuse: the whole plan is checked again before `apply`
    // writes, but a refusal here names the entity instead of refusing the plan.
    validate_managed_policy(&document.document).map_err(|reason| Skip {
        scope: SkipScope::Boundary,
        reason: format!("boundary: its document {reason}"),
    })?;
    let live = context.live.policies.get(&document.policy_arn);
    let create_policy = live.is_none();
    let create_version = live.is_some_and(|policy| {
        canonicalize(&policy.default_document).map_or(true, |current| current != document.document)
    });
    let delete_version = live
        .filter(|_| create_version)
        .and_then(|policy| policy_versions::version_to_delete(&policy.versions));
    let current = record.permissions_boundary.as_deref();
    let attach = current != Some(document.policy_arn.as_str());
    if !(create_policy || create_version || attach) {
        return Ok(None);
    }
    // Record the boundary before iamsweep's only when replacing one that is not iamsweep's: a
    // move between two of ours must keep the original record.
    let previous = (attach
        && !current
            .is_some_and(|arn| is_own_boundary(arn, &context.snapshot.account_id, &settings.path)))
    .then(|| previous_boundary_value(current));
    let change = BoundaryChange {
        effect: BoundaryEffect::of(report, settings),
        policy_name: document.policy_name,
        policy_arn: document.policy_arn,
        path: settings.path.clone(),
        document: document.document,
        create_policy,
        create_version,
        delete_version,
        attach,
        preconditions: Preconditions {
            boundary_arn: current.map(str::to_string),
            default_version_id: live.map(|policy| policy.default_version_id.clone()),
        },
    };
    Ok(Some((change, previous)))
}

/// The escalation paths of the entity's iamsweep boundary: the one planned, or the one in place
/// when it is already what it should be; none when it gets no iamsweep boundary.
fn boundary_risks(
    report: &EntityReport,
    planned: Option<&BoundaryChange>,
    in_place: bool,
    context: &Context<'_>,
) -> Vec<EscalationRisk> {
    let settings = &context.settings.boundary;
    let document = match (planned, in_place) {
        (Some(change), _) => change.document.clone(),
        (None, true) => match synthesize(report, settings, &context.audit) {
            Ok(boundary) => boundary.document,
            Err(_) => return Vec::new(),
        },
        (None, false) => return Vec::new(),
    };
    let partition = partition_of(&report.arn);
    risks_of_document(&document, partition, &context.snapshot.account_id, &settings.path)
}

/// The wanted tags whose value differs from the entity's (keys compared case-insensitively).
fn changed_tags(
    existing: &BTreeMap<String, String>,
    wanted: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    wanted
        .into_iter()
        .filter(|(key, value)| find_tag(existing, key).is_none_or(|(_, current)| current != value))
        .collect()
}

/// How many keys of `set` the entity does not have yet.
fn new_keys(existing: &BTreeMap<String, String>, set: &BTreeMap<String, String>) -> usize {
    set.keys().filter(|key| find_tag(existing, key).is_none()).count()
}
