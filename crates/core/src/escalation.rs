//! Escalation risks: the paths to more privilege that a boundary leaves open.
//!
//! A boundary caps its entity, not what the entity does to other principals. An entity whose
//! boundary still allows IAM writes (it used `iam`) may create a principal without a boundary,
//! change another principal's policies, pass a role to a service, create credentials for
//! another user or rewrite a role's trust policy, and so act with more than its own boundary
//! allows. Some of these `boundary.contain_iam_writers` closes; the others no boundary can.
//!
//! The risks are decided on the document itself, with [`crate::policy_eval`]: each path is a set
//! of probe requests against a principal that carries no iamsweep boundary (or a boundary that
//! is not the entity's own), and the path is kept when the boundary allows any of them. The
//! boundary is an upper bound: whether the entity's identity policies grant the action too is
//! not known here (the snapshot holds policy names, not documents), so a risk reads "the
//! boundary leaves this open", for a person to decide. `plan` names the risks of every document
//! it would write or keeps; the audit names those of the boundary the entity's usage would give
//! it ([`risks_of_usage`]).

use serde::{Deserialize, Serialize};

use crate::boundary::{AuditContext, policy_arn, synthesize_unchecked};
use crate::model::EntityKind;
use crate::policy_eval::{Policy, Request};
use crate::report::{EntityReport, ServiceState};
use crate::settings::{DEFAULT_BOUNDARY_PATH, EnforceSettings};

/// A kind of escalation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EscalationPath {
    /// Creating a user or role without the entity's boundary, then using it.
    CreatePrincipals,
    /// Changing the policies or the boundary of a principal not bounded like the entity, of a
    /// group, or a customer managed policy's versions.
    EditPolicies,
    /// `iam:PassRole`: handing a more privileged role to a service (EC2, Lambda, ...).
    PassRoles,
    /// Access keys or a console password for another user.
    CreateCredentials,
    /// Rewriting a role's trust policy so the entity can assume it.
    ChangeTrust,
}

impl EscalationPath {
    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationPath::CreatePrincipals => "create-principals",
            EscalationPath::EditPolicies => "edit-policies",
            EscalationPath::PassRoles => "pass-roles",
            EscalationPath::CreateCredentials => "create-credentials",
            EscalationPath::ChangeTrust => "change-trust",
        }
    }
}

/// One path a boundary leaves open, with the actions of it the boundary allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationRisk {
    /// What kind of path.
    pub path: EscalationPath,
    /// The IAM actions of the path the boundary allows, sorted.
    pub actions: Vec<String>,
}

/// What a probe's target principal is bounded by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// No `iam:PermissionsBoundary` in the request.
    None,
    /// A boundary iamsweep did not make.
    Foreign,
    /// Another entity's iamsweep boundary, which may allow more than this one.
    OtherIamsweep,
}

/// The resource a probe acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Role,
    User,
    Group,
    Policy,
}

const PROBES: &[(EscalationPath, &str, Target, &[Bound])] = {
    use Bound::*;
    use EscalationPath::*;
    use Target::*;
    const ANY: &[Bound] = &[None, Foreign, OtherIamsweep];
    &[
        (CreatePrincipals, "iam:CreateRole", Role, ANY),
        (CreatePrincipals, "iam:CreateUser", User, ANY),
        (EditPolicies, "iam:AttachRolePolicy", Role, ANY),
        (EditPolicies, "iam:PutRolePolicy", Role, ANY),
        (EditPolicies, "iam:DetachRolePolicy", Role, ANY),
        (EditPolicies, "iam:DeleteRolePolicy", Role, ANY),
        (EditPolicies, "iam:AttachUserPolicy", User, ANY),
        (EditPolicies, "iam:PutUserPolicy", User, ANY),
        (EditPolicies, "iam:DetachUserPolicy", User, ANY),
        (EditPolicies, "iam:DeleteUserPolicy", User, ANY),
        // Put: the new boundary; Delete: the current one. Both widen a principal.
        (EditPolicies, "iam:PutRolePermissionsBoundary", Role, &[Foreign]),
        (EditPolicies, "iam:PutUserPermissionsBoundary", User, &[Foreign]),
        (EditPolicies, "iam:DeleteRolePermissionsBoundary", Role, &[Foreign]),
        (EditPolicies, "iam:DeleteUserPermissionsBoundary", User, &[Foreign]),
        (EditPolicies, "iam:PutGroupPolicy", Group, &[None]),
        (EditPolicies, "iam:AttachGroupPolicy", Group, &[None]),
        (EditPolicies, "iam:AddUserToGroup", Group, &[None]),
        (EditPolicies, "iam:CreatePolicyVersion", Policy, &[None]),
        (EditPolicies, "iam:SetDefaultPolicyVersion", Policy, &[None]),
        (PassRoles, "iam:PassRole", Role, &[None]),
        (CreateCredentials, "iam:CreateAccessKey", User, &[None]),
        (CreateCredentials, "iam:CreateLoginProfile", User, &[None]),
        (CreateCredentials, "iam:UpdateLoginProfile", User, &[None]),
        (ChangeTrust, "iam:UpdateAssumeRolePolicy", Role, &[None]),
    ]
};

/// The escalation paths a boundary document leaves open, in a fixed order.
///
/// `boundary_path` is iamsweep's policy path: a probe for "another entity's iamsweep
/// boundary" names a policy under it. A document that cannot be parsed leaves everything open.
pub fn risks_of_document(
    document: &str,
    partition: &str,
    account_id: &str,
    boundary_path: &str,
) -> Vec<EscalationRisk> {
    let policy = Policy::parse(document).ok();
    let probe_name = "iamsweep-escalation-probe";
    let arn = |kind: &str| format!("arn:{partition}:iam::{account_id}:{kind}/{probe_name}");
    let mut risks: Vec<EscalationRisk> = Vec::new();
    for (path, action, target, bounds) in PROBES {
        let resource = arn(match target {
            Target::Role => "role",
            Target::User => "user",
            Target::Group => "group",
            Target::Policy => "policy",
        });
        let open = bounds.iter().any(|bound| {
            let request = Request::new(*action, &resource);
            let request = match bound {
                Bound::None => request,
                Bound::Foreign => request.with(
                    "iam:PermissionsBoundary",
                    &policy_arn(partition, account_id, "/", probe_name),
                ),
                Bound::OtherIamsweep => request.with(
                    "iam:PermissionsBoundary",
                    &policy_arn(partition, account_id, boundary_path, "role-escalation-probe"),
                ),
            };
            policy.as_ref().is_none_or(|policy| policy.evaluate(&request).is_allowed())
        });
        if !open {
            continue;
        }
        match risks.iter_mut().find(|risk| risk.path == *path) {
            Some(risk) => risk.actions.push(action.to_string()),
            None => risks.push(EscalationRisk { path: *path, actions: vec![action.to_string()] }),
        }
    }
    for risk in &mut risks {
        risk.actions.sort();
    }
    risks.sort_by_key(|risk| risk.path);
    risks
}

/// The escalation paths the boundary an audited user or role would get (its used services,
/// default settings) leaves open; none for groups, entities without data, or entities that
/// used no IAM (then the boundary allows no IAM action at all).
///
/// The account, the action-level data and the window come from the report itself, so the audit
/// needs no enforcement settings: with action-level data, tracked IAM actions not used in the
/// window are denied by the boundary and are no risk.
pub fn risks_of_usage(
    report: &EntityReport,
    window_days: u32,
    collected_at: time::OffsetDateTime,
) -> Vec<EscalationRisk> {
    let used_iam = report
        .services
        .iter()
        .any(|service| service.state == ServiceState::Used && &*service.namespace == "iam");
    if report.kind == EntityKind::Group || !used_iam {
        return Vec::new();
    }
    let account_id = report.arn.split(':').nth(4).unwrap_or_default();
    let audit = AuditContext {
        account_id,
        action_level: report.services.iter().any(|service| service.actions.is_some()),
        window_days,
        collected_at,
    };
    let settings = EnforceSettings::defaults(window_days).boundary;
    match synthesize_unchecked(report, &settings, &audit) {
        Ok(boundary) => risks_of_document(
            &boundary.document,
            crate::boundary::partition_of(&report.arn),
            account_id,
            DEFAULT_BOUNDARY_PATH,
        ),
        Err(_) => Vec::new(),
    }
}

/// The paths in a few words, such as `create-principals, pass-roles`; the JSON outputs list the
/// actions too.
pub fn describe(risks: &[EscalationRisk]) -> String {
    risks.iter().map(|risk| risk.path.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    fn paths(document: &str) -> Vec<EscalationPath> {
        risks_of_document(document, "aws", "111122223333", "/iamsweep/")
            .into_iter()
            .map(|risk| risk.path)
            .collect()
    }

    #[test]
    fn a_boundary_without_iam_leaves_nothing_open() {
        let doc = document(r#"{"Effect":"Allow","Action":["s3:*","sts:*"],"Resource":"*"}"#);
        assert!(paths(&doc).is_empty());
    }

    #[test]
    fn iam_star_leaves_every_path_open() {
        let doc = document(r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#);
        let risks = risks_of_document(&doc, "aws", "111122223333", "/iamsweep/");
        assert_eq!(
            risks.iter().map(|risk| risk.path).collect::<Vec<_>>(),
            [
                EscalationPath::CreatePrincipals,
                EscalationPath::EditPolicies,
                EscalationPath::PassRoles,
                EscalationPath::CreateCredentials,
                EscalationPath::ChangeTrust,
            ]
        );
        assert_eq!(risks[0].actions, ["iam:CreateRole", "iam:CreateUser"]);
        assert_eq!(describe(&risks[1..3]), "edit-policies, pass-roles");
    }

    #[test]
    fn only_the_actions_the_boundary_allows_are_named() {
        let doc = document(
            r#"{"Effect":"Allow","Action":["iam:Get*","iam:PassRole","iam:CreateAccessKey"],"Resource":"*"}"#,
        );
        let risks = risks_of_document(&doc, "aws", "111122223333", "/iamsweep/");
        assert_eq!(
            risks,
            [
                EscalationRisk {
                    path: EscalationPath::PassRoles,
                    actions: vec!["iam:PassRole".into()]
                },
                EscalationRisk {
                    path: EscalationPath::CreateCredentials,
                    actions: vec!["iam:CreateAccessKey".into()]
                },
            ]
        );
    }
}
