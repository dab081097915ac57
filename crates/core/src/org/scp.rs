//! The iamsweep SCP of one OU: the boundary's sibling, one level up.
//!
//! One `Deny` statement whose `NotAction` lists the services kept (`NAMESPACE:*`): everything
//! else is denied, so the document grows with what was used, not with what AWS offers (some
//! 400 services), and stays far below the 5,120-character limit of an SCP. An optional
//! `Condition` `ArnNotLike` `aws:PrincipalArn` lets break-glass principals through. The
//! document is canonical (keys sorted, lists sorted and deduplicated, no whitespace), so
//! comparing it with the live policy is exact and a second run writes nothing. An SCP never
//! restricts the management account or service-linked roles: AWS guarantees both.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::boundary::write_canonical;

/// The most characters an SCP document may have (Organizations quota).
pub const MAX_SCP_CHARS: usize = 5_120;
/// The most SCPs attached to one root, OU or account (`FullAWSAccess` counts).
pub const MAX_POLICIES_PER_TARGET: usize = 5;
/// The `Sid` of the one statement, so a reader of the console knows whose it is.
pub const STATEMENT_SID: &str = "IamsweepDenyServicesUnusedInWindow";
/// Every iamsweep SCP's name starts with this, followed by the target's id.
pub const POLICY_NAME_PREFIX: &str = "iamsweep-";

/// The name of iamsweep's SCP for a target: `iamsweep-ou-ab12-cdef5678`. One per target, so
/// "at most one iamsweep SCP per OU" holds by construction.
pub fn policy_name(target_id: &str) -> String {
    format!("{POLICY_NAME_PREFIX}{target_id}")
}

/// The description written with the policy.
pub fn policy_description(target_id: &str) -> String {
    format!("iamsweep: denies services no account below {target_id} used within the window")
}

/// Why no SCP can be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScpRefusal {
    /// Nothing to keep: a `NotAction` cannot be empty, and denying everything is no least
    /// privilege.
    #[error(
        "no service to keep (nothing used, `always_allow` empty): an SCP denying everything is refused"
    )]
    NothingKept,
    /// Over the quota.
    #[error(
        "the SCP would have {chars} characters, over the {MAX_SCP_CHARS} an SCP may have \
         ({kept} services kept); hint: shorten `exempt_principals`, or split the OU"
    )]
    TooLarge {
        /// Characters of the canonical document.
        chars: usize,
        /// Services in `NotAction`.
        kept: usize,
    },
}

/// The canonical SCP that denies every service but `kept`, exempting `exempt_principals`.
pub fn synthesize(
    kept: &BTreeSet<String>,
    exempt_principals: &[String],
) -> Result<String, ScpRefusal> {
    if kept.is_empty() {
        return Err(ScpRefusal::NothingKept);
    }
    // Sorted as actions, not as namespaces: `m-:*` sorts before `m--:*` though `m-` sorts
    // before `m--` (`:` is above `-`), and the document must be canonical.
    let not_action: BTreeSet<String> =
        kept.iter().map(|namespace| format!("{namespace}:*")).collect();
    let mut statement = json!({
        "Sid": STATEMENT_SID,
        "Effect": "Deny",
        "NotAction": not_action,
        "Resource": ["*"],
    });
    let exempt: BTreeSet<&String> = exempt_principals.iter().collect();
    if !exempt.is_empty() {
        statement["Condition"] = json!({ "ArnNotLike": { "aws:PrincipalArn": exempt } });
    }
    let document = write_canonical(&json!({ "Version": "2012-10-17", "Statement": [statement] }));
    let chars = document.chars().count();
    if chars > MAX_SCP_CHARS {
        return Err(ScpRefusal::TooLarge { chars, kept: kept.len() });
    }
    Ok(document)
}

/// The namespaces an iamsweep SCP keeps, read back from its document; `None` when the document
/// is not one [`synthesize`] writes.
pub fn kept_services(document: &str) -> Option<BTreeSet<String>> {
    let value: Value = serde_json::from_str(document).ok()?;
    let statements = value.get("Statement")?.as_array()?;
    let [statement] = statements.as_slice() else { return None };
    if statement.get("Effect")?.as_str()? != "Deny" || statement.get("Action").is_some() {
        return None;
    }
    statement
        .get("NotAction")?
        .as_array()?
        .iter()
        .map(|action| action.as_str()?.strip_suffix(":*").map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_deny_with_the_kept_services_canonical() {
        let kept: BTreeSet<String> =
            ["sts", "s3", "iam", "s3"].iter().map(|s| s.to_string()).collect();
        let document = synthesize(&kept, &[]).unwrap();
        assert_eq!(
            document,
            r#"{"Statement":[{"Effect":"Deny","NotAction":["iam:*","s3:*","sts:*"],"Resource":["*"],"Sid":"IamsweepDenyServicesUnusedInWindow"}],"Version":"2012-10-17"}"#
        );
        assert_eq!(kept_services(&document), Some(kept.clone()));
        let exempt = vec!["arn:aws:iam::*:role/BreakGlass".to_string()];
        let document = synthesize(&kept, &exempt).unwrap();
        assert!(document.contains(r#""Condition":{"ArnNotLike":{"aws:PrincipalArn":["arn:aws:iam::*:role/BreakGlass"]}}"#), "{document}");
        assert_eq!(synthesize(&BTreeSet::new(), &[]), Err(ScpRefusal::NothingKept));
    }

    /// Regression (found by the property test): namespaces sorted as namespaces, not as
    /// actions, gave a document its own canonical form rewrote, so a second run saw a change.
    #[test]
    fn actions_are_sorted_as_actions() {
        let kept: BTreeSet<String> = ["m-", "m--"].iter().map(|s| s.to_string()).collect();
        let document = synthesize(&kept, &[]).unwrap();
        assert!(document.contains(r#"["m--:*","m-:*"]"#), "{document}");
        assert_eq!(crate::boundary::canonicalize(&document).unwrap(), document);
    }

    #[test]
    fn too_many_services_are_refused_with_the_size() {
        let kept: BTreeSet<String> = (0..400).map(|n| format!("service-number-{n}")).collect();
        match synthesize(&kept, &[]) {
            Err(ScpRefusal::TooLarge { chars, kept: 400 }) => assert!(chars > MAX_SCP_CHARS),
            other => panic!("{other:?}"),
        }
    }
}
