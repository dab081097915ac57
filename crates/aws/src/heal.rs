//! Healing's AWS side: read only the bounded users and roles (their inventory and Access
//! Advisor data), iamsweep's boundary policies and the journal; the decisions are
//! `iamsweep_core::heal`'s, and the writes the [`crate::applier`]'s, journaled like any change.

use iamsweep_core::heal::{Healing, decide};
use iamsweep_core::model::EntityKind;
use iamsweep_core::plan::Plan;
use iamsweep_core::settings::EnforceSettings;
use time::OffsetDateTime;

use crate::clients::Clients;
use crate::collector::{CollectError, CollectSettings, Progress, collect_selected};
use crate::identity::CallerIdentity;
use crate::journal::{JournalError, JournalStore};
use crate::live::live_state;

/// What one healing pass found and will write.
#[derive(Debug)]
pub struct HealPass {
    /// Per bounded entity, what it is given back.
    pub healings: Vec<Healing>,
    /// The writes: a new, wider default version of each boundary to widen.
    pub plan: Plan,
    /// Who ran it.
    pub caller: CallerIdentity,
}

/// Why a healing pass could not decide.
#[derive(Debug, thiserror::Error)]
pub enum HealError {
    /// Collection failed (identity, inventory).
    #[error(transparent)]
    Collect(#[from] CollectError),
    /// The journal could not be read or holds an entry iamsweep could not have written.
    #[error("cannot use the journal; nothing was written")]
    Journal(#[source] JournalError),
}

/// Collects the users and roles bounded under `enforce.boundary.path` (only they get an Access
/// Advisor job, so a pass is cheap enough to run hourly), reads the journal of the account and
/// decides what to give back.
pub async fn heal_pass(
    clients: &Clients,
    settings: &CollectSettings,
    progress: &dyn Progress,
    journal: &JournalStore,
    enforce: &EnforceSettings,
    now: OffsetDateTime,
) -> Result<HealPass, HealError> {
    let mut settings = settings.clone();
    settings.kinds = vec![EntityKind::User, EntityKind::Role];
    settings.include_local_policies = true;
    settings.attribute = false;
    let path = &enforce.boundary.path;
    // The exact check (the account, the name) is the core's; this only spares the jobs.
    let marker = format!(":policy{path}");
    let collection = collect_selected(clients, &settings, progress, |record| {
        record.permissions_boundary.as_deref().is_some_and(|arn| arn.contains(&marker))
    })
    .await?;
    let pace = crate::pace::Pace::new(settings.rate);
    let entries = journal
        .read_account(&pace, &collection.caller.account_id, path)
        .await
        .map_err(HealError::Journal)?;
    let live = live_state(&collection.local_policies, path);
    let (healings, plan) = decide(&collection.snapshot, &live, &entries, enforce, now);
    Ok(HealPass { healings, plan, caller: collection.caller })
}
