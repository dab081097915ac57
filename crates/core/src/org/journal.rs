//! The SCP journal entry (`iamsweep.org-journal/v1`), written before each unit's change in the
//! same journal store as boundary entries (under the management account's folder), and the
//! decisions of `org rollback`.
//!
//! A journal file can be edited by anyone with access to it, and `org rollback` writes
//! Organizations from it: [`check_org_entry`] refuses an entry `org apply` could not have
//! written (another account, a target that is no root or OU, a policy that is not iamsweep's,
//! prior content that is no SCP) before the first write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::org::plan::UnitPlan;
use crate::org::scp::{MAX_SCP_CHARS, policy_name};
use crate::org::snapshot::{valid_account_id, valid_ou_id, valid_root_id};

/// The `schema` value of every SCP journal entry.
pub const ORG_JOURNAL_SCHEMA: &str = "iamsweep.org-journal/v1";

/// The state of one target just before `org apply` changed its iamsweep SCP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgJournalEntry {
    /// Always [`ORG_JOURNAL_SCHEMA`].
    pub schema: String,
    /// The run (`org rollback --run`).
    pub run_id: String,
    /// When the entry was written, just before the change.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The management account whose credentials made the change.
    pub management_account_id: String,
    /// The root or OU.
    pub target_id: String,
    /// iamsweep's SCP of the target (`iamsweep-TARGET_ID`).
    pub policy_name: String,
    /// Its id, when it existed before the change.
    pub policy_id: Option<String>,
    /// Whether this run created it (rollback deletes it).
    pub policy_created: bool,
    /// The SCP ids attached to the target before the change.
    pub previous_attachments: Vec<String>,
    /// The policy's content before this run updated it.
    pub previous_content: Option<String>,
}

impl OrgJournalEntry {
    /// The entry to write before applying `unit`'s change; `None` when it has none.
    pub fn before(
        unit: &UnitPlan,
        management_account_id: &str,
        run_id: &str,
        time: OffsetDateTime,
    ) -> Option<OrgJournalEntry> {
        let change = unit.change.as_ref()?;
        Some(OrgJournalEntry {
            schema: ORG_JOURNAL_SCHEMA.to_string(),
            run_id: run_id.to_string(),
            time,
            management_account_id: management_account_id.to_string(),
            target_id: unit.target_id.clone(),
            policy_name: change.policy_name.clone(),
            policy_id: change.policy_id.clone(),
            policy_created: change.create_policy,
            previous_attachments: change.previous_attachments.clone(),
            previous_content: change.previous_content.clone(),
        })
    }
}

/// Reads one entry; `Err` says what was expected.
pub fn parse_org_entry(text: &str) -> Result<OrgJournalEntry, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
    match value.get("schema").and_then(serde_json::Value::as_str) {
        Some(ORG_JOURNAL_SCHEMA) => {}
        Some(other) => {
            return Err(format!("unknown schema `{other}`; expected `{ORG_JOURNAL_SCHEMA}`"));
        }
        None => return Err(format!("no `schema` field; expected `{ORG_JOURNAL_SCHEMA}`")),
    }
    serde_json::from_value(value)
        .map_err(|error| format!("not a `{ORG_JOURNAL_SCHEMA}` entry: {error}"))
}

/// The schema named by a journal line, when it is JSON with one (how the store tells boundary
/// entries from SCP entries in a shared file).
pub fn schema_of(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Probe {
        schema: Option<String>,
    }
    serde_json::from_str::<Probe>(text).ok()?.schema
}

/// Checks that `entry` may be acted on with the credentials of `account_id`; `Err` names the
/// field and what was expected.
pub fn check_org_entry(entry: &OrgJournalEntry, account_id: &str) -> Result<(), String> {
    if !valid_account_id(&entry.management_account_id) || entry.management_account_id != account_id
    {
        return Err(format!(
            "field `management_account_id`: `{}`, but the credentials are of account {account_id}; \
             expected only this management account's entries",
            entry.management_account_id
        ));
    }
    if !valid_ou_id(&entry.target_id) && !valid_root_id(&entry.target_id) {
        return Err(format!("field `target_id`: `{}` is not a root or OU id", entry.target_id));
    }
    if entry.policy_name != policy_name(&entry.target_id) {
        return Err(format!(
            "field `policy_name`: `{}` is not iamsweep's SCP of `{}`; expected `{}`",
            entry.policy_name,
            entry.target_id,
            policy_name(&entry.target_id)
        ));
    }
    if !(1..=64).contains(&entry.run_id.len())
        || !entry.run_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!("field `run_id`: `{}` is not a run id", entry.run_id));
    }
    for id in entry.policy_id.iter().chain(&entry.previous_attachments) {
        if !valid_policy_id(id) {
            return Err(format!(
                "`{id}` is not an SCP id such as `p-FullAWSAccess` or `p-ab12cd34`"
            ));
        }
    }
    if entry.policy_created == entry.policy_id.is_some() {
        return Err(
            "fields `policy_created` and `policy_id`: a created policy has no prior id, an \
                    updated one has"
                .to_string(),
        );
    }
    if let Some(content) = &entry.previous_content {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(content);
        if content.chars().count() > MAX_SCP_CHARS || !parsed.is_ok_and(|value| value.is_object()) {
            return Err("field `previous_content`: not an SCP document (a JSON object of at most \
                        5,120 characters)"
                .to_string());
        }
    }
    Ok(())
}

/// `p-` then 8 to 128 letters, digits or `_` (`p-FullAWSAccess` is AWS's).
pub fn valid_policy_id(id: &str) -> bool {
    id.strip_prefix("p-").is_some_and(|rest| {
        (8..=128).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// Which entries a rollback acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgSelection {
    /// Entries of these targets.
    Targets(Vec<String>),
    /// Entries of one run.
    Run(String),
    /// Every entry.
    All,
}

/// What restoring one target takes: the earliest selected entry of each target holds the state
/// before iamsweep's first change, which is what a rollback restores.
pub fn select_org(entries: &[OrgJournalEntry], selection: &OrgSelection) -> Vec<OrgJournalEntry> {
    let mut earliest: BTreeMap<&str, &OrgJournalEntry> = BTreeMap::new();
    for entry in entries {
        let wanted = match selection {
            OrgSelection::Targets(targets) => targets.contains(&entry.target_id),
            OrgSelection::Run(run) => &entry.run_id == run,
            OrgSelection::All => true,
        };
        if !wanted {
            continue;
        }
        let slot = earliest.entry(&entry.target_id).or_insert(entry);
        if (entry.time, &entry.run_id) < (slot.time, &slot.run_id) {
            *slot = entry;
        }
    }
    earliest.into_values().cloned().collect()
}

/// One write of a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackStep {
    /// `DetachPolicy` of iamsweep's SCP from the target.
    Detach {
        /// The policy.
        policy_id: String,
    },
    /// `AttachPolicy` of iamsweep's SCP to the target again.
    Attach {
        /// The policy.
        policy_id: String,
    },
    /// `UpdatePolicy` back to the prior content.
    Restore {
        /// The policy.
        policy_id: String,
        /// The content.
        content: String,
    },
    /// `DeletePolicy` (after its detach).
    Delete {
        /// The policy.
        policy_id: String,
    },
}

/// The steps that bring a target back to `entry`'s prior state, given iamsweep's SCP as it is
/// now (`current`: its id, whether it is attached to the target, its content), in order.
pub fn rollback_steps(
    entry: &OrgJournalEntry,
    current: Option<(&str, bool, &str)>,
) -> Vec<RollbackStep> {
    let Some((policy_id, attached, content)) = current else {
        // Gone already: a created policy is what the prior state lacked; an updated one was
        // deleted by someone else, and cannot be brought back from here.
        return Vec::new();
    };
    let policy_id = policy_id.to_string();
    let mut steps = Vec::new();
    if entry.policy_created {
        if attached {
            steps.push(RollbackStep::Detach { policy_id: policy_id.clone() });
        }
        steps.push(RollbackStep::Delete { policy_id });
        return steps;
    }
    if let Some(previous) = &entry.previous_content {
        let same = crate::boundary::canonicalize(previous).ok()
            == crate::boundary::canonicalize(content).ok();
        if !same {
            steps.push(RollbackStep::Restore {
                policy_id: policy_id.clone(),
                content: previous.clone(),
            });
        }
    }
    let was_attached = entry.previous_attachments.contains(&policy_id);
    if was_attached && !attached {
        steps.push(RollbackStep::Attach { policy_id });
    } else if !was_attached && attached {
        steps.push(RollbackStep::Detach { policy_id });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry() -> OrgJournalEntry {
        OrgJournalEntry {
            schema: ORG_JOURNAL_SCHEMA.into(),
            run_id: "20261123T131759Z-5f0c9a2e4b7d1836".into(),
            time: datetime!(2026-11-23 13:17:59 UTC),
            management_account_id: "123456789012".into(),
            target_id: "ou-ab12-cdef5678".into(),
            policy_name: "iamsweep-ou-ab12-cdef5678".into(),
            policy_id: None,
            policy_created: true,
            previous_attachments: vec!["p-FullAWSAccess".into()],
            previous_content: None,
        }
    }

    #[test]
    fn an_entry_reads_back_and_edits_are_refused() {
        let text = serde_json::to_string(&entry()).unwrap();
        assert_eq!(parse_org_entry(&text).unwrap(), entry());
        assert_eq!(check_org_entry(&entry(), "123456789012"), Ok(()));
        let refused = |change: &dyn Fn(&mut OrgJournalEntry), field: &str| {
            let mut bad = entry();
            change(&mut bad);
            let error = check_org_entry(&bad, "123456789012").unwrap_err();
            assert!(error.contains(field), "{field}: {error}");
        };
        refused(&|e| e.management_account_id = "999999999999".into(), "management_account_id");
        refused(&|e| e.target_id = "../x".into(), "target_id");
        refused(&|e| e.policy_name = "FullAWSAccess".into(), "policy_name");
        refused(&|e| e.run_id = "../../etc".into(), "run_id");
        refused(&|e| e.previous_attachments.push("p-; rm".into()), "p-; rm");
        refused(&|e| e.policy_id = Some("p-ab12cd34".into()), "policy_created");
    }

    #[test]
    fn rollback_of_a_created_policy_detaches_and_deletes_it() {
        let steps = rollback_steps(&entry(), Some(("p-ab12cd34", true, "{}")));
        assert_eq!(
            steps,
            vec![
                RollbackStep::Detach { policy_id: "p-ab12cd34".into() },
                RollbackStep::Delete { policy_id: "p-ab12cd34".into() }
            ]
        );
        assert!(rollback_steps(&entry(), None).is_empty());
        let mut updated = entry();
        updated.policy_created = false;
        updated.policy_id = Some("p-ab12cd34".into());
        updated.previous_attachments.push("p-ab12cd34".into());
        updated.previous_content = Some("{\"Version\":\"2012-10-17\"}".into());
        let steps = rollback_steps(&updated, Some(("p-ab12cd34", true, "{\"Statement\":[]}")));
        assert_eq!(
            steps,
            vec![RollbackStep::Restore {
                policy_id: "p-ab12cd34".into(),
                content: "{\"Version\":\"2012-10-17\"}".into()
            }]
        );
    }
}
