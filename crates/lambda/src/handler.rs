//! The handler: one function from an event to an answer, with the clients built once outside it.
//!
//! [`handle`] takes the event JSON, the [`Runtime`] (settings and clients) and the invocation's
//! deadline, so the tests drive it against iamsim exactly as the Lambda runtime does.
//!
//! The deadline governs the whole run. With `stop` = deadline − `IAMSWEEP_SAFETY_MARGIN_SECONDS`,
//! no unit of work starts after `stop`: no entity's Access Advisor job (the collector), no
//! entity's writes (the applier, which finishes an entity it started: its journal entry is
//! written first), no `PutEvaluations` batch. The margin is left for the resume marker and the
//! answer, so a run cut short still answers and says what is left ([`crate::pass`]).

use std::collections::HashSet;

use anyhow::Context;
use aws_config::SdkConfig;
use iamsweep_aws::accounts::assume;
use iamsweep_aws::advisor::{AdvisorContext, collect_entity};
use iamsweep_aws::applier::{self, Applier};
use iamsweep_aws::clients::{Clients, Connection};
use iamsweep_aws::collector::CollectSettings;
use iamsweep_aws::config_rule::{
    self, Evaluation, ItemAnswer, deleted, evaluate, item_answer, not_applicable,
    put_evaluations_until,
};
use iamsweep_aws::entity::read_entity;
use iamsweep_aws::identity::caller_identity;
use iamsweep_aws::journal::{JournalStore, new_run_id};
use iamsweep_aws::live::live_state;
use iamsweep_aws::location::ListFiles;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::s3::{self, S3};
use iamsweep_aws::session::Sessions;
use iamsweep_aws::state_store::{StateStore, observe};
use iamsweep_core::analysis::analyze;
use iamsweep_core::model::{EntityRecord, Status};
use iamsweep_core::plan::{build_plan, build_plan_with, check_max_changes};
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::verify::{Checks, verify_plan};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::event::{ConfigItem, Event, EventError, FanOut, Mode};
use crate::failure::ConfigError;
use crate::logs;
use crate::pass::{self, Pass};
use crate::reports;
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
    /// The function's account, asked of STS once per cold start, when an answer first needs it.
    account_id: OnceCell<String>,
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
                    .with_context(|| ConfigError(format!("cannot read the config `{uri}`")))?,
            ),
            None => None,
        };
        let settings = Settings::resolve(env, config_text.as_deref())
            .context(ConfigError("invalid settings".to_string()))?;
        Ok(Runtime { base, clients, s3, settings, account_id: OnceCell::new() })
    }

    /// The function's own account id (`sts:GetCallerIdentity`, once per cold start).
    pub async fn account_id(&self) -> anyhow::Result<&str> {
        let account_id = self
            .account_id
            .get_or_try_init(|| async {
                let pace = Pace::new(self.settings.collect.rate);
                caller_identity(&self.clients.sts, &pace, &self.settings.collect.retry)
                    .await
                    .map(|caller| caller.account_id)
                    .context("could not identify the account with sts:GetCallerIdentity")
            })
            .await?;
        Ok(account_id)
    }
}

/// The answer of one invocation (also the summary log line).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Answer {
    /// `scheduled`, `config-item`, `config-periodic`, `config-ignored` or `fan-out`.
    pub event: &'static str,
    /// The account worked on; always set.
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
    /// Entities left for the next run: not audited, or audited but not written (or answered).
    pub pending: usize,
    /// Of `pending`, the entities audited whose writes or Config answers were not started.
    pub pending_writes: usize,
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
    /// Heal runs: services given back to bounded entities (see `iamsweep heal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<usize>,
    /// Heal runs without `IAMSWEEP_ENFORCE=true` (dry runs): services that would be given back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_restore: Option<usize>,
    /// Heal runs: one line per service restored (or, in a dry run, that would be), as logged:
    /// `restored dynamodb to role app: denied since bounded, last attempt T`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restorations: Vec<String>,
    /// The report objects written (`IAMSWEEP_REPORTS`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<String>,
    /// Why a report was not written; the run's other work is done all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_error: Option<String>,
    /// The Security Hub import, when `IAMSWEEP_SECURITY_HUB=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_hub: Option<crate::hub::HubAnswer>,
}

/// Answers one event before `deadline`.
pub async fn handle(runtime: &Runtime, event: &Value, deadline: Instant) -> anyhow::Result<Value> {
    let mut answer = match Event::parse(event)? {
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
        Event::Heal => heal(runtime, deadline).await?,
        Event::ConfigIgnored { message_type } => {
            tracing::info!("AWS Config `{message_type}`: nothing to evaluate");
            Answer { event: "config-ignored", status: "complete", ..Answer::default() }
        }
    };
    if answer.account_id.is_empty() {
        // Answers that needed no IAM call (a deleted item, an ignored message) still say which
        // account they are about: the Config event names it, else STS does.
        answer.account_id = match event.get("accountId").and_then(Value::as_str) {
            Some(account_id) if !account_id.is_empty() => account_id.to_string(),
            _ => runtime.account_id().await?.to_string(),
        };
    }
    logs::summary(&answer);
    Ok(serde_json::to_value(answer)?)
}

/// The heal schedule: the bounded users and roles of the function's account get back, at once,
/// what their iamsweep boundary denied them since it was attached (`iamsweep_core::heal`),
/// journaled like every change. Needs `IAMSWEEP_JOURNAL`: it tells when each boundary was set.
///
/// Writes only with `IAMSWEEP_ENFORCE=true`, the function's `--apply`: otherwise it is a dry
/// run, as `iamsweep heal` without `--apply` is, that answers and logs what it would restore.
async fn heal(runtime: &Runtime, deadline: Instant) -> anyhow::Result<Answer> {
    let mut answer = Answer { event: "heal", status: "complete", ..Answer::default() };
    let journal = runtime.settings.env.journal.as_deref().context(ConfigError(
        "heal runs need IAMSWEEP_JOURNAL: it tells when each boundary was attached, and records \
         each widening"
            .to_string(),
    ))?;
    let journal = JournalStore::parse(journal, Some(runtime.s3.clone()))
        .with_context(|| ConfigError(format!("invalid IAMSWEEP_JOURNAL `{journal}`")))?;
    let enforce = enforce_settings(runtime).await?;
    let stop = stop_at(runtime, deadline);
    let settings = collect_settings(runtime, stop, true);
    let now = OffsetDateTime::now_utc();
    let clients = &runtime.clients;
    let pass = iamsweep_aws::heal::heal_pass(
        clients,
        &settings,
        &iamsweep_aws::collector::NoProgress,
        &journal,
        &enforce,
        now,
    )
    .await?;
    answer.account_id = pass.caller.account_id.clone();
    answer.entities = pass.healings.len();
    for healing in &pass.healings {
        if let Some(unknown) = &healing.unknown {
            tracing::warn!(entityname = %healing.name, "{unknown}");
        }
    }
    answer.enforced = runtime.settings.env.enforce;
    if !answer.enforced {
        for healing in &pass.healings {
            for line in healing.lines("would restore") {
                tracing::info!(entityname = %healing.name, "{line}");
                answer.restorations.push(line);
            }
        }
        answer.would_restore = Some(pass.healings.iter().map(|h| h.restored.len()).sum());
        answer.restored = Some(0);
        return Ok(answer);
    }
    let pace = Pace::new(runtime.settings.collect.rate);
    let applier = Applier {
        iam: &clients.iam,
        pace: &pace,
        retry: runtime.settings.collect.retry,
        journal: &journal,
        run_id: new_run_id(now),
    };
    let applying = applier.apply_until(&pass.plan, OffsetDateTime::now_utc, Some(stop)).await;
    let mut restored = 0;
    for applied in applying.applied {
        let healing = pass.healings.iter().find(|healing| healing.arn == applied.arn);
        match (applied.status, healing) {
            (applier::Status::Changed, Some(healing)) => {
                answer.changed += 1;
                restored += healing.restored.len();
                for line in healing.lines("restored") {
                    tracing::info!(entityname = %healing.name, "{line}");
                    answer.restorations.push(line);
                }
            }
            (applier::Status::Failed, _) => {
                answer.write_failures += 1;
                tracing::warn!(entityname = %applied.name, "heal failed: {}", applied.detail.unwrap_or_default());
            }
            _ => {}
        }
    }
    answer.pending = applying.not_started.len();
    if answer.pending > 0 {
        answer.status = "partial";
    }
    answer.restored = Some(restored);
    Ok(answer)
}

/// The instant after which no unit of work starts: the deadline less the safety margin.
fn stop_at(runtime: &Runtime, deadline: Instant) -> Instant {
    deadline.checked_sub(runtime.settings.env.safety_margin).unwrap_or_else(Instant::now)
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
        Err(error) => Err(anyhow::Error::from(error).context("cannot assume the role")),
    }
}

/// The collect settings of one invocation: no entity starts after `stop`.
fn collect_settings(runtime: &Runtime, stop: Instant, policies: bool) -> CollectSettings {
    let mut settings = runtime.settings.collect.clone();
    settings.deadline = Some(stop);
    settings.include_local_policies = policies;
    settings
}

/// Audit, then summary tags and (when `writes.boundaries`) boundaries, all before `deadline`.
async fn audit(
    runtime: &Runtime,
    clients: &Clients,
    event: &'static str,
    writes: Writes,
    deadline: Instant,
) -> anyhow::Result<Answer> {
    let mut answer = Answer { event, status: "complete", ..Answer::default() };
    // Settings first: a run refused for its settings collects nothing and writes nothing.
    let enforce = match writes.tags || writes.boundaries {
        true => Some(write_settings(runtime, writes).await?),
        false => None,
    };
    let stop = stop_at(runtime, deadline);
    let settings = collect_settings(runtime, stop, enforce.is_some());
    let pass = pass::start(runtime, clients, event, &settings, &mut answer).await?;
    let now = OffsetDateTime::now_utc();
    let report = analyze(&pass.collection.snapshot, &runtime.settings.rules(), now);
    iamsweep_aws::logs::report_records(&report);
    count(&mut answer, &pass.collection.snapshot.entities, report.summary.verdict.non_compliant);
    let not_started = match &enforce {
        Some(enforce) => {
            write(runtime, clients, &pass, &report, enforce, stop, &mut answer).await?
        }
        None => Vec::new(),
    };
    if runtime.settings.env.security_hub {
        // After the writes: the findings describe the account as this run left it.
        answer.security_hub =
            Some(crate::hub::import(runtime, clients, &report, answer.resumed, stop).await);
    }
    if let Some(prefix) = &runtime.settings.env.reports {
        // After the writes, which it must not delay; within the first half of the safety
        // margin, which is left for the resume marker and the answer.
        let until = stop + deadline.saturating_duration_since(stop) / 2;
        match reports::write(&runtime.s3, prefix, &report, until).await {
            Ok(written) => answer.reports = written,
            Err(error) => {
                tracing::warn!("report not written: {error}");
                answer.report_error = Some(error);
            }
        }
    }
    let not_started: HashSet<&str> = not_started.iter().map(String::as_str).collect();
    pass::finish(runtime, &pass, &not_started, &mut answer).await?;
    Ok(answer)
}

/// Plans and applies tags and boundaries; returns the ARNs whose writes were not started
/// before `stop`.
async fn write(
    runtime: &Runtime,
    clients: &Clients,
    pass: &Pass,
    report: &iamsweep_core::report::AuditReport,
    enforce: &EnforceSettings,
    stop: Instant,
    answer: &mut Answer,
) -> anyhow::Result<Vec<String>> {
    if !enforce.tags.enabled && !enforce.boundary.enabled {
        return Ok(Vec::new());
    }
    let now = OffsetDateTime::now_utc();
    let collection = &pass.collection;
    let live = live_state(&collection.local_policies, &enforce.boundary.path);
    let plan = match &runtime.settings.env.state {
        // The grant history and the announced restrictions live beside the resume markers
        // (`PREFIX/grants/ACCOUNT/state.json`): the same decisions as the CLI's, in core.
        Some(state) => {
            let key = format!("{}/grants/", state.key.trim_end_matches('/'));
            let key = key.trim_start_matches('/').to_string();
            let prefix = iamsweep_aws::s3::S3Uri { bucket: state.bucket.clone(), key };
            let store = StateStore::S3 { s3: runtime.s3.clone(), prefix };
            let pace = Pace::new(runtime.settings.collect.rate);
            let retry = runtime.settings.collect.retry;
            let unusable = "the state store could not be used; nothing was written";
            let mut observed = observe(
                &store,
                &clients.iam,
                &pace,
                &retry,
                &collection.snapshot,
                &collection.local_policies,
                now,
            )
            .await
            .context(unusable)?;
            let plan = build_plan_with(
                &collection.snapshot,
                report,
                &live,
                enforce,
                &observed.history,
                now,
            );
            iamsweep_core::notice::record(&mut observed.state, &plan);
            store.write(&pace, &observed.state).await.context(unusable)?;
            plan
        }
        // Tags only (or boundaries drawn from usage alone, grace and notice off): no history
        // changes the plan, so none is kept (`write_settings` refuses the other cases).
        None => build_plan(&collection.snapshot, report, &live, enforce, now),
    };
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
    answer.enforced = enforce.boundary.enabled;
    if plan.changes().next().is_none() {
        return Ok(Vec::new());
    }
    let journal = runtime.settings.env.journal.as_deref().context(ConfigError(
        "the plan has changes to write, and IAMSWEEP_JOURNAL is not set; hint: set it to \
         s3://BUCKET/journal so every change can be rolled back"
            .to_string(),
    ))?;
    let journal = JournalStore::parse(journal, Some(runtime.s3.clone()))
        .with_context(|| ConfigError(format!("invalid IAMSWEEP_JOURNAL `{journal}`")))?;
    let pace = Pace::new(runtime.settings.collect.rate);
    let applier = Applier {
        iam: &clients.iam,
        pace: &pace,
        retry: runtime.settings.collect.retry,
        journal: &journal,
        run_id: new_run_id(now),
    };
    let applying = applier.apply_until(&plan, OffsetDateTime::now_utc, Some(stop)).await;
    for applied in applying.applied {
        match applied.status {
            applier::Status::Changed => answer.changed += 1,
            applier::Status::Failed => {
                answer.write_failures += 1;
                tracing::warn!(entityname = %applied.name, "write failed: {}", applied.detail.unwrap_or_default());
            }
            applier::Status::Unchanged | applier::Status::Skipped => {}
        }
    }
    if !applying.not_started.is_empty() {
        tracing::warn!(
            not_started = applying.not_started.len(),
            "the deadline stopped the writes: the entities not started are left for the next run"
        );
    }
    Ok(applying.not_started)
}

/// The enforcement settings of a run that writes `writes`. Refused, before anything is collected
/// or written, when its boundaries need the history of earlier runs (grace or notice on, see
/// [`iamsweep_core::settings::BoundarySettings::needs_history`]) and `IAMSWEEP_STATE` is unset:
/// the plan would otherwise cut every service granted since the last run and never carry out
/// an announced restriction, without a word.
async fn write_settings(runtime: &Runtime, writes: Writes) -> anyhow::Result<EnforceSettings> {
    let mut enforce = enforce_settings(runtime).await?;
    enforce.boundary.enabled &= writes.boundaries;
    if enforce.boundary.needs_history() && runtime.settings.env.state.is_none() {
        let boundary = &enforce.boundary;
        return Err(anyhow::Error::new(ConfigError(format!(
            "this run would write boundaries (boundary.grace_days = {}, boundary.notice_days = \
             {}), and IAMSWEEP_STATE is not set: without the state store every run is a first \
             run, which cannot tell a service granted since the last run (grace) nor carry out \
             an announced restriction (notice); nothing was collected or written; hint: set \
             IAMSWEEP_STATE to s3://BUCKET/PREFIX (the template sets \
             s3://BUCKET/iamsweep/STACK), or turn both off in the config to draw boundaries \
             from usage alone",
            boundary.grace_days, boundary.notice_days
        ))));
    }
    Ok(enforce)
}

/// The enforcement settings: the config and its list files from S3 (a list that cannot be read
/// stops the run; it never means "no entries").
async fn enforce_settings(runtime: &Runtime) -> anyhow::Result<EnforceSettings> {
    let config = &runtime.settings.config;
    let pace = Pace::new(10.0);
    let files = ListFiles::read(config, Some(&runtime.s3), &pace)
        .await
        .context(ConfigError("cannot read a list file".to_string()))?;
    let lists = files.texts();
    EnforceSettings::resolve(config, runtime.settings.window_days, &lists)
        .map_err(|error| anyhow::Error::msg(format!("config, {error}")))
        .context(ConfigError("invalid enforcement settings".to_string()))
}

fn count(answer: &mut Answer, entities: &[EntityRecord], non_compliant: usize) {
    answer.entities = entities.len();
    answer.ok = entities.iter().filter(|entity| entity.status == Status::Ok).count();
    answer.failed = entities.iter().filter(|entity| entity.status == Status::Error).count();
    answer.non_compliant = non_compliant;
}

/// One configuration item: answered from the item alone when it does not apply, else by
/// reading its one entity with per-entity calls and running its Access Advisor job.
async fn config_item(
    runtime: &Runtime,
    result_token: &str,
    item: &ConfigItem,
    deadline: Instant,
) -> anyhow::Result<Answer> {
    let mut answer = Answer { event: "config-item", status: "complete", ..Answer::default() };
    let evaluation = match item_answer(item.facts()) {
        ItemAnswer::NotApplicable(annotation) => Some(not_applicable(
            &item.resource_type,
            &item.resource_id,
            annotation,
            item.captured_at,
        )),
        ItemAnswer::Evaluate(kind) => {
            let name = item.name().ok_or_else(|| {
                EventError::new(format!(
                    "the configuration item `{}` has neither `resourceName` nor `ARN`",
                    item.resource_id
                ))
            })?;
            let settings = collect_settings(runtime, stop_at(runtime, deadline), false);
            let pace = Pace::new(settings.rate);
            let read = read_entity(&runtime.clients.iam, &pace, &settings.retry, kind, name)
                .await
                .with_context(|| format!("cannot read the {} `{name}`", kind.as_str()))?;
            match read {
                // Gone between the change and this run, or replaced by a new entity of the
                // same name (another unique id): the item's entity no longer exists.
                None => Some(deleted(kind, &item.resource_id, item.captured_at)),
                Some(entity) if entity.id.as_deref() != Some(item.resource_id.as_str()) => {
                    Some(deleted(kind, &item.resource_id, item.captured_at))
                }
                Some(mut entity) => {
                    answer.account_id = arn_account(&entity.arn).unwrap_or_default().to_string();
                    let clients = &runtime.clients;
                    let sessions = Sessions::start(
                        clients.sessions.clone(),
                        &clients.iam,
                        settings.rate,
                        settings.retry,
                    )
                    .await
                    .context("cannot start a session for the Access Advisor job")?;
                    let context = AdvisorContext::new(sessions, &settings);
                    collect_entity(&context, &mut entity).await;
                    count(&mut answer, std::slice::from_ref(&entity), 0);
                    let evaluation = evaluate(
                        &entity,
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
        // One evaluation, one call: sent whatever the time, as the answer itself.
        answer.evaluations = send(runtime, result_token, &[evaluation], None).await?;
    }
    Ok(answer)
}

/// The account of an IAM ARN (`arn:aws:iam::ACCOUNT:...`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

async fn config_periodic(
    runtime: &Runtime,
    result_token: &str,
    notified_at: OffsetDateTime,
    deadline: Instant,
) -> anyhow::Result<Answer> {
    let mut answer = Answer { event: "config-periodic", status: "complete", ..Answer::default() };
    let stop = stop_at(runtime, deadline);
    let settings = collect_settings(runtime, stop, false);
    let pass = pass::start(runtime, &runtime.clients, "config", &settings, &mut answer).await?;
    let now = OffsetDateTime::now_utc();
    let rules = runtime.settings.rules();
    let entities = &pass.collection.snapshot.entities;
    let (arns, evaluations): (Vec<&str>, Vec<Evaluation>) = entities
        .iter()
        .filter_map(|entity| {
            evaluate(entity, &rules, now, notified_at)
                .map(|evaluation| (entity.arn.as_str(), evaluation))
        })
        .unzip();
    let report = analyze(&pass.collection.snapshot, &rules, now);
    iamsweep_aws::logs::report_records(&report);
    count(&mut answer, entities, report.summary.verdict.non_compliant);
    if !evaluations.is_empty() {
        answer.evaluations = send(runtime, result_token, &evaluations, Some(stop)).await?;
    }
    // The evaluations not sent before `stop`: their entities are answered by the next run.
    let not_sent: HashSet<&str> = arns[answer.evaluations..].iter().copied().collect();
    pass::finish(runtime, &pass, &not_sent, &mut answer).await?;
    Ok(answer)
}

async fn send(
    runtime: &Runtime,
    result_token: &str,
    evaluations: &[Evaluation],
    stop: Option<Instant>,
) -> anyhow::Result<usize> {
    let pace = Pace::new(runtime.settings.collect.rate);
    let sent = put_evaluations_until(
        &runtime.clients.config,
        &pace,
        &runtime.settings.collect.retry,
        result_token,
        evaluations,
        stop,
    )
    .await?;
    if sent.failed > 0 {
        tracing::warn!(failed = sent.failed, "AWS Config refused some evaluations");
    }
    Ok(sent.evaluations)
}
