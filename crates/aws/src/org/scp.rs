//! Service control policies: what is attached now (`ListPoliciesForTarget`, `DescribePolicy`),
//! and the writes of `org apply` and `org rollback` (`CreatePolicy`, `UpdatePolicy`,
//! `AttachPolicy`, `DetachPolicy`, `DeletePolicy`), each unit's change preceded by its journal
//! entry. One unit's failure is reported on that unit and never stops the others.

use aws_sdk_organizations::types::PolicyType;
use iamsweep_core::org::journal::{OrgJournalEntry, RollbackStep, rollback_steps};
use iamsweep_core::org::plan::{AttachedPolicy, LiveTarget, UnitPlan};
use iamsweep_core::org::scp::{policy_description, policy_name};
use time::OffsetDateTime;

use crate::error::CallError;
use crate::journal::JournalStore;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// The Organizations side of SCP work.
#[derive(Debug, Clone, Copy)]
pub struct Scps<'a> {
    /// The management account's client.
    pub organizations: &'a aws_sdk_organizations::Client,
    /// The run's pace.
    pub pace: &'a Pace,
    /// Retries.
    pub retry: RetryPolicy,
}

/// The outcome of one unit's change or rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitResult {
    /// The root or OU.
    pub target_id: String,
    /// What was written, in order.
    pub actions: Vec<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl Scps<'_> {
    /// The SCPs attached to `target_id`, with iamsweep's own document.
    pub async fn live(&self, target_id: &str) -> Result<LiveTarget, CallError> {
        let mut policies = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = call(
                self.pace,
                &self.retry,
                "organizations:ListPoliciesForTarget",
                target_id,
                || {
                    self.organizations
                        .list_policies_for_target()
                        .target_id(target_id)
                        .filter(PolicyType::ServiceControlPolicy)
                        .set_next_token(token.clone())
                        .send()
                },
            )
            .await?;
            for summary in page.policies() {
                let Some(id) = summary.id() else { continue };
                policies.push(AttachedPolicy {
                    id: id.to_string(),
                    name: summary.name().unwrap_or_default().to_string(),
                    aws_managed: summary.aws_managed(),
                    content: None,
                });
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        let ours = policy_name(target_id);
        for policy in policies.iter_mut().filter(|policy| policy.name == ours) {
            policy.content = Some(self.content(&policy.id).await?);
        }
        policies.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(LiveTarget { target_id: target_id.to_string(), policies })
    }

    /// Every target's attached SCPs, in the order given.
    pub async fn live_all(&self, target_ids: &[String]) -> Result<Vec<LiveTarget>, CallError> {
        let mut live = Vec::with_capacity(target_ids.len());
        for target_id in target_ids {
            live.push(self.live(target_id).await?);
        }
        Ok(live)
    }

    async fn content(&self, policy_id: &str) -> Result<String, CallError> {
        let output =
            call(self.pace, &self.retry, "organizations:DescribePolicy", policy_id, || {
                self.organizations.describe_policy().policy_id(policy_id).send()
            })
            .await?;
        Ok(output.policy().and_then(|policy| policy.content()).unwrap_or_default().to_string())
    }

    /// Carries out one unit's change, after journaling the state it replaces.
    pub async fn apply_unit(
        &self,
        unit: &UnitPlan,
        journal: &JournalStore,
        management_account_id: &str,
        run_id: &str,
        sequence: usize,
    ) -> UnitResult {
        let mut result =
            UnitResult { target_id: unit.target_id.clone(), actions: Vec::new(), error: None };
        let (Some(change), Some(entry)) = (
            unit.change.as_ref(),
            OrgJournalEntry::before(unit, management_account_id, run_id, OffsetDateTime::now_utc()),
        ) else {
            return result;
        };
        if let Err(error) = journal.append_org(self.pace, &entry, sequence).await {
            result.error = Some(format!("{error}; nothing written to this OU"));
            return result;
        }
        let target = unit.target_id.as_str();
        let policy_id = if change.create_policy {
            match self.create(&change.policy_name, target, &change.document).await {
                Ok(id) => {
                    result.actions.push(format!("created SCP `{}` ({id})", change.policy_name));
                    id
                }
                Err(error) => {
                    result.error = Some(error.to_string());
                    return result;
                }
            }
        } else {
            let Some(id) = change.policy_id.clone() else {
                result.error = Some("the plan names no policy to update".to_string());
                return result;
            };
            id
        };
        if change.update_policy {
            let updated =
                call(self.pace, &self.retry, "organizations:UpdatePolicy", &policy_id, || {
                    self.organizations
                        .update_policy()
                        .policy_id(&policy_id)
                        .content(&change.document)
                        .send()
                })
                .await;
            match updated {
                Ok(_) => result
                    .actions
                    .push(format!("updated SCP `{}` ({policy_id})", change.policy_name)),
                Err(error) => {
                    result.error = Some(error.to_string());
                    return result;
                }
            }
        }
        if change.attach {
            match self.attach(&policy_id, target).await {
                Ok(()) => result.actions.push(format!("attached it to {target}")),
                Err(error) => {
                    result.error = Some(error.to_string());
                    if change.create_policy {
                        // A policy created but attached nowhere could not be found again by
                        // rollback (it reads the target's attachments): remove it now.
                        match self.delete(&policy_id).await {
                            Ok(()) => result
                                .actions
                                .push(format!("deleted the unattached SCP {policy_id}")),
                            Err(cleanup) => result.error = Some(format!("{error}; and {cleanup}")),
                        }
                    }
                }
            }
        }
        result
    }

    /// Brings a target back to the state `entry` recorded.
    pub async fn rollback_entry(&self, entry: &OrgJournalEntry, apply: bool) -> UnitResult {
        let target = entry.target_id.as_str();
        let mut result =
            UnitResult { target_id: target.to_string(), actions: Vec::new(), error: None };
        let live = match self.live(target).await {
            Ok(live) => live,
            Err(error) => {
                result.error = Some(error.to_string());
                return result;
            }
        };
        let attached = live.policies.iter().find(|policy| policy.name == entry.policy_name);
        let current = match (attached, &entry.policy_id) {
            (Some(policy), _) => {
                Some((policy.id.clone(), true, policy.content.clone().unwrap_or_default()))
            }
            (None, Some(id)) => match self.content(id).await {
                Ok(content) => Some((id.clone(), false, content)),
                Err(error) if error.code.as_deref() == Some("PolicyNotFoundException") => None,
                Err(error) => {
                    result.error = Some(error.to_string());
                    return result;
                }
            },
            (None, None) => None,
        };
        let steps = rollback_steps(
            entry,
            current
                .as_ref()
                .map(|(id, attached, content)| (id.as_str(), *attached, content.as_str())),
        );
        for step in steps {
            let (label, outcome) = match &step {
                RollbackStep::Detach { policy_id } => (
                    format!("detach {policy_id} from {target}"),
                    if apply { self.detach(policy_id, target).await } else { Ok(()) },
                ),
                RollbackStep::Attach { policy_id } => (
                    format!("attach {policy_id} to {target}"),
                    if apply { self.attach(policy_id, target).await } else { Ok(()) },
                ),
                RollbackStep::Restore { policy_id, content } => (
                    format!("restore the prior content of {policy_id}"),
                    if apply {
                        call(
                            self.pace,
                            &self.retry,
                            "organizations:UpdatePolicy",
                            policy_id,
                            || {
                                self.organizations
                                    .update_policy()
                                    .policy_id(policy_id)
                                    .content(content)
                                    .send()
                            },
                        )
                        .await
                        .map(|_| ())
                    } else {
                        Ok(())
                    },
                ),
                RollbackStep::Delete { policy_id } => (
                    format!("delete {policy_id}"),
                    if apply { self.delete(policy_id).await } else { Ok(()) },
                ),
            };
            match outcome {
                Ok(()) => result.actions.push(label),
                Err(error) => {
                    result.error = Some(error.to_string());
                    return result;
                }
            }
        }
        result
    }

    async fn create(
        &self,
        name: &str,
        target_id: &str,
        document: &str,
    ) -> Result<String, CallError> {
        let output = call(self.pace, &self.retry, "organizations:CreatePolicy", name, || {
            self.organizations
                .create_policy()
                .name(name)
                .description(policy_description(target_id))
                .content(document)
                .r#type(PolicyType::ServiceControlPolicy)
                .send()
        })
        .await?;
        output
            .policy()
            .and_then(|policy| policy.policy_summary())
            .and_then(|summary| summary.id())
            .map(str::to_string)
            .ok_or_else(|| CallError {
                operation: "organizations:CreatePolicy",
                target: name.to_string(),
                code: None,
                message: "the answer carried no policy id".to_string(),
                attempts: 1,
            })
    }

    async fn attach(&self, policy_id: &str, target_id: &str) -> Result<(), CallError> {
        call(self.pace, &self.retry, "organizations:AttachPolicy", target_id, || {
            self.organizations.attach_policy().policy_id(policy_id).target_id(target_id).send()
        })
        .await
        .map(|_| ())
    }

    async fn detach(&self, policy_id: &str, target_id: &str) -> Result<(), CallError> {
        call(self.pace, &self.retry, "organizations:DetachPolicy", target_id, || {
            self.organizations.detach_policy().policy_id(policy_id).target_id(target_id).send()
        })
        .await
        .map(|_| ())
    }

    async fn delete(&self, policy_id: &str) -> Result<(), CallError> {
        call(self.pace, &self.retry, "organizations:DeletePolicy", policy_id, || {
            self.organizations.delete_policy().policy_id(policy_id).send()
        })
        .await
        .map(|_| ())
    }
}
