//! Boundary synthesis: the permissions boundary policy of one user or role, as canonical JSON.
//!
//! A boundary allows `NAMESPACE:*` for every service the entity used within the window (plus
//! the configured base actions for an entity that used nothing, or always when configured),
//! optionally denies the tracked actions of used services that were not used, and always denies
//! the entity changing its own boundary or editing iamsweep's boundary policies, so the entity
//! cannot lift the restriction (the original sample forgot this).
//!
//! Documents are canonical ([`canonicalize`]): sorted keys, sorted and deduplicated action and
//! resource lists, no whitespace, statements in a fixed order with Sids. Comparing a document
//! with the live default version is therefore exact, and a second run writes nothing.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

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
         (whitespace not counted); hint: it used too many services or, with action-level data, \
         has too many unused tracked actions to deny"
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

/// Builds the boundary of one entity from its classified report.
///
/// With action-level data, the tracked actions of each used service that were not used within
/// the window are denied. Untracked actions are never denied: having no data about an action is
/// not evidence that it is unused.
pub fn synthesize(
    report: &EntityReport,
    settings: &BoundarySettings,
    audit: &AuditContext<'_>,
) -> Result<BoundaryDocument, BoundaryRefusal> {
    let account_id = audit.account_id;
    let kind_actions = match report.kind {
        EntityKind::Role => ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"],
        EntityKind::User => ["iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary"],
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
        let namespace_ok = !service.namespace.is_empty()
            && service
                .namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !namespace_ok {
            return Err(BoundaryRefusal::InvalidNamespace(service.namespace.to_string()));
        }
        allowed.insert(format!("{}:*", service.namespace));
    }
    let base: BTreeSet<String> = if used.is_empty() || settings.always_include_base_actions {
        settings.base_actions.iter().cloned().collect()
    } else {
        BTreeSet::new()
    };
    let mut denied = BTreeSet::new();
    if audit.action_level {
        for service in &used {
            for action in service.actions.iter().flatten() {
                let used_recently = crate::analysis::classify(
                    action.last_accessed,
                    audit.collected_at,
                    audit.window_days,
                ) == ServiceState::Used;
                let name_ok = !action.name.is_empty()
                    && action.name.chars().all(|c| c.is_ascii_alphanumeric());
                let full = format!("{}:{}", service.namespace, action.name);
                // A base action named exactly is an explicit wish to allow it: never deny it.
                let wanted = base.iter().any(|b| b.eq_ignore_ascii_case(&full));
                if !used_recently && name_ok && !wanted {
                    denied.insert(full);
                }
            }
        }
    }

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
    statements.push(statement(
        "DenyOwnBoundaryChange",
        "Deny",
        kind_actions.iter().map(|a| a.to_string()).collect(),
        vec![report.arn.clone()],
    ));
    statements.push(statement(
        "DenyBoundaryPolicyEdit",
        "Deny",
        [
            "iam:CreatePolicyVersion",
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:SetDefaultPolicyVersion",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect(),
        vec![policy_arn(partition, account_id, &settings.path, "*")],
    ));
    let document = write_canonical(&json!({ "Version": POLICY_VERSION, "Statement": statements }));
    let chars = non_whitespace_chars(&document);
    if chars > MAX_POLICY_CHARS {
        return Err(BoundaryRefusal::TooLarge { chars });
    }
    Ok(BoundaryDocument { policy_name: name, policy_arn: arn, document })
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
