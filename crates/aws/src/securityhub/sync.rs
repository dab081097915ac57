//! The import the CLI (`iamsweep findings import`) and the Lambda (`IAMSWEEP_SECURITY_HUB`) both
//! run: read what Security Hub holds of iamsweep's findings for the audited account, decide per
//! finding ([`iamsweep_core::securityhub::decide`]), make the findings
//! ([`iamsweep_core::securityhub::outgoing`]) and, unless it is a dry run, send them.

use std::collections::HashMap;

use iamsweep_core::findings::asff::kind_of_arn;
use iamsweep_core::findings::{FindingContext, GENERATOR_ID, finding_id, product_arn};
use iamsweep_core::model::EntityKind;
use iamsweep_core::report::AuditReport;
use iamsweep_core::securityhub::{
    Action, Audited, Counts, Decision, Presence, Scope, confirm_deleted, decide, outgoing,
};
use tokio::time::Instant;

use super::{Owner, existing_findings, existing_of, import};
use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::RetryPolicy;
use crate::retry::call;

/// What to import, where.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The analysed audit.
    pub report: &'a AuditReport,
    /// Security Hub's region.
    pub region: &'a str,
    /// The account calling Security Hub: its custom-integration product receives the findings.
    /// Security Hub takes a finding only from the account it is about (`AwsAccountId`).
    pub importer_account_id: &'a str,
    /// What the report covers.
    pub scope: Scope,
    /// Send the findings (`false`: a dry run, which only reads).
    pub apply: bool,
    /// No `BatchImportFindings` call starts after this instant.
    pub stop: Option<Instant>,
    /// IAM of the audited account, to confirm that an entity the report lacks was deleted.
    pub iam: &'a aws_sdk_iam::Client,
    /// IAM calls per second at most (the run's `--rate`).
    pub iam_rate: f64,
}

/// What happened to one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Result {
    /// Security Hub took it.
    Sent,
    /// It would be sent (dry run).
    WouldSend,
    /// Security Hub did not take it: the code and message say why.
    Failed(String),
    /// Not sent: the deadline came first.
    NotSent,
    /// Nothing to send.
    Left,
}

/// One finding's decision and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The decision.
    pub decision: Decision,
    /// Its severity label, for findings sent.
    pub severity: Option<String>,
    /// What came of it.
    pub result: Result,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// One entry per entity of the report and per finding of a deleted entity.
    pub entries: Vec<Entry>,
    /// The decisions, counted.
    pub counts: Counts,
    /// iamsweep's findings Security Hub held before.
    pub existing: usize,
    /// `BatchImportFindings` calls made.
    pub calls: usize,
}

impl Outcome {
    /// Findings Security Hub did not take.
    pub fn failed(&self) -> usize {
        self.entries.iter().filter(|entry| matches!(entry.result, Result::Failed(_))).count()
    }

    /// Findings the deadline kept from being sent.
    pub fn not_sent(&self) -> usize {
        self.entries.iter().filter(|entry| entry.result == Result::NotSent).count()
    }

    /// Findings sent (or, in a dry run, to be sent).
    pub fn sent(&self) -> usize {
        self.entries
            .iter()
            .filter(|entry| matches!(entry.result, Result::Sent | Result::WouldSend))
            .count()
    }
}

/// Reads, decides and (with `request.apply`) imports. An error is returned only when iamsweep's
/// earlier findings cannot be read: without them no finding can be closed or kept, so nothing
/// is sent. A batch Security Hub refuses fails its findings only.
pub async fn sync(
    client: &aws_sdk_securityhub::Client,
    retry: &RetryPolicy,
    request: &Request<'_>,
) -> std::result::Result<Outcome, CallError> {
    let report = request.report;
    let mut context = FindingContext::for_report(report, request.region);
    context.product_account_id = request.importer_account_id.to_string();
    let partition = context.partition.clone();
    let product = product_arn(&partition, request.region, request.importer_account_id);
    let owner = Owner {
        product_arn: product,
        generator_id: GENERATOR_ID.to_string(),
        account_id: report.account_id.clone(),
    };
    let held = existing_findings(client, retry, &owner).await?;
    let existing: Vec<_> = held.iter().filter_map(existing_of).collect();
    let audited: Vec<Audited> = report
        .entities
        .iter()
        .map(|entity| Audited {
            arn: entity.arn.clone(),
            finding_id: finding_id(&partition, &report.account_id, &entity.arn),
            status: entity.status,
            verdict: entity.verdict,
        })
        .collect();
    let mut decisions = decide(&audited, &existing, &request.scope);
    let pace = Pace::new(request.iam_rate);
    let mut presence = HashMap::new();
    for decision in decisions.iter().filter(|d| d.action == Action::ArchiveDeleted) {
        let arn = decision.entity_arn.clone();
        let found = entity_presence(request.iam, &pace, retry, &arn).await;
        presence.insert(arn, found);
    }
    confirm_deleted(&mut decisions, &presence);
    let findings = outgoing(report, &context, &decisions, &existing);
    let severity: HashMap<usize, String> = findings
        .iter()
        .map(|(index, finding)| (*index, finding.severity.label.as_str().to_string()))
        .collect();
    let mut results: Vec<Result> = decisions
        .iter()
        .enumerate()
        .map(|(index, _)| {
            if !severity.contains_key(&index) {
                Result::Left
            } else if request.apply {
                Result::Sent
            } else {
                Result::WouldSend
            }
        })
        .collect();
    let mut calls = 0;
    if request.apply && !findings.is_empty() {
        // A finding the SDK's model cannot carry fails alone; the others are sent.
        let mut sdk = Vec::with_capacity(findings.len());
        for (index, finding) in &findings {
            match super::asff::to_sdk(finding) {
                Ok(converted) => sdk.push(converted),
                Err(error) => results[*index] = Result::Failed(error.to_string()),
            }
        }
        let imported = import(client, retry, sdk, request.stop).await;
        calls = imported.calls;
        let index_of: HashMap<&str, usize> =
            findings.iter().map(|(index, finding)| (finding.id.as_str(), *index)).collect();
        for failed in &imported.failed {
            if let Some(&index) = index_of.get(failed.id.as_str()) {
                let code = failed.code.as_deref().unwrap_or("error");
                results[index] = Result::Failed(format!("{code}: {}", failed.message));
            }
        }
        for id in &imported.not_sent {
            if let Some(&index) = index_of.get(id.as_str()) {
                results[index] = Result::NotSent;
            }
        }
    }
    let counts = Counts::of(&decisions);
    let entries = decisions
        .into_iter()
        .zip(results)
        .enumerate()
        .map(|(index, (decision, result))| Entry {
            severity: severity.get(&index).cloned(),
            decision,
            result,
        })
        .collect();
    Ok(Outcome { entries, counts, existing: existing.len(), calls })
}

/// Whether IAM still holds the entity of `arn` (`GetUser`, `GetRole` or `GetGroup`).
async fn entity_presence(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    arn: &str,
) -> Presence {
    let (Some(kind), Some(name)) = (kind_of_arn(arn), arn.rsplit('/').next()) else {
        return Presence::Unknown;
    };
    let answer = match kind {
        EntityKind::User => {
            call(pace, retry, "iam:GetUser", arn, || iam.get_user().user_name(name).send())
                .await
                .map(drop)
        }
        EntityKind::Role => {
            call(pace, retry, "iam:GetRole", arn, || iam.get_role().role_name(name).send())
                .await
                .map(drop)
        }
        EntityKind::Group => call(pace, retry, "iam:GetGroup", arn, || {
            iam.get_group().group_name(name).max_items(1).send()
        })
        .await
        .map(drop),
    };
    match answer {
        Ok(()) => Presence::Present,
        Err(error) if error.is_no_such_entity() => Presence::Gone,
        Err(error) => {
            tracing::warn!("cannot tell whether `{arn}` was deleted: {error}");
            Presence::Unknown
        }
    }
}

/// One line per finding, for people: `would create`, `updated`, `archived`, `left`... and why.
pub fn line(entry: &Entry) -> String {
    let verb = entry.decision.action.verb();
    let done = match &entry.result {
        Result::Left => "leave".to_string(),
        Result::WouldSend => format!("would {verb}"),
        Result::Sent => match verb {
            "create" => "created".to_string(),
            "update" => "updated".to_string(),
            _ => "archived".to_string(),
        },
        Result::Failed(_) => format!("FAILED to {verb}"),
        Result::NotSent => format!("not sent ({verb})"),
    };
    let why = match (&entry.decision.action, &entry.result) {
        (_, Result::Failed(message)) => message.clone(),
        (Action::Leave(reason), _) => (*reason).to_string(),
        (Action::ArchiveCompliant { .. }, _) => "compliant now".to_string(),
        (Action::ArchiveDeleted, _) => "deleted since".to_string(),
        (_, Result::NotSent) => "the deadline came first; the next run sends it".to_string(),
        _ => entry.severity.clone().unwrap_or_default(),
    };
    format!("{done} {}: {why}", entry.decision.entity_arn)
}
