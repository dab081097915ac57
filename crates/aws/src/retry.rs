//! One IAM call, paced, retried with exponential backoff and jitter, and classified on failure.
//!
//! SDK retries are disabled on the clients iamsweep builds (see [`crate::clients`]) so that every
//! attempt goes through the shared [`Pace`] and every `Throttling` answer is counted and slows
//! the whole run down, which the SDK's own retry loop would hide.

use std::future::Future;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio::time::Duration;

use crate::error::CallError;
use crate::pace::Pace;

/// How hard to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts for a throttled call, the first included.
    pub throttle_attempts: u32,
    /// Attempts for a transient failure (HTTP 5xx, timeout, connection error).
    pub transient_attempts: u32,
    /// First backoff; it doubles each attempt.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            throttle_attempts: 10,
            transient_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Backoff before attempt `attempt + 1`: exponential, with "equal jitter" (half fixed, half
    /// random) so that many entities throttled together do not retry together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential = self.base_delay.saturating_mul(1 << attempt.min(16));
        let capped = exponential.min(self.max_delay);
        capped / 2 + capped.mul_f64(fastrand::f64() / 2.0)
    }
}

/// What kind of failure an SDK error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// IAM's `Throttling` (HTTP 400, `Rate exceeded`).
    Throttled,
    /// Worth retrying: HTTP 5xx, `ServiceFailure`, timeouts (connect, read and attempt, see
    /// [`crate::transport::Timeouts`]), connection errors.
    Transient,
    /// Retrying will not help: AccessDenied, NoSuchEntity, validation errors.
    Permanent,
}

/// Classifies an SDK error.
pub fn classify<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Failure {
    match error {
        SdkError::TimeoutError(_) => Failure::Transient,
        // Connection and timeout failures pass; a dispatch failure of another kind (no
        // credentials, a bad endpoint URL) fails the same way every time.
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            Failure::Transient
        }
        SdkError::ResponseError(_) => Failure::Transient,
        SdkError::ServiceError(service) => match service.err().code() {
            Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                Failure::Throttled
            }
            // Security Hub answers its rate limits with HTTP 429 (`TooManyRequestsException`,
            // or `LimitExceededException` for its per-account quotas).
            _ if service.raw().status().as_u16() == 429 => Failure::Throttled,
            Some("ServiceFailure" | "ServiceUnavailable" | "InternalFailure") => Failure::Transient,
            _ if service.raw().status().is_server_error() => Failure::Transient,
            // `ExpiredToken` included: the same credentials fail again; `crate::advisor` starts
            // the entity over with a fresh session instead.
            _ => Failure::Permanent,
        },
        _ => Failure::Permanent,
    }
}

/// Makes one paced call, retrying throttles and transient failures.
///
/// `operation` (such as `iam:GetServiceLastAccessedDetails`) and `target` (an ARN or job id)
/// name the call in the error, so a failure reads as one sentence.
pub async fn call<T, E, F, Fut>(
    pace: &Pace,
    policy: &RetryPolicy,
    operation: &'static str,
    target: &str,
    mut send: F,
) -> Result<T, CallError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let mut attempt = 0;
    loop {
        pace.acquire().await;
        let error = match send().await {
            Ok(output) => {
                pace.succeeded();
                return Ok(output);
            }
            Err(error) => error,
        };
        let failure = classify(&error);
        if failure == Failure::Throttled {
            pace.throttled();
            tracing::debug!(operation, target, attempt, "throttled");
        }
        let attempts = match failure {
            Failure::Throttled => policy.throttle_attempts,
            Failure::Transient => policy.transient_attempts,
            Failure::Permanent => 1,
        };
        attempt += 1;
        if attempt >= attempts {
            return Err(CallError::from_sdk(operation, target, &error, attempt));
        }
        tokio::time::sleep(policy.delay(attempt - 1)).await;
    }
}
