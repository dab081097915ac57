//! The Organization's tree: the root, every OU (nested, paged) and every account, read from the
//! management account with `ListRoots`, `ListOrganizationalUnitsForParent` and
//! `ListAccountsForParent`. The Organization's id and management account come from the root's
//! ARN (`arn:aws:organizations::MANAGEMENT:root/o-ORG/r-ROOT`), which spares a call.

use iamsweep_core::org::snapshot::UnitKind;
use time::OffsetDateTime;

use crate::error::CallError;
use crate::inventory::to_time;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// A unit of the tree.
#[derive(Debug, Clone)]
pub struct TreeUnit {
    /// `r-...` or `ou-...`.
    pub id: String,
    /// Root or OU.
    pub kind: UnitKind,
    /// Its name.
    pub name: String,
    /// Its parent.
    pub parent_id: Option<String>,
    /// `o-ORG/r-ROOT[/ou-...]*`.
    pub entity_path: String,
}

/// An account of the tree.
#[derive(Debug, Clone)]
pub struct TreeAccount {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its unit.
    pub parent_id: String,
    /// When it joined.
    pub joined: Option<OffsetDateTime>,
    /// `ACTIVE`, `SUSPENDED`...
    pub state: Option<String>,
    /// `o-ORG/r-ROOT[/ou-...]*/ACCOUNT`.
    pub entity_path: String,
}

/// The whole tree.
#[derive(Debug, Clone)]
pub struct Tree {
    /// `o-...`.
    pub organization_id: String,
    /// The management account.
    pub management_account_id: String,
    /// Root first, parents before children.
    pub units: Vec<TreeUnit>,
    /// Every account.
    pub accounts: Vec<TreeAccount>,
}

fn missing(operation: &'static str, target: &str, what: &str) -> CallError {
    CallError {
        operation,
        target: target.to_string(),
        code: None,
        message: format!("the answer carried no {what}"),
        attempts: 1,
    }
}

/// Reads the tree, breadth first.
pub async fn read_tree(
    organizations: &aws_sdk_organizations::Client,
    pace: &Pace,
    retry: &RetryPolicy,
) -> Result<Tree, CallError> {
    let roots =
        call(pace, retry, "organizations:ListRoots", "-", || organizations.list_roots().send())
            .await?;
    let root =
        roots.roots().first().ok_or_else(|| missing("organizations:ListRoots", "-", "root"))?;
    let root_id = root.id().ok_or_else(|| missing("organizations:ListRoots", "-", "root id"))?;
    let arn = root.arn().unwrap_or_default();
    // arn:aws:organizations::MANAGEMENT:root/o-ORG/r-ROOT
    let management_account_id = arn.split(':').nth(4).unwrap_or_default().to_string();
    let organization_id = arn
        .rsplit(':')
        .next()
        .and_then(|resource| resource.split('/').nth(1))
        .unwrap_or_default()
        .to_string();
    if organization_id.is_empty() || management_account_id.is_empty() {
        return Err(CallError {
            operation: "organizations:ListRoots",
            target: root_id.to_string(),
            code: None,
            message: format!("the root ARN `{arn}` names no Organization or management account"),
            attempts: 1,
        });
    }
    let mut units = vec![TreeUnit {
        id: root_id.to_string(),
        kind: UnitKind::Root,
        name: root.name().unwrap_or("Root").to_string(),
        parent_id: None,
        entity_path: format!("{organization_id}/{root_id}"),
    }];
    let mut accounts = Vec::new();
    let mut next = 0;
    while next < units.len() {
        let parent = units[next].clone();
        next += 1;
        let mut token: Option<String> = None;
        loop {
            let page = call(
                pace,
                retry,
                "organizations:ListOrganizationalUnitsForParent",
                &parent.id,
                || {
                    organizations
                        .list_organizational_units_for_parent()
                        .parent_id(&parent.id)
                        .set_next_token(token.clone())
                        .send()
                },
            )
            .await?;
            for unit in page.organizational_units() {
                let Some(id) = unit.id() else { continue };
                units.push(TreeUnit {
                    id: id.to_string(),
                    kind: UnitKind::Ou,
                    name: unit.name().unwrap_or_default().to_string(),
                    parent_id: Some(parent.id.clone()),
                    entity_path: format!("{}/{id}", parent.entity_path),
                });
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        let mut token: Option<String> = None;
        loop {
            let page = call(pace, retry, "organizations:ListAccountsForParent", &parent.id, || {
                organizations
                    .list_accounts_for_parent()
                    .parent_id(&parent.id)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            for account in page.accounts() {
                let Some(id) = account.id() else { continue };
                let state = account
                    .state()
                    .map(|state| state.as_str().to_string())
                    .or_else(|| account.status().map(|status| status.as_str().to_string()));
                accounts.push(TreeAccount {
                    id: id.to_string(),
                    name: account.name().map(str::to_string),
                    parent_id: parent.id.clone(),
                    joined: account.joined_timestamp().copied().and_then(to_time),
                    state,
                    entity_path: format!("{}/{id}", parent.entity_path),
                });
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
    }
    Ok(Tree { organization_id, management_account_id, units, accounts })
}
