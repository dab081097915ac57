//! Access Advisor for one entity: start the job, poll it, page the results, ask who used what.
//!
//! AWS facts this module obeys (see shared/AWS_FACTS.md): a job is read by the principal that
//! created it; `GetServiceLastAccessedDetails` pages with `Marker` (`MaxItems` at most 1000) and
//! an admin is granted 300+ services, so paging is the normal case; a `FAILED` job never
//! completes, so it ends the entity with its error instead of being polled again;
//! `ListPoliciesGrantingServiceAccess` takes at most 200 namespaces a call.
//!
//! A [`Job`] carries the [`Session`] that started it and is read with that session's client only.
//! When a session's credentials expire before its job is read (`ExpiredToken`), the job cannot be
//! read by any other session: the entity starts over with a fresh session, at most
//! [`SESSION_RESTARTS`] times.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType};
use iamsweep_core::model::{
    ActionRecord, EntityKind, EntityRecord, Granularity, MemberAccess, PolicyRef, ServiceRecord,
};
use tokio::time::{Duration, Instant};

use crate::error::CallError;
use crate::inventory::to_time;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};
use crate::session::{Session, Sessions};

/// The most items IAM returns a page.
const MAX_ITEMS: i32 = 1000;
/// The most namespaces `ListPoliciesGrantingServiceAccess` takes a call.
const NAMESPACES_PER_CALL: usize = 200;
/// Times one entity starts over with a fresh session after `ExpiredToken`. More than once means
/// sessions expire faster than a job completes; three gives up before looping.
pub const SESSION_RESTARTS: u32 = 3;

/// How to poll a job: the first poll after `first`, then backing off by `factor` up to `max`,
/// giving up after `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct PollTiming {
    /// Wait before the first poll.
    pub first: Duration,
    /// Growth of the wait after each `IN_PROGRESS` answer.
    pub factor: f64,
    /// Longest wait between polls.
    pub max: Duration,
    /// Give up on a job still `IN_PROGRESS` after this long.
    pub timeout: Duration,
}

impl Default for PollTiming {
    fn default() -> Self {
        PollTiming {
            first: Duration::from_millis(1000),
            factor: 1.5,
            max: Duration::from_secs(10),
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// Everything one entity's collection needs, shared by all entities of a run.
#[derive(Debug)]
pub struct AdvisorContext {
    /// The account's sessions: each job is started with the current one and read with its own.
    pub sessions: Sessions,
    /// The run's shared rate limit and counters.
    pub pace: Pace,
    /// Retry policy for every call.
    pub retry: RetryPolicy,
    /// Job polling.
    pub poll: PollTiming,
    /// Service or action level.
    pub granularity: Granularity,
    /// Collect `granted_by` for every granted service.
    pub attribute: bool,
    /// Namespaces and service names, shared by every entity's records (see [`Interner`]).
    pub names: Interner,
    /// How long jobs take, as IAM reports it (completion minus creation date), averaged over
    /// the run. The first poll of a job waits about this long: polling earlier spends calls of
    /// the shared rate on answers that can only say `IN_PROGRESS`.
    pub latency: JobLatency,
}

/// One shared copy of each namespace and service name.
///
/// An account of 10,000 entities holds some 400,000 service records naming the same few hundred
/// services. Sharing the strings saves their memory, and, because the SDK's copies are freed
/// with the response they came in, keeps long-lived strings from pinning the pages of freed
/// responses (which, measured, cost more than the strings themselves).
#[derive(Debug, Default)]
pub struct Interner(std::sync::Mutex<std::collections::HashSet<Arc<str>>>);

impl Interner {
    /// The shared copy of `text`.
    pub fn intern(&self, text: &str) -> Arc<str> {
        let mut set = self.0.lock().expect("interner lock");
        match set.get(text) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared: Arc<str> = Arc::from(text);
                set.insert(Arc::clone(&shared));
                shared
            }
        }
    }
}

/// A running average of job latency, shared by every entity of a run.
#[derive(Debug, Default)]
pub struct JobLatency(std::sync::Mutex<Option<Duration>>);

impl JobLatency {
    /// The wait before a job's first poll: the average latency plus a margin, or `initial`
    /// before any job finished.
    pub fn first_wait(&self, initial: Duration, max: Duration) -> Duration {
        match *self.0.lock().expect("latency lock") {
            Some(latency) => (latency.mul_f64(1.1) + Duration::from_millis(20)).min(max),
            None => initial,
        }
    }

    /// Adds one observed latency (weight 1/5, so a few slow jobs do not dominate).
    pub fn observe(&self, latency: Duration) {
        let mut average = self.0.lock().expect("latency lock");
        *average = Some(match *average {
            Some(previous) => previous.mul_f64(0.8) + latency.mul_f64(0.2),
            None => latency,
        });
    }
}

/// Fills `entity.services` from Access Advisor, or sets `status: error` with the reason.
pub async fn collect_entity(context: &AdvisorContext, entity: &mut EntityRecord) {
    match collect(context, entity).await {
        Ok(services) => entity.services = services,
        Err(reason) => {
            entity.status = iamsweep_core::model::Status::Error;
            entity.error = Some(reason);
        }
    }
}

/// An Access Advisor job and the session that started it: only that session may read it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The `JobId`.
    pub id: String,
    /// The session that started the job.
    pub session: Arc<Session>,
}

/// Why one attempt at an entity ended.
enum Failure {
    /// The session's credentials expired (`ExpiredToken`): worth starting over with a new one.
    Expired(CallError),
    /// Anything else, as the entity's error.
    Other(String),
}

impl From<CallError> for Failure {
    fn from(error: CallError) -> Self {
        if error.is_expired_token() {
            Failure::Expired(error)
        } else {
            Failure::Other(error.to_string())
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Other(message)
    }
}

async fn collect(
    context: &AdvisorContext,
    entity: &EntityRecord,
) -> Result<Vec<ServiceRecord>, String> {
    let mut restarts = 0;
    loop {
        let session = context.sessions.current().await.map_err(|error| error.to_string())?;
        match collect_with(context, &session, entity).await {
            Ok(services) => return Ok(services),
            Err(Failure::Other(message)) => return Err(message),
            Err(Failure::Expired(error)) if restarts >= SESSION_RESTARTS => {
                return Err(format!(
                    "{error} (started over {restarts} times with a fresh session; sessions expire \
                     before a job completes)"
                ));
            }
            Err(Failure::Expired(error)) => {
                restarts += 1;
                tracing::debug!(arn = %entity.arn, session = session.number, "{error}; starting over");
                context.sessions.replace(&session).await.map_err(|error| error.to_string())?;
            }
        }
    }
}

/// One attempt at an entity, every call signed by `session`.
async fn collect_with(
    context: &AdvisorContext,
    session: &Arc<Session>,
    entity: &EntityRecord,
) -> Result<Vec<ServiceRecord>, Failure> {
    let job = start_job(context, session, &entity.arn).await?;
    let mut services = read_job(context, &entity.arn, &job).await?;
    if entity.kind == EntityKind::Group {
        for service in services.iter_mut().filter(|service| service.last_authenticated.is_some()) {
            service.used_by = Some(members_using(context, &job, &service.namespace).await?);
        }
    }
    if context.attribute && !services.is_empty() {
        let namespaces: Vec<String> =
            services.iter().map(|service| service.namespace.to_string()).collect();
        let mut granting =
            policies_granting(context, &session.iam, &entity.arn, &namespaces).await?;
        for service in &mut services {
            service.granted_by = Some(granting.remove(&*service.namespace).unwrap_or_default());
        }
    }
    Ok(services)
}

async fn start_job(
    context: &AdvisorContext,
    session: &Arc<Session>,
    arn: &str,
) -> Result<Job, CallError> {
    let granularity = match context.granularity {
        Granularity::Service => AccessAdvisorUsageGranularityType::ServiceLevel,
        Granularity::Action => AccessAdvisorUsageGranularityType::ActionLevel,
    };
    let output =
        call(&context.pace, &context.retry, "iam:GenerateServiceLastAccessedDetails", arn, || {
            session
                .iam
                .generate_service_last_accessed_details()
                .arn(arn)
                .granularity(granularity.clone())
                .send()
        })
        .await?;
    let id = output.job_id.ok_or_else(|| CallError {
        operation: "iam:GenerateServiceLastAccessedDetails",
        target: arn.to_string(),
        code: None,
        message: "the answer carried no JobId".to_string(),
        attempts: 1,
    })?;
    Ok(Job { id, session: Arc::clone(session) })
}

/// Polls the job until it ends, then reads every page of its services.
async fn read_job(
    context: &AdvisorContext,
    arn: &str,
    job: &Job,
) -> Result<Vec<ServiceRecord>, Failure> {
    let job_id = job.id.as_str();
    let started = Instant::now();
    let mut wait = context.latency.first_wait(context.poll.first, context.poll.max);
    let mut services = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        if marker.is_none() {
            tokio::time::sleep(jittered(wait)).await;
        }
        let page =
            call(&context.pace, &context.retry, "iam:GetServiceLastAccessedDetails", arn, || {
                job.session
                    .iam
                    .get_service_last_accessed_details()
                    .job_id(job_id)
                    .max_items(MAX_ITEMS)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        match page.job_status {
            JobStatusType::Completed => {
                if marker.is_none() {
                    let latency =
                        page.job_completion_date.as_nanos() - page.job_creation_date.as_nanos();
                    if let Ok(nanos) = u64::try_from(latency) {
                        context.latency.observe(Duration::from_nanos(nanos));
                    }
                }
            }
            JobStatusType::InProgress => {
                if marker.is_some() {
                    return Err(Failure::Other(format!(
                        "Access Advisor job `{job_id}` went back to IN_PROGRESS while its pages were read"
                    )));
                }
                if started.elapsed() >= context.poll.timeout {
                    return Err(Failure::Other(format!(
                        "Access Advisor job `{job_id}` still IN_PROGRESS after {} s",
                        context.poll.timeout.as_secs()
                    )));
                }
                wait = wait.mul_f64(context.poll.factor).min(context.poll.max);
                continue;
            }
            JobStatusType::Failed => {
                let detail = page.error.map_or_else(
                    || "no error details".to_string(),
                    |error| format!("{}: {}", error.code, error.message),
                );
                return Err(Failure::Other(format!(
                    "Access Advisor job `{job_id}` FAILED: {detail}"
                )));
            }
            other => {
                return Err(Failure::Other(format!(
                    "Access Advisor job `{job_id}` in unknown state {other}"
                )));
            }
        }
        services.extend(
            page.services_last_accessed
                .into_iter()
                .map(|service| service_record(service, &context.names)),
        );
        match page.marker {
            // The original sample never advanced the marker and hung on any admin: advance it.
            Some(next) if page.is_truncated => marker = Some(next),
            _ => return Ok(services),
        }
    }
}

fn service_record(
    service: aws_sdk_iam::types::ServiceLastAccessed,
    names: &Interner,
) -> ServiceRecord {
    let mut record = ServiceRecord::new(
        names.intern(&service.service_namespace),
        names.intern(&service.service_name),
    );
    record.last_authenticated = service.last_authenticated.and_then(to_time);
    record.last_authenticated_region = service.last_authenticated_region;
    record.last_authenticated_entity = service.last_authenticated_entity;
    record.total_authenticated_entities = service.total_authenticated_entities;
    // Present only where AWS tracks actions for the service: absent means service-level data.
    record.actions = service.tracked_actions_last_accessed.map(|actions| {
        let mut actions: Vec<ActionRecord> = actions
            .into_iter()
            .map(|action| ActionRecord {
                name: action.action_name.unwrap_or_default(),
                last_accessed: action.last_accessed_time.and_then(to_time),
                last_accessed_region: action.last_accessed_region,
                last_accessed_entity: action.last_accessed_entity,
            })
            .collect();
        actions.sort_by(|a, b| a.name.cmp(&b.name));
        actions
    });
    record
}

/// The group members that used a service (`GetServiceLastAccessedDetailsWithEntities`).
async fn members_using(
    context: &AdvisorContext,
    job: &Job,
    namespace: &str,
) -> Result<Vec<MemberAccess>, CallError> {
    let job_id = job.id.as_str();
    let mut members = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = call(
            &context.pace,
            &context.retry,
            "iam:GetServiceLastAccessedDetailsWithEntities",
            job_id,
            || {
                job.session
                    .iam
                    .get_service_last_accessed_details_with_entities()
                    .job_id(job_id)
                    .service_namespace(namespace)
                    .max_items(MAX_ITEMS)
                    .set_marker(marker.clone())
                    .send()
            },
        )
        .await?;
        // AWS lists every member that has the permission; keep those that used it.
        members.extend(page.entity_details_list.into_iter().filter_map(|detail| {
            let info = detail.entity_info?;
            let last_authenticated = detail.last_authenticated.and_then(to_time)?;
            Some(MemberAccess {
                arn: info.arn,
                name: info.name,
                last_authenticated: Some(last_authenticated),
            })
        }));
        match page.marker {
            Some(next) if page.is_truncated => marker = Some(next),
            _ => break,
        }
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(members)
}

/// Which policies grant each namespace (`ListPoliciesGrantingServiceAccess`, 200 a call).
async fn policies_granting(
    context: &AdvisorContext,
    iam: &aws_sdk_iam::Client,
    arn: &str,
    namespaces: &[String],
) -> Result<BTreeMap<String, Vec<PolicyRef>>, CallError> {
    let mut granting: BTreeMap<String, Vec<PolicyRef>> = BTreeMap::new();
    for chunk in namespaces.chunks(NAMESPACES_PER_CALL) {
        let mut marker: Option<String> = None;
        loop {
            let page = call(
                &context.pace,
                &context.retry,
                "iam:ListPoliciesGrantingServiceAccess",
                arn,
                || {
                    iam.list_policies_granting_service_access()
                        .arn(arn)
                        .set_service_namespaces(Some(chunk.to_vec()))
                        .set_marker(marker.clone())
                        .send()
                },
            )
            .await?;
            for entry in page.policies_granting_service_access {
                let namespace = entry.service_namespace.unwrap_or_default();
                let policies = granting.entry(namespace).or_default();
                for policy in entry.policies.unwrap_or_default() {
                    policies.push(PolicyRef {
                        name: policy.policy_name,
                        policy_type: policy.policy_type.as_str().to_string(),
                        arn: policy.policy_arn,
                        entity_type: policy.entity_type.map(|kind| kind.as_str().to_string()),
                        entity_name: policy.entity_name,
                    });
                }
            }
            match page.marker {
                Some(next) if page.is_truncated => marker = Some(next),
                _ => break,
            }
        }
    }
    for policies in granting.values_mut() {
        policies.sort();
        policies.dedup();
    }
    Ok(granting)
}

/// A wait of 80..120% of `wait`, so polls of jobs started together spread out.
pub fn jittered(wait: Duration) -> Duration {
    wait.mul_f64(0.8 + fastrand::f64() * 0.4)
}
