//! One run's share of a pass over an account: what to collect (everything, or what the resume
//! marker left), what to reuse, and, at the end, what is left for the next run.
//!
//! The decisions (the marker's content, how stored data is reused, what is left) are in
//! [`iamsweep_core::resume`]; this module reads the marker, collects, re-reads the inventory of
//! the entities it reuses, and writes the marker back.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use iamsweep_aws::clients::Clients;
use iamsweep_aws::collector::{
    CollectSettings, Collection, NoProgress, RESUME_REASON, collect_selected,
};
use iamsweep_aws::identity::caller_identity;
use iamsweep_aws::inventory::inventory;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::s3::S3Uri;
use iamsweep_core::model::EntityRecord;
use iamsweep_core::resume::{Marker, RESUME_SCHEMA, expire_stored, reuse_access, what_is_left};
use time::OffsetDateTime;

use crate::handler::{Answer, Runtime};
use crate::resume;

/// What a run works on.
#[derive(Debug)]
pub struct Pass {
    /// The entities of this run: those collected now, then those reused from the marker.
    pub collection: Collection,
    /// The account.
    pub account_id: String,
    /// Where the marker lives, when `IAMSWEEP_STATE` is set.
    pub marker: Option<S3Uri>,
}

/// Starts a run: identifies the account, reads its marker of `kind`, collects the entities not
/// audited yet (all of them when there is no marker, or when the last pass finished), and adds
/// the entities audited but not written, with their stored Access Advisor data over a fresh
/// read of their inventory facts. Fills the answer's `account_id` and `resumed`.
pub async fn start(
    runtime: &Runtime,
    clients: &Clients,
    kind: &'static str,
    settings: &CollectSettings,
    answer: &mut Answer,
) -> anyhow::Result<Pass> {
    let pace = Pace::new(settings.rate);
    let caller = caller_identity(&clients.sts, &pace, &settings.retry)
        .await
        .context("could not identify the account with sts:GetCallerIdentity")?;
    answer.account_id = caller.account_id.clone();
    let marker_uri = runtime
        .settings
        .env
        .state
        .as_ref()
        .map(|state| resume::location(state, &caller.account_id, kind));
    let marker = match &marker_uri {
        Some(uri) => resume::read(&runtime.s3, &pace, uri, &caller.account_id).await?,
        None => None,
    };
    // An empty marker is the end of the last pass: this run starts a new one.
    let marker = marker.filter(|marker| !marker.is_empty());
    let max_age = time::Duration::hours(i64::from(runtime.settings.resolved.max_plan_age_hours));
    let marker = marker.map(|marker| expire_stored(marker, OffsetDateTime::now_utc(), max_age));
    answer.resumed = marker.is_some();
    let (not_audited, reused): (Option<HashSet<String>>, Vec<EntityRecord>) = match marker {
        Some(marker) => (Some(marker.not_audited.into_iter().collect()), marker.not_written),
        None => (None, Vec::new()),
    };
    let mut collection = collect_selected(clients, settings, &NoProgress, |entity| {
        not_audited.as_ref().is_none_or(|not_audited| not_audited.contains(&entity.arn))
    })
    .await?;
    if !reused.is_empty() {
        // Only the inventory is read again: tags, boundary and policies may have changed since,
        // and the plan must compare with what IAM holds now. The Access Advisor data is reused,
        // so no job runs twice for an entity within one pass.
        let fresh = inventory(&clients.iam, &pace, &settings.retry, &settings.kinds, false)
            .await
            .context("could not read the inventory of the entities left by the last run")?;
        let mut by_arn: HashMap<String, EntityRecord> =
            fresh.entities.into_iter().map(|entity| (entity.arn.clone(), entity)).collect();
        let mut kept = Vec::with_capacity(reused.len());
        for stored in &reused {
            match by_arn.remove(&stored.arn) {
                Some(fresh) => kept.push(reuse_access(fresh, stored)),
                None => tracing::info!(
                    entityname = %stored.name,
                    "left by the last run and deleted since: nothing to do"
                ),
            }
        }
        // Their boundary is the one IAM holds now, so what it allows is read again too: a
        // resumed run marks the services it denied like a fresh one.
        let local = settings.include_local_policies.then_some(collection.local_policies.as_slice());
        iamsweep_aws::live::record_boundaries(
            &clients.iam,
            &pace,
            &settings.retry,
            &mut kept,
            &caller.account_id,
            &settings.boundary_path,
            local,
        )
        .await;
        collection.snapshot.entities.extend(kept);
    }
    Ok(Pass { collection, account_id: caller.account_id, marker: marker_uri })
}

/// Ends a run: records what is left (entities the collector did not start, and those of
/// `not_written` whose writes or answers were not started) in the marker, or in the answer
/// when there is no state store, and fills the answer's `pending` fields and `status`.
pub async fn finish(
    runtime: &Runtime,
    pass: &Pass,
    not_written: &HashSet<&str>,
    answer: &mut Answer,
) -> anyhow::Result<()> {
    let (not_audited, unwritten) =
        what_is_left(&pass.collection.snapshot.entities, RESUME_REASON, not_written);
    answer.pending = not_audited.len() + unwritten.len();
    answer.pending_writes = unwritten.len();
    if let Some(uri) = &pass.marker {
        // Written when something is left, and when a resumed pass ends (to clear it).
        if answer.pending > 0 || answer.resumed {
            let marker = Marker {
                schema: RESUME_SCHEMA.to_string(),
                account_id: pass.account_id.clone(),
                not_audited,
                not_written: unwritten,
                written_at: OffsetDateTime::now_utc(),
            };
            resume::write(&runtime.s3, &Pace::new(10.0), uri, &marker).await?;
        }
        answer.resume_marker = Some(uri.to_string());
    } else if answer.pending > 0 {
        tracing::warn!(
            pending = answer.pending,
            "the deadline cut the run short and IAMSWEEP_STATE is not set: the pending entities \
             are only in this answer, and the next run makes a full pass"
        );
        answer.pending_arns =
            not_audited.into_iter().chain(unwritten.into_iter().map(|entity| entity.arn)).collect();
    }
    if answer.pending > 0 {
        answer.status = "partial";
    }
    Ok(())
}
