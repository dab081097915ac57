//! The state store: per account, one `iamsweep.state/v1` document (see
//! `iamsweep_core::grants`) in a directory or under an `s3://` prefix, beside the journal and
//! with its conventions: `DIR/ACCOUNT/state.json`, or the object `PREFIX/ACCOUNT/state.json`.
//!
//! Reading checks the document before anything uses it (schema, account, sizes, times), and
//! names the file or object in the error. A store that holds nothing for the account yet is the
//! first run, not an error. Writing replaces the document whole: in a directory through a
//! temporary file renamed over it, so a crash leaves the old document or the new one, never
//! half of one.

use std::path::PathBuf;

use iamsweep_core::InputError;
use iamsweep_core::grants::{AccountState, MAX_STATE_BYTES};
use time::OffsetDateTime;

use crate::error::CallError;
use crate::location::ReadError;
use crate::pace::Pace;
use crate::s3::{S3, S3Uri};

/// The default state location of the CLI, beside `./iamsweep-journal`.
pub const DEFAULT_STATE: &str = "./iamsweep-state";
/// The document's name under the account.
const FILE_NAME: &str = "state.json";

/// Where the state lives.
#[derive(Debug, Clone)]
pub enum StateStore {
    /// A directory of `ACCOUNT/state.json` files.
    Dir(PathBuf),
    /// An S3 prefix of `ACCOUNT/state.json` objects.
    S3 {
        /// The client.
        s3: S3,
        /// Bucket and prefix (ending in `/` unless empty).
        prefix: S3Uri,
    },
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The document is not one iamsweep wrote for this account.
    #[error("state `{place}`, {source}")]
    Invalid {
        /// The file or object.
        place: String,
        /// What is wrong, naming the field.
        #[source]
        source: InputError,
    },
    /// A local file could not be read or written.
    #[error("state `{}`: {source}", path.display())]
    File {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An S3 call failed.
    #[error(transparent)]
    S3(#[from] CallError),
}

impl StateStore {
    /// A local directory, or an `s3://bucket/prefix` (which needs `s3`).
    pub fn parse(text: &str, s3: Option<S3>) -> Result<StateStore, ReadError> {
        match S3Uri::parse(text) {
            None => Ok(StateStore::Dir(PathBuf::from(text))),
            Some(Err(message)) => Err(ReadError::Invalid(message)),
            Some(Ok(mut prefix)) => {
                let s3 = s3.ok_or_else(|| ReadError::NoClient(text.to_string()))?;
                if !prefix.key.is_empty() && !prefix.key.ends_with('/') {
                    prefix.key.push('/');
                }
                Ok(StateStore::S3 { s3, prefix })
            }
        }
    }

    /// The document of `account_id`, for messages.
    pub fn describe(&self, account_id: &str) -> String {
        match self {
            StateStore::Dir(dir) => dir.join(account_id).join(FILE_NAME).display().to_string(),
            StateStore::S3 { prefix, .. } => self.object(prefix, account_id).to_string(),
        }
    }

    fn object(&self, prefix: &S3Uri, account_id: &str) -> S3Uri {
        S3Uri {
            bucket: prefix.bucket.clone(),
            key: format!("{}{account_id}/{FILE_NAME}", prefix.key),
        }
    }

    /// The state of `account_id`, checked at `now`; `None` when the store holds none yet.
    pub async fn read(
        &self,
        pace: &Pace,
        account_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AccountState>, StateError> {
        let bytes = match self {
            StateStore::Dir(dir) => {
                let path = dir.join(account_id).join(FILE_NAME);
                let io = |source| StateError::File { path: path.clone(), source };
                match std::fs::metadata(&path) {
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(error) => return Err(io(error)),
                    // Refused before reading: a hostile file must not cost the memory it claims.
                    Ok(meta) if meta.len() > MAX_STATE_BYTES as u64 => {
                        return Err(StateError::Invalid {
                            place: path.display().to_string(),
                            source: InputError::field(
                                "(document)",
                                format!(
                                    "is {} bytes, over the limit of {MAX_STATE_BYTES}",
                                    meta.len()
                                ),
                            ),
                        });
                    }
                    Ok(_) => std::fs::read(&path).map_err(io)?,
                }
            }
            StateStore::S3 { s3, prefix } => {
                let uri = self.object(prefix, account_id);
                match s3.get_bytes(pace, &uri).await {
                    Ok(bytes) => bytes,
                    Err(error) if matches!(error.code.as_deref(), Some("NoSuchKey")) => {
                        return Ok(None);
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        AccountState::parse(&bytes, account_id, now)
            .map(Some)
            .map_err(|source| StateError::Invalid { place: self.describe(account_id), source })
    }

    /// Replaces the state of its account with `state`.
    pub async fn write(&self, pace: &Pace, state: &AccountState) -> Result<(), StateError> {
        let text = state.to_json();
        match self {
            StateStore::Dir(dir) => {
                let folder = dir.join(&state.account_id);
                let path = folder.join(FILE_NAME);
                let temporary = folder.join(format!(".{FILE_NAME}.{:016x}", fastrand::u64(..)));
                let io = |source| StateError::File { path: path.clone(), source };
                std::fs::create_dir_all(&folder).map_err(io)?;
                std::fs::write(&temporary, text.as_bytes()).map_err(io)?;
                std::fs::rename(&temporary, &path).map_err(io)
            }
            StateStore::S3 { s3, prefix } => {
                Ok(s3.put_text(pace, &self.object(prefix, &state.account_id), &text).await?)
            }
        }
    }
}

/// IAM's date of each managed policy in `arns`: the creation of its default version. Customer
/// managed policies the inventory read (`local`) cost nothing; others (AWS managed ones, or all
/// of them for a saved snapshot) one `ListPolicyVersions` each. A policy whose date cannot be
/// read is left out, which makes the services it grants count as new: a missing date never
/// shortens a grace.
pub async fn policy_dates(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &crate::retry::RetryPolicy,
    arns: &std::collections::BTreeSet<String>,
    local: &[crate::inventory::LocalPolicy],
) -> std::collections::BTreeMap<String, OffsetDateTime> {
    let mut dates = std::collections::BTreeMap::new();
    for arn in arns {
        let known = local.iter().find(|policy| &policy.arn == arn).and_then(|policy| {
            policy.versions.iter().find(|version| version.is_default).and_then(|v| v.created)
        });
        let date = match known {
            Some(date) => Some(date),
            None => match crate::live::versions(iam, pace, retry, arn).await {
                Ok(versions) => versions.into_iter().find(|v| v.is_default).map(|v| v.created),
                Err(error) => {
                    tracing::warn!(policy = %arn, error = %error, "policy date unknown; its services count as newly granted");
                    None
                }
            },
        };
        if let Some(date) = date {
            dates.insert(arn.clone(), date);
        }
    }
    dates
}

/// What the state store and IAM tell of an account's entities, and the state to write back.
#[derive(Debug)]
pub struct Observed {
    /// Per user or role ARN, what the plan decides from.
    pub history: std::collections::BTreeMap<String, iamsweep_core::plan::EntityHistory>,
    /// The state with this run recorded; [`StateStore::write`] it once the plan's
    /// announcements are recorded too (`iamsweep_core::notice::record`).
    pub state: AccountState,
}

/// What earlier runs knew of each entity of `snapshot`, for the plan. Reads the account's state
/// (refusing a bad one before anything is written), dates the grants (history first, then IAM's
/// dates) and records what this run saw, in memory.
pub async fn observe(
    store: &StateStore,
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &crate::retry::RetryPolicy,
    snapshot: &iamsweep_core::snapshot::Snapshot,
    local: &[crate::inventory::LocalPolicy],
    now: OffsetDateTime,
) -> Result<Observed, StateError> {
    use iamsweep_core::grace;
    let account_id = &snapshot.account_id;
    let state = store.read(pace, account_id, now).await?;
    let arns = grace::policies_to_date(snapshot);
    let dates = policy_dates(iam, pace, retry, &arns, local).await;
    let ages = grace::account_ages(snapshot, state.as_ref(), &dates);
    let mut state = state.unwrap_or_else(|| AccountState::empty(account_id, snapshot.collected_at));
    let history = ages
        .iter()
        .map(|(arn, grants)| {
            let notice = state.entities.get(arn).and_then(|known| known.notice.clone());
            (arn.clone(), iamsweep_core::plan::EntityHistory { grants: grants.clone(), notice })
        })
        .collect();
    grace::record_run(&mut state, &ages, snapshot.collected_at);
    Ok(Observed { history, state })
}
