//! The state store's document: per account, what each user and role was granted, since when,
//! and which restriction was announced to it.
//!
//! One `iamsweep.state/v1` JSON document per account (`STATE/ACCOUNT/state.json`, a file or an
//! S3 object beside the journal). It is compact on purpose: per entity, the namespaces granted
//! at the last run with the moment each was first known to be granted ([`EntityState`]), not a
//! list of runs. A service that stops being granted leaves the history, so granting it again
//! makes it new again. [`crate::grace`] reads it to keep new grants; [`crate::notice`] reads
//! the announcements.
//!
//! The document is hostile input like any file a user hands iamsweep: whoever can write it can
//! keep services in grace. [`AccountState::parse`] refuses, naming the field, anything a run
//! could not have written: another schema or account, an ARN that is not a user or role of the
//! account, a namespace IAM would not have, a time after the run, more entities or services
//! than an account holds, or a file over [`MAX_STATE_BYTES`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::InputError;
use crate::journal::EntityArn;
use crate::plan::CLOCK_SKEW;

/// The `schema` of every state document this version writes and reads.
pub const STATE_SCHEMA: &str = "iamsweep.state/v1";
/// The largest state document read: an account of 10,000 entities granted 50 services each
/// takes about 20 MB; more is not a document iamsweep wrote.
pub const MAX_STATE_BYTES: usize = 64 * 1024 * 1024;
/// Users and roles of one account at most (IAM's quotas allow 5,000 users and 10,000 roles by
/// default, raised on request).
pub const MAX_ENTITIES: usize = 100_000;
/// Namespaces of one entity at most: IAM has about 450 service namespaces.
pub const MAX_SERVICES: usize = 1_000;

// `YYYY-MM-DD`, as the tag writes it.
time::serde::format_description!(day, Date, "[year]-[month]-[day]");

/// The state of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    /// Always [`STATE_SCHEMA`].
    pub schema: String,
    /// The account every entity belongs to.
    pub account_id: String,
    /// When a run last wrote it.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Per user or role ARN.
    #[serde(default)]
    pub entities: BTreeMap<String, EntityState>,
}

/// What the runs saw of one user or role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityState {
    /// When a run last saw the entity (its snapshot's collection time).
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    /// Per namespace granted at that run: since when it is known to be granted.
    #[serde(default)]
    pub granted: BTreeMap<String, Since>,
    /// The restriction announced to the entity, if one is pending (see [`crate::notice`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Announced>,
}

/// A moment, written in RFC 3339 (a newtype so that map values serialise like every other time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Since(#[serde(with = "time::serde::rfc3339")] pub OffsetDateTime);

/// A restriction announced with the `iamsweep:restrict-after` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announced {
    /// The date written in the tag: the change is carried out only after it.
    #[serde(with = "day")]
    pub restrict_after: Date,
    /// The namespaces the announced change removes: a plan that removes others is another
    /// change, announced again.
    pub removes: Vec<String>,
}

impl AccountState {
    /// An empty state: the first run of an account.
    pub fn empty(account_id: &str, now: OffsetDateTime) -> Self {
        AccountState {
            schema: STATE_SCHEMA.to_string(),
            account_id: account_id.to_string(),
            updated_at: now,
            entities: BTreeMap::new(),
        }
    }

    /// Reads and checks a state document of `account_id` at `now`; the error names the field
    /// (the caller names the file or object).
    pub fn parse(bytes: &[u8], account_id: &str, now: OffsetDateTime) -> Result<Self, InputError> {
        if bytes.len() > MAX_STATE_BYTES {
            return Err(InputError::field(
                "(document)",
                format!(
                    "is {} bytes, over the limit of {MAX_STATE_BYTES}; a state iamsweep writes is \
                     far smaller",
                    bytes.len()
                ),
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|error| InputError::at_json("state document", &error))?;
        match value.get("schema").and_then(|schema| schema.as_str()) {
            Some(STATE_SCHEMA) => {}
            other => {
                return Err(InputError::field(
                    "schema",
                    format!(
                        "expected `{STATE_SCHEMA}`, found {}",
                        other.map_or("none".to_string(), |schema| format!("`{schema}`"))
                    ),
                ));
            }
        }
        let state: AccountState = serde_json::from_value(value)
            .map_err(|error| InputError::field("(document)", format!("{error}")))?;
        state.check(account_id, now)?;
        Ok(state)
    }

    /// The checks of [`AccountState::parse`] on a parsed document.
    fn check(&self, account_id: &str, now: OffsetDateTime) -> Result<(), InputError> {
        if self.account_id != account_id {
            return Err(InputError::field(
                "account_id",
                format!(
                    "the state is of account {}, but the run is in account {account_id}",
                    self.account_id
                ),
            ));
        }
        let latest = now + CLOCK_SKEW;
        let not_future = |field: String, at: OffsetDateTime| {
            if at > latest {
                Err(InputError::field(
                    field,
                    format!("{at} is after this run ({now}); a state records only the past"),
                ))
            } else {
                Ok(())
            }
        };
        not_future("updated_at".into(), self.updated_at)?;
        if self.entities.len() > MAX_ENTITIES {
            return Err(InputError::field(
                "entities",
                format!("holds {} entities, over the limit of {MAX_ENTITIES}", self.entities.len()),
            ));
        }
        for (arn, entity) in &self.entities {
            let field = |rest: &str| format!("entities.{arn}{rest}");
            match EntityArn::parse(arn) {
                Some(parsed) if parsed.account_id == account_id => {}
                _ => {
                    return Err(InputError::field(
                        field(""),
                        format!("expected a user or role ARN of account {account_id}"),
                    ));
                }
            }
            not_future(field(".last_seen"), entity.last_seen)?;
            if entity.granted.len() > MAX_SERVICES {
                return Err(InputError::field(
                    field(".granted"),
                    format!(
                        "holds {} services, over the limit of {MAX_SERVICES}",
                        entity.granted.len()
                    ),
                ));
            }
            for (namespace, since) in &entity.granted {
                if !valid_namespace(namespace) {
                    return Err(InputError::field(
                        field(&format!(".granted.{namespace}")),
                        "expected an IAM service namespace (1 to 64 of [a-z0-9-])",
                    ));
                }
                not_future(field(&format!(".granted.{namespace}")), since.0)?;
            }
            if let Some(notice) = &entity.notice
                && (notice.removes.len() > MAX_SERVICES
                    || !notice.removes.iter().all(|namespace| valid_namespace(namespace)))
            {
                return Err(InputError::field(
                    field(".notice.removes"),
                    "expected IAM service namespaces (1 to 64 of [a-z0-9-])",
                ));
            }
        }
        Ok(())
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a state always serialises")
    }
}

/// Whether `namespace` is shaped like an IAM service namespace.
pub fn valid_namespace(namespace: &str) -> bool {
    (1..=64).contains(&namespace.len())
        && namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const ACCOUNT: &str = "111122223333";
    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn document(entities: &str) -> String {
        format!(
            r#"{{"schema":"iamsweep.state/v1","account_id":"{ACCOUNT}",
                "updated_at":"2026-11-22T12:00:00Z","entities":{entities}}}"#
        )
    }

    fn refused(text: &str) -> String {
        AccountState::parse(text.as_bytes(), ACCOUNT, NOW).unwrap_err().to_string()
    }

    #[test]
    fn a_written_state_reads_back() {
        let mut state = AccountState::empty(ACCOUNT, NOW);
        state.entities.insert(
            format!("arn:aws:iam::{ACCOUNT}:role/app"),
            EntityState {
                last_seen: NOW,
                granted: BTreeMap::from([("s3".to_string(), Since(NOW - time::Duration::days(3)))]),
                notice: Some(Announced {
                    restrict_after: time::macros::date!(2026 - 11 - 30),
                    removes: vec!["sqs".into()],
                }),
            },
        );
        let read = AccountState::parse(state.to_json().as_bytes(), ACCOUNT, NOW).unwrap();
        assert_eq!(read, state);
    }

    #[test]
    fn hostile_documents_are_refused_naming_the_field() {
        let role = format!("arn:aws:iam::{ACCOUNT}:role/app");
        let cases = [
            (r#"{"schema":"iamsweep.state/v9"}"#.to_string(), "field `schema`"),
            (document("{}").replace(ACCOUNT, "999988887777"), "field `account_id`"),
            (
                document(
                    r#"{"arn:aws:iam::999988887777:role/x":{"last_seen":"2026-11-22T00:00:00Z"}}"#,
                ),
                "field `entities.arn:aws:iam::999988887777:role/x`",
            ),
            (
                document(&format!(
                    r#"{{"{role}":{{"last_seen":"2026-11-22T00:00:00Z","granted":{{"S3 ":"2026-11-22T00:00:00Z"}}}}}}"#
                )),
                "granted.S3 ",
            ),
            (
                document(&format!(
                    r#"{{"{role}":{{"last_seen":"2026-11-22T00:00:00Z","granted":{{"s3":"2099-01-01T00:00:00Z"}}}}}}"#
                )),
                "granted.s3`: 2099",
            ),
            (
                document(&format!(
                    r#"{{"{role}":{{"last_seen":"2026-11-22T00:00:00Z","extra":1}}}}"#
                )),
                "unknown field `extra`",
            ),
            ("[1, 2".to_string(), "line 1"),
        ];
        for (text, expected) in cases {
            let message = refused(&text);
            assert!(message.contains(expected), "{expected:?} not in {message:?}");
        }
        let huge = vec![b' '; MAX_STATE_BYTES + 1];
        let message = AccountState::parse(&huge, ACCOUNT, NOW).unwrap_err().to_string();
        assert!(message.contains("over the limit"), "{message}");
    }
}
