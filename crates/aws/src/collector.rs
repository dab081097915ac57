//! The collector: inventory, then Access Advisor for every entity, fanned out, into a snapshot.
//!
//! Jobs of many entities are in flight at once (`concurrency`): while some wait to be polled,
//! others start. The shared [`Pace`] keeps the whole run under `--rate`, which is what really
//! bounds the speed of an account-wide audit. Every entity of the inventory comes back exactly
//! once, as `ok`, `error` or `skipped`: one bad entity never stops the others.

use std::collections::HashMap;
use std::sync::Arc;

use iamsweep_core::model::{EntityKind, EntityRecord, Granularity, Status};
use iamsweep_core::selection::Selection;
use iamsweep_core::snapshot::{CollectionStats, SNAPSHOT_SCHEMA, Snapshot};
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::advisor::{AdvisorContext, PollTiming, collect_entity};
use crate::clients::Clients;
use crate::error::CallError;
use crate::identity::{CallerIdentity, caller_identity};
use crate::inventory::{Inventory, inventory};
use crate::pace::Pace;
use crate::retry::RetryPolicy;
use crate::session::Sessions;

/// What to collect, and how fast.
#[derive(Debug, Clone)]
pub struct CollectSettings {
    /// Which kinds of entity.
    pub kinds: Vec<EntityKind>,
    /// Service or action level.
    pub granularity: Granularity,
    /// Collect the policies granting each service.
    pub attribute: bool,
    /// Entities whose jobs are in flight at once.
    pub concurrency: usize,
    /// IAM calls per second at most.
    pub rate: f64,
    /// Retries.
    pub retry: RetryPolicy,
    /// Job polling.
    pub poll: PollTiming,
    /// Also read customer managed policies (enforcement compares boundary documents).
    pub include_local_policies: bool,
    /// The run's deadline (the Lambda's, less its safety margin). No entity starts after it, and
    /// no entity's collection (polling, paging, retries) runs past it: an entity not started, or
    /// started but not finished, comes back `skipped` with [`RESUME_REASON`], to be collected
    /// again by the next run. `None`: no deadline (the CLI; a job is then given up after
    /// [`PollTiming::timeout`]).
    pub deadline: Option<Instant>,
    /// Which of the inventory's entities get Access Advisor jobs (`--name`, `--path`, `--tag`):
    /// the others are left out of the snapshot and cost no call beyond the listing.
    pub selection: Selection,
    /// `[boundary] path`: for users and roles bounded by iamsweep's own boundaries there, the
    /// snapshot records what the boundary allows and since when, so the audit can mark the
    /// services it denied (see [`crate::live::record_boundaries`] for the cost).
    pub boundary_path: String,
}

impl Default for CollectSettings {
    fn default() -> Self {
        CollectSettings {
            kinds: EntityKind::ALL.to_vec(),
            granularity: Granularity::Service,
            attribute: false,
            concurrency: 32,
            rate: 10.0,
            retry: RetryPolicy::default(),
            poll: PollTiming::default(),
            include_local_policies: false,
            deadline: None,
            selection: Selection::default(),
            boundary_path: iamsweep_core::settings::DEFAULT_BOUNDARY_PATH.to_string(),
        }
    }
}

impl CollectSettings {
    /// The collection settings of resolved settings, as both binaries build them (the Lambda
    /// then sets its deadline per invocation).
    pub fn resolved(settings: &iamsweep_core::resolve::Resolved) -> Self {
        let mut poll = PollTiming::default();
        if let Some(ms) = settings.poll_first_ms {
            poll.first = std::time::Duration::from_millis(ms);
        }
        CollectSettings {
            kinds: settings.kinds.clone(),
            granularity: settings.granularity,
            attribute: settings.attribute,
            concurrency: settings.concurrency,
            rate: settings.rate,
            poll,
            ..CollectSettings::default()
        }
    }
}

impl AdvisorContext {
    /// The shared context of one run over one account's sessions.
    pub fn new(sessions: Sessions, settings: &CollectSettings) -> Self {
        AdvisorContext {
            sessions,
            pace: Pace::new(settings.rate),
            retry: settings.retry,
            poll: settings.poll,
            granularity: settings.granularity,
            attribute: settings.attribute,
            names: Default::default(),
            latency: Default::default(),
        }
    }
}

/// Hooks for showing progress; every method has a no-op default.
pub trait Progress: Send + Sync {
    /// The inventory is known: `total` entities will be collected.
    fn started(&self, _total: usize) {}
    /// One entity is finished (in any status).
    fn entity_done(&self, _entity: &EntityRecord, _throttles: u64) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Why a collection could not run at all (per-entity failures are in the snapshot instead).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// No usable credentials, or the endpoint could not be reached or did not answer in time.
    #[error(
        "could not identify the caller with sts:GetCallerIdentity; check the credentials \
         (profile, environment, SSO login) and the endpoint: {0}"
    )]
    Identity(CallError),
    /// The inventory could not be read.
    #[error("{}", inventory_message(.0))]
    Inventory(CallError),
    /// The first session for Access Advisor jobs could not be opened.
    #[error("could not open a session for Access Advisor jobs: {0}")]
    Session(CallError),
}

fn inventory_message(error: &CallError) -> String {
    if error.is_access_denied() {
        format!(
            "the caller is not allowed to call iam:GetAccountAuthorizationDetails, which the \
             audit needs to list users, roles and groups: {}",
            error.message
        )
    } else {
        format!("could not read the inventory: {error}")
    }
}

/// The result of a collection: the snapshot, plus the raw inventory extras.
#[derive(Debug)]
pub struct Collection {
    /// Everything collected.
    pub snapshot: Snapshot,
    /// Customer managed policies (when requested).
    pub local_policies: Vec<crate::inventory::LocalPolicy>,
    /// Who ran it.
    pub caller: CallerIdentity,
}

/// The skip reason of an entity not started, or not finished, before the deadline; the Lambda
/// finds the entities to resume by it.
pub const RESUME_REASON: &str =
    "time budget reached before this entity's data was collected; the next run resumes here";

/// Collects a snapshot of the account the clients point at.
pub async fn collect(
    clients: &Clients,
    settings: &CollectSettings,
    progress: &dyn Progress,
) -> Result<Collection, CollectError> {
    collect_selected(clients, settings, progress, |_| true).await
}

/// Collects the inventory's entities for which `select` is true (the Config rule's one changed
/// entity, or those a time-limited run left) and that the settings' selection keeps, in
/// inventory order, with the same guarantees as [`collect`].
pub async fn collect_selected(
    clients: &Clients,
    settings: &CollectSettings,
    progress: &dyn Progress,
    select: impl Fn(&EntityRecord) -> bool,
) -> Result<Collection, CollectError> {
    let started = Instant::now();
    let pace = Pace::new(settings.rate);
    let caller = caller_identity(&clients.sts, &pace, &settings.retry)
        .await
        .map_err(CollectError::Identity)?;
    let Inventory { entities, local_policies } = inventory(
        &clients.iam,
        &pace,
        &settings.retry,
        &settings.kinds,
        settings.include_local_policies,
    )
    .await
    .map_err(CollectError::Inventory)?;
    let sessions =
        Sessions::start(clients.sessions.clone(), &clients.iam, settings.rate, settings.retry)
            .await
            .map_err(CollectError::Session)?;
    let mut context = AdvisorContext::new(sessions, settings);
    context.pace = pace;
    let context = Arc::new(context);
    let mut entities: Vec<EntityRecord> = entities
        .into_iter()
        .filter(|entity| select(entity) && settings.selection.matches(entity))
        .collect();
    let local = settings.include_local_policies.then_some(local_policies.as_slice());
    crate::live::record_boundaries(
        &clients.iam,
        &context.pace,
        &settings.retry,
        &mut entities,
        &caller.account_id,
        &settings.boundary_path,
        local,
    )
    .await;
    progress.started(entities.len());
    let entities = fan_out(&context, entities, settings, progress).await;
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

/// Runs every entity's collection with at most `concurrency` in flight, keeping their order.
async fn fan_out(
    context: &Arc<AdvisorContext>,
    entities: Vec<EntityRecord>,
    settings: &CollectSettings,
    progress: &dyn Progress,
) -> Vec<EntityRecord> {
    let semaphore = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut slots: Vec<Option<EntityRecord>> = vec![None; entities.len()];
    let mut names: Vec<(String, EntityKind, String)> = Vec::with_capacity(entities.len());
    let mut tasks = JoinSet::new();
    let mut index_of_task = HashMap::new();
    let mut finish = |slots: &mut Vec<Option<EntityRecord>>, index: usize, entity: EntityRecord| {
        progress.entity_done(&entity, context.pace.throttles());
        slots[index] = Some(entity);
    };
    for (index, mut entity) in entities.into_iter().enumerate() {
        names.push((entity.arn.clone(), entity.kind, entity.name.clone()));
        // Acquire before spawning, so a 10,000-entity account holds `concurrency` tasks, not
        // 10,000 waiting ones.
        let permit = semaphore.clone().acquire_owned().await.expect("semaphore never closes");
        if settings.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            entity.status = Status::Skipped;
            entity.skip_reason = Some(RESUME_REASON.to_string());
            finish(&mut slots, index, entity);
            continue;
        }
        let context = Arc::clone(context);
        let deadline = settings.deadline;
        let handle = tasks.spawn(async move {
            let _permit = permit;
            collect_before(&context, &mut entity, deadline).await;
            (index, entity)
        });
        index_of_task.insert(handle.id(), index);
        while let Some(done) = tasks.try_join_next_with_id() {
            settle(done, &mut slots, &index_of_task, &names, &mut finish);
        }
    }
    while let Some(done) = tasks.join_next_with_id().await {
        settle(done, &mut slots, &index_of_task, &names, &mut finish);
    }
    slots.into_iter().map(|slot| slot.expect("every entity settles once")).collect()
}

/// Collects one entity, or, when `deadline` comes first, stops wherever it is (polling, paging,
/// a retry's backoff) and leaves it to the next run. Nothing is written while collecting, so
/// stopping mid-way loses only the job, which the next run starts again.
pub async fn collect_before(
    context: &AdvisorContext,
    entity: &mut EntityRecord,
    deadline: Option<Instant>,
) {
    let Some(deadline) = deadline else {
        return collect_entity(context, entity).await;
    };
    if tokio::time::timeout_at(deadline, collect_entity(context, entity)).await.is_err() {
        tracing::debug!(arn = %entity.arn, "deadline reached while collecting; left for the next run");
        entity.services.clear();
        entity.error = None;
        entity.status = Status::Skipped;
        entity.skip_reason = Some(RESUME_REASON.to_string());
    }
}

type Joined = Result<(tokio::task::Id, (usize, EntityRecord)), tokio::task::JoinError>;

/// Files a finished task's entity in its slot; a task that panicked becomes an `error` entity
/// instead of vanishing from the output.
fn settle(
    done: Joined,
    slots: &mut Vec<Option<EntityRecord>>,
    index_of_task: &HashMap<tokio::task::Id, usize>,
    names: &[(String, EntityKind, String)],
    finish: &mut impl FnMut(&mut Vec<Option<EntityRecord>>, usize, EntityRecord),
) {
    match done {
        Ok((_, (index, entity))) => finish(slots, index, entity),
        Err(error) => {
            let index = index_of_task[&error.id()];
            let (arn, kind, name) = names[index].clone();
            let mut entity = EntityRecord::new(kind, arn, name);
            entity.status = Status::Error;
            entity.error = Some(format!("internal error while collecting: {error}"));
            finish(slots, index, entity);
        }
    }
}
