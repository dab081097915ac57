//! Resume markers in S3: what a run cut short by the deadline left for the next one.
//!
//! A marker is `PREFIX/resume/ACCOUNT/KIND.json` under `IAMSWEEP_STATE`; its content
//! ([`Marker`], schema `iamsweep.resume/v2`) and what the next run does with it are decided in
//! [`iamsweep_core::resume`]: the ARNs of entities not audited yet, and the entities audited but
//! not yet written (or answered), with their Access Advisor data. A run that finds a non-empty
//! marker works on those entities only, then writes what is still left (an empty marker when it
//! finished): a pass over a big account spans several runs, and no entity is dropped or done
//! twice between them. Markers are overwritten, never deleted, so the function needs no
//! `s3:DeleteObject`.

use iamsweep_aws::pace::Pace;
use iamsweep_aws::s3::{S3, S3Uri};
pub use iamsweep_core::resume::{Marker, RESUME_SCHEMA};

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

/// Reads a marker; a missing object means no pending work. A marker that cannot be used (not
/// JSON, an unknown schema, another account's) is logged and ignored: the run then makes a full
/// pass, which loses nothing, where failing would stop every future run on the same object.
pub async fn read(
    s3: &S3,
    pace: &Pace,
    uri: &S3Uri,
    account_id: &str,
) -> anyhow::Result<Option<Marker>> {
    match s3.get_text(pace, uri).await {
        Ok(text) => match Marker::parse(&text) {
            Ok(marker) if marker.account_id == account_id => Ok(Some(marker)),
            Ok(marker) => {
                tracing::warn!(
                    marker = %uri,
                    "the resume marker is for account {}, not {account_id}: ignored, full pass",
                    marker.account_id
                );
                Ok(None)
            }
            Err(error) => {
                tracing::warn!(marker = %uri, "the resume marker is ignored, full pass: {error}");
                Ok(None)
            }
        },
        Err(error) if matches!(error.code.as_deref(), Some("NoSuchKey" | "NotFound")) => Ok(None),
        Err(error) => {
            Err(anyhow::Error::from(error)
                .context(format!("cannot read the resume marker `{uri}`")))
        }
    }
}

/// Writes a marker.
pub async fn write(s3: &S3, pace: &Pace, uri: &S3Uri, marker: &Marker) -> anyhow::Result<()> {
    let text = serde_json::to_string(marker)?;
    s3.put_text(pace, uri, &text)
        .await
        .map_err(|error| anyhow::Error::from(error).context("cannot write the resume marker"))
}
