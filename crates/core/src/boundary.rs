//! Boundary synthesis: the permissions boundary policy of one user or role, as canonical JSON.
//!
//! A boundary allows `NAMESPACE:*` for every service the entity used within the window (plus
//! the configured base actions for an entity that used nothing, or always when configured),
//! optionally denies the tracked actions of used services that were not used (as wildcard
//! patterns, [`crate::action_level`]; a service that does not fit falls back to service
//! level), and always denies
//! what would let the entity, or any other principal it can reach through IAM, lift an
//! iamsweep boundary (the original sample forgot this): changing its own boundary, editing
//! iamsweep's boundary policies, removing or replacing another principal's iamsweep boundary,
//! and touching the tags iamsweep's rollback and guardrails trust (see
//! `protective_statements`). With `boundary.contain_iam_writers`, an entity that keeps IAM
//! writes may create and change principals only under its own boundary ([`CONTAINED_ACTIONS`]).
//! What a boundary cannot close is named per entity by [`crate::escalation`].
//!
//! Documents are canonical ([`canonicalize`]): sorted keys, sorted and deduplicated action and
//! resource lists, no whitespace, statements in a fixed order with Sids. Comparing a document
//! with the live default version is therefore exact, and a second run writes nothing.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::action_catalogue::{Catalogue, is_namespace};
use crate::action_level::{ActionDeny, ActionLevel};
use crate::error::InputError;
use crate::model::EntityKind;
use crate::report::{EntityReport, ServiceState};
use crate::settings::BoundarySettings;

/// IAM's limit on a managed policy document, in characters, whitespace not counted.
pub const MAX_POLICY_CHARS: usize = 6_144;
/// The policy language version every boundary uses.
pub const POLICY_VERSION: &str = "2012-10-17";

/// Why no boundary document can be produced for an entity; the plan turns it into a skip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundaryRefusal {
    /// The document would exceed IAM's size limit, which IAM would reject.
    #[error(
        "its boundary would be {chars} characters, over IAM's limit of {MAX_POLICY_CHARS} \
         (whitespace not counted); hint: it used too many services (action-level Denies fall \
         back to service level before this)"
    )]
    TooLarge {
        /// Non-whitespace characters of the canonical document.
        chars: usize,
    },
    /// The policy name would not be valid for IAM.
    #[error("its boundary policy name `{0}` is not valid for IAM (1 to 128 of [A-Za-z0-9_+=,.@-])")]
    InvalidName(String),
    /// A used service's namespace is not shaped like one; a policy with it would be rejected.
    #[error("its used service `{0}` is not a valid IAM namespace ([a-z0-9-]+)")]
    InvalidNamespace(String),
    /// Users and roles only: IAM has no boundary for groups.
    #[error("IAM has no permissions boundary for groups")]
    Group,
}

/// A synthesised boundary: where it lives and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundaryDocument {
    /// `role-NAME` or `user-NAME`.
    pub policy_name: String,
    /// The full policy ARN, under the configured path.
    pub policy_arn: String,
    /// The canonical JSON document.
    pub document: String,
    /// With action-level data: which used services are judged per action, which at service
    /// level and why (`None` without action-level data).
    pub action_level: Option<ActionLevel>,
}

/// The boundary policy name of an entity: its kind and name, so that a user and a role with the
/// same name never share one (the original sample named it after the entity name only).
pub fn policy_name(kind: EntityKind, name: &str) -> String {
    format!("{}-{name}", kind.as_str())
}

/// The ARN of a customer-managed policy: `arn:PARTITION:iam::ACCOUNT:policyPATHNAME`.
pub fn policy_arn(partition: &str, account_id: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:policy{path}{name}")
}

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`), `aws` when it cannot be read.
pub fn partition_of(arn: &str) -> &str {
    arn.split(':').nth(1).filter(|partition| !partition.is_empty()).unwrap_or("aws")
}

/// Checks a managed policy name: 1..128 characters of `[\w+=,.@-]`.
pub fn validate_policy_name(name: &str) -> Result<(), String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if (1..=128).contains(&name.len()) && name.chars().all(valid_char) {
        Ok(())
    } else {
        Err(format!("policy name `{name}` must be 1 to 128 characters of [A-Za-z0-9_+=,.@-]"))
    }
}

/// Checks an IAM path: starts and ends with `/`, at most 512 characters of `!` to `~`, no `//`.
pub fn validate_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with('/')
        && path.ends_with('/')
        && path.len() <= 512
        && path.chars().all(|c| ('!'..='~').contains(&c))
        && !path.contains("//");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "path `{path}` must start and end with `/`, have no empty segment and hold at most \
             512 printable ASCII characters, such as `/iamsweep/`"
        ))
    }
}

/// Whether `arn` is a boundary policy iamsweep creates: under the configured path of the
/// account, named `role-...` or `user-...`. Any other boundary is foreign and left alone unless
/// `replace_foreign_boundaries` is set.
pub fn is_own_boundary(arn: &str, account_id: &str, path: &str) -> bool {
    let prefix = policy_arn(partition_of(arn), account_id, path, "");
    arn.strip_prefix(&prefix).is_some_and(|rest| {
        !rest.contains('/') && (rest.starts_with("role-") || rest.starts_with("user-"))
    })
}

/// Facts about the audit a boundary is synthesised from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditContext<'a> {
    /// The account the boundary policy lives in.
    pub account_id: &'a str,
    /// Whether the snapshot holds action-level data (then unused tracked actions are denied).
    pub action_level: bool,
    /// Days within which a last access counts as used.
    pub window_days: u32,
    /// The instant ages are measured from: the snapshot's `collected_at`, as for the report.
    pub collected_at: time::OffsetDateTime,
}

/// Builds the boundary of one entity from its classified report, refusing a document IAM would
/// reject.
///
/// With action-level data, the tracked actions of each used service that were not used within
/// the window are denied, compressed into wildcard patterns that match no used and no untracked
/// action of the shipped [`Catalogue`] ([`crate::action_level`]). Untracked actions are never
/// denied: having no data about an action is not evidence that it is unused. A service whose
/// patterns do not fit falls back to service level, largest first, rather than the whole
/// boundary being refused.
pub fn synthesize(
    report: &EntityReport,
    settings: &BoundarySettings,
    audit: &AuditContext<'_>,
) -> Result<BoundaryDocument, BoundaryRefusal> {
    synthesize_with(report, settings, audit, Catalogue::shipped())
}

/// [`synthesize`] with a given action catalogue (tests use their own).
pub fn synthesize_with(
    report: &EntityReport,
    settings: &BoundarySettings,
    audit: &AuditContext<'_>,
    catalogue: &Catalogue,
) -> Result<BoundaryDocument, BoundaryRefusal> {
    let boundary = synthesize_fitted(report, settings, audit, catalogue)?;
    let chars = non_whitespace_chars(&boundary.document);
    if chars > MAX_POLICY_CHARS {
        return Err(BoundaryRefusal::TooLarge { chars });
    }
    Ok(boundary)
}

/// [`synthesize`] without IAM's size limit: what the boundary says, even when it could not be
/// written. For analysis only (the audit's escalation risks); never written to IAM.
pub fn synthesize_unchecked(
    report: &EntityReport,
    settings: &BoundarySettings,
    audit: &AuditContext<'_>,
) -> Result<BoundaryDocument, BoundaryRefusal> {
    synthesize_fitted(report, settings, audit, Catalogue::shipped())
}

/// The boundary with as many services at action level as fit: while the document is over IAM's
/// limit, the service with the longest Deny patterns falls back to service level.
fn synthesize_fitted(
    report: &EntityReport,
    settings: &BoundarySettings,
    audit: &AuditContext<'_>,
    catalogue: &Catalogue,
) -> Result<BoundaryDocument, BoundaryRefusal> {
    let Some(mut deny) = action_deny(report, settings, audit, catalogue) else {
        return document(report, settings, audit, BTreeSet::new(), None);
    };
    loop {
        let boundary = document(report, settings, audit, deny.patterns(), Some(deny.outcome()))?;
        let chars = non_whitespace_chars(&boundary.document);
        if chars <= MAX_POLICY_CHARS || !deny.fall_back_largest(chars) {
            return Ok(boundary);
        }
    }
}

/// The action-level Deny of the entity, `None` without action-level data.
fn action_deny(
    report: &EntityReport,
    settings: &BoundarySettings,
    audit: &AuditContext<'_>,
    catalogue: &Catalogue,
) -> Option<ActionDeny> {
    if !audit.action_level || report.kind == EntityKind::Group {
        return None;
    }
    // A base action named exactly is an explicit wish to allow it: never deny it.
    let keep = if uses_base_actions(report, settings) {
        settings.base_actions.iter().cloned().collect()
    } else {
        BTreeSet::new()
    };
    Some(ActionDeny::new(report, audit, &keep, catalogue))
}

/// Whether the boundary allows the base actions: for an entity that used nothing, or always.
fn uses_base_actions(report: &EntityReport, settings: &BoundarySettings) -> bool {
    settings.always_include_base_actions
        || !report.services.iter().any(|service| service.state == ServiceState::Used)
}

/// The boundary document, denying `denied` (action patterns) as unused tracked actions.
fn document(
    report: &EntityReport,
    settings: &BoundarySettings,
    audit: &AuditContext<'_>,
    denied: BTreeSet<String>,
    action_level: Option<ActionLevel>,
) -> Result<BoundaryDocument, BoundaryRefusal> {
    let account_id = audit.account_id;
    let put_own_boundary = match report.kind {
        EntityKind::Role => "iam:PutRolePermissionsBoundary",
        EntityKind::User => "iam:PutUserPermissionsBoundary",
        EntityKind::Group => return Err(BoundaryRefusal::Group),
    };
    let name = policy_name(report.kind, &report.name);
    validate_policy_name(&name).map_err(|_| BoundaryRefusal::InvalidName(name.clone()))?;
    let partition = partition_of(&report.arn);
    let arn = policy_arn(partition, account_id, &settings.path, &name);

    let used: Vec<_> =
        report.services.iter().filter(|service| service.state == ServiceState::Used).collect();
    let mut allowed = BTreeSet::new();
    for service in &used {
        if !is_namespace(&service.namespace) {
            return Err(BoundaryRefusal::InvalidNamespace(service.namespace.to_string()));
        }
        allowed.insert(format!("{}:*", service.namespace));
    }
    let base: BTreeSet<String> = if uses_base_actions(report, settings) {
        settings.base_actions.iter().cloned().collect()
    } else {
        BTreeSet::new()
    };
    // Whether the entity keeps any of the IAM writes containment is about: allowed by a pattern
    // and not denied as an unused tracked action.
    let writes_iam = CONTAINED_ACTIONS.iter().any(|action| {
        allowed.iter().chain(&base).any(|pattern| action_matches(pattern, action))
            && !denied.iter().any(|d| action_matches(d, action))
    });

    let mut statements = Vec::new();
    if !allowed.is_empty() {
        statements.push(statement("AllowUsedServices", "Allow", allowed, vec!["*".into()]));
    }
    if !base.is_empty() {
        statements.push(statement("AllowBaseActions", "Allow", base, vec!["*".into()]));
    }
    if !denied.is_empty() {
        statements.push(statement("DenyUnusedTrackedActions", "Deny", denied, vec!["*".into()]));
    }
    let contain = writes_iam && settings.contain_iam_writers;
    // Replacing its own boundary: `DenyBoundaryReplacement` knows the entity by its tag, which a
    // `do_not_tag` entity lacks; containment covers it already. Removing it is
    // `DenyBoundaryRemoval`'s, as for every principal.
    if !contain {
        statements.push(statement(
            "DenyOwnBoundaryChange",
            "Deny",
            actions(&[put_own_boundary]),
            vec![report.arn.clone()],
        ));
    }
    statements.push(statement(
        "DenyBoundaryPolicyEdit",
        "Deny",
        // Creating a policy on the path counts as editing: a policy planted there would pass
        // for one of iamsweep's (`is_own_boundary`, the conditions on the path).
        actions(&[
            "iam:CreatePolicy",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:SetDefaultPolicyVersion",
        ]),
        vec![policy_arn(partition, account_id, &settings.path, "*")],
    ));
    statements.extend(protective_statements(
        partition,
        account_id,
        settings,
        contain.then_some(arn.as_str()),
    ));
    let document = write_canonical(&json!({ "Version": POLICY_VERSION, "Statement": statements }));
    Ok(BoundaryDocument { policy_name: name, policy_arn: arn, document, action_level })
}

/// The IAM writes [`BoundarySettings::contain_iam_writers`] limits to principals bounded by the
/// writer's own boundary: creating a user or role, giving one a boundary, and changing its
/// policies (deleting or detaching one can lift an inline `Deny`, so those count too). IAM puts
/// the boundary in `iam:PermissionsBoundary` for each of them: the boundary requested for the
/// `Create*` and `Put*PermissionsBoundary` calls, the target's current one for the others.
pub const CONTAINED_ACTIONS: [&str; 12] = [
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:CreateRole",
    "iam:CreateUser",
    "iam:DeleteRolePolicy",
    "iam:DeleteUserPolicy",
    "iam:DetachRolePolicy",
    "iam:DetachUserPolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:PutUserPermissionsBoundary",
    "iam:PutUserPolicy",
];

/// The Deny statements that keep iamsweep's boundaries in place account-wide, on every user and
/// role (the entity's own boundary and policy are covered by the statements before them):
///
/// - `DenyBoundaryRemoval`: `Delete*PermissionsBoundary` where the target's current boundary
///   (`iam:PermissionsBoundary`, which IAM fills with the boundary being removed) is under the
///   boundary path; with containment, any boundary, as in the IAM User Guide's delegation
///   example.
/// - `DenyBoundaryReplacement`: `Put*PermissionsBoundary` on a principal carrying the
///   previous-boundary tag. For `Put*` IAM fills `iam:PermissionsBoundary` with the *new*
///   boundary, never the replaced one, so a condition on it cannot recognise a principal bounded
///   by iamsweep; the tag iamsweep writes with every boundary it attaches can, and no bounded
///   entity can add or remove that tag (below). Principals under `do_not_tag` carry no tag and
///   are not covered (README, "What a boundary closes and what it cannot").
/// - `DenyIamsweepTagChange`: tagging, untagging, or creating a principal with, a key under
///   `iamsweep:` or one of the configured protected keys (`aws:TagKeys`, which holds the keys of
///   the request).
/// - `DenyIamsweepTagCaseChange`: the same for the protected keys in any letter case: IAM tag keys
///   are case-insensitive on users and roles, so `IAMSWEEP:PREVIOUS-BOUNDARY` overwrites the
///   record, while `StringLike` compares case-sensitively.
/// - with `contain` (the entity's own boundary ARN), `ContainIamWriters`: the
///   [`CONTAINED_ACTIONS`] only where `iam:PermissionsBoundary` is exactly that boundary. A
///   missing key satisfies `StringNotEquals`, so a `CreateRole` without a boundary is denied.
///   Exactly its own, not any of iamsweep's: another entity's boundary may allow more.
fn protective_statements(
    partition: &str,
    account_id: &str,
    settings: &BoundarySettings,
    contain: Option<&str>,
) -> Vec<Value> {
    let principals = vec![
        format!("arn:{partition}:iam::{account_id}:role/*"),
        format!("arn:{partition}:iam::{account_id}:user/*"),
    ];
    let ours = policy_arn(partition, account_id, &settings.path, "*");
    let mut statements = Vec::new();
    let mut removal = statement(
        "DenyBoundaryRemoval",
        "Deny",
        actions(&["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"]),
        principals.clone(),
    );
    if contain.is_none() {
        removal["Condition"] = json!({ "StringLike": { "iam:PermissionsBoundary": ours } });
    }
    statements.push(removal);
    let mut replacement = statement(
        "DenyBoundaryReplacement",
        "Deny",
        actions(&["iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"]),
        principals.clone(),
    );
    let marker = format!("aws:ResourceTag/{}", settings.previous_boundary_tag);
    replacement["Condition"] = json!({ "Null": { marker: "false" } });
    statements.push(replacement);

    let tag_actions = actions(&[
        "iam:CreateRole",
        "iam:CreateUser",
        "iam:TagRole",
        "iam:TagUser",
        "iam:UntagRole",
        "iam:UntagUser",
    ]);
    let keys = [&settings.previous_boundary_tag, &settings.exclude_tag];
    let mut patterns = vec![PROTECTED_TAG_PREFIX.to_string()];
    patterns.extend(
        keys.iter()
            .filter(|key| !crate::policy_eval::glob_matches(PROTECTED_TAG_PREFIX, key))
            .map(|key| key.to_string()),
    );
    let mut change =
        statement("DenyIamsweepTagChange", "Deny", tag_actions.clone(), principals.clone());
    change["Condition"] = json!({ "ForAnyValue:StringLike": { "aws:TagKeys": sorted(patterns) } });
    statements.push(change);
    let mut case = statement("DenyIamsweepTagCaseChange", "Deny", tag_actions, principals.clone());
    let mut exact: Vec<String> = Vec::new();
    for key in keys {
        if !exact.iter().any(|known| known.eq_ignore_ascii_case(key)) {
            exact.push(key.to_string());
        }
    }
    case["Condition"] =
        json!({ "ForAnyValue:StringEqualsIgnoreCase": { "aws:TagKeys": sorted(exact) } });
    statements.push(case);

    if let Some(own) = contain {
        let mut contain =
            statement("ContainIamWriters", "Deny", actions(&CONTAINED_ACTIONS), principals);
        contain["Condition"] = json!({ "StringNotEquals": { "iam:PermissionsBoundary": own } });
        statements.push(contain);
    }
    statements
}

/// Every tag key under this prefix is iamsweep's: no bounded entity may add, change or remove
/// one.
pub const PROTECTED_TAG_PREFIX: &str = "iamsweep:*";

fn actions(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|action| action.to_string()).collect()
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list.dedup();
    list
}

fn action_matches(pattern: &str, action: &str) -> bool {
    crate::policy_eval::action_matches(pattern, action)
}

fn statement(sid: &str, effect: &str, actions: BTreeSet<String>, resources: Vec<String>) -> Value {
    json!({ "Sid": sid, "Effect": effect, "Action": actions.into_iter().collect::<Vec<_>>(), "Resource": resources })
}

/// Characters of `document` that IAM counts against its size limit (whitespace is free).
pub fn non_whitespace_chars(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// Parses any JSON policy document and writes it canonically.
///
/// Keys sorted, no whitespace; a lone `Statement` object becomes a list of one; `Action`,
/// `NotAction`, `Resource` and `NotResource` become sorted, deduplicated lists (AWS returns a
/// single action as a string or a list, depending on how it was written). Statement order is
/// kept: it is fixed in the documents iamsweep writes. The `aws` crate passes the URL-decoded
/// default version here, so a document written by iamsweep compares equal to its source.
pub fn canonicalize(document: &str) -> Result<String, InputError> {
    let mut value: Value = serde_json::from_str(document)
        .map_err(|error| InputError::at_json("policy document", &error))?;
    let Some(object) = value.as_object_mut() else {
        return Err(InputError::field("policy", "expected a JSON object with `Statement`"));
    };
    if let Some(statement) = object.get_mut("Statement") {
        if statement.is_object() {
            *statement = Value::Array(vec![statement.take()]);
        }
        for item in statement.as_array_mut().into_iter().flatten() {
            if let Some(item) = item.as_object_mut() {
                normalize_statement(item);
            }
        }
    }
    Ok(write_canonical(&value))
}

fn normalize_statement(statement: &mut Map<String, Value>) {
    for key in ["Action", "NotAction", "Resource", "NotResource"] {
        let Some(value) = statement.get_mut(key) else { continue };
        let list: Option<Vec<String>> = match value {
            Value::String(one) => Some(vec![one.clone()]),
            Value::Array(items) => {
                items.iter().map(|item| item.as_str().map(str::to_string)).collect()
            }
            _ => None,
        };
        if let Some(list) = list {
            let set: BTreeSet<String> = list.into_iter().collect();
            *value = Value::Array(set.into_iter().map(Value::String).collect());
        }
    }
}

/// Writes a JSON value with object keys sorted and no whitespace.
///
/// Written by hand rather than trusting `serde_json::Map`'s order, which becomes insertion order
/// if any crate of the build enables serde_json's `preserve_order` feature.
pub fn write_canonical(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).expect("a string serialises"));
                out.push(':');
                write_value(&map[key], out);
            }
            out.push('}');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).expect("a scalar serialises")),
    }
}
