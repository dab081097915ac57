//! The Organization snapshot: the tree (root, OUs, accounts) and one access report per OU and
//! per account, as one versioned JSON document (`iamsweep.org-snapshot/v1`).
//!
//! Like the account snapshot, it can be saved (`org audit --save-snapshot`) and analysed or
//! planned from again offline (`--snapshot`). A snapshot file may be hostile: [`OrgSnapshot::from_slice`]
//! refuses unknown fields, ids AWS would never issue, a tree that is not one (a unit or account
//! whose parent is missing, a cycle, two roots), a namespace listed twice for one target and an
//! id listed twice, naming the field.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::InputError;
use crate::model::Status;
use crate::snapshot::CollectionStats;

/// The `schema` value of every Organization snapshot.
pub const ORG_SNAPSHOT_SCHEMA: &str = "iamsweep.org-snapshot/v1";

/// Everything one Organization collection gathered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSnapshot {
    /// Always [`ORG_SNAPSHOT_SCHEMA`].
    pub schema: String,
    /// When collection finished; ages (window, account age) are measured from it.
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    /// `o-...`.
    pub organization_id: String,
    /// The management account (SCPs never restrict it).
    pub management_account_id: String,
    /// The principal that ran the collection.
    #[serde(default)]
    pub caller_arn: Option<String>,
    /// Figures about the collection.
    #[serde(default)]
    pub stats: CollectionStats,
    /// The root first, then every OU, parents before children.
    pub units: Vec<OrgUnit>,
    /// Every account of the tree.
    pub accounts: Vec<OrgAccount>,
}

/// Whether a unit is the root or an OU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    /// The root (`r-...`).
    Root,
    /// An organizational unit (`ou-...`).
    Ou,
}

/// The root or an OU, with its access report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUnit {
    /// `r-...` or `ou-...`.
    pub id: String,
    /// Root or OU.
    pub kind: UnitKind,
    /// The name in Organizations (`Root` for the root).
    pub name: String,
    /// The parent unit (`null` for the root).
    pub parent_id: Option<String>,
    /// The access report's `EntityPath`: `o-ORG/r-ROOT[/ou-...]*`.
    pub entity_path: String,
    /// Whether the report could be read.
    pub status: Status,
    /// Why not, when `status` is `error`.
    #[serde(default)]
    pub error: Option<String>,
    /// Every service the SCPs in force allow, with its last use by any account below.
    pub services: Vec<OrgService>,
}

/// One account, with its access report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgAccount {
    /// The 12-digit account id.
    pub id: String,
    /// The account's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The unit it sits in.
    pub parent_id: String,
    /// When it joined the Organization (accounts younger than the window make their OU wait).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub joined: Option<OffsetDateTime>,
    /// `ACTIVE`, `SUSPENDED`...
    #[serde(default)]
    pub state: Option<String>,
    /// The access report's `EntityPath`: `o-ORG/r-ROOT[/ou-...]*/ACCOUNT`.
    pub entity_path: String,
    /// Whether the report could be read.
    pub status: Status,
    /// Why not, when `status` is `error`.
    #[serde(default)]
    pub error: Option<String>,
    /// Every service the SCPs in force allow it, with its last use.
    pub services: Vec<OrgService>,
}

/// One service of an access report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgService {
    /// The IAM namespace, such as `s3`.
    pub namespace: String,
    /// The display name.
    pub name: String,
    /// Last use by any principal below the target (`null`: none in the tracking period).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_authenticated: Option<OffsetDateTime>,
    /// The `EntityPath` of the last user (an account below an OU).
    #[serde(default)]
    pub entity_path: Option<String>,
    /// Region of the last use.
    #[serde(default)]
    pub region: Option<String>,
    /// How many principals used it.
    #[serde(default)]
    pub total_authenticated_entities: Option<i32>,
}

impl OrgSnapshot {
    /// Parses and checks a snapshot, naming the line, column or field of any problem.
    pub fn from_slice(bytes: &[u8]) -> Result<OrgSnapshot, InputError> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|error| InputError::at_json("Organization snapshot", &error))?;
        match value.get("schema").and_then(serde_json::Value::as_str) {
            Some(ORG_SNAPSHOT_SCHEMA) => {}
            Some(other) => {
                return Err(InputError::field(
                    "schema",
                    format!("expected `{ORG_SNAPSHOT_SCHEMA}`, found `{other}`"),
                ));
            }
            None => {
                return Err(InputError::field(
                    "schema",
                    format!(
                        "missing; expected `{ORG_SNAPSHOT_SCHEMA}` (is this an iamsweep \
                         Organization snapshot?)"
                    ),
                ));
            }
        }
        let snapshot: OrgSnapshot = serde_json::from_slice(bytes)
            .map_err(|error| InputError::at_json("Organization snapshot", &error))?;
        snapshot.check()?;
        Ok(snapshot)
    }

    /// Serialises the snapshot as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a snapshot always serialises")
    }

    /// Checks what serde cannot: ids, the tree, unique entries.
    pub fn check(&self) -> Result<(), InputError> {
        if !valid_organization_id(&self.organization_id) {
            return Err(InputError::field(
                "organization_id",
                format!(
                    "`{}` is not an Organization id such as `o-a1b2c3d4e5`",
                    self.organization_id
                ),
            ));
        }
        if !valid_account_id(&self.management_account_id) {
            return Err(InputError::field(
                "management_account_id",
                format!("`{}` is not a 12-digit account id", self.management_account_id),
            ));
        }
        let mut seen: BTreeMap<&str, String> = BTreeMap::new();
        let mut roots = 0;
        for (index, unit) in self.units.iter().enumerate() {
            let field = format!("units[{index}]");
            let valid = match unit.kind {
                UnitKind::Root => valid_root_id(&unit.id),
                UnitKind::Ou => valid_ou_id(&unit.id),
            };
            if !valid {
                return Err(InputError::field(
                    format!("{field}.id"),
                    format!("`{}` is not a {} id", unit.id, kind_name(unit.kind)),
                ));
            }
            match (unit.kind, &unit.parent_id) {
                (UnitKind::Root, None) => roots += 1,
                (UnitKind::Root, Some(_)) => {
                    return Err(InputError::field(
                        format!("{field}.parent_id"),
                        "the root has no parent; expected null",
                    ));
                }
                (UnitKind::Ou, None) => {
                    return Err(InputError::field(
                        format!("{field}.parent_id"),
                        "an OU has a parent; expected the id of the root or of an OU listed before it",
                    ));
                }
                (UnitKind::Ou, Some(parent)) if !seen.contains_key(parent.as_str()) => {
                    return Err(InputError::field(
                        format!("{field}.parent_id"),
                        format!(
                            "`{parent}` is not a unit listed before this one; expected the root or \
                             an OU above it"
                        ),
                    ));
                }
                _ => {}
            }
            if let Some(earlier) = seen.insert(&unit.id, field.clone()) {
                return Err(InputError::field(
                    format!("{field}.id"),
                    format!("`{}` is already listed as {earlier}", unit.id),
                ));
            }
            check_services(&unit.services, &field)?;
        }
        if roots != 1 {
            return Err(InputError::field(
                "units",
                format!("expected exactly one root listed first, found {roots}"),
            ));
        }
        if self.units.first().map(|unit| unit.kind) != Some(UnitKind::Root) {
            return Err(InputError::field("units[0]", "expected the root first"));
        }
        let mut accounts = BTreeSet::new();
        for (index, account) in self.accounts.iter().enumerate() {
            let field = format!("accounts[{index}]");
            if !valid_account_id(&account.id) {
                return Err(InputError::field(
                    format!("{field}.id"),
                    format!("`{}` is not a 12-digit account id", account.id),
                ));
            }
            if !accounts.insert(account.id.as_str()) {
                return Err(InputError::field(
                    format!("{field}.id"),
                    format!("`{}` is listed twice", account.id),
                ));
            }
            if !seen.contains_key(account.parent_id.as_str()) {
                return Err(InputError::field(
                    format!("{field}.parent_id"),
                    format!("`{}` is not a unit of this snapshot", account.parent_id),
                ));
            }
            check_services(&account.services, &field)?;
        }
        Ok(())
    }

    /// The unit with this id.
    pub fn unit(&self, id: &str) -> Option<&OrgUnit> {
        self.units.iter().find(|unit| unit.id == id)
    }

    /// The ids of the units from the root down to `id` (both included), in that order.
    pub fn ancestry(&self, id: &str) -> Vec<&str> {
        let mut chain = Vec::new();
        let mut current = self.unit(id);
        while let Some(unit) = current {
            // A checked snapshot has no cycle; the bound keeps an unchecked one from looping.
            if chain.len() > self.units.len() {
                break;
            }
            chain.push(unit.id.as_str());
            current = unit.parent_id.as_deref().and_then(|parent| self.unit(parent));
        }
        chain.reverse();
        chain
    }

    /// Whether unit `id` is `ancestor` or lies below it.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        self.ancestry(id).contains(&ancestor)
    }

    /// The accounts at any depth below unit `id`, in snapshot order.
    pub fn accounts_below(&self, id: &str) -> Vec<&OrgAccount> {
        self.accounts.iter().filter(|account| self.is_within(&account.parent_id, id)).collect()
    }

    /// The units below `id` (not `id` itself).
    pub fn units_below(&self, id: &str) -> Vec<&OrgUnit> {
        self.units.iter().filter(|unit| unit.id != id && self.is_within(&unit.id, id)).collect()
    }

    /// The unit's names from the root down, joined by `/`: `Root/prod/payments`.
    pub fn name_path(&self, id: &str) -> String {
        self.ancestry(id)
            .iter()
            .filter_map(|id| self.unit(id).map(|unit| unit.name.as_str()))
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn kind_name(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::Root => "root (`r-` and 4 to 32 lowercase letters or digits)",
        UnitKind::Ou => "OU (`ou-`, then lowercase letters, digits and one `-`)",
    }
}

fn check_services(services: &[OrgService], field: &str) -> Result<(), InputError> {
    let mut namespaces = BTreeSet::new();
    for (index, service) in services.iter().enumerate() {
        if !valid_namespace(&service.namespace) {
            return Err(InputError::field(
                format!("{field}.services[{index}].namespace"),
                format!(
                    "`{}` is not a service namespace (lowercase letters, digits and `-`)",
                    service.namespace
                ),
            ));
        }
        if !namespaces.insert(service.namespace.as_str()) {
            return Err(InputError::field(
                format!("{field}.services[{index}].namespace"),
                format!("`{}` is listed twice", service.namespace),
            ));
        }
    }
    Ok(())
}

fn lower_alphanumeric(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `o-` and 10 to 32 lowercase letters or digits (the Organizations API pattern).
pub fn valid_organization_id(id: &str) -> bool {
    id.strip_prefix("o-")
        .is_some_and(|rest| (10..=32).contains(&rest.len()) && lower_alphanumeric(rest))
}

/// `r-` and 4 to 32 lowercase letters or digits.
pub fn valid_root_id(id: &str) -> bool {
    id.strip_prefix("r-")
        .is_some_and(|rest| (4..=32).contains(&rest.len()) && lower_alphanumeric(rest))
}

/// `ou-`, 4 to 32 lowercase letters or digits, `-`, 8 to 32 more.
pub fn valid_ou_id(id: &str) -> bool {
    id.strip_prefix("ou-").and_then(|rest| rest.split_once('-')).is_some_and(|(root, unit)| {
        (4..=32).contains(&root.len())
            && (8..=32).contains(&unit.len())
            && lower_alphanumeric(root)
            && lower_alphanumeric(unit)
    })
}

/// Twelve digits.
pub fn valid_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM service namespace: 1 to 64 lowercase letters, digits and `-`, starting with a letter.
pub fn valid_namespace(namespace: &str) -> bool {
    (1..=64).contains(&namespace.len())
        && namespace.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_as_organizations_issues_them() {
        assert!(valid_organization_id("o-a1b2c3d4e5"));
        assert!(!valid_organization_id("o-A1B2C3D4E5"));
        assert!(valid_root_id("r-ab12"));
        assert!(!valid_root_id("r-ab"));
        assert!(valid_ou_id("ou-ab12-cdef5678"));
        assert!(!valid_ou_id("ou-ab12-cde"));
        assert!(!valid_ou_id("ou-../../x"));
        assert!(valid_namespace("access-analyzer"));
        assert!(!valid_namespace("s3:*"));
        assert!(!valid_namespace(""));
    }
}
