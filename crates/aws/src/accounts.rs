//! Many accounts: list an Organization's active accounts, assume a role in each, and audit them
//! a few at a time, each with its own pace.
//!
//! One `sts:AssumeRole` per account up front, asking for the longest session the role allows
//! (see [`crate::session`]); the collector renews the session before it expires and reads every
//! Access Advisor job with the session that started it, so an account's audit may last longer
//! than any one session. The SDK's `AssumeRoleProvider` is not used: it renews behind the
//! client's back (a job started before a renewal would be read by another session), bypasses
//! [`crate::retry::call`], and surfaces a refused role as a credentials error on the first IAM
//! call.
//!
//! Every account comes back once, with its collection or the reason it could not be audited:
//! an account that refuses the role is reported, never fatal to the others.

use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::clients::Clients;
use crate::collector::{CollectError, CollectSettings, Collection, Progress, collect};
use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};
use crate::session::{AssumedRole, SessionSource};

pub use crate::session::SESSION_NAME;

/// Accounts audited at once by default: each has its own IAM buckets, so accounts do not slow
/// each other down, but every one holds its jobs and sessions in memory.
pub const DEFAULT_PARALLEL_ACCOUNTS: usize = 4;

/// One member account of an Organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// The account's name in the Organization, when known.
    pub name: Option<String>,
}

/// Lists the Organization's `ACTIVE` accounts (suspended and closing accounts cannot be
/// assumed into), following every page.
pub async fn list_active_accounts(
    organizations: &aws_sdk_organizations::Client,
    pace: &Pace,
    retry: &RetryPolicy,
) -> Result<Vec<Account>, CallError> {
    let mut accounts = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let token = next_token.clone();
        let page = call(pace, retry, "organizations:ListAccounts", "-", || {
            organizations.list_accounts().set_next_token(token.clone()).send()
        })
        .await?;
        for account in page.accounts() {
            let active = account
                .state()
                .map(|state| state.as_str() == "ACTIVE")
                .or_else(|| account.status().map(|status| status.as_str() == "ACTIVE"))
                .unwrap_or(false);
            if let (true, Some(id)) = (active, account.id()) {
                accounts
                    .push(Account { id: id.to_string(), name: account.name().map(str::to_string) });
            }
        }
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => break,
        }
    }
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(accounts)
}

/// The ARN of role `role_name` (a name, or `path/name`) in `account_id`.
pub fn role_arn(account_id: &str, role_name: &str) -> String {
    let role = role_name.trim_start_matches('/');
    format!("arn:aws:iam::{account_id}:role/{role}")
}

/// Assumes `role_name` in `account_id` and returns clients signing with that session; their
/// [`Clients::sessions`] makes fresh sessions of the same role when the collector needs them.
pub async fn assume(
    base: &SdkConfig,
    account_id: &str,
    role_name: &str,
    pace: &Pace,
    retry: &RetryPolicy,
) -> Result<Clients, CallError> {
    let role = AssumedRole::new(base.clone(), role_arn(account_id, role_name));
    let assumed = role.assume(pace, retry, 1).await?;
    let mut clients = Clients::new(&assumed.config);
    clients.sessions = SessionSource::AssumedRole(role.with_first(assumed.session));
    Ok(clients)
}

/// Why one account could not be audited.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The role could not be assumed (missing, untrusted, or refused by an SCP).
    #[error(
        "cannot assume the role: {0}\nhint: deploy the member role (deploy/member-role.yaml) in \
         this account, trusting the account that runs iamsweep"
    )]
    AssumeRole(#[source] CallError),
    /// The audit itself could not run.
    #[error(transparent)]
    Collect(#[from] CollectError),
}

/// The audit of one account.
#[derive(Debug)]
pub struct AccountAudit {
    /// The account.
    pub account_id: String,
    /// Its collection, or why there is none.
    pub outcome: Result<Collection, AccountError>,
}

/// Audits each account through `role_name`, `parallel` accounts at once, each with its own pace
/// (the rate in `settings` is per account). Results come back in the order of `accounts`.
pub async fn audit_accounts(
    base: &SdkConfig,
    accounts: &[String],
    role_name: &str,
    settings: &CollectSettings,
    parallel: usize,
    progress: Arc<dyn Progress>,
) -> Vec<AccountAudit> {
    let semaphore = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = JoinSet::new();
    for (index, account_id) in accounts.iter().enumerate() {
        let (base, account_id, role_name) =
            (base.clone(), account_id.clone(), role_name.to_string());
        let (settings, semaphore, progress) =
            (settings.clone(), Arc::clone(&semaphore), Arc::clone(&progress));
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await.expect("semaphore never closes");
            let outcome = audit_one(&base, &account_id, &role_name, &settings, &*progress).await;
            (index, AccountAudit { account_id, outcome })
        });
    }
    let mut slots: Vec<Option<AccountAudit>> = accounts.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, audit)) => slots[index] = Some(audit),
            // A panic is a bug; the account's slot stays empty and is reported below.
            Err(error) => tracing::error!("an account audit panicked: {error}"),
        }
    }
    slots
        .into_iter()
        .zip(accounts)
        .map(|(slot, account_id)| {
            slot.unwrap_or_else(|| AccountAudit {
                account_id: account_id.clone(),
                outcome: Err(AccountError::AssumeRole(CallError {
                    operation: "sts:AssumeRole",
                    target: account_id.clone(),
                    code: None,
                    message: "internal error: the account's audit stopped".to_string(),
                    attempts: 1,
                })),
            })
        })
        .collect()
}

async fn audit_one(
    base: &SdkConfig,
    account_id: &str,
    role_name: &str,
    settings: &CollectSettings,
    progress: &dyn Progress,
) -> Result<Collection, AccountError> {
    // STS has its own limits, apart from IAM's: a pace of its own for the one call.
    let pace = Pace::new(settings.rate);
    let clients = assume(base, account_id, role_name, &pace, &settings.retry)
        .await
        .map_err(AccountError::AssumeRole)?;
    Ok(collect(&clients, settings, progress).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arn_accepts_a_name_or_a_path() {
        assert_eq!(role_arn("111122223333", "Audit"), "arn:aws:iam::111122223333:role/Audit");
        assert_eq!(
            role_arn("111122223333", "/ops/Audit"),
            "arn:aws:iam::111122223333:role/ops/Audit"
        );
    }
}
