//! A small IAM policy evaluator: enough of IAM's evaluation logic to prove what a boundary
//! document allows and what it denies, without AWS.
//!
//! It evaluates one identity-style policy (a boundary) against one request: an action, a
//! resource ARN and the request context (condition keys). It implements what iamsweep's
//! documents use, with IAM's documented semantics, and refuses anything else rather than guess:
//!
//! - an explicit `Deny` wins over any `Allow`; nothing matching is an implicit deny;
//! - `Action`/`NotAction` with case-insensitive `*` and `?` wildcards (action names are not
//!   case-sensitive in IAM);
//! - `Resource`/`NotResource`, matched per colon-separated ARN segment, case-sensitively, with
//!   `*` and `?` inside a segment (a lone `*` matches every resource);
//! - the condition operators `StringEquals`, `StringNotEquals`, `StringEqualsIgnoreCase`,
//!   `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`,
//!   `ArnNotEquals`, `ArnNotLike`, `Bool` and `Null`, each with the `...IfExists` suffix and the
//!   `ForAnyValue:`/`ForAllValues:` set qualifiers;
//! - missing keys: a positive operator is false, a negated one (`...Not...`) is true, an
//!   `...IfExists` operator is true, `ForAnyValue:` is false and `ForAllValues:` is true (the
//!   IAM User Guide, "Condition operators" and "Multivalued context keys").
//!
//! Operators in one condition block, and keys under one operator, must all hold; values of one
//! key are alternatives (for a negated operator: the context value must match none of them).
//! Condition key names are compared case-insensitively, as IAM does. Policy variables
//! (`${aws:username}`) are not expanded: the documents iamsweep writes have none.
//!
//! ```
//! use iamsweep_core::policy_eval::{Decision, Policy, Request};
//!
//! let policy = Policy::parse(
//!     r#"{"Version":"2012-10-17","Statement":[
//!         {"Effect":"Allow","Action":"iam:*","Resource":"*"},
//!         {"Effect":"Deny","Action":"iam:CreateRole","Resource":"*",
//!          "Condition":{"StringNotLike":{"iam:PermissionsBoundary":"arn:aws:iam::*:policy/fence/*"}}}]}"#,
//! )
//! .unwrap();
//! let create = Request::new("iam:CreateRole", "arn:aws:iam::111122223333:role/new");
//! assert_eq!(policy.evaluate(&create), Decision::ExplicitDeny, "no boundary: denied");
//! let bounded = create.with("iam:PermissionsBoundary", "arn:aws:iam::111122223333:policy/fence/b");
//! assert_eq!(policy.evaluate(&bounded), Decision::Allow);
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::InputError;

/// What a policy decides for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` statement applies and no `Deny` does.
    Allow,
    /// A `Deny` statement applies: nothing else can allow the request.
    ExplicitDeny,
    /// No statement applies.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// One value of the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single-valued key, such as `iam:PermissionsBoundary`.
    Single(String),
    /// A multivalued key, such as `aws:TagKeys`.
    Multi(Vec<String>),
}

/// One request: the action, the resource and the condition keys present in its context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `service:Action`, such as `iam:CreateRole`.
    pub action: String,
    /// The resource ARN, such as `arn:aws:iam::111122223333:role/app`.
    pub resource: String,
    /// The condition keys present; a key absent here is absent from the request.
    pub context: BTreeMap<String, ContextValue>,
}

impl Request {
    /// A request with an empty context.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Request { action: action.into(), resource: resource.into(), context: BTreeMap::new() }
    }

    /// Adds a single-valued key.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.context.insert(key.to_string(), ContextValue::Single(value.to_string()));
        self
    }

    /// Adds a multivalued key.
    pub fn with_values(mut self, key: &str, values: &[&str]) -> Self {
        let values = values.iter().map(|value| value.to_string()).collect();
        self.context.insert(key.to_string(), ContextValue::Multi(values));
        self
    }

    /// The value of a key, its name compared case-insensitively as IAM does.
    fn lookup(&self, key: &str) -> Option<&ContextValue> {
        self.context.iter().find(|(name, _)| name.eq_ignore_ascii_case(key)).map(|(_, v)| v)
    }
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    deny: bool,
    actions: Matcher,
    resources: Matcher,
    conditions: Vec<Condition>,
}

/// `Action` or `NotAction` (`Resource` or `NotResource`): patterns, and whether they are negated.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Matcher {
    negated: bool,
    patterns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperator {
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    ArnLike,
    Bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    /// `Null`: `true` asks for the key to be absent, `false` for it to be present.
    Null { key: String, absent: bool },
    /// Every other operator.
    Compare {
        set: Option<SetOperator>,
        operator: Operator,
        negated: bool,
        if_exists: bool,
        key: String,
        values: Vec<String>,
    },
}

impl Policy {
    /// Parses a policy document, refusing what this evaluator does not implement (an unknown
    /// operator, `Principal`, a statement without `Effect`), so that a test never passes on a
    /// construct it silently misread.
    pub fn parse(document: &str) -> Result<Policy, InputError> {
        let value: Value = serde_json::from_str(document)
            .map_err(|error| InputError::at_json("policy document", &error))?;
        let statements = match value.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Err(InputError::field("Statement", "expected an object or a list")),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(index, statement)| parse_statement(statement, index))
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }

    /// Evaluates `request`: an applying `Deny` wins, then an applying `Allow`.
    pub fn evaluate(&self, request: &Request) -> Decision {
        let applying = |deny: bool| {
            self.statements
                .iter()
                .any(|statement| statement.deny == deny && statement.applies(request))
        };
        if applying(true) {
            Decision::ExplicitDeny
        } else if applying(false) {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }

    /// Whether any `Allow` statement's `Action` could match `action`, whatever the resource and
    /// conditions: what a boundary lets through at most.
    pub fn allows_action_somewhere(&self, action: &str) -> bool {
        self.statements
            .iter()
            .any(|statement| !statement.deny && statement.actions.matches(action, action_glob))
    }
}

impl Statement {
    fn applies(&self, request: &Request) -> bool {
        self.actions.matches(&request.action, action_glob)
            && self.resources.matches(&request.resource, arn_glob)
            && self.conditions.iter().all(|condition| condition.holds(request))
    }
}

impl Matcher {
    fn matches(&self, text: &str, glob: fn(&str, &str) -> bool) -> bool {
        self.patterns.iter().any(|pattern| glob(pattern, text)) != self.negated
    }
}

impl Condition {
    fn holds(&self, request: &Request) -> bool {
        match self {
            Condition::Null { key, absent } => request.lookup(key).is_none() == *absent,
            Condition::Compare { set, operator, negated, if_exists, key, values } => {
                // The value matches one of the policy's values; a negated operator asks for none.
                let test = |value: &str| {
                    values.iter().any(|pattern| operator.matches(pattern, value)) != *negated
                };
                match (set, request.lookup(key)) {
                    (Some(SetOperator::ForAnyValue), None) => false,
                    (Some(SetOperator::ForAllValues), None) => true,
                    (None, None) => *if_exists || *negated,
                    (Some(SetOperator::ForAnyValue), Some(value)) => {
                        values_of(value).iter().any(|v| test(v))
                    }
                    (Some(SetOperator::ForAllValues), Some(value)) => {
                        values_of(value).iter().all(|v| test(v))
                    }
                    (None, Some(ContextValue::Single(value))) => test(value),
                    // A single-valued operator on a multivalued key: true when some value
                    // matches, and for a negated operator when none does. iamsweep's documents
                    // always qualify multivalued keys with `ForAnyValue:`.
                    (None, Some(ContextValue::Multi(list))) => {
                        let any = list
                            .iter()
                            .any(|v| values.iter().any(|pattern| operator.matches(pattern, v)));
                        any != *negated
                    }
                }
            }
        }
    }
}

fn values_of(value: &ContextValue) -> Vec<&str> {
    match value {
        ContextValue::Single(one) => vec![one.as_str()],
        ContextValue::Multi(list) => list.iter().map(String::as_str).collect(),
    }
}

impl Operator {
    fn matches(self, pattern: &str, value: &str) -> bool {
        match self {
            Operator::StringEquals => pattern == value,
            Operator::StringEqualsIgnoreCase => pattern.to_lowercase() == value.to_lowercase(),
            Operator::StringLike => glob(pattern, value, false),
            Operator::ArnLike => arn_glob(pattern, value),
            Operator::Bool => pattern.eq_ignore_ascii_case(value),
        }
    }
}

fn parse_statement(value: &Value, index: usize) -> Result<Statement, InputError> {
    let field = |name: &str| format!("Statement[{index}].{name}");
    let Some(object) = value.as_object() else {
        return Err(InputError::field(format!("Statement[{index}]"), "expected an object"));
    };
    for key in object.keys() {
        let known =
            ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"];
        if !known.contains(&key.as_str()) {
            return Err(InputError::field(field(key), "not supported by this evaluator"));
        }
    }
    let deny = match object.get("Effect").and_then(Value::as_str) {
        Some("Allow") => false,
        Some("Deny") => true,
        _ => return Err(InputError::field(field("Effect"), "expected `Allow` or `Deny`")),
    };
    let actions = matcher(object, "Action", "NotAction", &field)?;
    let resources = matcher(object, "Resource", "NotResource", &field)?;
    let mut conditions = Vec::new();
    if let Some(block) = object.get("Condition") {
        let Some(block) = block.as_object() else {
            return Err(InputError::field(field("Condition"), "expected an object"));
        };
        for (operator, keys) in block {
            let Some(keys) = keys.as_object() else {
                return Err(InputError::field(field("Condition"), "expected keys under operators"));
            };
            for (key, values) in keys {
                let values = strings(values)
                    .ok_or_else(|| InputError::field(field("Condition"), "expected strings"))?;
                conditions.push(
                    condition(operator, key, values)
                        .map_err(|message| InputError::field(field("Condition"), message))?,
                );
            }
        }
    }
    Ok(Statement { deny, actions, resources, conditions })
}

fn matcher(
    object: &Map<String, Value>,
    positive: &str,
    negative: &str,
    field: &dyn Fn(&str) -> String,
) -> Result<Matcher, InputError> {
    let expected = format!("expected exactly one of `{positive}` and `{negative}`, with strings");
    match (object.get(positive), object.get(negative)) {
        (Some(value), None) => strings(value).map(|patterns| Matcher { negated: false, patterns }),
        (None, Some(value)) => strings(value).map(|patterns| Matcher { negated: true, patterns }),
        _ => None,
    }
    .ok_or_else(|| InputError::field(field(positive), expected))
}

/// A string or a list of strings; booleans and numbers as their JSON text (`Bool`, `Null`).
fn strings(value: &Value) -> Option<Vec<String>> {
    let one = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|text| vec![text]),
    }
}

fn condition(operator: &str, key: &str, values: Vec<String>) -> Result<Condition, String> {
    let (set, rest) = if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
        (Some(SetOperator::ForAnyValue), rest)
    } else if let Some(rest) = operator.strip_prefix("ForAllValues:") {
        (Some(SetOperator::ForAllValues), rest)
    } else {
        (None, operator)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    if base == "Null" && set.is_none() && !if_exists {
        let absent = match values.as_slice() {
            [one] if one == "true" => true,
            [one] if one == "false" => false,
            _ => return Err(format!("`Null` on `{key}` expects \"true\" or \"false\"")),
        };
        return Ok(Condition::Null { key: key.to_string(), absent });
    }
    let (operator, negated) = match base {
        "StringEquals" => (Operator::StringEquals, false),
        "StringNotEquals" => (Operator::StringEquals, true),
        "StringEqualsIgnoreCase" => (Operator::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Operator::StringEqualsIgnoreCase, true),
        "StringLike" => (Operator::StringLike, false),
        "StringNotLike" => (Operator::StringLike, true),
        // IAM treats ArnEquals like ArnLike: both match segment by segment with wildcards.
        "ArnEquals" | "ArnLike" => (Operator::ArnLike, false),
        "ArnNotEquals" | "ArnNotLike" => (Operator::ArnLike, true),
        "Bool" => (Operator::Bool, false),
        other => return Err(format!("condition operator `{other}` is not supported")),
    };
    Ok(Condition::Compare { set, operator, negated, if_exists, key: key.to_string(), values })
}

/// Whether an `Action` pattern matches an action, as IAM matches them: `*` and `?` wildcards,
/// case-insensitive.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob(pattern, action, true)
}

/// Whether a `StringLike` pattern matches a value: `*` and `?` wildcards, case-sensitive.
pub fn glob_matches(pattern: &str, value: &str) -> bool {
    glob(pattern, value, false)
}

fn action_glob(pattern: &str, action: &str) -> bool {
    action_matches(pattern, action)
}

/// An ARN pattern against an ARN: a lone `*` matches everything; otherwise the six
/// colon-separated segments are matched one by one (the last one keeps any further colons).
fn arn_glob(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let patterns: Vec<&str> = pattern.splitn(6, ':').collect();
    let segments: Vec<&str> = arn.splitn(6, ':').collect();
    patterns.len() == segments.len()
        && patterns.iter().zip(&segments).all(|(pattern, segment)| glob(pattern, segment, false))
}

/// `*` matches any run of characters (none included), `?` exactly one.
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |text: &str| -> Vec<char> {
        if ignore_case { text.to_lowercase().chars().collect() } else { text.chars().collect() }
    };
    let (pattern, text) = (fold(pattern), fold(text));
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            // Let the last `*` swallow one more character and retry from there.
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/app";

    fn policy(statements: &str) -> Policy {
        Policy::parse(&format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)).unwrap()
    }

    fn deny_if(condition: &str) -> Policy {
        policy(&format!(
            r#"{{"Effect":"Allow","Action":"*","Resource":"*"}},
               {{"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{condition}}}"#
        ))
    }

    #[test]
    fn an_explicit_deny_wins_and_nothing_matching_is_an_implicit_deny() {
        let policy = policy(
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"},
               {"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}"#,
        );
        let request = |action: &str| Request::new(action, "arn:aws:s3:::bucket");
        assert_eq!(policy.evaluate(&request("s3:GetObject")), Decision::Allow);
        assert_eq!(policy.evaluate(&request("s3:DeleteBucket")), Decision::ExplicitDeny);
        assert_eq!(policy.evaluate(&request("ec2:RunInstances")), Decision::ImplicitDeny);
    }

    #[test]
    fn actions_match_wildcards_case_insensitively() {
        let policy =
            policy(r#"{"Effect":"Allow","Action":["S3:get*","iam:?etRole"],"Resource":"*"}"#);
        let allowed = |action: &str| policy.evaluate(&Request::new(action, ROLE)).is_allowed();
        assert!(allowed("s3:GetObject"));
        assert!(allowed("s3:getobject"));
        assert!(allowed("iam:GetRole"));
        assert!(allowed("IAM:SETROLE"), "`?` is one character, any case");
        assert!(!allowed("iam:PassRole"), "`?` is exactly one character");
        assert!(!allowed("s3:PutObject"));
        assert!(!allowed("s3x:GetObject"), "the namespace is matched whole");
    }

    #[test]
    fn not_action_and_not_resource_match_everything_else() {
        let policy = policy(
            r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"},
               {"Effect":"Allow","Action":"iam:GetRole","NotResource":"arn:aws:iam::*:role/admin*"}"#,
        );
        assert!(policy.evaluate(&Request::new("ec2:RunInstances", "*")).is_allowed());
        assert!(!policy.evaluate(&Request::new("iam:CreateRole", ROLE)).is_allowed());
        assert!(policy.evaluate(&Request::new("iam:GetRole", ROLE)).is_allowed());
        let admin = "arn:aws:iam::111122223333:role/admin-x";
        assert!(!policy.evaluate(&Request::new("iam:GetRole", admin)).is_allowed());
    }

    #[test]
    fn resources_match_per_arn_segment_and_case_sensitively() {
        let policy = policy(
            r#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::111122223333:role/*"}"#,
        );
        let allowed = |arn: &str| policy.evaluate(&Request::new("iam:GetRole", arn)).is_allowed();
        assert!(allowed(ROLE));
        assert!(allowed("arn:aws:iam::111122223333:role/path/deep/app"), "`*` spans slashes");
        assert!(!allowed("arn:aws:iam::111122223333:user/app"));
        assert!(!allowed("arn:aws:iam::111122223333:ROLE/app"), "ARNs are case-sensitive");
        assert!(!allowed("arn:aws:iam::210987654321:role/app"));
        let any_account = policy_of_resource("arn:aws:iam::*:role/*");
        assert!(any_account.evaluate(&Request::new("iam:GetRole", ROLE)).is_allowed());
        // Within one segment, `*` does not reach into the next one.
        let segment = policy_of_resource("arn:aws:iam::1*");
        assert!(!segment.evaluate(&Request::new("iam:GetRole", ROLE)).is_allowed());
    }

    fn policy_of_resource(resource: &str) -> Policy {
        policy(&format!(r#"{{"Effect":"Allow","Action":"iam:*","Resource":"{resource}"}}"#))
    }

    #[test]
    fn a_missing_key_fails_positive_operators_and_satisfies_negated_ones() {
        let create = Request::new("iam:CreateRole", ROLE);
        let key = "iam:PermissionsBoundary";
        let bounded = create.clone().with(key, "arn:aws:iam::111122223333:policy/iamsweep/x");
        let foreign = create.clone().with(key, "arn:aws:iam::111122223333:policy/Fence");
        let like = r#""arn:aws:iam::111122223333:policy/iamsweep/*""#;
        let cases = [
            ("StringLike", [Decision::Allow, Decision::ExplicitDeny, Decision::Allow]),
            ("StringNotLike", [Decision::ExplicitDeny, Decision::Allow, Decision::ExplicitDeny]),
            (
                "StringLikeIfExists",
                [Decision::ExplicitDeny, Decision::ExplicitDeny, Decision::Allow],
            ),
            (
                "StringNotLikeIfExists",
                [Decision::ExplicitDeny, Decision::Allow, Decision::ExplicitDeny],
            ),
        ];
        for (operator, [missing, ours, theirs]) in cases {
            let policy = deny_if(&format!(r#"{{"{operator}":{{"{key}":{like}}}}}"#));
            assert_eq!(policy.evaluate(&create), missing, "{operator}, key missing");
            assert_eq!(policy.evaluate(&bounded), ours, "{operator}, iamsweep's");
            assert_eq!(policy.evaluate(&foreign), theirs, "{operator}, foreign");
        }
    }

    #[test]
    fn set_operators_on_multivalued_keys() {
        let tag =
            |keys: &[&str]| Request::new("iam:TagRole", ROLE).with_values("aws:TagKeys", keys);
        let untagged = Request::new("iam:TagRole", ROLE);
        let any = deny_if(r#"{"ForAnyValue:StringLike":{"aws:TagKeys":["iamsweep:*","owner"]}}"#);
        assert_eq!(
            any.evaluate(&tag(&["team", "iamsweep:previous-boundary"])),
            Decision::ExplicitDeny
        );
        assert_eq!(any.evaluate(&tag(&["owner"])), Decision::ExplicitDeny);
        assert_eq!(any.evaluate(&tag(&["team"])), Decision::Allow);
        assert_eq!(any.evaluate(&tag(&[])), Decision::Allow, "no value: ForAnyValue is false");
        assert_eq!(any.evaluate(&untagged), Decision::Allow, "no key: ForAnyValue is false");
        // StringLike is case-sensitive; the case-insensitive operator catches the variants.
        assert_eq!(any.evaluate(&tag(&["IAMSWEEP:previous-boundary"])), Decision::Allow);
        let ignore = deny_if(
            r#"{"ForAnyValue:StringEqualsIgnoreCase":{"aws:TagKeys":"iamsweep:previous-boundary"}}"#,
        );
        assert_eq!(ignore.evaluate(&tag(&["IAMSWEEP:Previous-Boundary"])), Decision::ExplicitDeny);

        let all = deny_if(r#"{"ForAllValues:StringLike":{"aws:TagKeys":["iamsweep:*"]}}"#);
        assert_eq!(all.evaluate(&tag(&["iamsweep:a", "iamsweep:b"])), Decision::ExplicitDeny);
        assert_eq!(all.evaluate(&tag(&["iamsweep:a", "team"])), Decision::Allow);
        assert_eq!(all.evaluate(&untagged), Decision::ExplicitDeny, "no key: ForAllValues holds");
    }

    #[test]
    fn keys_and_operators_all_hold_values_are_alternatives() {
        let both = deny_if(
            r#"{"StringEquals":{"aws:a":["1","2"],"aws:b":"x"},"StringNotEquals":{"aws:c":["y","z"]}}"#,
        );
        let request = |a: &str, b: &str, c: &str| {
            Request::new("iam:GetRole", ROLE).with("aws:a", a).with("aws:b", b).with("aws:c", c)
        };
        assert_eq!(both.evaluate(&request("2", "x", "w")), Decision::ExplicitDeny);
        assert_eq!(both.evaluate(&request("3", "x", "w")), Decision::Allow, "aws:a differs");
        assert_eq!(both.evaluate(&request("1", "y", "w")), Decision::Allow, "aws:b differs");
        assert_eq!(both.evaluate(&request("1", "x", "z")), Decision::Allow, "aws:c is one of them");
        // Condition key names are case-insensitive.
        let upper = Request::new("iam:GetRole", ROLE).with("AWS:A", "1").with("aws:B", "x");
        assert_eq!(both.evaluate(&upper), Decision::ExplicitDeny);
    }

    #[test]
    fn null_checks_presence() {
        let tagged = deny_if(r#"{"Null":{"aws:ResourceTag/iamsweep:previous-boundary":"false"}}"#);
        let plain = Request::new("iam:PutRolePermissionsBoundary", ROLE);
        let marked = plain.clone().with("aws:ResourceTag/iamsweep:previous-boundary", "none");
        assert_eq!(tagged.evaluate(&plain), Decision::Allow);
        assert_eq!(tagged.evaluate(&marked), Decision::ExplicitDeny);
        let untagged = deny_if(r#"{"Null":{"aws:ResourceTag/owner":"true"}}"#);
        assert_eq!(untagged.evaluate(&plain), Decision::ExplicitDeny);
    }

    #[test]
    fn arn_and_bool_operators() {
        let arn = deny_if(r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin"}}"#);
        let by =
            |principal: &str| Request::new("iam:GetRole", ROLE).with("aws:PrincipalArn", principal);
        assert_eq!(arn.evaluate(&by("arn:aws:iam::111122223333:role/admin")), Decision::Allow);
        assert_eq!(arn.evaluate(&by("arn:aws:iam::111122223333:role/dev")), Decision::ExplicitDeny);
        let mfa = deny_if(r#"{"Bool":{"aws:MultiFactorAuthPresent":false}}"#);
        let request = |present: &str| {
            Request::new("iam:GetRole", ROLE).with("aws:MultiFactorAuthPresent", present)
        };
        assert_eq!(mfa.evaluate(&request("false")), Decision::ExplicitDeny);
        assert_eq!(mfa.evaluate(&request("true")), Decision::Allow);
    }

    #[test]
    fn what_it_cannot_evaluate_is_refused() {
        for statement in [
            r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}"#,
            r#"{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}"#,
            r#"{"Action":"*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Action":"*","NotAction":"iam:*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Action":"*"}"#,
        ] {
            let document = format!(r#"{{"Statement":[{statement}]}}"#);
            assert!(Policy::parse(&document).is_err(), "{statement}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("*", "", false));
        assert!(glob("a*b*c", "aXXbYYc", false));
        assert!(glob("a*b*c", "abc", false));
        assert!(!glob("a*b*c", "acb", false));
        assert!(glob("iamsweep:*", "iamsweep:", false));
        assert!(!glob("iamsweep:*", "iamsweep", false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "ac", false));
        assert!(glob("*:*", "iam:CreateRole", false));
    }
}
