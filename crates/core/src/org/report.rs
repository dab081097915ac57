//! The Organization audit: per unit (root, OU) and per account, the services the SCPs in force
//! allow, classified used, stale or unused, and which accounts used each one and when. The
//! `iamsweep.org-audit/v1` JSON contract: add fields, never rename them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::analysis::classify;
use crate::model::Status;
use crate::org::snapshot::{OrgService, OrgSnapshot, UnitKind};
use crate::report::ServiceState;
use crate::risk::compare_services;

/// The `schema` value of the `org audit` JSON output.
pub const ORG_AUDIT_SCHEMA: &str = "iamsweep.org-audit/v1";

/// The whole Organization audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgAuditReport {
    /// Always [`ORG_AUDIT_SCHEMA`].
    pub schema: String,
    /// When the analysis was made.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// When the data was collected; ages are measured from it.
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    /// `o-...`.
    pub organization_id: String,
    /// The management account.
    pub management_account_id: String,
    /// A service last used more than this many days ago is `stale`.
    pub window_days: u32,
    /// The root, then every OU, parents before children.
    pub units: Vec<UnitReport>,
    /// Every account, in tree order.
    pub accounts: Vec<AccountReport>,
    /// Counts.
    pub summary: OrgSummary,
}

/// One root or OU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitReport {
    /// `r-...` or `ou-...`.
    pub id: String,
    /// Root or OU.
    pub kind: UnitKind,
    /// Its name.
    pub name: String,
    /// Names from the root down: `Root/prod/payments`.
    pub path: String,
    /// Whether its report (and its accounts' reports) could be read.
    pub status: Status,
    /// Why not.
    pub error: Option<String>,
    /// The accounts at any depth below it.
    pub accounts: Vec<String>,
    /// Services the SCPs in force allow.
    pub allowed: usize,
    /// Of those, used within the window.
    pub used: usize,
    /// Used only before the window.
    pub stale: usize,
    /// Not used in the tracking period.
    pub unused: usize,
    /// Every allowed service, most serious risk class first.
    pub services: Vec<OrgServiceReport>,
}

/// One account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountReport {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The unit it sits in.
    pub parent_id: String,
    /// When it joined the Organization.
    #[serde(with = "time::serde::rfc3339::option")]
    pub joined: Option<OffsetDateTime>,
    /// Whether its report could be read.
    pub status: Status,
    /// Why not.
    pub error: Option<String>,
    /// Whether it is the management account (no SCP restricts it).
    pub management: bool,
    /// Services the SCPs in force allow it.
    pub allowed: usize,
    /// Of those, used within the window.
    pub used: usize,
    /// Used only before the window.
    pub stale: usize,
    /// Not used in the tracking period.
    pub unused: usize,
    /// Every allowed service.
    pub services: Vec<OrgServiceReport>,
}

/// One service of a unit or account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgServiceReport {
    /// The namespace.
    pub namespace: String,
    /// The display name.
    pub name: String,
    /// Used, stale or unused.
    pub state: ServiceState,
    /// The latest use by any account below.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_authenticated: Option<OffsetDateTime>,
    /// The accounts that used it in the tracking period, latest first, each with its last use.
    pub used_by: Vec<AccountUse>,
}

/// One account's last use of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUse {
    /// The account id.
    pub account_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its last use.
    #[serde(with = "time::serde::rfc3339")]
    pub last_authenticated: OffsetDateTime,
}

/// Counts over the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSummary {
    /// OUs (the root not counted).
    pub ous: usize,
    /// Accounts.
    pub accounts: usize,
    /// Reports (units and accounts) that could not be read.
    pub errors: usize,
}

/// Analyses a snapshot under a window, measuring ages from its `collected_at`.
pub fn analyze_org(
    snapshot: &OrgSnapshot,
    window_days: u32,
    generated_at: OffsetDateTime,
) -> OrgAuditReport {
    let now = snapshot.collected_at;
    let units = snapshot
        .units
        .iter()
        .map(|unit| {
            let below = snapshot.accounts_below(&unit.id);
            let failed = below.iter().find(|account| account.status != Status::Ok);
            let (status, error) = match (unit.status, failed) {
                (Status::Ok, None) => (Status::Ok, None),
                (Status::Ok, Some(account)) => (
                    Status::Error,
                    Some(format!(
                        "the access report of account {} below it failed: {}",
                        account.id,
                        account.error.as_deref().unwrap_or("no detail")
                    )),
                ),
                (status, _) => (status, unit.error.clone()),
            };
            let sources: Vec<(&str, Option<&str>, &[OrgService])> = below
                .iter()
                .map(|account| {
                    (account.id.as_str(), account.name.as_deref(), account.services.as_slice())
                })
                .collect();
            let services = classify_services(&unit.services, &sources, now, window_days);
            let (used, stale, unused) = counts(&services);
            UnitReport {
                id: unit.id.clone(),
                kind: unit.kind,
                name: unit.name.clone(),
                path: snapshot.name_path(&unit.id),
                status,
                error,
                accounts: below.iter().map(|account| account.id.clone()).collect(),
                allowed: services.len(),
                used,
                stale,
                unused,
                services,
            }
        })
        .collect();
    let accounts = snapshot
        .accounts
        .iter()
        .map(|account| {
            let own = [(account.id.as_str(), account.name.as_deref(), account.services.as_slice())];
            let services = classify_services(&account.services, &own, now, window_days);
            let (used, stale, unused) = counts(&services);
            AccountReport {
                id: account.id.clone(),
                name: account.name.clone(),
                parent_id: account.parent_id.clone(),
                joined: account.joined,
                status: account.status,
                error: account.error.clone(),
                management: account.id == snapshot.management_account_id,
                allowed: services.len(),
                used,
                stale,
                unused,
                services,
            }
        })
        .collect();
    let errors = snapshot.units.iter().filter(|unit| unit.status != Status::Ok).count()
        + snapshot.accounts.iter().filter(|account| account.status != Status::Ok).count();
    OrgAuditReport {
        schema: ORG_AUDIT_SCHEMA.to_string(),
        generated_at,
        collected_at: snapshot.collected_at,
        organization_id: snapshot.organization_id.clone(),
        management_account_id: snapshot.management_account_id.clone(),
        window_days,
        units,
        accounts,
        summary: OrgSummary {
            ous: snapshot.units.iter().filter(|unit| unit.kind == UnitKind::Ou).count(),
            accounts: snapshot.accounts.len(),
            errors,
        },
    }
}

/// The target's services, each classified by the latest use the target's own report or any
/// account report below it shows: the union is what "no account below used it" must respect,
/// whichever report saw the use.
fn classify_services(
    own: &[OrgService],
    accounts: &[(&str, Option<&str>, &[OrgService])],
    now: OffsetDateTime,
    window_days: u32,
) -> Vec<OrgServiceReport> {
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut latest: BTreeMap<&str, Option<OffsetDateTime>> = BTreeMap::new();
    let mut used_by: BTreeMap<&str, Vec<AccountUse>> = BTreeMap::new();
    for service in own {
        names.insert(&service.namespace, &service.name);
        latest.insert(&service.namespace, service.last_authenticated);
    }
    for (account_id, name, services) in accounts {
        for service in *services {
            names.entry(&service.namespace).or_insert(&service.name);
            let entry = latest.entry(&service.namespace).or_insert(None);
            *entry = (*entry).max(service.last_authenticated);
            if let Some(when) = service.last_authenticated {
                used_by.entry(&service.namespace).or_default().push(AccountUse {
                    account_id: account_id.to_string(),
                    name: name.map(str::to_string),
                    last_authenticated: when,
                });
            }
        }
    }
    let mut services: Vec<OrgServiceReport> = latest
        .into_iter()
        .map(|(namespace, last_authenticated)| {
            let mut users = used_by.remove(namespace).unwrap_or_default();
            users.sort_by(|a, b| {
                b.last_authenticated
                    .cmp(&a.last_authenticated)
                    .then(a.account_id.cmp(&b.account_id))
            });
            OrgServiceReport {
                namespace: namespace.to_string(),
                name: names[namespace].to_string(),
                state: classify(last_authenticated, now, window_days),
                last_authenticated,
                used_by: users,
            }
        })
        .collect();
    services.sort_by(|a, b| compare_services(&a.namespace, &b.namespace));
    services
}

fn counts(services: &[OrgServiceReport]) -> (usize, usize, usize) {
    let count = |state| services.iter().filter(|service| service.state == state).count();
    (count(ServiceState::Used), count(ServiceState::Stale), count(ServiceState::Unused))
}
