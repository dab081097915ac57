//! What an import into AWS Security Hub does with each finding: the decisions of
//! `iamsweep findings import` and of the Lambda's import, made here once from what the report
//! says and what Security Hub already holds.
//!
//! A provider closes its finding by importing it again with `RecordState: ARCHIVED`; after
//! creation the finding's `Workflow`, `Note`, `UserDefinedFields`, `VerificationState`,
//! `Confidence` and `Criticality` belong to the customer (`BatchUpdateFindings`), so iamsweep's
//! findings never carry them (see
//! <https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html>).
//! The rules, per entity of the report and per finding Security Hub holds:
//!
//! | the entity | its earlier finding | sent |
//! |---|---|---|
//! | non-compliant | none, or any | the report's finding, `ACTIVE`, keeping the earlier `FirstObservedAt` and `CreatedAt` |
//! | compliant | `ACTIVE`, or not yet `PASSED` | the report's finding, `ARCHIVED` and `PASSED`, keeping its dates |
//! | compliant | none, or already archived and passed | nothing: there is nothing to close |
//! | not evaluated (`error`) | none | the report's finding (`NOT_AVAILABLE`), so someone looks |
//! | not evaluated (`error`) | any | nothing: no data is no reason to close or change it |
//! | skipped | any | nothing |
//! | absent from the report, of a kind audited, not excluded by a selection, and IAM answers `NoSuchEntity` for it | `ACTIVE` | the earlier finding again, `ARCHIVED` (the entity was deleted) |
//!
//! The last row is decided in two steps: [`decide`] names the candidates, the AWS side reads
//! each from IAM, and [`confirm_deleted`] keeps only those IAM no longer holds. A report can
//! lack an entity that exists (a selection, an edited snapshot, a run that resumed a pass), and
//! closing its finding would hide work not done.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::findings::FindingContext;
use crate::findings::asff::{self, kind_of_arn};
use crate::model::{EntityKind, Status};
use crate::report::{AuditReport, EntityReport, Verdict};

/// `RecordState` of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// In the team's queue.
    Active,
    /// Closed by its provider.
    Archived,
}

impl RecordState {
    /// ASFF's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Active => "ACTIVE",
            RecordState::Archived => "ARCHIVED",
        }
    }

    /// Reads ASFF's spelling; anything but `ARCHIVED` is in the queue.
    pub fn parse(text: &str) -> RecordState {
        if text == "ARCHIVED" { RecordState::Archived } else { RecordState::Active }
    }
}

/// What Security Hub holds of one of iamsweep's findings, as `GetFindings` returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// `Id`.
    pub id: String,
    /// `Resources[0].Id`: the entity's ARN.
    pub resource_arn: String,
    /// `RecordState`.
    pub record_state: RecordState,
    /// `Compliance.Status`, when set.
    pub compliance: Option<String>,
    /// `FirstObservedAt`, when set: kept by every later import.
    pub first_observed_at: Option<String>,
    /// `CreatedAt`: kept by every later import.
    pub created_at: Option<String>,
}

/// One entity of the report, as far as the import cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audited {
    /// The entity's ARN.
    pub arn: String,
    /// The id of its finding (the findings module's stable id).
    pub finding_id: String,
    /// Whether its data was collected.
    pub status: Status,
    /// Its verdict, when it could be evaluated.
    pub verdict: Option<Verdict>,
}

/// What the report covers, so that an entity outside it is not taken for deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The kinds audited.
    pub kinds: Vec<EntityKind>,
    /// Whether a selection (by name, path or tag) left entities of these kinds out: then an
    /// entity absent from the report may exist, and no finding is archived for its absence.
    pub narrowed: bool,
}

/// The dates an update keeps from the earlier finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    /// `FirstObservedAt` of the earlier finding.
    pub first_observed_at: Option<String>,
    /// `CreatedAt` of the earlier finding.
    pub created_at: Option<String>,
}

/// What is sent for one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The report's finding, `ACTIVE`: new when `kept` is `None`, else an update keeping the
    /// earlier dates.
    Import {
        /// The earlier finding's dates.
        kept: Option<Kept>,
    },
    /// The report's finding, `ARCHIVED` with `Compliance.Status: PASSED`: the entity is now
    /// compliant.
    ArchiveCompliant {
        /// The earlier finding's dates.
        kept: Kept,
    },
    /// The earlier finding again, `ARCHIVED`: its entity no longer exists.
    ArchiveDeleted,
    /// Nothing is sent; the reason says why.
    Leave(&'static str),
}

impl Action {
    /// Whether the action sends a finding.
    pub fn sends(&self) -> bool {
        !matches!(self, Action::Leave(_))
    }

    /// A word for the dry run and the summary: `create`, `update`, `archive` or `leave`.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Import { kept: None } => "create",
            Action::Import { kept: Some(_) } => "update",
            Action::ArchiveCompliant { .. } | Action::ArchiveDeleted => "archive",
            Action::Leave(_) => "leave",
        }
    }
}

/// The decision about one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The finding's id.
    pub finding_id: String,
    /// The entity it is about.
    pub entity_arn: String,
    /// What is sent.
    pub action: Action,
}

/// Decides, for every entity of the report and every earlier finding, what the import sends
/// (see the module's table). The report's entities come first, in their order, then the
/// findings of deleted entities in the order Security Hub gave them.
pub fn decide(audited: &[Audited], existing: &[Existing], scope: &Scope) -> Vec<Decision> {
    let by_id: HashMap<&str, &Existing> =
        existing.iter().map(|finding| (finding.id.as_str(), finding)).collect();
    let mut decisions = Vec::with_capacity(audited.len());
    for entity in audited {
        let earlier = by_id.get(entity.finding_id.as_str()).copied();
        let kept = earlier.map(|earlier| Kept {
            first_observed_at: earlier.first_observed_at.clone(),
            created_at: earlier.created_at.clone(),
        });
        let action = match (entity.status, entity.verdict) {
            (_, Some(Verdict::NonCompliant)) => Action::Import { kept },
            (_, Some(Verdict::Compliant)) => match earlier {
                Some(earlier)
                    if earlier.record_state == RecordState::Active
                        || earlier.compliance.as_deref() != Some("PASSED") =>
                {
                    Action::ArchiveCompliant { kept: kept.unwrap_or_default() }
                }
                Some(_) => Action::Leave("compliant; its finding is already archived"),
                None => Action::Leave("compliant; no finding to close"),
            },
            (Status::Skipped, None) => Action::Leave("skipped; its finding is left as it is"),
            (_, None) => match earlier {
                None => Action::Import { kept: None },
                Some(_) => Action::Leave("could not be evaluated; its finding is left as it is"),
            },
        };
        decisions.push(Decision {
            finding_id: entity.finding_id.clone(),
            entity_arn: entity.arn.clone(),
            action,
        });
    }
    let reported: HashSet<&str> = audited.iter().map(|entity| entity.finding_id.as_str()).collect();
    for earlier in existing {
        if reported.contains(earlier.id.as_str()) || earlier.record_state == RecordState::Archived {
            continue;
        }
        let in_scope = !scope.narrowed
            && kind_of_arn(&earlier.resource_arn).is_some_and(|kind| scope.kinds.contains(&kind));
        if in_scope {
            decisions.push(Decision {
                finding_id: earlier.id.clone(),
                entity_arn: earlier.resource_arn.clone(),
                action: Action::ArchiveDeleted,
            });
        }
    }
    decisions
}

/// What IAM says of an entity a report lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// `NoSuchEntity`: deleted.
    Gone,
    /// IAM holds it: it is only outside this audit.
    Present,
    /// The read failed (access denied, throttled...): it cannot be told.
    Unknown,
}

/// Keeps an [`Action::ArchiveDeleted`] only for an entity IAM answered `Gone` for; the others
/// are left alone, with the reason. `presence` maps entity ARNs to what IAM said; an ARN it
/// lacks counts as [`Presence::Unknown`].
pub fn confirm_deleted(decisions: &mut [Decision], presence: &HashMap<String, Presence>) {
    for decision in decisions.iter_mut().filter(|d| d.action == Action::ArchiveDeleted) {
        decision.action = match presence.get(&decision.entity_arn) {
            Some(Presence::Gone) => Action::ArchiveDeleted,
            Some(Presence::Present) => {
                Action::Leave("not in this audit, and IAM still holds it; its finding is left")
            }
            Some(Presence::Unknown) | None => {
                Action::Leave("not in this audit, and IAM could not say whether it exists")
            }
        };
    }
}

/// Counts of decisions by verb, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// New findings.
    pub create: usize,
    /// Findings updated in place.
    pub update: usize,
    /// Findings archived (compliant or deleted entities).
    pub archive: usize,
    /// Findings left alone.
    pub leave: usize,
}

impl Counts {
    /// Counts `decisions`.
    pub fn of(decisions: &[Decision]) -> Counts {
        let mut counts = Counts::default();
        for decision in decisions {
            match decision.action.verb() {
                "create" => counts.create += 1,
                "update" => counts.update += 1,
                "archive" => counts.archive += 1,
                _ => counts.leave += 1,
            }
        }
        counts
    }
}

/// The findings an import sends, each with the index of its decision in `decisions`: the
/// report's finding (made by [`crate::findings::asff`]) for an entity to create, update or
/// archive, keeping the earlier finding's first observation; a closing finding for a deleted
/// entity. Decisions that send nothing have no finding.
pub fn outgoing(
    report: &AuditReport,
    context: &FindingContext,
    decisions: &[Decision],
    existing: &[Existing],
) -> Vec<(usize, asff::Finding)> {
    let entities: HashMap<&str, &EntityReport> =
        report.entities.iter().map(|entity| (entity.arn.as_str(), entity)).collect();
    let earlier: HashMap<&str, &Existing> =
        existing.iter().map(|finding| (finding.id.as_str(), finding)).collect();
    let mut out = Vec::new();
    for (index, decision) in decisions.iter().enumerate() {
        let first_seen =
            earlier.get(decision.finding_id.as_str()).and_then(|earlier| earlier.first_seen());
        let finding = match (&decision.action, entities.get(decision.entity_arn.as_str())) {
            (Action::Import { .. }, Some(entity)) => asff::finding(entity, report, context),
            (Action::ArchiveCompliant { .. }, Some(entity)) => {
                asff::finding(entity, report, context).archived()
            }
            (Action::ArchiveDeleted, _) => {
                let Some(kind) = kind_of_arn(&decision.entity_arn) else { continue };
                asff::deleted(kind, &decision.entity_arn, &report.account_id, context)
            }
            _ => continue,
        };
        let mut finding = match first_seen {
            Some(first_seen) => finding.observed_since(first_seen),
            None => finding,
        };
        // The id Security Hub holds is the one to update, whatever the id rule makes of it.
        finding.id = decision.finding_id.clone();
        out.push((index, finding));
    }
    out
}

impl Existing {
    /// The earlier of `FirstObservedAt` and `CreatedAt`, when Security Hub gave a readable one.
    pub fn first_seen(&self) -> Option<OffsetDateTime> {
        [&self.first_observed_at, &self.created_at]
            .into_iter()
            .filter_map(|text| text.as_deref())
            .filter_map(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audited(name: &str, status: Status, verdict: Option<Verdict>) -> Audited {
        let arn = format!("arn:aws:iam::111122223333:role/{name}");
        Audited { finding_id: format!("id/{arn}"), arn, status, verdict }
    }

    fn existing(name: &str, state: RecordState, compliance: &str) -> Existing {
        let arn = format!("arn:aws:iam::111122223333:role/{name}");
        Existing {
            id: format!("id/{arn}"),
            resource_arn: arn,
            record_state: state,
            compliance: Some(compliance.to_string()),
            first_observed_at: Some("2026-01-01T00:00:00Z".to_string()),
            created_at: Some("2026-01-02T00:00:00Z".to_string()),
        }
    }

    fn scope() -> Scope {
        Scope { kinds: EntityKind::ALL.to_vec(), narrowed: false }
    }

    fn actions(decisions: &[Decision]) -> Vec<(String, Action)> {
        decisions
            .iter()
            .map(|d| (d.entity_arn.rsplit('/').next().unwrap().to_string(), d.action.clone()))
            .collect()
    }

    #[test]
    fn each_entity_gets_the_action_of_the_table() {
        use RecordState::*;
        let kept = Kept {
            first_observed_at: Some("2026-01-01T00:00:00Z".to_string()),
            created_at: Some("2026-01-02T00:00:00Z".to_string()),
        };
        let report = [
            audited("new", Status::Ok, Some(Verdict::NonCompliant)),
            audited("again", Status::Ok, Some(Verdict::NonCompliant)),
            audited("fixed", Status::Ok, Some(Verdict::Compliant)),
            audited("clean", Status::Ok, Some(Verdict::Compliant)),
            audited("closed", Status::Ok, Some(Verdict::Compliant)),
            audited("broken", Status::Error, None),
            audited("broken-known", Status::Error, None),
            audited("skipped", Status::Skipped, None),
        ];
        let earlier = [
            existing("again", Active, "FAILED"),
            existing("fixed", Active, "FAILED"),
            existing("closed", Archived, "PASSED"),
            existing("broken-known", Active, "FAILED"),
            existing("skipped", Active, "FAILED"),
            existing("gone", Active, "FAILED"),
            existing("gone-closed", Archived, "FAILED"),
        ];
        let decisions = decide(&report, &earlier, &scope());
        let expected = vec![
            ("new".to_string(), Action::Import { kept: None }),
            ("again".to_string(), Action::Import { kept: Some(kept.clone()) }),
            ("fixed".to_string(), Action::ArchiveCompliant { kept }),
            ("clean".to_string(), Action::Leave("compliant; no finding to close")),
            ("closed".to_string(), Action::Leave("compliant; its finding is already archived")),
            ("broken".to_string(), Action::Import { kept: None }),
            (
                "broken-known".to_string(),
                Action::Leave("could not be evaluated; its finding is left as it is"),
            ),
            ("skipped".to_string(), Action::Leave("skipped; its finding is left as it is")),
            ("gone".to_string(), Action::ArchiveDeleted),
        ];
        assert_eq!(actions(&decisions), expected);
        let counts = Counts::of(&decisions);
        assert_eq!((counts.create, counts.update, counts.archive, counts.leave), (2, 1, 2, 4));
    }

    #[test]
    fn an_entity_outside_the_audit_is_never_taken_for_deleted() {
        let earlier = [existing("elsewhere", RecordState::Active, "FAILED")];
        // Only users audited: the role may well exist.
        let users = Scope { kinds: vec![EntityKind::User], narrowed: false };
        assert!(decide(&[], &earlier, &users).is_empty());
        // A selection by name left entities out.
        let narrowed = Scope { kinds: EntityKind::ALL.to_vec(), narrowed: true };
        assert!(decide(&[], &earlier, &narrowed).is_empty());
        // A finding whose resource is not an IAM entity ARN is not ours to close.
        let mut odd = earlier[0].clone();
        odd.resource_arn = "arn:aws:s3:::bucket".to_string();
        assert!(decide(&[], &[odd], &scope()).is_empty());
        assert_eq!(
            actions(&decide(&[], &earlier, &scope())),
            vec![("elsewhere".to_string(), Action::ArchiveDeleted)]
        );
    }

    #[test]
    fn outgoing_findings_keep_the_first_observation_and_close_what_is_done() {
        use crate::analysis::analyze;
        use crate::compliance::Rules;
        use crate::findings::asff::{ComplianceStatus, RecordState as AsffState};
        use crate::snapshot::Snapshot;
        use time::macros::datetime;

        let snapshot =
            Snapshot::from_json(include_str!("../../../examples/demo-snapshot.json")).unwrap();
        let report = analyze(&snapshot, &Rules::new(180), datetime!(2026-11-23 12:00 UTC));
        let context = FindingContext::for_report(&report, "eu-west-1");
        let failing = report
            .entities
            .iter()
            .find(|e| e.verdict == Some(Verdict::NonCompliant))
            .expect("a non-compliant entity");
        let passing = report
            .entities
            .iter()
            .find(|e| e.verdict == Some(Verdict::Compliant))
            .expect("a compliant entity");
        let id = |arn: &str| crate::findings::finding_id("aws", &report.account_id, arn);
        let gone_arn = format!("arn:aws:iam::{}:role/gone", report.account_id);
        let earlier = |arn: &str, first: &str| Existing {
            id: id(arn),
            resource_arn: arn.to_string(),
            record_state: RecordState::Active,
            compliance: Some("FAILED".to_string()),
            first_observed_at: Some(first.to_string()),
            created_at: Some("2026-03-01T00:00:00.000Z".to_string()),
        };
        let existing = vec![
            earlier(&failing.arn, "2026-02-01T00:00:00.000Z"),
            earlier(&passing.arn, "2026-02-02T00:00:00Z"),
            earlier(&gone_arn, "2026-02-03T00:00:00Z"),
        ];
        let audited: Vec<Audited> = report
            .entities
            .iter()
            .map(|e| Audited {
                arn: e.arn.clone(),
                finding_id: id(&e.arn),
                status: e.status,
                verdict: e.verdict,
            })
            .collect();
        let scope = Scope { kinds: EntityKind::ALL.to_vec(), narrowed: false };
        let decisions = decide(&audited, &existing, &scope);
        let sent = outgoing(&report, &context, &decisions, &existing);
        let by_arn = |arn: &str| {
            sent.iter()
                .map(|(_, finding)| finding)
                .find(|finding| finding.resources[0].id == arn)
                .unwrap_or_else(|| panic!("a finding for {arn}"))
        };
        let updated = by_arn(&failing.arn);
        assert_eq!(updated.first_observed_at, datetime!(2026-02-01 00:00 UTC));
        assert_eq!(updated.created_at, datetime!(2026-02-01 00:00 UTC));
        assert_eq!(updated.record_state, AsffState::Active);
        assert_eq!(updated.id, id(&failing.arn));
        let closed = by_arn(&passing.arn);
        assert_eq!(closed.record_state, AsffState::Archived);
        assert_eq!(closed.compliance.status, ComplianceStatus::Passed);
        assert_eq!(closed.first_observed_at, datetime!(2026-02-02 00:00 UTC));
        let gone = by_arn(&gone_arn);
        assert_eq!(gone.record_state, AsffState::Archived);
        assert_eq!(gone.first_observed_at, datetime!(2026-02-03 00:00 UTC));
        // Every decision that sends has exactly one finding; the others none.
        let sending = decisions.iter().filter(|d| d.action.sends()).count();
        assert_eq!(sent.len(), sending);
    }

    #[test]
    fn only_an_entity_iam_no_longer_holds_is_taken_for_deleted() {
        let earlier = [
            existing("gone", RecordState::Active, "FAILED"),
            existing("elsewhere", RecordState::Active, "FAILED"),
            existing("unreadable", RecordState::Active, "FAILED"),
        ];
        let mut decisions = decide(&[], &earlier, &scope());
        let arn = |name: &str| format!("arn:aws:iam::111122223333:role/{name}");
        let presence = HashMap::from([
            (arn("gone"), Presence::Gone),
            (arn("elsewhere"), Presence::Present),
            (arn("unreadable"), Presence::Unknown),
        ]);
        confirm_deleted(&mut decisions, &presence);
        let verbs: Vec<&str> = decisions.iter().map(|d| d.action.verb()).collect();
        assert_eq!(verbs, ["archive", "leave", "leave"]);
    }
}
