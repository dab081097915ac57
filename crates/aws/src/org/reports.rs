//! Organizations access reports: one `GenerateOrganizationsAccessReport` job per unit and per
//! account, run as the entity collector runs Access Advisor jobs (see [`crate::advisor`]): at
//! most `concurrency` in flight, every call through the run's [`Pace`] and
//! [`crate::retry::call`], the first poll after the jobs' observed latency
//! ([`JobLatency`]), backing off by [`PollTiming`], paged with `Marker` (`MaxItems` 1000), a
//! `FAILED` job ending its target with its error and never polled again, and no job outliving
//! the run's deadline. One target's failure is reported on that target and never stops the
//! others; the plan then leaves its OU alone.

use std::sync::Arc;

use aws_sdk_iam::types::JobStatusType;
use iamsweep_core::model::Status;
use iamsweep_core::org::snapshot::{
    ORG_SNAPSHOT_SCHEMA, OrgAccount, OrgService, OrgSnapshot, OrgUnit,
};
use iamsweep_core::snapshot::CollectionStats;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Duration, Instant};

use crate::advisor::{JobLatency, PollTiming, jittered};
use crate::clients::Clients;
use crate::collector::CollectSettings;
use crate::error::CallError;
use crate::identity::caller_identity;
use crate::inventory::to_time;
use crate::org::tree::{Tree, read_tree};
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// The most items IAM returns a page.
const MAX_ITEMS: i32 = 1000;

/// Why the Organization could not be collected at all.
#[derive(Debug, thiserror::Error)]
pub enum OrgCollectError {
    /// No usable credentials.
    #[error("could not identify the caller with sts:GetCallerIdentity; check the credentials: {0}")]
    Identity(CallError),
    /// The tree could not be read.
    #[error(
        "could not read the Organization's tree: {0}\nhint: run `org` commands with the \
         management account's credentials"
    )]
    Tree(CallError),
    /// The caller is not the management account.
    #[error(
        "the credentials are of account {caller}, but the Organization's management account is \
         {management}; access reports and SCPs are the management account's"
    )]
    NotManagement {
        /// The caller's account.
        caller: String,
        /// The management account.
        management: String,
    },
}

/// Shared by every job of a run.
struct Context {
    iam: aws_sdk_iam::Client,
    pace: Pace,
    retry: RetryPolicy,
    poll: PollTiming,
    latency: JobLatency,
}

/// Collects the tree and every access report into a snapshot.
pub async fn collect_org(
    clients: &Clients,
    settings: &CollectSettings,
) -> Result<OrgSnapshot, OrgCollectError> {
    let started = Instant::now();
    let pace = Pace::new(settings.rate);
    let caller = caller_identity(&clients.sts, &pace, &settings.retry)
        .await
        .map_err(OrgCollectError::Identity)?;
    let tree = read_tree(&clients.organizations, &pace, &settings.retry)
        .await
        .map_err(OrgCollectError::Tree)?;
    if tree.management_account_id != caller.account_id {
        return Err(OrgCollectError::NotManagement {
            caller: caller.account_id,
            management: tree.management_account_id,
        });
    }
    let context = Arc::new(Context {
        iam: clients.iam.clone(),
        pace,
        retry: settings.retry,
        poll: settings.poll,
        latency: JobLatency::default(),
    });
    let paths: Vec<String> = tree
        .units
        .iter()
        .map(|unit| unit.entity_path.clone())
        .chain(tree.accounts.iter().map(|account| account.entity_path.clone()))
        .collect();
    let mut results = fan_out(&context, paths, settings).await.into_iter();
    let Tree { organization_id, management_account_id, units, accounts } = tree;
    let units = units
        .into_iter()
        .map(|unit| {
            let (status, error, services) = outcome(results.next());
            OrgUnit {
                id: unit.id,
                kind: unit.kind,
                name: unit.name,
                parent_id: unit.parent_id,
                entity_path: unit.entity_path,
                status,
                error,
                services,
            }
        })
        .collect();
    let accounts = accounts
        .into_iter()
        .map(|account| {
            let (status, error, services) = outcome(results.next());
            OrgAccount {
                id: account.id,
                name: account.name,
                parent_id: account.parent_id,
                joined: account.joined,
                state: account.state,
                entity_path: account.entity_path,
                status,
                error,
                services,
            }
        })
        .collect();
    Ok(OrgSnapshot {
        schema: ORG_SNAPSHOT_SCHEMA.to_string(),
        collected_at: OffsetDateTime::now_utc(),
        organization_id,
        management_account_id,
        caller_arn: Some(caller.arn),
        stats: CollectionStats {
            calls: context.pace.calls(),
            throttles: context.pace.throttles(),
            wall_seconds: started.elapsed().as_secs_f64(),
        },
        units,
        accounts,
    })
}

fn outcome(
    result: Option<Result<Vec<OrgService>, String>>,
) -> (Status, Option<String>, Vec<OrgService>) {
    match result {
        Some(Ok(services)) => (Status::Ok, None, services),
        Some(Err(error)) => (Status::Error, Some(error), Vec::new()),
        None => (Status::Error, Some("no report was read".to_string()), Vec::new()),
    }
}

/// One report per path, at most `concurrency` in flight, in the order given.
async fn fan_out(
    context: &Arc<Context>,
    paths: Vec<String>,
    settings: &CollectSettings,
) -> Vec<Result<Vec<OrgService>, String>> {
    let semaphore = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut slots: Vec<Option<Result<Vec<OrgService>, String>>> = vec![None; paths.len()];
    let mut tasks = JoinSet::new();
    for (index, path) in paths.into_iter().enumerate() {
        let permit = semaphore.clone().acquire_owned().await.expect("semaphore never closes");
        let context = Arc::clone(context);
        let deadline = settings.deadline;
        tasks.spawn(async move {
            let _permit = permit;
            let report = report(&context, &path);
            let result = match deadline {
                None => report.await,
                Some(deadline) => {
                    tokio::time::timeout_at(deadline, report).await.unwrap_or_else(|_| {
                        Err("time budget reached before this report was read".to_string())
                    })
                }
            };
            (index, result)
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok((index, result)) = done {
            slots[index] = Some(result);
        }
    }
    // A task that panicked leaves its slot empty: reported as an error, not lost.
    slots
        .into_iter()
        .map(|slot| {
            slot.unwrap_or_else(|| Err("internal error while reading the report".to_string()))
        })
        .collect()
}

/// Starts the job for `path`, polls it and reads every page.
async fn report(context: &Context, path: &str) -> Result<Vec<OrgService>, String> {
    let started =
        call(&context.pace, &context.retry, "iam:GenerateOrganizationsAccessReport", path, || {
            context.iam.generate_organizations_access_report().entity_path(path).send()
        })
        .await
        .map_err(|error| error.to_string())?;
    let job_id = started.job_id.ok_or_else(|| {
        format!("iam:GenerateOrganizationsAccessReport on `{path}`: the answer carried no JobId")
    })?;
    let begun = Instant::now();
    let mut wait = context.latency.first_wait(context.poll.first, context.poll.max);
    let mut services = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        if marker.is_none() {
            tokio::time::sleep(jittered(wait)).await;
        }
        let page = call(
            &context.pace,
            &context.retry,
            "iam:GetOrganizationsAccessReport",
            &job_id,
            || {
                context
                    .iam
                    .get_organizations_access_report()
                    .job_id(&job_id)
                    .max_items(MAX_ITEMS)
                    .set_marker(marker.clone())
                    .send()
            },
        )
        .await
        .map_err(|error| error.to_string())?;
        match page.job_status {
            JobStatusType::Completed => {
                if marker.is_none()
                    && let Some(done) = page.job_completion_date
                {
                    let nanos = done.as_nanos() - page.job_creation_date.as_nanos();
                    if let Ok(nanos) = u64::try_from(nanos) {
                        context.latency.observe(Duration::from_nanos(nanos));
                    }
                }
            }
            JobStatusType::InProgress if marker.is_none() => {
                if begun.elapsed() >= context.poll.timeout {
                    return Err(format!(
                        "access report job `{job_id}` of `{path}` still IN_PROGRESS after {} s",
                        context.poll.timeout.as_secs()
                    ));
                }
                wait = wait.mul_f64(context.poll.factor).min(context.poll.max);
                continue;
            }
            JobStatusType::Failed => {
                let detail = page.error_details.map_or_else(
                    || "no error details".to_string(),
                    |error| format!("{}: {}", error.code, error.message),
                );
                return Err(format!("access report job `{job_id}` of `{path}` FAILED: {detail}"));
            }
            other => {
                return Err(format!(
                    "access report job `{job_id}` of `{path}` in unexpected state {other} while its \
                     pages were read"
                ));
            }
        }
        services.extend(page.access_details.unwrap_or_default().into_iter().map(|detail| {
            OrgService {
                namespace: detail.service_namespace,
                name: detail.service_name,
                last_authenticated: detail.last_authenticated_time.and_then(to_time),
                entity_path: detail.entity_path,
                region: detail.region,
                total_authenticated_entities: detail.total_authenticated_entities,
            }
        }));
        match page.marker {
            Some(next) if page.is_truncated => marker = Some(next),
            _ => break,
        }
    }
    // A namespace split across pages, or listed twice, counts once, at its latest use.
    services.sort_by(|a, b| {
        a.namespace.cmp(&b.namespace).then(b.last_authenticated.cmp(&a.last_authenticated))
    });
    services.dedup_by(|later, earlier| later.namespace == earlier.namespace);
    Ok(services)
}
