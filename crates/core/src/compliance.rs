//! Compliance rules: which granted services make an entity non-compliant, and why.
//!
//! The rules follow the AWS blog the project came from: services never accessed in the
//! tracking period, and services not accessed for a number of days. A service granted only by
//! ignored policies (the original Config rule ignored `ReadOnlyAccess`) never counts. A third
//! rule, off by default, fails [`idle`] entities: those that used nothing within the window.

use time::{Duration, OffsetDateTime};

use crate::model::{EntityKind, ServiceRecord};
use crate::risk;

/// What makes an entity non-compliant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// A service last used more than this many days ago is `stale` in the report.
    pub window_days: u32,
    /// A service last used more than this many days ago breaks the `stale` rule.
    pub stale_days: u32,
    /// Fail on services never used in the tracking period.
    pub fail_on_unused: bool,
    /// Fail on services not used for `stale_days`.
    pub fail_on_stale: bool,
    /// Fail on idle entities (see [`idle`]); off by default, since an idle entity with any
    /// grant already breaks the `unused` or `stale` rule.
    pub fail_on_idle: bool,
    /// Names or ARNs of policies whose grants are ignored.
    pub ignore_policies: Vec<String>,
    /// `[boundary] path`: the report marks services denied by iamsweep's own boundaries, which
    /// live there ([`crate::denied`]); it changes no verdict.
    pub boundary_path: String,
}

impl Rules {
    /// Both rules on, `stale_days` equal to the window, nothing ignored, boundaries under the
    /// default path.
    pub fn new(window_days: u32) -> Self {
        Rules {
            window_days,
            stale_days: window_days,
            fail_on_unused: true,
            fail_on_stale: true,
            fail_on_idle: false,
            ignore_policies: Vec::new(),
            boundary_path: crate::settings::DEFAULT_BOUNDARY_PATH.to_string(),
        }
    }

    /// Whether a service counts for compliance: not when every policy granting it is ignored.
    ///
    /// Without attribution data nothing can be ignored, so the service counts.
    fn counts(&self, service: &ServiceRecord) -> bool {
        if self.ignore_policies.is_empty() {
            return true;
        }
        match &service.granted_by {
            Some(policies) if !policies.is_empty() => !policies
                .iter()
                .all(|policy| self.ignore_policies.iter().any(|ignored| policy.matches(ignored))),
            _ => true,
        }
    }
}

/// The namespaces that break `rules` at `now` (the unused ones, then the stale ones, each
/// only when its rule is on): what a verdict counts, and so what a finding's severity follows.
pub fn flagged<'a>(
    services: &'a [ServiceRecord],
    rules: &Rules,
    now: OffsetDateTime,
) -> Vec<&'a str> {
    let (unused, stale) = broken(services, rules, now);
    let unused = unused.into_iter().filter(|_| rules.fail_on_unused);
    unused.chain(stale.into_iter().filter(|_| rules.fail_on_stale)).collect()
}

/// The counted services never used and those not used for `stale_days`, in input order.
fn broken<'a>(
    services: &'a [ServiceRecord],
    rules: &Rules,
    now: OffsetDateTime,
) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut unused: Vec<&str> = Vec::new();
    let mut stale: Vec<&str> = Vec::new();
    let stale_after = Duration::days(i64::from(rules.stale_days));
    for service in services.iter().filter(|service| rules.counts(service)) {
        match service.last_authenticated {
            None => unused.push(&service.namespace),
            Some(when) if now - when > stale_after => stale.push(&service.namespace),
            Some(_) => {}
        }
    }
    (unused, stale)
}

/// The reasons `services` break `rules` at `now`; empty when compliant.
pub fn judge(services: &[ServiceRecord], rules: &Rules, now: OffsetDateTime) -> Vec<String> {
    let (mut unused, mut stale) = broken(services, rules, now);
    // By risk, then name: the order every report lists services in.
    risk::sort_services(&mut unused);
    risk::sort_services(&mut stale);
    let mut reasons = Vec::new();
    if rules.fail_on_unused && !unused.is_empty() {
        reasons.push(format!(
            "{} never accessed in the tracking period: {}",
            plural(unused.len()),
            listing(&unused)
        ));
    }
    if rules.fail_on_stale && !stale.is_empty() {
        reasons.push(format!(
            "{} not accessed for {} days: {}",
            plural(stale.len()),
            rules.stale_days,
            listing(&stale)
        ));
    }
    reasons
}

/// Why an entity is idle, or `None` when it is not: no granted service was used within the
/// window (all unused or stale, or nothing granted) and, for a role, IAM's `RoleLastUsed` is
/// older than the window or absent. IAM Access Analyzer calls such an entity an unused role or
/// user. `RoleLastUsed` counts too because a role can be assumed and used for calls Access
/// Advisor does not attribute to a service it grants; such a role is not idle.
pub fn idle(
    kind: EntityKind,
    services: &[ServiceRecord],
    role_last_used: Option<OffsetDateTime>,
    window_days: u32,
    now: OffsetDateTime,
) -> Option<String> {
    let within = |when: OffsetDateTime| now - when <= Duration::days(i64::from(window_days));
    if services.iter().any(|service| service.last_authenticated.is_some_and(within)) {
        return None;
    }
    let role = match (kind, role_last_used) {
        (EntityKind::Role, Some(when)) if within(when) => return None,
        (EntityKind::Role, Some(when)) => {
            format!("; the role was last used {} days ago", (now - when).whole_days())
        }
        (EntityKind::Role, None) => "; the role has no recorded use (RoleLastUsed)".to_string(),
        _ => String::new(),
    };
    Some(format!("idle: no service used within {window_days} days{role}"))
}

/// Namespaces named in a reason at most; an admin has 400+ and a reason is read by a person
/// (the full list is in the report's `services`).
pub const NAMESPACES_IN_REASON: usize = 10;

fn listing(namespaces: &[&str]) -> String {
    if namespaces.len() <= NAMESPACES_IN_REASON {
        return namespaces.join(", ");
    }
    format!(
        "{} and {} more",
        namespaces[..NAMESPACES_IN_REASON].join(", "),
        namespaces.len() - NAMESPACES_IN_REASON
    )
}

fn plural(count: usize) -> String {
    if count == 1 { "1 service".to_string() } else { format!("{count} services") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PolicyRef;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn service(namespace: &str, days_ago: Option<i64>, granted_by: &[&str]) -> ServiceRecord {
        let mut service = ServiceRecord::new(namespace, namespace);
        service.last_authenticated = days_ago.map(|days| NOW - Duration::days(days));
        if !granted_by.is_empty() {
            service.granted_by = Some(
                granted_by
                    .iter()
                    .map(|name| PolicyRef {
                        name: name.to_string(),
                        policy_type: "MANAGED".into(),
                        arn: Some(format!("arn:aws:iam::aws:policy/{name}")),
                        entity_type: None,
                        entity_name: None,
                    })
                    .collect(),
            );
        }
        service
    }

    #[test]
    fn unused_and_stale_services_each_give_one_reason() {
        let services = [
            service("s3", Some(3), &[]),
            service("ec2", Some(100), &[]),
            service("iam", None, &[]),
            service("lambda", None, &[]),
        ];
        let mut rules = Rules::new(180);
        rules.stale_days = 90;
        assert_eq!(
            judge(&services, &rules, NOW),
            vec![
                "2 services never accessed in the tracking period: iam, lambda".to_string(),
                "1 service not accessed for 90 days: ec2".to_string(),
            ]
        );
        rules.fail_on_unused = false;
        assert_eq!(judge(&services, &rules, NOW).len(), 1);
    }

    #[test]
    fn namespaces_in_a_reason_are_listed_by_risk_then_name() {
        let services =
            [service("a2c", None, &[]), service("s3", None, &[]), service("iam", None, &[])];
        assert_eq!(
            judge(&services, &Rules::new(180), NOW),
            vec!["3 services never accessed in the tracking period: iam, s3, a2c".to_string()]
        );
    }

    #[test]
    fn an_entity_that_used_nothing_within_the_window_is_idle() {
        let stale_and_unused = [service("s3", Some(200), &[]), service("ec2", None, &[])];
        let recent = [service("s3", Some(200), &[]), service("ec2", Some(2), &[])];
        let user = |services: &[ServiceRecord]| idle(EntityKind::User, services, None, 180, NOW);
        assert_eq!(
            user(&stale_and_unused).as_deref(),
            Some("idle: no service used within 180 days")
        );
        assert_eq!(user(&recent), None);
        // Nothing granted and nothing used: idle too.
        assert!(user(&[]).is_some());
        // A role: RoleLastUsed within the window keeps it from being idle.
        let role = |last: Option<i64>| {
            idle(
                EntityKind::Role,
                &stale_and_unused,
                last.map(|days| NOW - Duration::days(days)),
                180,
                NOW,
            )
        };
        assert_eq!(role(Some(10)), None);
        assert_eq!(
            role(Some(250)).as_deref(),
            Some("idle: no service used within 180 days; the role was last used 250 days ago")
        );
        assert!(role(None).unwrap().contains("no recorded use"));
        // The window edge is inside, as for `used`.
        assert_eq!(role(Some(180)), None);
    }

    #[test]
    fn a_long_list_of_namespaces_is_cut_with_a_count() {
        let names: Vec<String> = (0..12).map(|n| format!("svc{n:02}")).collect();
        let services: Vec<ServiceRecord> =
            names.iter().map(|name| service(name, None, &[])).collect();
        assert_eq!(
            judge(&services, &Rules::new(180), NOW),
            vec![
                "12 services never accessed in the tracking period: svc00, svc01, svc02, svc03, \
                 svc04, svc05, svc06, svc07, svc08, svc09 and 2 more"
                    .to_string()
            ]
        );
    }

    #[test]
    fn a_service_granted_only_by_an_ignored_policy_does_not_count() {
        let services = [
            service("s3", None, &["ReadOnlyAccess"]),
            service("ec2", None, &["ReadOnlyAccess", "Custom"]),
        ];
        let mut rules = Rules::new(180);
        rules.ignore_policies = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
        assert_eq!(
            judge(&services, &rules, NOW),
            vec!["1 service never accessed in the tracking period: ec2".to_string()]
        );
        rules.ignore_policies = vec!["ReadOnlyAccess".into(), "Custom".into()];
        assert!(judge(&services, &rules, NOW).is_empty());
    }
}
