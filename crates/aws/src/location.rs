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
    /// The local file could not be read.
    #[error("cannot read `{path}`: {source}")]
    File {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The S3 object could not be read.
    #[error("cannot read `{uri}`: {source}")]
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

    /// Reads the whole text.
    pub async fn read(&self, s3: Option<&S3>, pace: &Pace) -> Result<String, ReadError> {
        match self {
            Location::File(path) => std::fs::read_to_string(path)
                .map_err(|source| ReadError::File { path: path.clone(), source }),
            Location::S3(uri) => {
                let s3 = s3.ok_or_else(|| ReadError::NoClient(uri.to_string()))?;
                s3.get_text(pace, uri)
                    .await
                    .map_err(|source| ReadError::S3 { uri: uri.to_string(), source })
            }
        }
    }
}
