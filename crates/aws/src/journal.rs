//! Where the journal lives: a local directory or an S3 prefix.
//!
//! A directory holds one JSON-lines file per run, `RUN_ID.jsonl`, appended and synced before
//! each entity's first write. S3 objects cannot be appended to, so under an S3 prefix each entry
//! is its own object, `PREFIX/RUN_ID/NNNNNN.json`, written before the entity's first write.
//! Run ids start with the UTC time (`20261123T120000Z-3f9a`), so sorting them sorts the runs.

use std::io::Write;
use std::path::{Path, PathBuf};

use iamsweep_core::journal::JournalEntry;
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
    /// An entry does not parse.
    #[error("journal `{place}`: invalid entry: {message}")]
    Invalid {
        /// The file and line, or the S3 key.
        place: String,
        /// What is wrong.
        message: String,
    },
}

/// A journal location.
#[derive(Debug, Clone)]
pub enum JournalStore {
    /// A directory of `RUN_ID.jsonl` files.
    Dir(PathBuf),
    /// An S3 prefix of `RUN_ID/NNNNNN.json` objects.
    S3 {
        /// The client.
        s3: S3,
        /// Bucket and prefix (ending in `/` unless empty).
        prefix: S3Uri,
    },
}

/// A new run id: the UTC time to the second, then four random hex digits so two runs started
/// in the same second do not share a journal file.
pub fn new_run_id(now: OffsetDateTime) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:04x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        fastrand::u16(..)
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

    /// Records `entry` durably (the file is synced) before the change it describes; `sequence`
    /// numbers the entries of a run.
    pub async fn append(
        &self,
        pace: &Pace,
        entry: &JournalEntry,
        sequence: usize,
    ) -> Result<(), JournalError> {
        let line = serde_json::to_string(entry).expect("a journal entry always serialises");
        match self {
            JournalStore::Dir(dir) => {
                let file = dir.join(format!("{}.jsonl", entry.run_id));
                let io = |source| JournalError::File { path: file.clone(), source };
                std::fs::create_dir_all(dir).map_err(io)?;
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
                let uri = S3Uri {
                    bucket: prefix.bucket.clone(),
                    key: format!("{}{}/{sequence:06}.json", prefix.key, entry.run_id),
                };
                Ok(s3.put_text(pace, &uri, &line).await?)
            }
        }
    }

    /// Every entry of every run. A journal that does not exist yet holds no entries.
    pub async fn read_all(&self, pace: &Pace) -> Result<Vec<JournalEntry>, JournalError> {
        let mut entries = Vec::new();
        match self {
            JournalStore::Dir(dir) => {
                let listing = match std::fs::read_dir(dir) {
                    Ok(listing) => listing,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                        return Ok(entries);
                    }
                    Err(source) => return Err(JournalError::File { path: dir.clone(), source }),
                };
                let mut files: Vec<PathBuf> = listing
                    .filter_map(|item| item.ok().map(|item| item.path()))
                    .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
                    .collect();
                files.sort();
                for file in files {
                    entries.extend(read_file(&file)?);
                }
            }
            JournalStore::S3 { s3, prefix } => {
                for key in s3.list_keys(pace, prefix).await? {
                    if !key.ends_with(".json") {
                        continue;
                    }
                    let uri = S3Uri { bucket: prefix.bucket.clone(), key };
                    let text = s3.get_text(pace, &uri).await?;
                    entries.push(parse_entry(&text, || uri.to_string())?);
                }
            }
        }
        Ok(entries)
    }
}

fn read_file(path: &Path) -> Result<Vec<JournalEntry>, JournalError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| JournalError::File { path: path.to_path_buf(), source })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| parse_entry(line, || format!("{}:{}", path.display(), index + 1)))
        .collect()
}

fn parse_entry(text: &str, place: impl Fn() -> String) -> Result<JournalEntry, JournalError> {
    serde_json::from_str(text)
        .map_err(|error| JournalError::Invalid { place: place(), message: error.to_string() })
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
    }
}
