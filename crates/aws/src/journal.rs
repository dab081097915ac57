//! Where the journal lives: a local directory or an S3 prefix, one folder per account.
//!
//! A directory holds one JSON-lines file per run, `DIR/ACCOUNT/RUN_ID.jsonl`, appended and
//! synced before each entity's first write. S3 objects cannot be appended to, so under an S3
//! prefix each entry is its own object, `PREFIX/ACCOUNT/RUN_ID/NNNNNN.json`, written before the
//! entity's first write with `If-None-Match: *`: an object already there (a run of another
//! invocation that drew the same id, or anything else) is never replaced; the entry goes under
//! another name instead. The account in the path is what lets every account of an Organization
//! share one prefix, and a rollback read only its own account's entries.
//!
//! Run ids start with the UTC time (`20261123T120000Z-5f0c9a2e4b7d1836`), so sorting them sorts
//! the runs; the 64 random bits after it keep concurrent invocations (the fan-out starts
//! hundreds in the same second) from sharing an id.

use std::io::Write;
use std::path::{Path, PathBuf};

use iamsweep_core::journal::{JournalEntry, check_entry, entry_account, parse_entry};
use iamsweep_core::org::journal::{
    ORG_JOURNAL_SCHEMA, OrgJournalEntry, check_org_entry, parse_org_entry, schema_of,
};
use time::OffsetDateTime;

use crate::error::CallError;
use crate::location::ReadError;
use crate::pace::Pace;
use crate::s3::{S3, S3Uri};

/// The default journal directory, relative to where iamsweep runs.
pub const DEFAULT_JOURNAL: &str = "./iamsweep-journal";

/// Why the journal could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A local file problem.
    #[error("journal `{path}`: {source}")]
    File {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An S3 call failed.
    #[error("journal: {0}")]
    S3(#[from] CallError),
    /// Every name tried for an S3 entry was taken by an existing object.
    #[error(
        "journal `{place}`: {attempts} names for the entry were all taken; nothing was overwritten"
    )]
    Taken {
        /// The first name tried.
        place: String,
        /// Names tried.
        attempts: usize,
    },
    /// An entry does not parse, or fails its checks.
    #[error("journal `{place}`: invalid entry: {message}")]
    Invalid {
        /// The file and line, or the S3 key.
        place: String,
        /// What is wrong.
        message: String,
    },
}

/// How many names an S3 entry tries before giving up: a collision needs another writer at the
/// same run id and sequence, so a second name almost always does.
const S3_NAME_ATTEMPTS: usize = 5;

/// A journal location.
#[derive(Debug, Clone)]
pub enum JournalStore {
    /// A directory of `ACCOUNT/RUN_ID.jsonl` files.
    Dir(PathBuf),
    /// An S3 prefix of `ACCOUNT/RUN_ID/NNNNNN.json` objects.
    S3 {
        /// The client.
        s3: S3,
        /// Bucket and prefix (ending in `/` unless empty).
        prefix: S3Uri,
    },
}

/// A new run id: the UTC time to the second, then 64 random bits (16 hex digits) so that runs
/// started in the same second, by people or by hundreds of fan-out invocations, do not share a
/// journal file or prefix.
pub fn new_run_id(now: OffsetDateTime) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:016x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        fastrand::u64(..)
    )
}

impl JournalStore {
    /// A local directory, or an `s3://bucket/prefix` (which needs `s3`).
    pub fn parse(text: &str, s3: Option<S3>) -> Result<JournalStore, ReadError> {
        match S3Uri::parse(text) {
            None => Ok(JournalStore::Dir(PathBuf::from(text))),
            Some(Err(message)) => Err(ReadError::Invalid(message)),
            Some(Ok(mut prefix)) => {
                let s3 = s3.ok_or_else(|| ReadError::NoClient(text.to_string()))?;
                if !prefix.key.is_empty() && !prefix.key.ends_with('/') {
                    prefix.key.push('/');
                }
                Ok(JournalStore::S3 { s3, prefix })
            }
        }
    }

    /// Where it is, for messages.
    pub fn describe(&self) -> String {
        match self {
            JournalStore::Dir(path) => path.display().to_string(),
            JournalStore::S3 { prefix, .. } => prefix.to_string(),
        }
    }

    /// Records `entry` durably (the file is synced; the S3 object is new) before the change it
    /// describes, under the account of the entry's entity; `sequence` numbers the entries of a
    /// run.
    pub async fn append(
        &self,
        pace: &Pace,
        entry: &JournalEntry,
        sequence: usize,
    ) -> Result<(), JournalError> {
        let line = serde_json::to_string(entry).expect("a journal entry always serialises");
        let account = entry_account(entry).ok_or_else(|| JournalError::Invalid {
            place: self.describe(),
            message: format!("`{}` is not a user or role ARN", entry.arn),
        })?;
        self.append_line(pace, account, &entry.run_id, &line, sequence).await
    }

    /// Records an SCP entry ([`OrgJournalEntry`]) as [`JournalStore::append`] records a
    /// boundary entry, under the management account's folder, beside its boundary runs.
    pub async fn append_org(
        &self,
        pace: &Pace,
        entry: &OrgJournalEntry,
        sequence: usize,
    ) -> Result<(), JournalError> {
        let line = serde_json::to_string(entry).expect("a journal entry always serialises");
        self.append_line(pace, &entry.management_account_id, &entry.run_id, &line, sequence).await
    }

    async fn append_line(
        &self,
        pace: &Pace,
        account: &str,
        run_id: &str,
        line: &str,
        sequence: usize,
    ) -> Result<(), JournalError> {
        match self {
            JournalStore::Dir(dir) => {
                let dir = dir.join(account);
                let file = dir.join(format!("{run_id}.jsonl"));
                let io = |source| JournalError::File { path: file.clone(), source };
                std::fs::create_dir_all(&dir).map_err(io)?;
                // Append only: an existing file gains a line, never loses one.
                let mut out = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)
                    .map_err(io)?;
                out.write_all(format!("{line}\n").as_bytes()).map_err(io)?;
                // The entry must survive a crash during the write it precedes.
                out.sync_data().map_err(io)
            }
            JournalStore::S3 { s3, prefix } => {
                let folder = format!("{}{account}/{run_id}/", prefix.key);
                for attempt in 0..S3_NAME_ATTEMPTS {
                    let name = if attempt == 0 {
                        format!("{sequence:06}.json")
                    } else {
                        // Still sorts next to its sequence number; the reader takes any name.
                        format!("{sequence:06}-{:08x}.json", fastrand::u32(..))
                    };
                    let uri =
                        S3Uri { bucket: prefix.bucket.clone(), key: format!("{folder}{name}") };
                    if s3.create_text(pace, &uri, line).await? {
                        return Ok(());
                    }
                    tracing::warn!(key = %uri, "journal object exists already; writing under another name");
                }
                Err(JournalError::Taken {
                    place: format!("s3://{}/{folder}{sequence:06}.json", prefix.bucket),
                    attempts: S3_NAME_ATTEMPTS,
                })
            }
        }
    }

    /// Every entry of `account_id`, each checked with [`check_entry`] before it is returned, so
    /// an entry of an unknown schema, of another account or that `apply` could not have written
    /// stops the rollback before its first write, naming the file and line or the object. A
    /// journal that does not exist yet holds no entries.
    ///
    /// A directory's `RUN_ID.jsonl` files written before the account folder existed are read
    /// too (and refused if they hold another account's entries); S3 objects of that older
    /// layout (`PREFIX/RUN_ID/...`) are not.
    pub async fn read_account(
        &self,
        pace: &Pace,
        account_id: &str,
        boundary_path: &str,
    ) -> Result<Vec<JournalEntry>, JournalError> {
        let mut entries = Vec::new();
        for (place, text) in self.read_lines(pace, account_id).await? {
            // SCP entries share the store; `org rollback` reads them, not this.
            if schema_of(&text).as_deref() == Some(ORG_JOURNAL_SCHEMA) {
                continue;
            }
            let invalid = |message| JournalError::Invalid { place: place.clone(), message };
            let entry = parse_entry(&text).map_err(invalid)?;
            check_entry(&entry, account_id, boundary_path).map_err(invalid)?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Every SCP entry of the management account `account_id`, each checked with
    /// [`check_org_entry`] before it is returned (boundary entries are left out).
    pub async fn read_org(
        &self,
        pace: &Pace,
        account_id: &str,
    ) -> Result<Vec<OrgJournalEntry>, JournalError> {
        let mut entries = Vec::new();
        for (place, text) in self.read_lines(pace, account_id).await? {
            if schema_of(&text).as_deref() != Some(ORG_JOURNAL_SCHEMA) {
                continue;
            }
            let invalid = |message| JournalError::Invalid { place: place.clone(), message };
            let entry = parse_org_entry(&text).map_err(invalid)?;
            check_org_entry(&entry, account_id).map_err(invalid)?;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Every entry's text of `account_id`, with where it was read (file and line, or object).
    async fn read_lines(
        &self,
        pace: &Pace,
        account_id: &str,
    ) -> Result<Vec<(String, String)>, JournalError> {
        let mut lines = Vec::new();
        match self {
            JournalStore::Dir(dir) => {
                let mut files = jsonl_files(dir)?;
                files.extend(jsonl_files(&dir.join(account_id))?);
                for file in files {
                    let text = std::fs::read_to_string(&file)
                        .map_err(|source| JournalError::File { path: file.clone(), source })?;
                    for (index, line) in text.lines().enumerate() {
                        if line.trim().is_empty() {
                            continue;
                        }
                        lines.push((format!("{}:{}", file.display(), index + 1), line.to_string()));
                    }
                }
            }
            JournalStore::S3 { s3, prefix } => {
                let folder = S3Uri {
                    bucket: prefix.bucket.clone(),
                    key: format!("{}{account_id}/", prefix.key),
                };
                for key in s3.list_keys(pace, &folder).await? {
                    if !key.ends_with(".json") {
                        continue;
                    }
                    let uri = S3Uri { bucket: prefix.bucket.clone(), key };
                    let text = s3.get_text(pace, &uri).await?;
                    lines.push((uri.to_string(), text));
                }
            }
        }
        Ok(lines)
    }
}

/// The `*.jsonl` files of a directory, sorted; none when it does not exist.
fn jsonl_files(dir: &Path) -> Result<Vec<PathBuf>, JournalError> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(JournalError::File { path: dir.to_path_buf(), source }),
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(|item| item.ok().map(|item| item.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn run_ids_sort_by_time() {
        let earlier = new_run_id(datetime!(2026-11-23 09:59:59 UTC));
        let later = new_run_id(datetime!(2026-11-23 12:00 +02:00) + time::Duration::hours(1));
        assert!(earlier.starts_with("20261123T095959Z-"), "{earlier}");
        assert!(later.starts_with("20261123T110000Z-"), "{later}");
        assert!(earlier < later);
        // 64 random bits: ids drawn in the same second differ.
        assert_eq!(earlier.len(), "20261123T095959Z-".len() + 16, "{earlier}");
        let same_second: std::collections::BTreeSet<String> =
            (0..1000).map(|_| new_run_id(datetime!(2026-11-23 09:59:59 UTC))).collect();
        assert_eq!(same_second.len(), 1000);
    }
}
