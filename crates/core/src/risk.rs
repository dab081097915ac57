//! Risk: which services matter most when granted but not used, and the severity that follows.
//!
//! The data is `crates/core/data/risk.toml`, compiled in: named classes of service namespaces
//! (escalation and identity, secrets and keys, data, infrastructure), each with its sources, and
//! the IAM actions known to allow privilege escalation. This module only reads it; every report
//! orders services with [`compare_services`] and every finding's severity comes from
//! [`service_severity`] and [`entity_severity`], so the rule lives in one place.
//!
//! The rule: a service that is used carries no risk of its own (INFORMATIONAL). A service granted
//! but unused or stale has the severity of its class (escalation CRITICAL, secrets HIGH, data
//! MEDIUM, infrastructure and unclassified LOW). An entity's severity is the highest of its
//! services'; a compliant entity is INFORMATIONAL.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::report::ServiceState;

/// The risk data file, as shipped.
pub const RISK_DATA: &str = include_str!("../data/risk.toml");

/// How serious a finding is, in Security Hub's (ASFF `Severity.Label`) words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// Nothing to act on.
    Informational,
    /// An unused service of no sensitive class.
    Low,
    /// An unused data store.
    Medium,
    /// Unused secrets or keys.
    High,
    /// An unused service that can change identities and permissions.
    Critical,
}

impl Severity {
    /// Every level, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The upper-case label (`CRITICAL`, ...), as ASFF spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// Parses a label, case-insensitively.
    pub fn parse(label: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|level| level.as_str().eq_ignore_ascii_case(label.trim()))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named class of service namespaces.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskClass {
    /// Short name (`escalation`, `secrets`, `data`, `infrastructure`).
    pub name: String,
    /// What a person reads.
    pub title: String,
    /// The severity of an unused or stale service of this class.
    pub severity: Severity,
    /// Where the class's members come from.
    pub sources: Vec<String>,
    /// The namespaces of the class, lower-case.
    pub namespaces: Vec<String>,
}

/// The privilege-escalation actions and where they come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationActions {
    /// Where the list comes from.
    pub sources: Vec<String>,
    /// `namespace:Action` names.
    pub actions: Vec<String>,
}

/// The whole risk table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskData {
    /// `iamsweep.risk/v1`.
    pub schema: String,
    /// When the sources were last compared with the file.
    pub last_checked: String,
    /// The classes, most serious first.
    #[serde(rename = "class")]
    pub classes: Vec<RiskClass>,
    /// Actions known to allow privilege escalation.
    pub escalation_actions: EscalationActions,
}

struct Index {
    data: RiskData,
    /// namespace -> index of its class in `data.classes`.
    class_of: HashMap<String, usize>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        // The file is part of the source tree and a unit test parses it, so a failure here is
        // a build defect, not bad input.
        let data: RiskData = toml::from_str(RISK_DATA).expect("crates/core/data/risk.toml parses");
        let mut class_of = HashMap::new();
        for (position, class) in data.classes.iter().enumerate() {
            for namespace in &class.namespaces {
                class_of.entry(namespace.clone()).or_insert(position);
            }
        }
        Index { data, class_of }
    })
}

/// The shipped risk table.
pub fn data() -> &'static RiskData {
    &index().data
}

/// The class of a service namespace, if it has one (case-insensitive).
pub fn class_of(namespace: &str) -> Option<&'static RiskClass> {
    let index = index();
    let position = match index.class_of.get(namespace) {
        Some(position) => *position,
        None => *index.class_of.get(&namespace.to_ascii_lowercase())?,
    };
    Some(&index.data.classes[position])
}

/// The rank of a namespace: 0 for the most serious class, the number of classes for none.
pub fn rank(namespace: &str) -> usize {
    let index = index();
    index
        .class_of
        .get(namespace)
        .or_else(|| index.class_of.get(&namespace.to_ascii_lowercase()))
        .copied()
        .unwrap_or(index.data.classes.len())
}

/// The order every report lists services in: by risk (most serious class first), then by name.
pub fn compare_services(a: &str, b: &str) -> Ordering {
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

/// Sorts namespaces (or anything that names one) by [`compare_services`].
pub fn sort_services<T: AsRef<str>>(services: &mut [T]) {
    services.sort_by(|a, b| compare_services(a.as_ref(), b.as_ref()));
}

/// The severity of an unused or stale service of this namespace.
pub fn class_severity(namespace: &str) -> Severity {
    class_of(namespace).map_or(Severity::Low, |class| class.severity)
}

/// The severity of one granted service in the given state.
pub fn service_severity(namespace: &str, state: ServiceState) -> Severity {
    match state {
        ServiceState::Used => Severity::Informational,
        ServiceState::Stale | ServiceState::Unused => class_severity(namespace),
    }
}

/// The severity of an entity: the highest of its unused and stale services (the ones its
/// verdict counts), INFORMATIONAL when there is none.
pub fn entity_severity<'a>(flagged: impl IntoIterator<Item = &'a str>) -> Severity {
    flagged.into_iter().map(class_severity).max().unwrap_or(Severity::Informational)
}

/// Whether `namespace:Action` is known to allow privilege escalation (case-insensitive).
pub fn is_escalation_action(action: &str) -> bool {
    data().escalation_actions.actions.iter().any(|known| known.eq_ignore_ascii_case(action))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_shipped_data_is_well_formed() {
        let data = data();
        assert_eq!(data.schema, "iamsweep.risk/v1");
        assert!(!data.classes.is_empty());
        let mut seen = HashSet::new();
        for class in &data.classes {
            assert!(!class.sources.is_empty(), "class {} names its sources", class.name);
            for namespace in &class.namespaces {
                assert_eq!(namespace, &namespace.to_ascii_lowercase(), "{namespace} is lower-case");
                assert!(seen.insert(namespace.clone()), "{namespace} is in one class only");
            }
        }
        for action in &data.escalation_actions.actions {
            let (namespace, name) = action.split_once(':').expect("namespace:Action");
            assert_eq!(namespace, namespace.to_ascii_lowercase());
            assert!(name.chars().next().is_some_and(|c| c.is_ascii_uppercase()), "{action}");
        }
        let severities: Vec<Severity> = data.classes.iter().map(|class| class.severity).collect();
        let mut sorted = severities.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(severities, sorted, "classes are listed most serious first");
    }

    #[test]
    fn services_are_ordered_by_risk_then_name() {
        let mut services = vec!["a2c", "s3", "kms", "access-analyzer", "iam", "a4b", "sts", "ec2"];
        sort_services(&mut services);
        assert_eq!(services, ["access-analyzer", "iam", "sts", "kms", "s3", "ec2", "a2c", "a4b"]);
    }

    #[test]
    fn severity_follows_the_class_of_the_flagged_services() {
        assert_eq!(service_severity("iam", ServiceState::Unused), Severity::Critical);
        assert_eq!(service_severity("iam", ServiceState::Used), Severity::Informational);
        assert_eq!(service_severity("KMS", ServiceState::Stale), Severity::High);
        assert_eq!(service_severity("dynamodb", ServiceState::Unused), Severity::Medium);
        assert_eq!(service_severity("cloud9", ServiceState::Unused), Severity::Low);
        assert_eq!(entity_severity(["cloud9", "s3", "kms"]), Severity::High);
        assert_eq!(entity_severity([]), Severity::Informational);
        assert_eq!(Severity::parse("critical"), Some(Severity::Critical));
        assert_eq!(Severity::parse("severe"), None);
        assert!(is_escalation_action("IAM:passrole"));
    }
}
