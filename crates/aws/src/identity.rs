//! Who is running iamsweep, and in which account (`sts:GetCallerIdentity`).

use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// The principal running iamsweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The account the credentials belong to.
    pub account_id: String,
    /// The caller's ARN: a user, a role, or an assumed-role session.
    pub arn: String,
}

/// Asks STS who the credentials belong to. Needs no permission, so a failure here means there
/// are no usable credentials (or no route to the endpoint).
pub async fn caller_identity(
    sts: &aws_sdk_sts::Client,
    pace: &Pace,
    policy: &RetryPolicy,
) -> Result<CallerIdentity, CallError> {
    let output =
        call(pace, policy, "sts:GetCallerIdentity", "-", || sts.get_caller_identity().send())
            .await?;
    Ok(CallerIdentity {
        account_id: output.account().unwrap_or_default().to_string(),
        arn: output.arn().unwrap_or_default().to_string(),
    })
}
