//! Text inputs that may live on disk or in S3: `do_not_list.txt`, `base_actions.txt`.
//!
//! A location that cannot be read is an error naming it, never an empty text: the original
//! sample read a missing exception file as "no exclusions" and restricted what it should not.

use std::path::PathBuf;

use crate::error::CallError;
use crate::pace::Pace;
use crate::s3::{S3, S3Uri};

/// Where a text input lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file.
    File(PathBuf),
    /// An S3 object.
    S3(S3Uri),
}

/// Why a location could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The text is neither a path nor a valid `s3://` URI.
    #[error("{0}")]
    Invalid(String),
    /// The local file could not be read. (The cause is the `source`, not pasted in here too:
    /// printed with its chain, a missing file said "No such file or directory" twice.)
    #[error("cannot read `{path}`")]
    File {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The S3 object could not be read.
    #[error("cannot read `{uri}`")]
    S3 {
        /// The URI.
        uri: String,
        /// Why.
        #[source]
        source: CallError,
    },
    /// An `s3://` location but no S3 client was set up.
    #[error("cannot read `{0}`: no S3 client")]
    NoClient(String),
}

impl Location {
    /// `s3://bucket/key` or a local path.
    pub fn parse(text: &str) -> Result<Location, ReadError> {
        match S3Uri::parse(text) {
            Some(Ok(uri)) => Ok(Location::S3(uri)),
            Some(Err(message)) => Err(ReadError::Invalid(message)),
            None => Ok(Location::File(PathBuf::from(text))),
        }
    }

    /// Whether reading it needs S3.
    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3(_))
    }

    /// Reads the whole content, as bytes: how a list file is decoded (a BOM, UTF-16) is
    /// decided in `iamsweep_core::lists`, not by whichever reader fetched it.
    pub async fn read(&self, s3: Option<&S3>, pace: &Pace) -> Result<Vec<u8>, ReadError> {
        match self {
            Location::File(path) => {
                std::fs::read(path).map_err(|source| ReadError::File { path: path.clone(), source })
            }
            Location::S3(uri) => {
                let s3 = s3.ok_or_else(|| ReadError::NoClient(uri.to_string()))?;
                s3.get_bytes(pace, uri)
                    .await
                    .map_err(|source| ReadError::S3 { uri: uri.to_string(), source })
            }
        }
    }
}

/// The contents of the list files a configuration names (`guardrails.do_not_list_file`,
/// `boundary.base_actions_file`), read from disk or S3, for `EnforceSettings::resolve`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFiles {
    /// The do-not list's bytes, when configured.
    pub do_not_list: Option<Vec<u8>>,
    /// The base actions' bytes, when configured.
    pub base_actions: Option<Vec<u8>>,
}

impl ListFiles {
    /// Reads every list file `config` names. A file that cannot be read is an error naming it
    /// and its config key: a list that cannot be read never means an empty one (the original
    /// sample's bug).
    pub async fn read(
        config: &iamsweep_core::config::Config,
        s3: Option<&S3>,
        pace: &Pace,
    ) -> Result<ListFiles, ListFileError> {
        let read = async |key: &'static str, location: &Option<String>| match location {
            None => Ok(None),
            Some(location) => match Location::parse(location) {
                Ok(parsed) => parsed.read(s3, pace).await.map(Some),
                Err(error) => Err(error),
            }
            .map_err(|source| ListFileError {
                key,
                location: location.clone(),
                source,
            }),
        };
        Ok(ListFiles {
            do_not_list: read("guardrails.do_not_list_file", &config.guardrails.do_not_list_file)
                .await?,
            base_actions: read("boundary.base_actions_file", &config.boundary.base_actions_file)
                .await?,
        })
    }

    /// The contents, as `EnforceSettings::resolve` takes them.
    pub fn texts(&self) -> iamsweep_core::settings::ListTexts<'_> {
        iamsweep_core::settings::ListTexts {
            do_not_list: self.do_not_list.as_deref(),
            base_actions: self.base_actions.as_deref(),
        }
    }
}

/// A list file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read the list file `{location}` named by `{key}`; a list that cannot be read never \
     means an empty one"
)]
pub struct ListFileError {
    /// The config key naming the file.
    pub key: &'static str,
    /// The file's location as configured.
    pub location: String,
    /// Why it could not be read.
    #[source]
    pub source: ReadError,
}
