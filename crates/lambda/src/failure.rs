//! Function errors as Lambda reports them: `errorType` names the kind of failure (what an alarm
//! or a Step Functions `Catch` matches on), `errorMessage` says what failed, with its causes.
//!
//! Without this, `errorType` was the Rust type path of the boxed error, the same for every
//! failure. The kind is found by walking the error's chain: a typed cause decides it.

use iamsweep_aws::CallError;
use iamsweep_aws::collector::CollectError;
use lambda_runtime::Diagnostic;

use crate::event::EventError;

/// The kinds of function error, each the `errorType` of its failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The event is not one the function answers (`InvalidEvent`).
    InvalidEvent,
    /// The settings, the config or a list file is missing or invalid (`ConfigError`); nothing
    /// was written.
    ConfigError,
    /// AWS refused a call for lack of permission (`AccessDenied`).
    AccessDenied,
    /// AWS throttled a call beyond the retries (`Throttling`).
    Throttling,
    /// The credentials expired (`ExpiredToken`).
    ExpiredToken,
    /// An endpoint could not be reached or did not answer in time (`AwsUnreachable`).
    AwsUnreachable,
    /// Any other AWS error code (`AwsError`).
    AwsError,
    /// Anything else (`InternalError`).
    Internal,
}

impl ErrorKind {
    /// The `errorType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidEvent => "InvalidEvent",
            ErrorKind::ConfigError => "ConfigError",
            ErrorKind::AccessDenied => "AccessDenied",
            ErrorKind::Throttling => "Throttling",
            ErrorKind::ExpiredToken => "ExpiredToken",
            ErrorKind::AwsUnreachable => "AwsUnreachable",
            ErrorKind::AwsError => "AwsError",
            ErrorKind::Internal => "InternalError",
        }
    }
}

/// A settings, config or list-file problem: attached as context so the error's kind is
/// [`ErrorKind::ConfigError`] whatever its cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The kind of `error`: the outermost typed cause decides.
pub fn kind_of(error: &anyhow::Error) -> ErrorKind {
    if error.downcast_ref::<EventError>().is_some() {
        return ErrorKind::InvalidEvent;
    }
    if error.downcast_ref::<ConfigError>().is_some() {
        return ErrorKind::ConfigError;
    }
    for cause in error.chain() {
        if let Some(call) = cause.downcast_ref::<CallError>() {
            return kind_of_call(call);
        }
        if let Some(CollectError::Identity(call) | CollectError::Inventory(call)) =
            cause.downcast_ref::<CollectError>()
        {
            return kind_of_call(call);
        }
    }
    ErrorKind::Internal
}

fn kind_of_call(call: &CallError) -> ErrorKind {
    if call.is_access_denied() {
        return ErrorKind::AccessDenied;
    }
    match call.code.as_deref() {
        Some("Throttling" | "ThrottlingException" | "TooManyRequestsException") => {
            ErrorKind::Throttling
        }
        Some("ExpiredToken" | "ExpiredTokenException") => ErrorKind::ExpiredToken,
        Some(_) => ErrorKind::AwsError,
        None => ErrorKind::AwsUnreachable,
    }
}

/// The function error Lambda reports for `error`.
pub fn diagnostic(error: &anyhow::Error) -> Diagnostic {
    Diagnostic {
        error_type: kind_of(error).as_str().to_string(),
        error_message: format!("{error:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn call(code: Option<&str>) -> CallError {
        CallError {
            operation: "iam:GetUser",
            target: "alice".to_string(),
            code: code.map(str::to_string),
            message: "no".to_string(),
            attempts: 1,
        }
    }

    #[test]
    fn the_kind_comes_from_the_typed_cause_not_the_rust_type() {
        let error = anyhow::Error::from(call(Some("AccessDenied"))).context("cannot read alice");
        assert_eq!(diagnostic(&error).error_type, "AccessDenied");
        assert!(diagnostic(&error).error_message.contains("cannot read alice: iam:GetUser"));
        let throttled = anyhow::Error::from(call(Some("Throttling")));
        assert_eq!(kind_of(&throttled), ErrorKind::Throttling);
        assert_eq!(kind_of(&anyhow::Error::from(call(None))), ErrorKind::AwsUnreachable);
        let config: anyhow::Result<()> =
            Err(anyhow::anyhow!("bad toml")).context(ConfigError("config `s3://b/c`".into()));
        assert_eq!(kind_of(&config.unwrap_err()), ErrorKind::ConfigError);
        assert_eq!(kind_of(&anyhow::anyhow!("surprise")), ErrorKind::Internal);
        let identity = anyhow::Error::from(CollectError::Identity(call(Some("ExpiredToken"))));
        assert_eq!(kind_of(&identity), ErrorKind::ExpiredToken);
    }
}
