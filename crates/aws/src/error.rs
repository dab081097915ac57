//! Errors of AWS calls, reduced to what a person needs: the operation, the target, the AWS code.

use std::fmt;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

/// A transport failure in a few words: what failed, where (the endpoint, see
/// [`crate::transport`]) and the innermost cause, such as "no answer from
/// `http://127.0.0.1:4566`: HTTP read timeout occurred after 30s", instead of the whole nested
/// chain.
fn transport_message<E, R>(error: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    let mut endpoint = None;
    let mut innermost: &dyn std::error::Error = error;
    loop {
        if innermost.is::<aws_credential_types::provider::error::CredentialsError>() {
            return "no AWS credentials found; set a profile (--profile or AWS_PROFILE, after \
                    `aws sso login` for SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                .to_string();
        }
        if let Some(named) = innermost.downcast_ref::<crate::transport::EndpointError>() {
            endpoint = Some(named.endpoint.clone());
        }
        match innermost.source() {
            // The SDK's timeout errors end in a bare "timed out"; the one above it says which
            // timeout and how long ("HTTP read timeout occurred after 30s").
            Some(source) if source.to_string() == "timed out" => break,
            Some(source) => innermost = source,
            None => break,
        }
    }
    let timed_out = match error {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_timeout(),
        _ => false,
    };
    let kind = match (error, timed_out) {
        (_, true) => "no answer",
        (SdkError::ConstructionFailure(_), _) => "request construction failed",
        (SdkError::DispatchFailure(_), _) => "could not reach the endpoint",
        (SdkError::ResponseError(_), _) => "unreadable response",
        _ => "failure",
    };
    match endpoint {
        Some(endpoint) if timed_out => format!("{kind} from `{endpoint}`: {innermost}"),
        Some(endpoint) => format!("{kind} `{endpoint}`: {innermost}"),
        None => format!("{kind}: {innermost}"),
    }
}

/// A failed AWS call, after retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CallError {
    /// The IAM action, such as `iam:GenerateServiceLastAccessedDetails`.
    pub operation: &'static str,
    /// What it was called on: an ARN, a job id, a policy.
    pub target: String,
    /// The AWS error code (`AccessDenied`, `NoSuchEntity`, `Throttling`...), when AWS answered.
    pub code: Option<String>,
    /// AWS's message, or the transport error.
    pub message: String,
    /// Attempts made.
    pub attempts: u32,
}

impl CallError {
    /// Reduces an SDK error to its code and message.
    pub fn from_sdk<E, R>(
        operation: &'static str,
        target: &str,
        error: &SdkError<E, R>,
        attempts: u32,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let (code, message) = match error {
            SdkError::ServiceError(service) => (
                service.err().code().map(str::to_string),
                service
                    .err()
                    .message()
                    .map_or_else(|| DisplayErrorContext(error).to_string(), str::to_string),
            ),
            _ => (None, transport_message(error)),
        };
        CallError { operation, target: target.to_string(), code, message, attempts }
    }

    /// Whether AWS refused the call for lack of permission.
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
        )
    }

    /// Whether the credentials' session expired (`ExpiredToken`): a fresh session is needed, and
    /// the same call with the same credentials would fail again.
    pub fn is_expired_token(&self) -> bool {
        matches!(self.code.as_deref(), Some("ExpiredToken" | "ExpiredTokenException"))
    }

    /// Whether the target does not exist (deleted since the inventory, for example).
    pub fn is_no_such_entity(&self) -> bool {
        self.code.as_deref() == Some("NoSuchEntity")
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `-` is the target of calls on no particular resource (`sts:GetCallerIdentity`).
        match (&self.code, self.target.as_str()) {
            (Some(code), "-") => write!(f, "{}: {code}: {}", self.operation, self.message),
            (Some(code), target) => {
                write!(f, "{} on `{target}`: {code}: {}", self.operation, self.message)
            }
            (None, "-") => write!(f, "{}: {}", self.operation, self.message),
            (None, target) => write!(f, "{} on `{target}`: {}", self.operation, self.message),
        }?;
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}
