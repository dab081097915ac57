//! `Applier::apply_until` against a mocked IAM client: the stop instant is checked between
//! entities only, so an entity is either fully applied or not started.

use std::sync::{Arc, Mutex};

use aws_sdk_iam::Client;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::operation::create_policy::CreatePolicyOutput;
use aws_sdk_iam::operation::get_user::GetUserOutput;
use aws_sdk_iam::operation::put_user_permissions_boundary::PutUserPermissionsBoundaryOutput;
use aws_sdk_iam::operation::tag_user::TagUserOutput;
use aws_sdk_iam::types::User;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use iamsweep_aws::applier::{Applier, Applying, Status};
use iamsweep_aws::journal::JournalStore;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_core::analysis::analyze;
use iamsweep_core::compliance::Rules;
use iamsweep_core::model::{EntityKind, EntityRecord, Granularity, ServiceRecord};
use iamsweep_core::plan::{LiveState, Plan, build_plan};
use iamsweep_core::settings::EnforceSettings;
use iamsweep_core::snapshot::{SNAPSHOT_SCHEMA, Snapshot};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::time::Instant;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
const ACCOUNT: &str = "123456789012";
const WINDOW: u32 = 180;
const NAMES: [&str; 3] = ["alice", "bob", "carol"];

/// Three old users that used S3 lately and have no boundary: each one's plan creates its
/// policy, tags it and attaches the boundary (three writes, after two reads).
fn plan() -> Plan {
    let entities = NAMES
        .iter()
        .map(|name| {
            let mut record = EntityRecord::new(
                EntityKind::User,
                format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
                *name,
            );
            record.created = Some(NOW - Duration::days(800));
            let mut s3 = ServiceRecord::new("s3", "s3");
            s3.last_authenticated = Some(NOW - Duration::days(3));
            record.services = vec![s3];
            record
        })
        .collect();
    let snapshot = Snapshot {
        schema: SNAPSHOT_SCHEMA.into(),
        collected_at: NOW,
        account_id: ACCOUNT.into(),
        caller_arn: Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/iamsweep-runner/cli")),
        granularity: Granularity::Service,
        attributed: false,
        stats: Default::default(),
        entities,
    };
    let report = analyze(&snapshot, &Rules::new(WINDOW), NOW);
    let settings = EnforceSettings::defaults(WINDOW);
    let plan = build_plan(&snapshot, &report, &LiveState::default(), &settings, NOW);
    let changes: Vec<&str> = plan.changes().map(|entity| entity.name.as_str()).collect();
    assert_eq!(changes, NAMES);
    for entity in plan.changes() {
        let boundary = entity.boundary.as_ref().expect("a boundary change");
        assert!(boundary.create_policy && boundary.attach && !boundary.create_version);
        assert!(entity.tags.is_some());
    }
    plan
}

fn no_such_entity() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(404).unwrap(),
        SdkBody::from(
            "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
             <Message>Policy not found</Message></Error><RequestId>1</RequestId></ErrorResponse>",
        ),
    )
}

/// The writes made, in order: (operation, user, virtual time since the apply started).
type Log = Arc<Mutex<Vec<(&'static str, &'static str, std::time::Duration)>>>;

fn logged(log: &Log, start: Instant, operation: &'static str, name: &'static str) {
    log.lock().unwrap().push((operation, name, Instant::now() - start));
}

/// The mocked IAM of one user: its reads (no boundary, no policy yet) and its three writes.
struct UserMocks {
    get_user: Rule,
    get_policy: Rule,
    create_policy: Rule,
    tag_user: Rule,
    put_boundary: Rule,
}

impl UserMocks {
    fn new(name: &'static str, log: &Log, start: Instant) -> Self {
        let policy = format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/user-{name}");
        let get_user = mock!(Client::get_user)
            .match_requests(move |request| request.user_name() == Some(name))
            .then_output(move || {
                let user = User::builder()
                    .path("/")
                    .user_name(name)
                    .user_id(format!("AIDA{}", name.to_uppercase()))
                    .arn(format!("arn:aws:iam::{ACCOUNT}:user/{name}"))
                    .create_date(DateTime::from_secs(1_600_000_000))
                    .build()
                    .expect("required fields set");
                GetUserOutput::builder().user(user).build()
            });
        let get_policy = {
            let policy = policy.clone();
            mock!(Client::get_policy)
                .match_requests(move |request| request.policy_arn() == Some(policy.as_str()))
                .then_http_response(no_such_entity)
        };
        let create_policy = mock!(Client::create_policy)
            .match_requests(move |request| {
                request.policy_name() == Some(format!("user-{name}").as_str())
            })
            .then_output({
                let log = log.clone();
                move || {
                    logged(&log, start, "CreatePolicy", name);
                    CreatePolicyOutput::builder().build()
                }
            });
        let tag_user = mock!(Client::tag_user)
            .match_requests(move |request| request.user_name() == Some(name))
            .then_output({
                let log = log.clone();
                move || {
                    logged(&log, start, "TagUser", name);
                    TagUserOutput::builder().build()
                }
            });
        let put_boundary = mock!(Client::put_user_permissions_boundary)
            .match_requests(move |request| {
                request.user_name() == Some(name)
                    && request.permissions_boundary() == Some(policy.as_str())
            })
            .then_output({
                let log = log.clone();
                move || {
                    logged(&log, start, "PutUserPermissionsBoundary", name);
                    PutUserPermissionsBoundaryOutput::builder().build()
                }
            });
        UserMocks { get_user, get_policy, create_policy, tag_user, put_boundary }
    }

    fn rules(&self) -> [&Rule; 5] {
        [&self.get_user, &self.get_policy, &self.create_policy, &self.tag_user, &self.put_boundary]
    }

    /// (CreatePolicy, TagUser, PutUserPermissionsBoundary) calls made.
    fn writes(&self) -> (usize, usize, usize) {
        (self.create_policy.num_calls(), self.tag_user.num_calls(), self.put_boundary.num_calls())
    }
}

/// What one apply did: its result, each user's mocks, the writes in order and the number of
/// journal entries of each user.
struct Run {
    applying: Applying,
    users: Vec<UserMocks>,
    writes: Vec<(&'static str, &'static str, std::time::Duration)>,
    journaled: Vec<usize>,
}

/// Applies `plan()` at one call per second (in paused, auto-advancing time) with the stop
/// instant `stop(start)`.
async fn apply(stop: impl FnOnce(Instant) -> Instant) -> Run {
    let start = Instant::now();
    let log = Log::default();
    let users: Vec<UserMocks> =
        NAMES.iter().map(|name| UserMocks::new(name, &log, start)).collect();
    let rules: Vec<&Rule> = users.iter().flat_map(UserMocks::rules).collect();
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &rules, |config| config
        .retry_config(RetryConfig::disabled()));
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalStore::Dir(dir.path().to_path_buf());
    let pace = Pace::new(1.0);
    let applier = Applier {
        iam: &iam,
        pace: &pace,
        retry: RetryPolicy::default(),
        journal: &journal,
        run_id: "20261123T120000Z-0000000000000001".into(),
    };
    let plan = plan();
    let stop = stop(start);
    let applying = applier.apply_until(&plan, || NOW, Some(stop)).await;
    let entries = journal.read_account(&pace, ACCOUNT, "/iamsweep/").await.unwrap();
    let journaled = NAMES
        .iter()
        .map(|name| entries.iter().filter(|entry| entry.name == *name).count())
        .collect();
    let writes = log.lock().unwrap().clone();
    Run { applying, users, writes, journaled }
}

fn arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// Regression guard for issue 9, "the Lambda deadline stopped only the start of new entities;
/// writes ran with no deadline": at one call per second, alice's calls are made at 0 s
/// (GetUser), 1 s (GetPolicy), 2 s (CreatePolicy), 3 s (TagUser) and 4 s (the boundary); a stop
/// at 2.5 s passes in the middle of her writes, which all complete, while bob and carol are not
/// started: not one of their calls is made and only alice has a journal entry.
#[tokio::test(start_paused = true)]
async fn a_stop_passing_during_an_entitys_writes_lets_them_finish_and_starts_no_other_entity() {
    let stop = std::time::Duration::from_millis(2500);
    let Run { applying, users, writes, journaled } = apply(|start| start + stop).await;

    assert_eq!(applying.applied.len(), 1, "{:?}", applying.applied);
    let alice = &applying.applied[0];
    assert_eq!(alice.arn, arn("alice"));
    assert_eq!(alice.status, Status::Changed, "{:?}", alice.detail);
    assert_eq!(alice.actions.len(), 3, "{:?}", alice.actions);
    assert_eq!(users[0].writes(), (1, 1, 1));
    // The stop did pass during alice's writes: the first before it, the other two after.
    let operations: Vec<(&str, &str)> = writes.iter().map(|(op, name, _)| (*op, *name)).collect();
    assert_eq!(
        operations,
        [("CreatePolicy", "alice"), ("TagUser", "alice"), ("PutUserPermissionsBoundary", "alice")]
    );
    assert!(writes[0].2 < stop && writes[1].2 > stop, "{writes:?}");

    assert_eq!(applying.not_started, [arn("bob"), arn("carol")]);
    for user in &users[1..] {
        assert_eq!(user.writes(), (0, 0, 0));
        assert_eq!((user.get_user.num_calls(), user.get_policy.num_calls()), (0, 0));
    }
    assert_eq!(journaled, [1, 0, 0]);
}

/// The same guard when the stop has passed before the first entity: nothing is read, written
/// or journaled, and every change is listed as not started.
#[tokio::test(start_paused = true)]
async fn a_stop_already_passed_before_apply_makes_no_write_and_lists_every_change_as_not_started() {
    let Run { applying, users, writes, journaled } = apply(|start| start).await;

    assert_eq!(applying.applied, []);
    let every: Vec<String> = NAMES.iter().map(|name| arn(name)).collect();
    assert_eq!(applying.not_started, every);
    for user in &users {
        assert_eq!(user.writes(), (0, 0, 0));
        assert_eq!((user.get_user.num_calls(), user.get_policy.num_calls()), (0, 0));
    }
    assert_eq!(writes, []);
    assert_eq!(journaled, [0, 0, 0]);
}
