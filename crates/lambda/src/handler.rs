//! The handler: one function from an event to an answer, with the clients built once outside it.
//!
//! [`handle`] takes the event JSON, the [`Runtime`] (settings and clients) and the invocation's
//! deadline, so the tests drive it against iamsim exactly as the Lambda runtime does.

use std::collections::HashSet;

use anyhow::Context;
use aws_config::SdkConfig;
use iamsweep_aws::accounts::assume;
use iamsweep_aws::applier::{self, Applier};
use iamsweep_aws::clients::{Clients, Connection};
use iamsweep_aws::collector::{CollectSettings, Collection};
use iamsweep_aws::collector::{NoProgress, RESUME_REASON, collect_selected};
use iamsweep_aws::config_rule::{
    self, Evaluation, deleted, evaluate, is_service_linked, kind_of, put_evaluations,
};
use iamsweep_aws::identity::caller_identity;
use iamsweep_aws::journal::{JournalStore, new_run_id};
use iamsweep_aws::live::live_state;
use iamsweep_aws::location::ListFiles;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::s3::{self, S3};
use iamsweep_core::analysis::analyze;
use iamsweep_core::model::{EntityRecord, Status};
use iamsweep_core::plan::{build_plan, check_max_changes};
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::verify::{Checks, verify_plan};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::event::{ConfigItem, Event, FanOut, Mode};
use crate::logs;
use crate::resume::{self, Marker, RESUME_SCHEMA};
use crate::settings::{EnvSettings, Settings};

/// What stays alive between invocations: settings and clients.
#[derive(Debug)]
pub struct Runtime {
    /// The function's own SDK configuration (the base of every assumed session).
    pub base: SdkConfig,
    /// The function's own clients.
    pub clients: Clients,
    /// S3, for the config, list files, resume markers and the journal.
    pub s3: S3,
    /// Resolved settings.
    pub settings: Settings,
}

impl Runtime {
    /// Builds the clients and reads the config from S3 (once, at cold start).
    pub async fn load(connection: &Connection, env: EnvSettings) -> anyhow::Result<Runtime> {
        Runtime::from_config(connection.load().await, env).await
    }

    /// Builds the clients from an SDK configuration and reads the config from S3.
    pub async fn from_config(base: SdkConfig, env: EnvSettings) -> anyhow::Result<Runtime> {
        let clients = Clients::new(&base);
        let retry = iamsweep_aws::retry::RetryPolicy::default();
        let s3 = S3 { client: s3::client(&base), retry };
        let config_text = match &env.config {
            Some(uri) => Some(
                s3.get_text(&Pace::new(10.0), uri)
                    .await
                    .with_context(|| format!("cannot read the config `{uri}`"))?,
            ),
            None => None,
        };
        let settings = Settings::resolve(env, config_text.as_deref())?;
        Ok(Runtime { base, clients, s3, settings })
    }
}

/// The answer of one invocation (also the summary log line).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Answer {
    /// `scheduled`, `config-item`, `config-periodic` or `fan-out`.
    pub event: &'static str,
    /// The account worked on.
    pub account_id: String,
    /// `complete`, `partial` (the deadline cut it short; see `pending`) or `error`.
    pub status: &'static str,
    /// Why the run failed, when `status` is `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Entities worked on in this run.
    pub entities: usize,
    /// Entities audited.
    pub ok: usize,
    /// Entities whose data could not be collected.
    pub failed: usize,
    /// Non-compliant entities.
    pub non_compliant: usize,
    /// Entities left for the next run (not started before the deadline).
    pub pending: usize,
    /// Where the next run finds them (`IAMSWEEP_STATE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_marker: Option<String>,
    /// Their ARNs, when there is no state store to keep them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending_arns: Vec<String>,
    /// Whether this run resumed a marker's entities.
    pub resumed: bool,
    /// Config evaluations sent.
    pub evaluations: usize,
    /// Entities written (tags, boundaries).
    pub changed: usize,
    /// Entities whose writes failed.
    pub write_failures: usize,
    /// Whether boundaries were enforced.
    pub enforced: bool,
}

/// Answers one event before `deadline`.
pub async fn handle(runtime: &Runtime, event: &Value, deadline: Instant) -> anyhow::Result<Value> {
    let answer = match Event::parse(event)? {
        Event::Scheduled => {
            let enforce = runtime.settings.env.enforce;
            audit(runtime, &runtime.clients, "scheduled", Writes::of(enforce), deadline).await?
        }
        Event::FanOut(payload) => fan_out(runtime, &payload, deadline).await?,
        Event::ConfigItem { result_token, item } => {
            config_item(runtime, &result_token, &item, deadline).await?
        }
        Event::ConfigPeriodic { result_token, notified_at } => {
            config_periodic(runtime, &result_token, notified_at, deadline).await?
        }
    };
    logs::summary(&answer);
    Ok(serde_json::to_value(answer)?)
}

/// What a run writes besides its answer.
#[derive(Debug, Clone, Copy)]
struct Writes {
    tags: bool,
    boundaries: bool,
}

impl Writes {
    fn of(enforce: bool) -> Self {
        Writes { tags: true, boundaries: enforce }
    }
}

async fn fan_out(runtime: &Runtime, payload: &FanOut, deadline: Instant) -> anyhow::Result<Answer> {
    let pace = Pace::new(runtime.settings.collect.rate);
    let retry = runtime.settings.collect.retry;
    match assume(&runtime.base, &payload.account_id, &payload.role_name, &pace, &retry).await {
        Ok(clients) => {
            let writes = Writes::of(payload.mode == Mode::Enforce);
            audit(runtime, &clients, "fan-out", writes, deadline).await
        }
        // A refused role is this account's answer, not a failed invocation: the state machine
        // goes on with the other accounts and the summary names this one.
        Err(error) if error.is_access_denied() => Ok(Answer {
            event: "fan-out",
            account_id: payload.account_id.clone(),
            status: "error",
            error: Some(format!("cannot assume the role: {error}")),
            ..Answer::default()
        }),
        Err(error) => Err(anyhow::anyhow!("cannot assume the role: {error}")),
    }
}

/// The collect settings of one invocation: stop starting entities `safety_margin` before the
/// deadline.
fn collect_settings(runtime: &Runtime, deadline: Instant, policies: bool) -> CollectSettings {
    let mut settings = runtime.settings.collect.clone();
    settings.deadline =
        Some(deadline.checked_sub(runtime.settings.env.safety_margin).unwrap_or_else(Instant::now));
    settings.include_local_policies = policies;
    settings
}

/// Collects the account's entities, or only those a marker left pending, and records what is
/// left. Returns the collection, whether it resumed, and the answer's resume fields.
async fn collect_resumable(
    runtime: &Runtime,
    clients: &Clients,
    kind: &'static str,
    settings: &CollectSettings,
    answer: &mut Answer,
) -> anyhow::Result<Collection> {
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
        Some(uri) => resume::read(&runtime.s3, &pace, uri).await?,
        None => None,
    };
    let pending: Option<HashSet<String>> = marker
        .filter(|marker| !marker.pending.is_empty())
        .map(|marker| marker.pending.into_iter().collect());
    answer.resumed = pending.is_some();
    let collection = collect_selected(clients, settings, &NoProgress, |entity: &EntityRecord| {
        pending.as_ref().is_none_or(|pending| pending.contains(&entity.arn))
    })
    .await?;
    let left: Vec<String> = collection
        .snapshot
        .entities
        .iter()
        .filter(|entity| {
            entity.status == Status::Skipped && entity.skip_reason.as_deref() == Some(RESUME_REASON)
        })
        .map(|entity| entity.arn.clone())
        .collect();
    answer.pending = left.len();
    if let Some(uri) = &marker_uri {
        // Written when something is left, and when a resumed pass ends (to clear it).
        if !left.is_empty() || answer.resumed {
            let marker = Marker {
                schema: RESUME_SCHEMA.to_string(),
                account_id: caller.account_id.clone(),
                pending: left.clone(),
                written_at: OffsetDateTime::now_utc(),
            };
            resume::write(&runtime.s3, &pace, uri, &marker).await?;
        }
        answer.resume_marker = Some(uri.to_string());
    } else if !left.is_empty() {
        tracing::warn!(
            pending = left.len(),
            "the deadline cut the run short and IAMSWEEP_STATE is not set: the pending entities \
             are only in this answer"
        );
        answer.pending_arns = left;
    }
    if answer.pending > 0 {
        answer.status = "partial";
    }
    Ok(collection)
}

/// Audit, then summary tags and (when `writes.boundaries`) boundaries.
async fn audit(
    runtime: &Runtime,
    clients: &Clients,
    event: &'static str,
    writes: Writes,
    deadline: Instant,
) -> anyhow::Result<Answer> {
    let mut answer = Answer { event, status: "complete", ..Answer::default() };
    let settings = collect_settings(runtime, deadline, writes.tags || writes.boundaries);
    let collection = collect_resumable(runtime, clients, event, &settings, &mut answer).await?;
    let now = OffsetDateTime::now_utc();
    let report = analyze(&collection.snapshot, &runtime.settings.rules(), now);
    iamsweep_aws::logs::report_records(&report);
    count(&mut answer, &collection.snapshot.entities, report.summary.verdict.non_compliant);
    if writes.tags || writes.boundaries {
        let mut enforce = enforce_settings(runtime).await?;
        enforce.boundary.enabled &= writes.boundaries;
        if !enforce.tags.enabled && !enforce.boundary.enabled {
            return Ok(answer);
        }
        let live = live_state(&collection.local_policies, &enforce.boundary.path);
        let plan = build_plan(&collection.snapshot, &report, &live, &enforce, now);
        // The same verification as `apply` (times, documents, tags, the caller), in core.
        let checks = Checks {
            now: OffsetDateTime::now_utc(),
            max_age: time::Duration::hours(i64::from(enforce.guardrails.max_plan_age_hours)),
            account_id: &collection.caller.account_id,
            caller_arn: &collection.caller.arn,
        };
        verify_plan(&plan, &checks).context("the plan is refused")?;
        if enforce.boundary.enabled {
            check_max_changes(&plan, enforce.guardrails.max_changes)?;
        }
        if plan.changes().next().is_none() {
            answer.enforced = enforce.boundary.enabled;
            return Ok(answer);
        }
        let journal = runtime.settings.env.journal.as_deref().context(
            "the plan has changes to write, and IAMSWEEP_JOURNAL is not set; hint: set it to \
             s3://BUCKET/journal so every change can be rolled back",
        )?;
        let journal = JournalStore::parse(journal, Some(runtime.s3.clone()))
            .with_context(|| format!("invalid IAMSWEEP_JOURNAL `{journal}`"))?;
        let pace = Pace::new(settings.rate);
        let applier = Applier {
            iam: &clients.iam,
            pace: &pace,
            retry: settings.retry,
            journal: &journal,
            run_id: new_run_id(now),
        };
        for applied in applier.apply(&plan, OffsetDateTime::now_utc).await {
            match applied.status {
                applier::Status::Changed => answer.changed += 1,
                applier::Status::Failed => {
                    answer.write_failures += 1;
                    tracing::warn!(entityname = %applied.name, "write failed: {}", applied.detail.unwrap_or_default());
                }
                applier::Status::Unchanged | applier::Status::Skipped => {}
            }
        }
        answer.enforced = enforce.boundary.enabled;
    }
    Ok(answer)
}

/// The enforcement settings: the config and its list files from S3 (a list that cannot be read
/// stops the run; it never means "no entries").
async fn enforce_settings(runtime: &Runtime) -> anyhow::Result<EnforceSettings> {
    let config = &runtime.settings.config;
    let pace = Pace::new(10.0);
    let files = ListFiles::read(config, Some(&runtime.s3), &pace).await?;
    let lists = files.texts();
    EnforceSettings::resolve(config, runtime.settings.window_days, &lists)
        .map_err(|error| anyhow::anyhow!("config, {error}"))
}

fn count(answer: &mut Answer, entities: &[EntityRecord], non_compliant: usize) {
    answer.entities = entities.len();
    answer.ok = entities.iter().filter(|entity| entity.status == Status::Ok).count();
    answer.failed = entities.iter().filter(|entity| entity.status == Status::Error).count();
    answer.non_compliant = non_compliant;
}

async fn config_item(
    runtime: &Runtime,
    result_token: &str,
    item: &ConfigItem,
    deadline: Instant,
) -> anyhow::Result<Answer> {
    let mut answer = Answer { event: "config-item", status: "complete", ..Answer::default() };
    let not_applicable = |annotation: &str| Evaluation {
        resource_type: kind_of(&item.resource_type)
            .map_or("AWS::IAM::User", config_rule::resource_type),
        resource_id: item.resource_id.clone(),
        compliance: config_rule::Compliance::NotApplicable,
        annotation: annotation.to_string(),
        ordering: item.captured_at,
    };
    let service_linked = item.path.as_deref().is_some_and(is_service_linked)
        || item.arn.as_deref().is_some_and(|arn| arn.contains(":role/aws-service-role/"));
    let evaluation = match kind_of(&item.resource_type) {
        // The rule's scope should name IAM types only; anything else does not apply.
        None => Some(not_applicable("not an IAM user, role or group")),
        Some(kind) if item.is_deleted() => Some(deleted(kind, &item.resource_id, item.captured_at)),
        Some(_) if service_linked => {
            Some(not_applicable("service-linked role: its policies belong to AWS"))
        }
        Some(kind) => {
            let mut settings = collect_settings(runtime, deadline, false);
            settings.kinds = vec![kind];
            let collection = collect_selected(
                &runtime.clients,
                &settings,
                &NoProgress,
                |entity: &EntityRecord| {
                    entity.id.as_deref() == Some(item.resource_id.as_str())
                        || item.arn.as_deref() == Some(entity.arn.as_str())
                },
            )
            .await?;
            answer.account_id = collection.snapshot.account_id.clone();
            count(&mut answer, &collection.snapshot.entities, 0);
            match collection.snapshot.entities.first() {
                // Gone between the change and this run: the next item will say deleted.
                None => Some(deleted(kind, &item.resource_id, item.captured_at)),
                Some(entity) => {
                    let evaluation = evaluate(
                        entity,
                        &runtime.settings.rules(),
                        OffsetDateTime::now_utc(),
                        item.captured_at,
                    );
                    if evaluation.is_none() {
                        answer.status = "error";
                        answer.error = Some(format!(
                            "`{}` could not be evaluated: {}",
                            entity.arn,
                            entity
                                .error
                                .as_deref()
                                .or(entity.skip_reason.as_deref())
                                .unwrap_or("no data")
                        ));
                    }
                    evaluation
                }
            }
        }
    };
    if let Some(evaluation) = evaluation {
        answer.non_compliant =
            usize::from(evaluation.compliance == config_rule::Compliance::NonCompliant);
        let sent = send(runtime, result_token, &[evaluation]).await?;
        answer.evaluations = sent;
    }
    Ok(answer)
}

async fn config_periodic(
    runtime: &Runtime,
    result_token: &str,
    notified_at: OffsetDateTime,
    deadline: Instant,
) -> anyhow::Result<Answer> {
    let mut answer = Answer { event: "config-periodic", status: "complete", ..Answer::default() };
    let settings = collect_settings(runtime, deadline, false);
    let collection =
        collect_resumable(runtime, &runtime.clients, "config", &settings, &mut answer).await?;
    let now = OffsetDateTime::now_utc();
    let rules = runtime.settings.rules();
    let evaluations: Vec<Evaluation> = collection
        .snapshot
        .entities
        .iter()
        .filter_map(|entity| evaluate(entity, &rules, now, notified_at))
        .collect();
    let report = analyze(&collection.snapshot, &rules, now);
    iamsweep_aws::logs::report_records(&report);
    count(&mut answer, &collection.snapshot.entities, report.summary.verdict.non_compliant);
    if !evaluations.is_empty() {
        answer.evaluations = send(runtime, result_token, &evaluations).await?;
    }
    Ok(answer)
}

async fn send(
    runtime: &Runtime,
    result_token: &str,
    evaluations: &[Evaluation],
) -> anyhow::Result<usize> {
    let pace = Pace::new(runtime.settings.collect.rate);
    let sent = put_evaluations(
        &runtime.clients.config,
        &pace,
        &runtime.settings.collect.retry,
        result_token,
        evaluations,
    )
    .await?;
    if sent.failed > 0 {
        tracing::warn!(failed = sent.failed, "AWS Config refused some evaluations");
    }
    Ok(sent.evaluations)
}
