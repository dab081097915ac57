//! The action-level part of a boundary: per used service with action data, the Deny patterns of
//! its tracked-but-unused actions, or the reason it stays at service level.
//!
//! For each used service whose Access Advisor data lists tracked actions, the actions to deny
//! are the tracked ones not used within the window (minus base actions named exactly, an
//! explicit wish to allow them). Everything else the catalogue knows for the service (used
//! actions, and the untracked ones Access Advisor says nothing about, such as `s3:GetObject`)
//! must stay allowed; [`crate::action_patterns::compress`] finds the fewest patterns that keep
//! them so. A service falls back to service level (all of it allowed, as without action data)
//! when:
//!
//! - the catalogue lacks it, or Access Advisor names an action the catalogue lacks: the
//!   catalogue is older than AWS, and a pattern could match an action it does not know;
//! - every catalogue action of it would be denied: it was used, so the use went through an
//!   action nobody can name, and a used service is never removed;
//! - the boundary does not fit IAM's 6,144 characters: [`ActionDeny::fall_back_largest`] moves
//!   the service with the longest patterns to service level, one at a time, until it fits.
//!
//! The plan records the outcome per boundary ([`ActionLevel`]), and `apply` refuses a plan whose
//! record differs from what these rules give.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::action_catalogue::{Catalogue, is_action_name};
use crate::analysis::classify;
use crate::boundary::{AuditContext, MAX_POLICY_CHARS};
use crate::model::ActionRecord;
use crate::report::{EntityReport, ServiceState};

/// Which used services with action data a boundary judges per action, and which at service
/// level with the reason. Recorded in the plan for every boundary planned from action-level data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionLevel {
    /// Used services whose tracked-but-unused actions the boundary denies, sorted.
    pub services: Vec<String>,
    /// Used services with action data that the boundary allows whole, sorted by namespace.
    pub service_level: Vec<ServiceLevel>,
}

/// A used service with action data that stays at service level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLevel {
    /// The service namespace.
    pub namespace: String,
    /// Why.
    pub reason: FallbackReason,
    /// The same, in words, with the figures or the action concerned.
    pub detail: String,
}

/// Why a used service with action data stays at service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackReason {
    /// The action catalogue has no such service.
    NotInCatalogue,
    /// Access Advisor names an action the catalogue lacks.
    UnknownAction,
    /// Every catalogue action would be denied, which would remove a used service.
    NothingLeft,
    /// The boundary does not fit IAM's size limit with this service's patterns.
    TooLarge,
}

/// The Deny of one boundary's tracked-but-unused actions, as it is being fitted.
#[derive(Debug, Clone)]
pub struct ActionDeny {
    /// Namespace -> its patterns (`ec2:Create*`), for the services still at action level.
    patterns: BTreeMap<String, Vec<String>>,
    fallbacks: Vec<ServiceLevel>,
}

impl ActionDeny {
    /// Decides, per used service with action data, its Deny patterns or its fallback.
    /// `keep` holds full action names (`ec2:RunInstances`) never to deny, whatever the data.
    pub fn new(
        report: &EntityReport,
        audit: &AuditContext<'_>,
        keep: &BTreeSet<String>,
        catalogue: &Catalogue,
    ) -> ActionDeny {
        let keep: BTreeSet<String> =
            keep.iter().map(|action| action.to_ascii_lowercase()).collect();
        let mut deny = ActionDeny { patterns: BTreeMap::new(), fallbacks: Vec::new() };
        // A namespace listed twice (a hand-made snapshot) is judged on all its records: an
        // action either record shows used is used.
        let mut by_namespace: BTreeMap<&str, Vec<&ActionRecord>> = BTreeMap::new();
        for service in report.services.iter().filter(|s| s.state == ServiceState::Used) {
            if let Some(actions) = &service.actions {
                by_namespace.entry(&service.namespace).or_default().extend(actions);
            }
        }
        for (namespace, tracked) in by_namespace {
            let namespace = namespace.to_string();
            let fallback = |reason, detail: String| ServiceLevel {
                namespace: namespace.clone(),
                reason,
                detail,
            };
            let Some(actions) = catalogue.actions(&namespace) else {
                deny.fallbacks.push(fallback(
                    FallbackReason::NotInCatalogue,
                    format!(
                        "the action catalogue ({}) has no service `{namespace}`",
                        catalogue.source
                    ),
                ));
                continue;
            };
            let known: BTreeSet<String> =
                actions.iter().map(|action| action.to_ascii_lowercase()).collect();
            if let Some(unknown) = tracked.iter().find(|action| {
                !is_action_name(&action.name) || !known.contains(&action.name.to_ascii_lowercase())
            }) {
                deny.fallbacks.push(fallback(
                    FallbackReason::UnknownAction,
                    format!(
                        "Access Advisor names `{namespace}:{}`, which the action catalogue ({}) \
                         lacks",
                        shown(&unknown.name),
                        catalogue.source
                    ),
                ));
                continue;
            }
            let used: BTreeSet<String> = tracked
                .iter()
                .filter(|action| {
                    classify(action.last_accessed, audit.collected_at, audit.window_days)
                        == ServiceState::Used
                })
                .map(|action| action.name.to_ascii_lowercase())
                .collect();
            let denied: BTreeSet<String> = tracked
                .iter()
                .map(|action| action.name.to_ascii_lowercase())
                .filter(|name| {
                    !used.contains(name) && !keep.contains(&format!("{namespace}:{name}"))
                })
                .collect();
            if !denied.is_empty() && denied.len() == known.len() {
                deny.fallbacks.push(fallback(
                    FallbackReason::NothingLeft,
                    format!(
                        "every action of `{namespace}` in the catalogue is tracked and unused: \
                         denying them would remove a used service"
                    ),
                ));
                continue;
            }
            let patterns = crate::action_patterns::compress(actions, &denied)
                .into_iter()
                .map(|pattern| format!("{namespace}:{pattern}"))
                .collect();
            deny.patterns.insert(namespace, patterns);
        }
        deny
    }

    /// Every Deny pattern of the services still at action level.
    pub fn patterns(&self) -> BTreeSet<String> {
        self.patterns.values().flatten().cloned().collect()
    }

    /// Moves the service whose patterns take the most characters to service level (ties: the
    /// first namespace), stating `chars`, the size of the document that did not fit. False when
    /// no service has patterns left to drop.
    pub fn fall_back_largest(&mut self, chars: usize) -> bool {
        // In the document each pattern is quoted and followed by a comma.
        let size = |patterns: &Vec<String>| patterns.iter().map(|p| p.len() + 3).sum::<usize>();
        let Some((namespace, patterns)) = self
            .patterns
            .iter()
            .filter(|(_, patterns)| !patterns.is_empty())
            .max_by(|a, b| size(a.1).cmp(&size(b.1)).then_with(|| b.0.cmp(a.0)))
        else {
            return false;
        };
        let namespace = namespace.clone();
        let detail = format!(
            "its {} deny patterns take {} characters, and the boundary would be {chars} \
             characters, over IAM's limit of {MAX_POLICY_CHARS}; services fall back largest first",
            patterns.len(),
            size(patterns)
        );
        self.patterns.remove(&namespace);
        self.fallbacks.push(ServiceLevel { namespace, reason: FallbackReason::TooLarge, detail });
        true
    }

    /// What the plan records.
    pub fn outcome(&self) -> ActionLevel {
        let mut service_level = self.fallbacks.clone();
        service_level.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        ActionLevel { services: self.patterns.keys().cloned().collect(), service_level }
    }
}

/// A name from the data as a message may show it: escaped and cut short, since a hand-made
/// snapshot could hold terminal escapes or a megabyte in an action name.
fn shown(name: &str) -> String {
    let mut out: String = name.chars().take(64).flat_map(char::escape_debug).collect();
    if name.chars().nth(64).is_some() {
        out.push_str("...");
    }
    out
}
