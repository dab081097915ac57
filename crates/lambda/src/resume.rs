//! Resume markers: which entities a run cut short by the deadline left for the next one.
//!
//! A marker is `PREFIX/resume/ACCOUNT/KIND.json` under `IAMSWEEP_STATE`, holding the ARNs not yet
//! done. A run that finds a non-empty marker works on those entities only, then writes what is
//! still pending (an empty list when it finished): a pass over a big account spans several runs,
//! and no entity is dropped between them. Markers are overwritten, never deleted, so the function
//! needs no `s3:DeleteObject`.

use iamsweep_aws::pace::Pace;
use iamsweep_aws::s3::{S3, S3Uri};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The `schema` of a marker.
pub const RESUME_SCHEMA: &str = "iamsweep.resume/v1";

/// One marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Always [`RESUME_SCHEMA`].
    pub schema: String,
    /// The account.
    pub account_id: String,
    /// ARNs of the entities not yet done, in inventory order.
    pub pending: Vec<String>,
    /// When the run that wrote it stopped.
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
}

/// Where the marker of `account_id` and `kind` (`scheduled`, `config`, `fan-out`) lives.
pub fn location(state: &S3Uri, account_id: &str, kind: &str) -> S3Uri {
    let prefix = state.key.trim_end_matches('/');
    let key = if prefix.is_empty() {
        format!("resume/{account_id}/{kind}.json")
    } else {
        format!("{prefix}/resume/{account_id}/{kind}.json")
    };
    S3Uri { bucket: state.bucket.clone(), key }
}

/// Reads a marker; a missing object means no pending work.
pub async fn read(s3: &S3, pace: &Pace, uri: &S3Uri) -> anyhow::Result<Option<Marker>> {
    match s3.get_text(pace, uri).await {
        Ok(text) => {
            let marker: Marker = serde_json::from_str(&text)
                .map_err(|error| anyhow::anyhow!("resume marker `{uri}` is not valid: {error}"))?;
            Ok(Some(marker))
        }
        Err(error) if matches!(error.code.as_deref(), Some("NoSuchKey" | "NotFound")) => Ok(None),
        Err(error) => Err(anyhow::anyhow!("cannot read the resume marker: {error}")),
    }
}

/// Writes a marker.
pub async fn write(s3: &S3, pace: &Pace, uri: &S3Uri, marker: &Marker) -> anyhow::Result<()> {
    let text = serde_json::to_string(marker)?;
    s3.put_text(pace, uri, &text)
        .await
        .map_err(|error| anyhow::anyhow!("cannot write the resume marker: {error}"))
}
