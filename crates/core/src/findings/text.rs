//! What a finding says, shared by ASFF and OCSF: title, description, remediation, the flagged
//! services with their granting policies, and the timestamp format.

use std::fmt::Write as _;

use crate::model::{EntityKind, PolicyRef, Status};
use crate::report::{EntityReport, ServiceReport, ServiceState, Verdict};
use crate::risk::{self, Severity};

/// ASFF's longest `Title`.
pub(crate) const MAX_TITLE: usize = 256;
/// ASFF's longest `Description`.
pub(crate) const MAX_DESCRIPTION: usize = 1024;
/// ASFF's longest `Remediation.Recommendation.Text`.
pub(crate) const MAX_REMEDIATION: usize = 512;
/// ASFF's longest `ProductFields` value.
pub(crate) const MAX_FIELD: usize = 2048;

/// How a person names the entity: `IAM role app`.
pub(crate) fn subject(kind: EntityKind, name: &str) -> String {
    format!("IAM {} {name}", kind.as_str())
}

/// The plural `--kinds` value that selects `kind`.
pub(crate) fn kinds_flag(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "users",
        EntityKind::Role => "roles",
        EntityKind::Group => "groups",
    }
}

/// The unused and stale services of an entity, most serious first (risk, then name).
pub(crate) fn flagged(entity: &EntityReport) -> Vec<&ServiceReport> {
    let mut services: Vec<&ServiceReport> =
        entity.services.iter().filter(|service| service.state != ServiceState::Used).collect();
    services.sort_by(|a, b| risk::compare_services(&a.namespace, &b.namespace));
    services
}

/// The severity of the entity's finding: the report's when it has one, else computed from its
/// services (reports written before the field existed); INFORMATIONAL when unevaluated.
pub(crate) fn severity(entity: &EntityReport) -> Severity {
    entity.severity.unwrap_or_else(|| match entity.verdict {
        Some(Verdict::NonCompliant) => {
            risk::entity_severity(flagged(entity).iter().map(|service| &*service.namespace))
        }
        _ => Severity::Informational,
    })
}

/// The severity of one service: the report's, else computed.
pub(crate) fn service_severity(service: &ServiceReport) -> Severity {
    service.severity.unwrap_or_else(|| risk::service_severity(&service.namespace, service.state))
}

/// How a policy is named to a person: a managed policy by name, an inline one with its holder.
pub(crate) fn policy_label(policy: &PolicyRef) -> String {
    match (&policy.entity_type, &policy.entity_name) {
        (Some(kind), Some(holder)) if policy.arn.is_none() => {
            format!("inline {} of {} {holder}", policy.name, kind.to_ascii_lowercase())
        }
        _ => policy.name.clone(),
    }
}

/// The title of the entity's finding.
pub(crate) fn title(entity: &EntityReport) -> String {
    let subject = subject(entity.kind, &entity.name);
    let text = match (entity.status, entity.verdict) {
        (_, Some(Verdict::NonCompliant)) => {
            let flagged = flagged(entity);
            let names: Vec<&str> =
                flagged.iter().take(5).map(|service| &*service.namespace).collect();
            let more = if flagged.len() > names.len() { ", ..." } else { "" };
            let count = match flagged.len() {
                1 => "1 service".to_string(),
                n => format!("{n} services"),
            };
            format!(
                "{subject} is granted {count} it did not use in the window ({}{more})",
                names.join(", ")
            )
        }
        (_, Some(Verdict::Compliant)) => format!("{subject} uses the services it is granted"),
        (Status::Skipped, None) => format!("{subject} was not evaluated"),
        _ => format!("{subject} could not be evaluated"),
    };
    truncate(&text, MAX_TITLE)
}

/// The description: the verdict's reasons, then each unused or stale service with its severity
/// and granting policies, most serious first, cut to ASFF's 1024 characters.
pub(crate) fn description(entity: &EntityReport, window_days: u32) -> String {
    let mut text = match entity.verdict {
        Some(Verdict::NonCompliant) => format!("{}.", entity.reasons.join("; ")),
        Some(Verdict::Compliant) => format!(
            "Every service granted to {} was used within the {window_days}-day window, or is \
             allowed by the rules.",
            entity.name
        ),
        None => format!(
            "Access Advisor data for {} could not be used: {}.",
            entity.name,
            entity.error.as_deref().or(entity.skip_reason.as_deref()).unwrap_or("no reason given")
        ),
    };
    let flagged = flagged(entity);
    if entity.verdict.is_some() && !flagged.is_empty() {
        text.push_str(" Unused or stale, most serious first:");
        for (position, service) in flagged.iter().enumerate() {
            let _ = write!(
                text,
                "{} {} ({} {}",
                if position == 0 { "" } else { ";" },
                service.namespace,
                service.state.as_str(),
                service_severity(service),
            );
            if let Some(policies) = service.granted_by.as_ref().filter(|p| !p.is_empty()) {
                let labels: Vec<String> = policies.iter().map(policy_label).collect();
                let _ = write!(text, ", granted by {}", labels.join(", "));
            }
            text.push(')');
        }
        text.push('.');
    }
    truncate(&text, MAX_DESCRIPTION)
}

/// What to do, naming the exact `iamsweep` command.
pub(crate) fn remediation(entity: &EntityReport, window_days: u32) -> String {
    let select = format!("--kinds {} --name {}", kinds_flag(entity.kind), entity.name);
    let text = match (entity.verdict, entity.kind) {
        (None, _) => format!(
            "Fix the cause, then audit again with `iamsweep audit {select}` (the error is in the \
             description)."
        ),
        (Some(Verdict::Compliant), _) => "No action needed.".to_string(),
        (Some(Verdict::NonCompliant), EntityKind::Group) => format!(
            "IAM groups take no permissions boundary: remove the unused services from the \
             policies named in the description, or bound the members with `iamsweep plan --kinds \
             users`. Check first with `iamsweep audit {select}`."
        ),
        (Some(Verdict::NonCompliant), _) => format!(
            "Run `iamsweep plan {select}` to review a permissions boundary that allows only the \
             services used in the last {window_days} days, then `iamsweep apply {select} --apply` \
             (journaled, undone with `iamsweep rollback`); or remove the unused services from \
             the policies granting them."
        ),
    };
    truncate(&text, MAX_REMEDIATION)
}

/// The namespaces of `entity` in `state`, most serious first, joined by `,` within `limit`.
pub(crate) fn namespace_list(entity: &EntityReport, state: ServiceState, limit: usize) -> String {
    let names: Vec<&str> = flagged(entity)
        .into_iter()
        .filter(|service| service.state == state)
        .map(|service| &*service.namespace)
        .collect();
    truncate(&names.join(","), limit)
}

/// Each policy granting an unused or stale service, with those services:
/// `AdministratorAccess: iam,kms,s3; inline app of role app: sqs`.
pub(crate) fn granting_policies(entity: &EntityReport) -> Vec<(String, Vec<String>)> {
    let mut policies: Vec<(String, Vec<String>)> = Vec::new();
    for service in flagged(entity) {
        for policy in service.granted_by.iter().flatten() {
            let label = policy_label(policy);
            match policies.iter_mut().find(|(known, _)| *known == label) {
                Some((_, services)) => services.push(service.namespace.to_string()),
                None => policies.push((label, vec![service.namespace.to_string()])),
            }
        }
    }
    policies
}

/// `text` cut to at most `limit` bytes on a character boundary, ending in `...` when cut.
pub(crate) fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Timestamps as ASFF and OCSF readers expect: RFC 3339 in UTC, milliseconds at most.
pub(crate) mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{OffsetDateTime, UtcOffset};

    /// Formats `at` as `2026-11-23T12:00:00.000Z`.
    pub fn format(at: OffsetDateTime) -> String {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        at.to_offset(UtcOffset::UTC).format(&format).expect("a UTC date formats")
    }

    pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 5), "ab...");
        assert_eq!(truncate("ééééé", 6), "é...");
    }
}
