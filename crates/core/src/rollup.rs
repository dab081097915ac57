//! Many accounts in one document: each account's `iamsweep.audit/v1` report (or why it could not
//! be audited) and a roll-up over all of them.
//!
//! The `iamsweep.accounts/v1` JSON is a contract (`audit --format json` with several accounts).
//! With a single account the binaries keep writing the plain `iamsweep.audit/v1` report.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::report::{AuditReport, SeverityCounts, StatusCounts, VerdictCounts};

/// The `schema` value of the multi-account document.
pub const ACCOUNTS_SCHEMA: &str = "iamsweep.accounts/v1";

/// Every account of a run and the roll-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountsReport {
    /// Always [`ACCOUNTS_SCHEMA`].
    pub schema: String,
    /// When the document was made.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// One entry per requested account, in the order their audits completed (the CLI writes
    /// each as soon as it is done; every entry names its account).
    pub accounts: Vec<AccountEntry>,
    /// Sums over `accounts`.
    pub rollup: Rollup,
}

/// One account's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountEntry {
    /// The account id.
    pub account_id: String,
    /// `ok` (see `report`) or `error` (see `error`).
    pub status: AccountStatus,
    /// Why the account could not be audited (the role could not be assumed, for example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The account's audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<AuditReport>,
}

/// Whether an account was audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    /// Audited (some entities may still have failed: see the report).
    Ok,
    /// Not audited.
    Error,
}

/// Sums over the audited accounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollup {
    /// Accounts requested.
    pub accounts: usize,
    /// Accounts audited.
    pub audited: usize,
    /// Accounts that could not be audited.
    pub failed: usize,
    /// Entities over every audited account.
    pub entities: usize,
    /// Entities per status.
    pub status: StatusCounts,
    /// Entities per verdict.
    pub verdict: VerdictCounts,
    /// Idle entities (no service used within the window; see
    /// [`crate::report::EntityReport::idle`]); absent from documents written before it.
    #[serde(default)]
    pub idle: usize,
    /// Non-compliant entities per severity.
    #[serde(default)]
    pub severity: SeverityCounts,
    /// AWS calls made.
    pub calls: u64,
    /// Calls answered with `Throttling`.
    pub throttles: u64,
}

impl AccountsReport {
    /// The document over `accounts`, with its roll-up.
    pub fn new(accounts: Vec<AccountEntry>, generated_at: OffsetDateTime) -> Self {
        let rollup = rollup(&accounts);
        AccountsReport { schema: ACCOUNTS_SCHEMA.to_string(), generated_at, accounts, rollup }
    }
}

impl AccountEntry {
    /// An audited account.
    pub fn audited(report: AuditReport) -> Self {
        AccountEntry {
            account_id: report.account_id.clone(),
            status: AccountStatus::Ok,
            error: None,
            report: Some(report),
        }
    }

    /// An account that could not be audited.
    pub fn failed(account_id: impl Into<String>, error: impl Into<String>) -> Self {
        AccountEntry {
            account_id: account_id.into(),
            status: AccountStatus::Error,
            error: Some(error.into()),
            report: None,
        }
    }
}

impl Rollup {
    /// Adds one account to the sums, so that a run can write each account out as it completes
    /// and keep only these counters.
    pub fn add(&mut self, account: &AccountEntry) {
        self.accounts += 1;
        let Some(report) = &account.report else {
            self.failed += 1;
            return;
        };
        let summary = &report.summary;
        self.audited += 1;
        self.entities += summary.entities;
        self.status.ok += summary.status.ok;
        self.status.error += summary.status.error;
        self.status.skipped += summary.status.skipped;
        self.verdict.compliant += summary.verdict.compliant;
        self.verdict.non_compliant += summary.verdict.non_compliant;
        self.idle += summary.idle;
        self.severity.add_all(&summary.severity);
        self.calls += summary.calls;
        self.throttles += summary.throttles;
    }
}

/// Sums the audited accounts' summaries.
pub fn rollup(accounts: &[AccountEntry]) -> Rollup {
    let mut rollup = Rollup::default();
    for account in accounts {
        rollup.add(account);
    }
    rollup
}
