//! Collecting some entities of an account, chosen after the inventory: the Config rule's one
//! changed entity, or the entities a time-limited run left for the next one.
//!
//! Same guarantees as [`crate::collector::collect`]: every selected entity comes back once, as
//! `ok`, `error` or `skipped` (not started before the deadline, with a resume reason).

use std::sync::Arc;

use iamsweep_core::model::{EntityRecord, Status};
use iamsweep_core::snapshot::{CollectionStats, SNAPSHOT_SCHEMA, Snapshot};
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::advisor::{AdvisorContext, collect_entity};
use crate::clients::Clients;
use crate::collector::{CollectError, CollectSettings, Collection};
use crate::identity::caller_identity;
use crate::inventory::{Inventory, inventory};
use crate::pace::Pace;

/// The skip reason of an entity not started before the deadline.
pub const RESUME_REASON: &str =
    "time budget reached before this entity started; the next run resumes here";

/// Collects the inventory's entities for which `select` is true, in inventory order.
pub async fn collect_selected(
    clients: &Clients,
    settings: &CollectSettings,
    select: impl Fn(&EntityRecord) -> bool,
) -> Result<Collection, CollectError> {
    let started = Instant::now();
    let context = Arc::new(AdvisorContext {
        iam: clients.iam.clone(),
        pace: Pace::new(settings.rate),
        retry: settings.retry,
        poll: settings.poll,
        granularity: settings.granularity,
        attribute: settings.attribute,
        names: Default::default(),
        latency: Default::default(),
    });
    let caller = caller_identity(&clients.sts, &context.pace, &settings.retry)
        .await
        .map_err(CollectError::Identity)?;
    let Inventory { entities, local_policies } = inventory(
        &clients.iam,
        &context.pace,
        &settings.retry,
        &settings.kinds,
        settings.include_local_policies,
    )
    .await
    .map_err(CollectError::Inventory)?;
    let selected: Vec<EntityRecord> =
        entities.into_iter().filter(|entity| select(entity)).collect();
    let semaphore = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut slots: Vec<Option<EntityRecord>> = vec![None; selected.len()];
    for (index, mut entity) in selected.into_iter().enumerate() {
        let permit = semaphore.clone().acquire_owned().await.expect("semaphore never closes");
        if settings.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            entity.status = Status::Skipped;
            entity.skip_reason = Some(RESUME_REASON.to_string());
            slots[index] = Some(entity);
            continue;
        }
        let context = Arc::clone(&context);
        let fallback = entity.clone();
        tasks.spawn(async move {
            let _permit = permit;
            collect_entity(&context, &mut entity).await;
            (index, entity)
        });
        // Keep a copy to report the entity if its task panics.
        slots[index] = Some(EntityRecord { status: Status::Error, ..fallback });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, entity)) = joined {
            slots[index] = Some(entity);
        }
    }
    let entities = slots
        .into_iter()
        .map(|slot| {
            let mut entity = slot.expect("every slot is filled before its task starts");
            if entity.status == Status::Error && entity.error.is_none() {
                entity.error = Some("internal error while collecting".to_string());
            }
            entity
        })
        .collect();
    let snapshot = Snapshot {
        schema: SNAPSHOT_SCHEMA.to_string(),
        collected_at: OffsetDateTime::now_utc(),
        account_id: caller.account_id.clone(),
        caller_arn: Some(caller.arn.clone()),
        granularity: settings.granularity,
        attributed: settings.attribute,
        stats: CollectionStats {
            calls: context.pace.calls(),
            throttles: context.pace.throttles(),
            wall_seconds: started.elapsed().as_secs_f64(),
        },
        entities,
    };
    Ok(Collection { snapshot, local_policies, caller })
}
