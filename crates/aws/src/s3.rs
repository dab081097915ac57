//! Amazon S3: reading list files from `s3://bucket/key` and storing the journal under a prefix.
//!
//! Every call goes through [`crate::retry::call`], like IAM calls, so a throttled or failing S3
//! endpoint is retried with backoff and counted rather than failing a run on the first 503.

use aws_config::SdkConfig;

use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// An `s3://bucket/key` location (the key may be a prefix, or empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    /// The bucket name.
    pub bucket: String,
    /// The object key or prefix, without a leading `/`.
    pub key: String,
}

impl S3Uri {
    /// Reads `s3://bucket/key`; `None` when `text` is not an `s3://` URI. A URI without a
    /// bucket is an error rather than a local file named `s3:`.
    pub fn parse(text: &str) -> Option<Result<S3Uri, String>> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        Some(if bucket.is_empty() {
            Err(format!("`{text}` names no bucket; expected `s3://bucket/key`"))
        } else {
            Ok(S3Uri { bucket: bucket.to_string(), key: key.to_string() })
        })
    }
}

impl std::fmt::Display for S3Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// An S3 client for `config`. With a custom endpoint (iamsim, MinIO, LocalStack) requests are
/// path-style: such endpoints do not resolve `bucket.host` names.
pub fn client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config);
    let builder =
        if config.endpoint_url().is_some() { builder.force_path_style(true) } else { builder };
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// S3 with its pace and retry policy, as one value to pass around.
#[derive(Debug, Clone)]
pub struct S3 {
    /// The client.
    pub client: aws_sdk_s3::Client,
    /// Retries.
    pub retry: RetryPolicy,
}

impl S3 {
    /// Reads an object as UTF-8 text.
    pub async fn get_text(&self, pace: &Pace, uri: &S3Uri) -> Result<String, CallError> {
        let bytes = self.get_bytes(pace, uri).await?;
        String::from_utf8(bytes).map_err(|_| CallError {
            operation: "s3:GetObject",
            target: uri.to_string(),
            code: None,
            message: "the object is not UTF-8 text".to_string(),
            attempts: 1,
        })
    }

    /// Reads an object's bytes, undecoded.
    pub async fn get_bytes(&self, pace: &Pace, uri: &S3Uri) -> Result<Vec<u8>, CallError> {
        let target = uri.to_string();
        let output = call(pace, &self.retry, "s3:GetObject", &target, || {
            self.client.get_object().bucket(&uri.bucket).key(&uri.key).send()
        })
        .await?;
        let bytes = output.body.collect().await.map_err(|error| CallError {
            operation: "s3:GetObject",
            target: target.clone(),
            code: None,
            message: format!("the body could not be read: {error}"),
            attempts: 1,
        })?;
        Ok(bytes.to_vec())
    }

    /// Writes `body` to an object, replacing it.
    pub async fn put_text(&self, pace: &Pace, uri: &S3Uri, body: &str) -> Result<(), CallError> {
        call(pace, &self.retry, "s3:PutObject", &uri.to_string(), || {
            self.client
                .put_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .content_type("application/json")
                .body(body.as_bytes().to_vec().into())
                .send()
        })
        .await?;
        Ok(())
    }

    /// Writes `body` to an object of type `content_type`, replacing it (the Lambda's reports).
    pub async fn put_bytes(
        &self,
        pace: &Pace,
        uri: &S3Uri,
        body: &[u8],
        content_type: &str,
    ) -> Result<(), CallError> {
        call(pace, &self.retry, "s3:PutObject", &uri.to_string(), || {
            self.client
                .put_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .content_type(content_type)
                .body(body.to_vec().into())
                .send()
        })
        .await?;
        Ok(())
    }

    /// Writes `body` to a new object: never replaces one (`If-None-Match: *`). `Ok(false)` when
    /// an object already exists under the key (HTTP 412 `PreconditionFailed`) or another
    /// conditional write to it is in flight (HTTP 409 `ConditionalRequestConflict`): the caller
    /// picks another key. See "Conditional writes" in the Amazon S3 User Guide.
    pub async fn create_text(
        &self,
        pace: &Pace,
        uri: &S3Uri,
        body: &str,
    ) -> Result<bool, CallError> {
        let result = call(pace, &self.retry, "s3:PutObject", &uri.to_string(), || {
            self.client
                .put_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .if_none_match("*")
                .content_type("application/json")
                .body(body.as_bytes().to_vec().into())
                .send()
        })
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(
                    error.code.as_deref(),
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// Every key under `prefix`, in S3's (lexicographic) order, following continuation tokens.
    pub async fn list_keys(&self, pace: &Pace, prefix: &S3Uri) -> Result<Vec<String>, CallError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = call(pace, &self.retry, "s3:ListObjectsV2", &prefix.to_string(), || {
                self.client
                    .list_objects_v2()
                    .bucket(&prefix.bucket)
                    .prefix(&prefix.key)
                    .set_continuation_token(token.clone())
                    .send()
            })
            .await?;
            keys.extend(page.contents().iter().filter_map(|object| object.key().map(String::from)));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.into()),
                _ => break,
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_read_and_a_missing_bucket_is_an_error() {
        let uri = S3Uri::parse("s3://lists/team/do_not_list.txt").unwrap().unwrap();
        assert_eq!((uri.bucket.as_str(), uri.key.as_str()), ("lists", "team/do_not_list.txt"));
        assert_eq!(uri.to_string(), "s3://lists/team/do_not_list.txt");
        assert_eq!(S3Uri::parse("s3://journal").unwrap().unwrap().key, "");
        assert!(S3Uri::parse("s3:///key").unwrap().is_err());
        assert!(S3Uri::parse("./do_not_list.txt").is_none());
    }
}
