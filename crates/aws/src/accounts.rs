//! Many accounts: list an Organization's active accounts, assume a role in each, and audit them
//! a few at a time, each with its own pace, handing each audit over as it completes.
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
use tokio::sync::{Semaphore, mpsc};

use crate::clients::Clients;
use crate::collector::{CollectError, CollectSettings, Collection, Progress, collect};
use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};
use crate::session::{AssumedRole, SessionSource};

pub use crate::session::SESSION_NAME;

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
    /// The account's audit stopped before it could answer (a bug).
    #[error("{0}")]
    Stopped(String),
}

/// The audit of one account.
#[derive(Debug)]
pub struct AccountAudit {
    /// The account.
    pub account_id: String,
    /// Its collection, or why there is none.
    pub outcome: Result<Collection, AccountError>,
}

/// Audits each account through `role_name`, at most `parallel` accounts at once, each with its
/// own pace (the rate in `settings` is per account), and hands each account's audit to the
/// returned channel as soon as it is done: the order is the order of completion.
///
/// Memory is bounded by `parallel`, not by the number of accounts: an account is started only
/// when one of the `parallel` slots is free, and its slot is freed only once its audit has been
/// handed over (the channel holds one). A caller that writes each audit out and drops it holds
/// at most `parallel + 2` accounts' data, however large the Organization. Every account comes
/// back exactly once, a panic in its audit included (as [`AccountError::Stopped`]).
///
/// Must be called within a Tokio runtime; the audits run on spawned tasks. Dropping the
/// receiver stops starting accounts.
pub fn audit_accounts(
    base: &SdkConfig,
    accounts: Vec<String>,
    role_name: &str,
    settings: &CollectSettings,
    parallel: usize,
    progress: Arc<dyn Progress>,
) -> mpsc::Receiver<AccountAudit> {
    let (sender, receiver) = mpsc::channel(1);
    let slots = Arc::new(Semaphore::new(parallel.max(1)));
    let (base, role_name, settings) = (base.clone(), role_name.to_string(), settings.clone());
    tokio::spawn(async move {
        for account_id in accounts {
            // Waiting here for a free slot is what bounds the accounts in flight.
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
            if sender.is_closed() {
                return;
            }
            let (base, role_name, settings) = (base.clone(), role_name.clone(), settings.clone());
            let (sender, progress) = (sender.clone(), Arc::clone(&progress));
            tokio::spawn(async move {
                let audit = {
                    let account_id = account_id.clone();
                    // Its own task, so that a panic comes back as a JoinError, not a lost account.
                    tokio::spawn(async move {
                        audit_one(&base, &account_id, &role_name, &settings, &*progress).await
                    })
                };
                let outcome = audit.await.unwrap_or_else(|error| {
                    Err(AccountError::Stopped(format!("internal error: {error}")))
                });
                // A closed channel means the caller stopped reading: nothing left to report to.
                let _ = sender.send(AccountAudit { account_id, outcome }).await;
                drop(slot);
            });
        }
    });
    receiver
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
