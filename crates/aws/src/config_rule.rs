//! The AWS Config custom rule's answers: one evaluation per user, role or group, sent with
//! `PutEvaluations`.
//!
//! Verdicts come from the same `check` rules as the CLI ([`iamsweep_core::compliance`]).
//! Config's limits shape this module: at most 100 evaluations a call, an annotation of at most
//! 256 characters, and only `COMPLIANT`, `NON_COMPLIANT` and `NOT_APPLICABLE` accepted from a
//! rule (`INSUFFICIENT_DATA` is Config's own). An entity whose data could not be collected gets
//! no evaluation at all, so Config keeps its last known verdict instead of a false "compliant";
//! the caller reports it. See
//! <https://docs.aws.amazon.com/config/latest/APIReference/API_PutEvaluations.html>.

use aws_sdk_config::types::{ComplianceType, Evaluation as SdkEvaluation};
use iamsweep_core::analysis::analyze_entity;
use iamsweep_core::compliance::Rules;
use iamsweep_core::model::{EntityKind, EntityRecord, Status};
use iamsweep_core::report::Verdict;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// Evaluations per `PutEvaluations` call at most.
pub const MAX_EVALUATIONS_PER_CALL: usize = 100;
/// Characters of an annotation at most.
pub const MAX_ANNOTATION_CHARS: usize = 256;

/// A verdict Config accepts from a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compliance {
    /// No rule broken.
    Compliant,
    /// At least one rule broken.
    NonCompliant,
    /// The rule does not apply: deleted resources, service-linked roles.
    NotApplicable,
}

impl Compliance {
    /// Config's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// One answer for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// `AWS::IAM::User`, `AWS::IAM::Role` or `AWS::IAM::Group`; for an item of another type
    /// (answered `NOT_APPLICABLE`), that item's own type.
    pub resource_type: String,
    /// The resource id Config uses for IAM: the unique id (`AIDA...`, `AROA...`, `AGPA...`).
    pub resource_id: String,
    /// The verdict.
    pub compliance: Compliance,
    /// Why, within [`MAX_ANNOTATION_CHARS`].
    pub annotation: String,
    /// The time of the facts judged: the configuration item's capture time, or the periodic
    /// notification's time. Config keeps the evaluation with the latest timestamp.
    pub ordering: OffsetDateTime,
}

/// Config's resource type of an entity kind.
pub fn resource_type(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "AWS::IAM::User",
        EntityKind::Role => "AWS::IAM::Role",
        EntityKind::Group => "AWS::IAM::Group",
    }
}

/// The entity kind of a Config resource type, when it is one iamsweep evaluates.
pub fn kind_of(resource_type: &str) -> Option<EntityKind> {
    match resource_type {
        "AWS::IAM::User" => Some(EntityKind::User),
        "AWS::IAM::Role" => Some(EntityKind::Role),
        "AWS::IAM::Group" => Some(EntityKind::Group),
        _ => None,
    }
}

/// Whether a role path is a service-linked role's (AWS manages its policies).
pub fn is_service_linked(path: &str) -> bool {
    path.starts_with("/aws-service-role/")
}

/// Cuts `text` to [`MAX_ANNOTATION_CHARS`] characters, ending with an ellipsis when cut.
pub fn annotation(text: &str) -> String {
    if text.chars().count() <= MAX_ANNOTATION_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_ANNOTATION_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The evaluation of one collected entity, or `None` when its data is missing (error or
/// skipped): no answer keeps Config's last verdict rather than inventing one.
pub fn evaluate(
    entity: &EntityRecord,
    rules: &Rules,
    now: OffsetDateTime,
    ordering: OffsetDateTime,
) -> Option<Evaluation> {
    let resource_id = entity.id.clone().unwrap_or_else(|| entity.name.clone());
    let resource_type = resource_type(entity.kind).to_string();
    if entity.kind == EntityKind::Role && is_service_linked(&entity.path) {
        return Some(Evaluation {
            resource_type,
            resource_id,
            compliance: Compliance::NotApplicable,
            annotation: "service-linked role: its policies belong to AWS".to_string(),
            ordering,
        });
    }
    if entity.status != Status::Ok {
        return None;
    }
    let report = analyze_entity(entity, rules, now);
    let (compliance, text) = match report.verdict? {
        Verdict::Compliant => (
            Compliance::Compliant,
            format!("{} of {} granted services used", report.used, report.granted),
        ),
        Verdict::NonCompliant => (Compliance::NonCompliant, report.reasons.join("; ")),
    };
    Some(Evaluation {
        resource_type,
        resource_id,
        compliance,
        annotation: annotation(&text),
        ordering,
    })
}

/// The evaluation of a resource Config reports deleted.
pub fn deleted(kind: EntityKind, resource_id: &str, ordering: OffsetDateTime) -> Evaluation {
    not_applicable(resource_type(kind), resource_id, "deleted", ordering)
}

/// A `NOT_APPLICABLE` answer for a resource of any type.
pub fn not_applicable(
    resource_type: &str,
    resource_id: &str,
    annotation: &str,
    ordering: OffsetDateTime,
) -> Evaluation {
    Evaluation {
        resource_type: resource_type.to_string(),
        resource_id: resource_id.to_string(),
        compliance: Compliance::NotApplicable,
        annotation: self::annotation(annotation),
        ordering,
    }
}

/// The facts of a configuration item that decide how it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemFacts<'a> {
    /// `resourceType`.
    pub resource_type: &'a str,
    /// `configurationItemStatus`.
    pub status: &'a str,
    /// The event's `eventLeftScope`.
    pub left_scope: bool,
    /// The IAM path, when the item carries its configuration (an oversized item does not).
    pub path: Option<&'a str>,
}

/// How a configuration item is answered, decided from the item alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemAnswer {
    /// `NOT_APPLICABLE` for the item's own type and id, with this annotation, and no IAM call.
    NotApplicable(&'static str),
    /// Read this entity and evaluate it.
    Evaluate(EntityKind),
}

/// The answer to one configuration item, in this order (as AWS Config and the RDK's
/// boilerplate do): a resource that left the rule's scope or was deleted is `NOT_APPLICABLE`;
/// a resource of a type iamsweep does not evaluate (the rule's scope let, say, an EC2 instance
/// in) is `NOT_APPLICABLE` under its own type and id, never an evaluation of a made-up IAM
/// entity; a service-linked role is `NOT_APPLICABLE`; any other user, role or group is read
/// and evaluated.
pub fn item_answer(item: ItemFacts<'_>) -> ItemAnswer {
    if item.left_scope {
        return ItemAnswer::NotApplicable("left the rule's scope");
    }
    if matches!(item.status, "ResourceDeleted" | "ResourceDeletedNotRecorded") {
        return ItemAnswer::NotApplicable("deleted");
    }
    let Some(kind) = kind_of(item.resource_type) else {
        return ItemAnswer::NotApplicable(
            "not an IAM user, role or group: iamsweep does not evaluate it",
        );
    };
    if kind == EntityKind::Role && item.path.is_some_and(is_service_linked) {
        return ItemAnswer::NotApplicable("service-linked role: its policies belong to AWS");
    }
    ItemAnswer::Evaluate(kind)
}

/// What `PutEvaluations` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Evaluations sent: always the first ones of the list given.
    pub evaluations: usize,
    /// Calls made.
    pub calls: usize,
    /// Evaluations Config reported as failed.
    pub failed: usize,
}

/// Sends `evaluations` in calls of at most [`MAX_EVALUATIONS_PER_CALL`].
pub async fn put_evaluations(
    config: &aws_sdk_config::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    result_token: &str,
    evaluations: &[Evaluation],
) -> Result<Sent, CallError> {
    put_evaluations_until(config, pace, retry, result_token, evaluations, None).await
}

/// Sends `evaluations` in calls of at most [`MAX_EVALUATIONS_PER_CALL`], starting no call once
/// `stop` has passed (the Lambda's deadline less its safety margin): the evaluations after
/// `Sent::evaluations` were not sent, and the caller leaves their entities for the next run.
pub async fn put_evaluations_until(
    config: &aws_sdk_config::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    result_token: &str,
    evaluations: &[Evaluation],
    stop: Option<Instant>,
) -> Result<Sent, CallError> {
    let mut sent = Sent::default();
    for chunk in evaluations.chunks(MAX_EVALUATIONS_PER_CALL) {
        if stop.is_some_and(|stop| Instant::now() >= stop) {
            break;
        }
        let batch: Vec<SdkEvaluation> = chunk.iter().map(to_sdk).collect();
        let output = call(pace, retry, "config:PutEvaluations", result_token, || {
            config
                .put_evaluations()
                .set_evaluations(Some(batch.clone()))
                .result_token(result_token)
                .send()
        })
        .await?;
        sent.calls += 1;
        sent.evaluations += chunk.len();
        sent.failed += output.failed_evaluations().len();
    }
    Ok(sent)
}

fn to_sdk(evaluation: &Evaluation) -> SdkEvaluation {
    let ordering = aws_smithy_types::DateTime::from_secs(evaluation.ordering.unix_timestamp());
    SdkEvaluation::builder()
        .compliance_resource_type(&evaluation.resource_type)
        .compliance_resource_id(&evaluation.resource_id)
        .compliance_type(ComplianceType::from(evaluation.compliance.as_str()))
        .annotation(&evaluation.annotation)
        .ordering_timestamp(ordering)
        .build()
        .expect("type, id, compliance and timestamp are always set")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn annotations_fit_configs_limit() {
        assert_eq!(annotation("short"), "short");
        let long = "é".repeat(300);
        let cut = annotation(&long);
        assert_eq!(cut.chars().count(), MAX_ANNOTATION_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn service_linked_roles_are_not_applicable_even_without_data() {
        let mut role = EntityRecord::new(
            EntityKind::Role,
            "arn:aws:iam::111122223333:role/aws-service-role/x/AWSServiceRoleForX",
            "AWSServiceRoleForX",
        );
        role.path = "/aws-service-role/x.amazonaws.com/".to_string();
        role.status = Status::Error;
        role.id = Some("AROAEXAMPLE".to_string());
        let now = datetime!(2026-11-23 12:00 UTC);
        let evaluation = evaluate(&role, &Rules::new(180), now, now).unwrap();
        assert_eq!(evaluation.compliance, Compliance::NotApplicable);
        assert_eq!(evaluation.resource_id, "AROAEXAMPLE");
    }

    #[test]
    fn items_are_answered_by_scope_status_and_type_before_any_read() {
        let facts = |resource_type, status, left_scope, path| ItemFacts {
            resource_type,
            status,
            left_scope,
            path,
        };
        let user = "AWS::IAM::User";
        assert_eq!(
            item_answer(facts(user, "OK", false, None)),
            ItemAnswer::Evaluate(EntityKind::User)
        );
        assert_eq!(
            item_answer(facts(user, "OK", true, None)),
            ItemAnswer::NotApplicable("left the rule's scope")
        );
        for status in ["ResourceDeleted", "ResourceDeletedNotRecorded"] {
            assert_eq!(
                item_answer(facts(user, status, false, None)),
                ItemAnswer::NotApplicable("deleted")
            );
        }
        assert!(matches!(
            item_answer(facts("AWS::EC2::Instance", "OK", false, None)),
            ItemAnswer::NotApplicable(_)
        ));
        assert!(matches!(
            item_answer(facts("AWS::IAM::Role", "OK", false, Some("/aws-service-role/x/"))),
            ItemAnswer::NotApplicable(_)
        ));
        assert_eq!(
            item_answer(facts("AWS::IAM::Group", "ResourceDiscovered", false, Some("/"))),
            ItemAnswer::Evaluate(EntityKind::Group)
        );
    }

    #[test]
    fn entities_without_data_get_no_evaluation() {
        let mut user = EntityRecord::new(EntityKind::User, "arn:aws:iam::1:user/a", "a");
        user.status = Status::Skipped;
        let now = datetime!(2026-11-23 12:00 UTC);
        assert_eq!(evaluate(&user, &Rules::new(180), now, now), None);
    }
}
