//! What a planned boundary does to an entity, in the words a reviewer judges it by.
//!
//! A boundary document is canonical JSON, exact but hard to read: a reviewer wants to know which
//! services the entity keeps, which it loses (and whether each was stale or never used), and
//! whether it is left with the base actions only, which for a workload is an effective lockout.
//! [`BoundaryEffect::of`] says so once, here, from the same classified usage and settings
//! [`crate::boundary::synthesize`] writes the document from; the plan carries it per boundary
//! change, and every format (table, Markdown, HTML, JSON) shows this one value. Services are
//! listed in the order every report uses ([`crate::risk::compare_services`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::report::{EntityReport, ServiceReport, ServiceState};
use crate::risk;
use crate::settings::BoundarySettings;

/// What one planned boundary keeps and removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundaryEffect {
    /// The services the boundary allows (`NAMESPACE:*`): those used within the window, by risk
    /// then name.
    pub keeps: Vec<EffectService>,
    /// The services the entity's policies grant that the boundary no longer allows, each
    /// `stale` or `unused`, by risk then name.
    pub removes: Vec<EffectService>,
    /// The base actions the boundary allows besides (for an entity that used nothing, or always
    /// with `boundary.always_include_base_actions`), sorted.
    pub base_actions: Vec<String>,
    /// The boundary keeps no service: the entity is left with the base actions only (or with
    /// nothing). For anything that still runs, that is an effective lockout a reviewer must see.
    pub base_actions_only: bool,
}

/// One service named in a [`BoundaryEffect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectService {
    /// The IAM namespace, such as `s3`.
    pub namespace: Arc<str>,
    /// The display name, such as `Amazon S3`.
    pub name: Arc<str>,
    /// `used` for a kept service; `stale` or `unused` for a removed one.
    pub state: ServiceState,
    /// Its last use within the tracking period (`null`: none).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_authenticated: Option<OffsetDateTime>,
}

impl EffectService {
    fn of(service: &ServiceReport) -> Self {
        EffectService {
            namespace: service.namespace.clone(),
            name: service.name.clone(),
            state: service.state,
            last_authenticated: service.last_authenticated,
        }
    }
}

impl BoundaryEffect {
    /// The effect of the boundary [`crate::boundary::synthesize`] makes for `report` under
    /// `settings`: it allows every used service and, when the entity used nothing (or always,
    /// when configured), the base actions.
    pub fn of(report: &EntityReport, settings: &BoundarySettings) -> Self {
        let mut keeps = Vec::new();
        let mut removes = Vec::new();
        for service in &report.services {
            match service.state {
                ServiceState::Used => keeps.push(EffectService::of(service)),
                ServiceState::Stale | ServiceState::Unused => {
                    removes.push(EffectService::of(service))
                }
            }
        }
        let by_risk = |a: &EffectService, b: &EffectService| {
            risk::compare_services(&a.namespace, &b.namespace)
        };
        keeps.sort_by(by_risk);
        removes.sort_by(by_risk);
        // The same rule as the document's `AllowBaseActions` statement.
        let mut base_actions: Vec<String> =
            if keeps.is_empty() || settings.always_include_base_actions {
                settings.base_actions.clone()
            } else {
                Vec::new()
            };
        base_actions.sort();
        base_actions.dedup();
        BoundaryEffect { base_actions_only: keeps.is_empty(), keeps, removes, base_actions }
    }

    /// The namespaces of the kept services, in order.
    pub fn kept_namespaces(&self) -> impl Iterator<Item = &str> {
        self.keeps.iter().map(|service| &*service.namespace)
    }

    /// The namespaces of the removed services, in order.
    pub fn removed_namespaces(&self) -> impl Iterator<Item = &str> {
        self.removes.iter().map(|service| &*service.namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_entity;
    use crate::compliance::Rules;
    use crate::model::{EntityKind, EntityRecord, ServiceRecord};
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn report(services: &[(&str, Option<i64>)]) -> EntityReport {
        let mut record =
            EntityRecord::new(EntityKind::Role, "arn:aws:iam::123456789012:role/app", "app");
        record.services = services
            .iter()
            .map(|(namespace, days)| {
                let mut service = ServiceRecord::new(*namespace, *namespace);
                service.last_authenticated = days.map(|days| NOW - Duration::days(days));
                service
            })
            .collect();
        analyze_entity(&record, &Rules::new(180), NOW)
    }

    fn settings() -> BoundarySettings {
        let mut settings = crate::settings::EnforceSettings::defaults(180).boundary;
        settings.base_actions = vec!["sts:GetCallerIdentity".into(), "iam:ListRoles".into()];
        settings
    }

    #[test]
    fn keeps_used_services_and_removes_the_others_by_risk_then_name() {
        let effect = BoundaryEffect::of(
            &report(&[("s3", Some(3)), ("a2c", None), ("iam", Some(300)), ("kms", Some(1))]),
            &settings(),
        );
        assert_eq!(effect.kept_namespaces().collect::<Vec<_>>(), ["kms", "s3"]);
        assert_eq!(effect.removed_namespaces().collect::<Vec<_>>(), ["iam", "a2c"]);
        let states: Vec<ServiceState> = effect.removes.iter().map(|s| s.state).collect();
        assert_eq!(states, [ServiceState::Stale, ServiceState::Unused]);
        assert!(effect.base_actions.is_empty());
        assert!(!effect.base_actions_only);
    }

    #[test]
    fn an_entity_that_used_nothing_is_left_with_the_base_actions_only() {
        let effect = BoundaryEffect::of(&report(&[("ec2", Some(200)), ("s3", None)]), &settings());
        assert!(effect.keeps.is_empty());
        assert!(effect.base_actions_only);
        assert_eq!(effect.base_actions, ["iam:ListRoles", "sts:GetCallerIdentity"]);
        assert_eq!(effect.removed_namespaces().collect::<Vec<_>>(), ["s3", "ec2"]);
    }

    #[test]
    fn base_actions_are_listed_for_everyone_when_always_included() {
        let mut settings = settings();
        settings.always_include_base_actions = true;
        let effect = BoundaryEffect::of(&report(&[("s3", Some(1))]), &settings);
        assert_eq!(effect.base_actions.len(), 2);
        assert!(!effect.base_actions_only);
    }
}
