//! The applier: carries out a [`Plan`], entity by entity, each write paced and retried.
//!
//! Per entity, in this order, so that an interruption at any point leaves the entity either
//! unchanged or converging on the next run:
//!
//! 1. read the entity's boundary and the policy's default version again, and refuse the change
//!    when IAM no longer holds what the plan saw ([`check_preconditions`]);
//! 2. write the journal entry (the state about to be replaced), before any write;
//! 3. create the policy, or make room (delete the oldest non-default version at five) and
//!    create a new default version: an unattached policy changes nobody's permissions;
//! 4. write every tag in one `TagUser`/`TagRole` call, the previous-boundary tag included, so the
//!    rollback record exists before the boundary moves;
//! 5. attach the boundary.
//!
//! A failure stops that entity only; the others go on. Nothing here decides anything: the plan
//! did, in `iamsweep-core`.

use aws_sdk_iam::types::Tag;
use iamsweep_core::journal::JournalEntry;
use iamsweep_core::model::EntityKind;
use iamsweep_core::plan::{BoundaryChange, EntityPlan, Outcome, Plan, check_preconditions};
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::CallError;
use crate::journal::JournalStore;
use crate::live::{default_version, entity_state, version_to_delete, versions};
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// What happened to one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every planned write succeeded.
    Changed,
    /// The plan had nothing to write.
    Unchanged,
    /// The plan left it alone (guardrails).
    Skipped,
    /// A write failed or a precondition no longer held; `detail` says which.
    Failed,
}

/// The result of one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The entity's ARN.
    pub arn: String,
    /// User or role (or group, always skipped).
    pub kind: EntityKind,
    /// Its name.
    pub name: String,
    /// What happened.
    pub status: Status,
    /// The writes made (or, in a dry run, that would be made).
    pub actions: Vec<String>,
    /// The skip reasons, or the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What an applier needs.
#[derive(Debug)]
pub struct Applier<'a> {
    /// IAM.
    pub iam: &'a aws_sdk_iam::Client,
    /// The run's shared pace.
    pub pace: &'a Pace,
    /// Retries.
    pub retry: RetryPolicy,
    /// Where journal entries go.
    pub journal: &'a JournalStore,
    /// This run's id.
    pub run_id: String,
}

/// The writes an entity's plan makes, as sentences (the dry run prints these).
pub fn describe(entity: &EntityPlan) -> Vec<String> {
    let mut actions = Vec::new();
    if let Some(change) = &entity.boundary {
        if change.create_policy {
            actions.push(format!("create policy `{}`", change.policy_arn));
        }
        if let Some(version) = &change.delete_version {
            actions.push(format!(
                "delete version {version} of `{}` (the oldest non-default of five)",
                change.policy_arn
            ));
        }
        if change.create_version {
            actions.push(format!("create a new default version of `{}`", change.policy_arn));
        }
    }
    if let Some(tags) = &entity.tags {
        let keys: Vec<&str> = tags.set.keys().map(String::as_str).collect();
        actions.push(format!("tag {}", keys.join(", ")));
    }
    if let Some(change) = entity.boundary.as_ref().filter(|change| change.attach) {
        let was = change
            .preconditions
            .boundary_arn
            .as_deref()
            .map_or("none".to_string(), |arn| format!("`{arn}`"));
        actions.push(format!("attach boundary `{}` (was {was})", change.policy_arn));
    }
    actions
}

impl Applier<'_> {
    /// Applies every entity of the plan, in order, and reports each one.
    pub async fn apply(&self, plan: &Plan, now: impl Fn() -> OffsetDateTime) -> Vec<Applied> {
        let mut results = Vec::with_capacity(plan.entities.len());
        let mut sequence = 0;
        for entity in &plan.entities {
            let mut applied = Applied {
                arn: entity.arn.clone(),
                kind: entity.kind,
                name: entity.name.clone(),
                status: Status::Unchanged,
                actions: Vec::new(),
                detail: None,
            };
            let reasons = || {
                let reasons: Vec<&str> =
                    entity.skips.iter().map(|skip| skip.reason.as_str()).collect();
                (!reasons.is_empty()).then(|| reasons.join("; "))
            };
            match entity.outcome {
                Outcome::Skipped => {
                    applied.status = Status::Skipped;
                    applied.detail = reasons();
                }
                Outcome::Unchanged => {}
                Outcome::Change => {
                    sequence += 1;
                    match self.apply_entity(entity, &mut applied.actions, sequence, now()).await {
                        Ok(()) => {
                            applied.status = Status::Changed;
                            // A partly changed entity keeps its skip reasons (e.g. no room for
                            // the summary tags) in the report.
                            applied.detail = reasons();
                        }
                        Err(message) => {
                            applied.status = Status::Failed;
                            applied.detail = Some(message);
                        }
                    }
                }
            }
            results.push(applied);
        }
        results
    }

    /// Reads what IAM holds now and checks it against what the plan saw; `Err` names the
    /// difference. Tag-only changes have nothing to check.
    pub async fn verify(&self, entity: &EntityPlan) -> Result<(), String> {
        let Some(change) = &entity.boundary else { return Ok(()) };
        let state = entity_state(self.iam, self.pace, &self.retry, entity.kind, &entity.name)
            .await
            .map_err(|error| error.to_string())?;
        let version = default_version(self.iam, self.pace, &self.retry, &change.policy_arn)
            .await
            .map_err(|error| error.to_string())?;
        check_preconditions(entity, state.boundary_arn.as_deref(), version.as_deref())
    }

    async fn apply_entity(
        &self,
        entity: &EntityPlan,
        actions: &mut Vec<String>,
        sequence: usize,
        now: OffsetDateTime,
    ) -> Result<(), String> {
        self.verify(entity).await?;
        let entry = JournalEntry::before(entity, &self.run_id, now);
        self.journal
            .append(self.pace, &entry, sequence)
            .await
            .map_err(|error| format!("nothing written: the journal entry failed: {error}"))?;
        let failed = |error: CallError| error.to_string();
        if let Some(change) = &entity.boundary {
            self.write_document(change, actions).await?;
        }
        if let Some(tags) = &entity.tags {
            let tags: Vec<Tag> = tags
                .set
                .iter()
                .map(|(key, value)| {
                    Tag::builder().key(key).value(value).build().expect("key and value are set")
                })
                .collect();
            let name = entity.name.as_str();
            match entity.kind {
                EntityKind::Role => {
                    call(self.pace, &self.retry, "iam:TagRole", &entity.arn, || {
                        self.iam.tag_role().role_name(name).set_tags(Some(tags.clone())).send()
                    })
                    .await
                    .map(drop)
                }
                _ => call(self.pace, &self.retry, "iam:TagUser", &entity.arn, || {
                    self.iam.tag_user().user_name(name).set_tags(Some(tags.clone())).send()
                })
                .await
                .map(drop),
            }
            .map_err(failed)?;
            actions.push(format!("tagged {} keys", tags.len()));
        }
        if let Some(change) = entity.boundary.as_ref().filter(|change| change.attach) {
            let (name, policy) = (entity.name.as_str(), change.policy_arn.as_str());
            match entity.kind {
                EntityKind::Role => call(
                    self.pace,
                    &self.retry,
                    "iam:PutRolePermissionsBoundary",
                    &entity.arn,
                    || {
                        self.iam
                            .put_role_permissions_boundary()
                            .role_name(name)
                            .permissions_boundary(policy)
                            .send()
                    },
                )
                .await
                .map(drop),
                _ => call(
                    self.pace,
                    &self.retry,
                    "iam:PutUserPermissionsBoundary",
                    &entity.arn,
                    || {
                        self.iam
                            .put_user_permissions_boundary()
                            .user_name(name)
                            .permissions_boundary(policy)
                            .send()
                    },
                )
                .await
                .map(drop),
            }
            .map_err(failed)?;
            actions.push(format!("attached boundary `{policy}`"));
        }
        Ok(())
    }

    /// Creates the policy, or a new default version of it (first deleting the oldest
    /// non-default version when IAM's five are used). The versions are listed again here, not
    /// taken from the plan, so a run interrupted between the delete and the create converges.
    async fn write_document(
        &self,
        change: &BoundaryChange,
        actions: &mut Vec<String>,
    ) -> Result<(), String> {
        let arn = change.policy_arn.as_str();
        let failed = |error: CallError| error.to_string();
        if change.create_policy {
            call(self.pace, &self.retry, "iam:CreatePolicy", arn, || {
                self.iam
                    .create_policy()
                    .policy_name(&change.policy_name)
                    .path(&change.path)
                    .policy_document(&change.document)
                    .description("iamsweep least-privilege permissions boundary")
                    .send()
            })
            .await
            .map_err(failed)?;
            actions.push(format!("created policy `{arn}`"));
        } else if change.create_version {
            let existing = versions(self.iam, self.pace, &self.retry, arn).await.map_err(failed)?;
            let oldest = version_to_delete(&existing);
            // The same core decision as the plan's, on the versions as they are now. Another
            // choice than the plan's means versions were added since: nothing is deleted that
            // the reviewed plan did not name. (None after a deletion the plan named is a run
            // interrupted between the delete and the create: carry on.)
            if let Some(oldest) = &oldest
                && change.delete_version.as_ref() != Some(oldest)
            {
                return Err(format!(
                    "`{arn}` changed since the plan: version {oldest} would have to be deleted, \
                     the plan named {}; hint: run `iamsweep plan` again",
                    change.delete_version.as_deref().unwrap_or("none")
                ));
            }
            if let Some(oldest) = oldest {
                call(self.pace, &self.retry, "iam:DeletePolicyVersion", arn, || {
                    self.iam.delete_policy_version().policy_arn(arn).version_id(&oldest).send()
                })
                .await
                .map_err(failed)?;
                actions.push(format!("deleted version {oldest} of `{arn}`"));
            }
            call(self.pace, &self.retry, "iam:CreatePolicyVersion", arn, || {
                self.iam
                    .create_policy_version()
                    .policy_arn(arn)
                    .policy_document(&change.document)
                    .set_as_default(true)
                    .send()
            })
            .await
            .map_err(failed)?;
            actions.push(format!("created a new default version of `{arn}`"));
        }
        Ok(())
    }
}
