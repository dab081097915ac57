//! `iamsweep plan`, `apply` and `rollback` against the `enforce.json` scenario, checked by
//! reading IAM back through the SDK.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::sim::{Sim, json, scenario};

pub(crate) const ACCOUNT: &str = "111122223333";
/// Every IAM action that changes something; `--record` shows none of them in a dry run.
pub(crate) const WRITES: &[&str] = &[
    "CreatePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "DeletePolicy",
    "TagUser",
    "TagRole",
    "UntagUser",
    "UntagRole",
    "PutUserPermissionsBoundary",
    "PutRolePermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "DeleteRolePermissionsBoundary",
];
/// What each entity the scenario bounds used within the window; `idle` and `nobody` used
/// nothing, so they get the base actions.
pub(crate) const BOUNDED: &[(&str, &str, &[&str])] = &[
    ("user", "alice", &["s3:*"]),
    ("user", "nobody", &["sts:GetCallerIdentity"]),
    ("role", "app", &["dynamodb:*", "s3:*"]),
    ("role", "idle", &["sts:GetCallerIdentity"]),
    ("role", "worker", &["ec2:*", "sqs:*"]),
    // Wide grants everything but IAM, so its used `iam` is not listed and not allowed.
    ("role", "deployer", &["s3:*"]),
];
/// Protected, excluded, new, failed or service-linked: never given a boundary.
const UNTOUCHED: &[(&str, &str)] = &[
    ("user", "doomed"),
    ("role", "fresh"),
    ("role", "legacy-batch"),
    ("role", "opted-out"),
    ("role", "AWSServiceRoleForECS"),
];
pub(crate) const FENCE: &str = "arn:aws:iam::111122223333:policy/team/Fence";

/// A working directory with the list files and a config naming them.
pub(crate) struct Workspace {
    pub(crate) dir: tempfile::TempDir,
}

impl Workspace {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // CRLF, spaces and a repeat, as hand-edited files have.
        std::fs::write(dir.path().join("do_not_list.txt"), "legacy-*, \r\nlegacy-*\r\n").unwrap();
        std::fs::write(dir.path().join("base_actions.txt"), "sts:GetCallerIdentity\n").unwrap();
        let workspace = Workspace { dir };
        workspace.config(&format!(
            "[guardrails]\ndo_not_list_file = {:?}\n[boundary]\nbase_actions_file = {:?}\n",
            workspace.path("do_not_list.txt"),
            workspace.path("base_actions.txt")
        ));
        workspace
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    pub(crate) fn config(&self, text: &str) {
        std::fs::write(self.dir.path().join("iamsweep.toml"), text).unwrap();
    }

    pub(crate) fn journal(&self) -> PathBuf {
        self.dir.path().join("journal")
    }

    /// `iamsweep COMMAND --config ... ARGS` (rollback takes the config too).
    pub(crate) fn run(&self, sim: &Sim, command: &str, args: &[&str]) -> Output {
        let config = self.path("iamsweep.toml");
        let journal = self.path("journal");
        let mut all = vec![command, "--config", &config];
        if command != "plan" {
            all.extend(["--journal", &journal]);
        }
        if command != "rollback" {
            all.extend(["--rate", "500"]);
        }
        all.extend(args);
        sim.iamsweep(&all)
    }
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[track_caller]
pub(crate) fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

/// The write calls recorded after the first `from` calls.
pub(crate) fn writes_since(sim: &Sim, from: usize) -> Vec<String> {
    sim.calls()[from..]
        .iter()
        .filter(|call| call["service"] == "iam")
        .filter_map(|call| call["action"].as_str())
        .filter(|action| WRITES.contains(action))
        .map(str::to_string)
        .collect()
}

pub(crate) async fn iam(url: &str) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config(url).await)
}

pub(crate) async fn s3(url: &str) -> aws_sdk_s3::Client {
    let config =
        aws_sdk_s3::config::Builder::from(&sdk_config(url).await).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(config)
}

pub(crate) async fn sdk_config(url: &str) -> aws_config::SdkConfig {
    // The test's own reads go to the same throttled or failing server: retry them hard.
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(12))
        .endpoint_url(url)
        .region(aws_config::Region::from_static("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .load()
        .await
}

/// An entity's boundary and tags, as IAM holds them.
pub(crate) async fn state(
    iam: &aws_sdk_iam::Client,
    kind: &str,
    name: &str,
) -> (Option<String>, BTreeMap<String, String>) {
    let (boundary, tags) = if kind == "role" {
        let role = iam.get_role().role_name(name).send().await.unwrap().role.unwrap();
        let tags = iam.list_role_tags().role_name(name).send().await.unwrap().tags;
        (role.permissions_boundary, tags)
    } else {
        let user = iam.get_user().user_name(name).send().await.unwrap().user.unwrap();
        let tags = iam.list_user_tags().user_name(name).send().await.unwrap().tags;
        (user.permissions_boundary, tags)
    };
    (
        boundary.and_then(|b| b.permissions_boundary_arn),
        tags.into_iter().map(|tag| (tag.key, tag.value)).collect(),
    )
}

/// The actions the default version of a policy allows, and the whole document.
async fn allowed(iam: &aws_sdk_iam::Client, policy_arn: &str) -> (BTreeSet<String>, Value) {
    let policy = iam.get_policy().policy_arn(policy_arn).send().await.unwrap().policy.unwrap();
    let version = iam
        .get_policy_version()
        .policy_arn(policy_arn)
        .version_id(policy.default_version_id.unwrap())
        .send()
        .await
        .unwrap()
        .policy_version
        .unwrap();
    let text = percent_encoding::percent_decode_str(&version.document.unwrap())
        .decode_utf8()
        .unwrap()
        .into_owned();
    let document: Value = serde_json::from_str(&text).unwrap();
    let mut actions = BTreeSet::new();
    for statement in document["Statement"].as_array().unwrap() {
        if statement["Effect"] == "Allow" {
            match &statement["Action"] {
                Value::String(action) => {
                    actions.insert(action.clone());
                }
                Value::Array(list) => {
                    actions.extend(list.iter().map(|a| a.as_str().unwrap().to_string()))
                }
                _ => {}
            }
        }
    }
    (actions, document)
}

pub(crate) fn policy_arn(kind: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/iamsweep/{kind}-{name}")
}

/// Every bounded entity has exactly its used services (or the base actions) allowed, with the
/// self-protection denies; nothing else got a boundary; the foreign one is still there.
async fn assert_enforced(iam: &aws_sdk_iam::Client) {
    for (kind, name, expected) in BOUNDED {
        let (boundary, tags) = state(iam, kind, name).await;
        assert_eq!(boundary.as_deref(), Some(policy_arn(kind, name).as_str()), "{kind} {name}");
        let (actions, document) = allowed(iam, &policy_arn(kind, name)).await;
        let expected: BTreeSet<String> = expected.iter().map(|a| a.to_string()).collect();
        assert_eq!(actions, expected, "{kind} {name}: {document}");
        assert!(
            document.to_string().contains("PermissionsBoundary"),
            "self-protection: {document}"
        );
        assert_eq!(tags.get("iamsweep:previous-boundary").map(String::as_str), Some("none"));
        assert!(tags.contains_key("Permissions_Coverage_Percent"), "{kind} {name}: {tags:?}");
    }
    for (kind, name) in UNTOUCHED {
        let (boundary, tags) = state(iam, kind, name).await;
        assert_eq!(boundary, None, "{kind} {name} must not get a boundary");
        assert!(!tags.contains_key("Permissions_Used"), "{kind} {name} must not be tagged");
    }
    assert_eq!(state(iam, "role", "fenced").await.0.as_deref(), Some(FENCE));
}

/// Each bounded entity is either fully changed (boundary attached with the right document and
/// the previous-boundary tag written before it) or untouched (no boundary).
async fn assert_all_or_nothing(iam: &aws_sdk_iam::Client) {
    for (kind, name, expected) in BOUNDED {
        let (boundary, tags) = state(iam, kind, name).await;
        if let Some(boundary) = boundary {
            assert_eq!(boundary, policy_arn(kind, name));
            let expected: BTreeSet<String> = expected.iter().map(|a| a.to_string()).collect();
            assert_eq!(allowed(iam, &boundary).await.0, expected, "{kind} {name}");
            assert!(tags.contains_key("iamsweep:previous-boundary"), "{kind} {name}: {tags:?}");
        }
    }
}

#[tokio::test]
async fn plan_then_apply_bounds_exactly_the_used_services_and_a_second_apply_writes_nothing() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    let plan_file = work.path("plan.json");
    let output = work.run(&sim, "plan", &["--format", "json", "--output", &plan_file]);
    assert_code(&output, 0);
    let plan = json(&output);
    assert_eq!(plan["schema"], "iamsweep.plan/v3");
    assert_eq!(plan["summary"]["restricted"], BOUNDED.len());
    let reasons = stdout(&output);
    for expected in [
        "service-linked role",
        "legacy-*",
        "iamsweep:exclude",
        "minimum age",
        "FAILED",
        "did not create",
    ] {
        assert!(reasons.contains(expected), "the plan says why: {expected}");
    }
    assert!(writes_since(&sim, 0).is_empty(), "plan writes nothing");

    // Without --apply: what would be done, and no write at all.
    let output = work.run(&sim, "apply", &["--plan", &plan_file]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("would change role app"), "{}", stdout(&output));
    assert!(writes_since(&sim, 0).is_empty(), "a dry run writes nothing");

    let output = work.run(&sim, "apply", &["--plan", &plan_file, "--apply"]);
    assert_code(&output, 0);
    let iam = iam(&sim.url).await;
    assert_enforced(&iam).await;
    // The journal holds one entry per changed entity, written before its change.
    let runs: Vec<PathBuf> = std::fs::read_dir(work.journal().join(ACCOUNT))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let journal = std::fs::read_to_string(&runs[0]).unwrap();
    assert_eq!(journal.lines().count(), BOUNDED.len() + 1, "bounded entities and fenced's tags");

    let before = sim.calls().len();
    let output = work.run(&sim, "apply", &["--apply"]);
    assert_code(&output, 0);
    assert_eq!(writes_since(&sim, before), Vec::<String>::new(), "a second apply writes nothing");
    assert!(stderr(&output).contains("0 changed"), "{}", stderr(&output));
}

#[tokio::test]
async fn rollback_restores_one_entity_a_run_and_without_the_journal_from_the_tag() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    let iam = iam(&sim.url).await;
    let app_before = state(&iam, "role", "app").await;
    let fenced_before = state(&iam, "role", "fenced").await;
    // Replace the foreign boundary too, so a rollback must put `Fence` back, not remove it.
    assert_code(&work.run(&sim, "apply", &["--apply", "--replace-foreign-boundaries"]), 0);
    assert_eq!(state(&iam, "role", "fenced").await.0, Some(policy_arn("role", "fenced")));

    // A dry run writes nothing.
    let before = sim.calls().len();
    let output = work.run(&sim, "rollback", &["--entity", "app"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("would restore role app"), "{}", stdout(&output));
    assert!(writes_since(&sim, before).is_empty());

    // One entity, by name: exactly its earlier boundary (none) and tags.
    assert_code(&work.run(&sim, "rollback", &["--entity", "app", "--apply"]), 0);
    assert_eq!(state(&iam, "role", "app").await, app_before);
    assert_eq!(state(&iam, "role", "worker").await.0, Some(policy_arn("role", "worker")));

    // A whole run, by id.
    let run =
        std::fs::read_dir(work.journal().join(ACCOUNT)).unwrap().next().unwrap().unwrap().path();
    let run_id = run.file_stem().unwrap().to_str().unwrap().to_string();
    assert_code(&work.run(&sim, "rollback", &["--run", &run_id, "--apply"]), 0);
    assert_eq!(state(&iam, "role", "fenced").await, fenced_before);
    for (kind, name, _) in BOUNDED {
        assert_eq!(state(&iam, kind, name).await.0, None, "{kind} {name}");
    }
    let before = sim.calls().len();
    assert_code(&work.run(&sim, "rollback", &["--run", &run_id, "--apply"]), 0);
    assert!(writes_since(&sim, before).is_empty(), "a second rollback writes nothing");

    // Apply again, lose the journal: the previous-boundary tag is enough.
    assert_code(&work.run(&sim, "apply", &["--apply", "--replace-foreign-boundaries"]), 0);
    std::fs::remove_dir_all(work.journal()).unwrap();
    assert_code(&work.run(&sim, "rollback", &["--entity", "fenced", "--apply"]), 0);
    assert_eq!(state(&iam, "role", "fenced").await.0.as_deref(), Some(FENCE));
    assert_code(&work.run(&sim, "rollback", &["--all", "--apply"]), 0);
    for (kind, name, _) in BOUNDED {
        let (boundary, tags) = state(&iam, kind, name).await;
        assert_eq!(boundary, None, "{kind} {name}");
        assert!(!tags.contains_key("iamsweep:previous-boundary"));
    }
    // An unknown run is an error, not a silent success.
    assert_code(&work.run(&sim, "rollback", &["--run", "20200101T000000Z-0000", "--apply"]), 2);
}

#[tokio::test]
async fn at_five_versions_the_oldest_non_default_one_is_deleted_first() {
    let sim = Sim::builder(scenario("enforce.json")).start();
    let work = Workspace::new();
    let iam = iam(&sim.url).await;
    let arn = policy_arn("role", "app");
    let document = |n: u32| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject{n}","Resource":"*"}}]}}"#
        )
    };
    iam.create_policy()
        .policy_name("role-app")
        .path("/iamsweep/")
        .policy_document(document(1))
        .send()
        .await
        .unwrap();
    for n in 2..=5 {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(document(n))
            .send()
            .await
            .unwrap();
    }
    // v1 stays the default: the oldest non-default is v2.
    let output = work.run(&sim, "apply", &["--apply"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("deleted version v2"), "{}", stdout(&output));
    let versions =
        iam.list_policy_versions().policy_arn(&arn).send().await.unwrap().versions.unwrap();
    let ids: BTreeSet<String> = versions.iter().map(|v| v.version_id.clone().unwrap()).collect();
    assert_eq!(ids, ["v1", "v3", "v4", "v5", "v6"].iter().map(|s| s.to_string()).collect());
    assert_enforced(&iam).await;
}

#[tokio::test]
async fn a_plan_that_restricts_too_many_a_stale_plan_and_a_changed_entity_are_refused() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    let output = work.run(&sim, "apply", &["--apply", "--max-changes", "2"]);
    assert_code(&output, 2);
    assert!(
        stderr(&output).contains("restricts 6 entities, over the limit of 2"),
        "{}",
        stderr(&output)
    );
    assert!(writes_since(&sim, 0).is_empty());

    let plan_file = work.path("plan.json");
    assert_code(&work.run(&sim, "plan", &["--output", &plan_file]), 0);
    let mut plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    plan["snapshot_collected_at"] = "2020-01-01T00:00:00Z".into();
    let stale = work.path("stale.json");
    std::fs::write(&stale, plan.to_string()).unwrap();
    let output = work.run(&sim, "apply", &["--plan", &stale, "--apply"]);
    assert_code(&output, 2);
    assert!(stderr(&output).contains("max_plan_age_hours"), "{}", stderr(&output));

    // Someone gives `worker` a boundary after the plan: the plan is refused, naming it.
    let iam = iam(&sim.url).await;
    iam.put_role_permissions_boundary()
        .role_name("worker")
        .permissions_boundary(FENCE)
        .send()
        .await
        .unwrap();
    let output = work.run(&sim, "apply", &["--plan", &plan_file, "--apply"]);
    assert_code(&output, 2);
    let message = stderr(&output);
    assert!(message.contains("role/worker` changed since the plan"), "{message}");
    assert!(
        writes_since(&sim, 0).iter().all(|w| w == "PutRolePermissionsBoundary"),
        "only the test's own write"
    );
    assert_eq!(writes_since(&sim, 0).len(), 1);

    std::fs::write(&stale, "{\"schema\": \"iamsweep.plan/v3\",\n \"created_at\": 3\n}").unwrap();
    let output = work.run(&sim, "apply", &["--plan", &stale]);
    assert_code(&output, 2);
    let message = stderr(&output);
    assert!(message.contains("stale.json") && message.contains("line 2"), "{message}");
}

#[tokio::test]
async fn the_principal_running_iamsweep_behind_an_assumed_role_is_never_bounded() {
    let sim = Sim::builder(scenario("enforce.json")).start();
    let work = Workspace::new();
    let credentials = assume_role(&sim.url, "deployer");
    let env = [
        ("AWS_ACCESS_KEY_ID", credentials.0.as_str()),
        ("AWS_SECRET_ACCESS_KEY", credentials.1.as_str()),
        ("AWS_SESSION_TOKEN", credentials.2.as_str()),
    ];
    let config_path = work.path("iamsweep.toml");
    let journal = work.path("journal");
    let output = sim.iamsweep_env(
        &["apply", "--config", &config_path, "--journal", &journal, "--rate", "500", "--apply"],
        &env,
    );
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("skipped role deployer: it is the principal running iamsweep"),
        "{}",
        stdout(&output)
    );
    assert_eq!(state(&iam(&sim.url).await, "role", "deployer").await.0, None);
}

/// Assumes `role` of the scenario's account with boto3 from iamsim's environment (keeping
/// aws-sdk-sts out of the test build): the session's key, secret and token.
fn assume_role(url: &str, role: &str) -> (String, String, String) {
    assume_role_in(url, ACCOUNT, role)
}

/// [`assume_role`] into `account`.
pub(crate) fn assume_role_in(url: &str, account: &str, role: &str) -> (String, String, String) {
    let script = format!(
        "import boto3, sys\n\
         sts = boto3.client('sts', endpoint_url=sys.argv[1], region_name='us-east-1', \
         aws_access_key_id='AKIDTEST', aws_secret_access_key='x')\n\
         c = sts.assume_role(RoleArn='arn:aws:iam::{account}:role/{role}', RoleSessionName='ci')['Credentials']\n\
         print(c['AccessKeyId'], c['SecretAccessKey'], c['SessionToken'])"
    );
    let output =
        std::process::Command::new(crate::sim::repo_root().join("iamsim/.venv/bin/python"))
            .args(["-c", &script, url])
            .output()
            .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let parts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(parts.len(), 3, "{text} {}", String::from_utf8_lossy(&output.stderr));
    (parts[0].into(), parts[1].into(), parts[2].into())
}

#[tokio::test]
async fn throttled_and_failing_endpoints_leave_entities_whole_and_a_rerun_converges() {
    for flags in [&["--rate", "5", "--burst", "2"][..], &["--error-rate", "20", "--seed", "7"][..]]
    {
        let sim = Sim::builder(scenario("enforce.json")).args(flags.iter().copied()).start();
        let work = Workspace::new();
        let iam = iam(&sim.url).await;
        let mut converged = false;
        for _ in 0..6 {
            let output = work.run(&sim, "apply", &["--apply"]);
            assert!(matches!(output.status.code(), Some(0 | 2)), "{flags:?}: {}", stderr(&output));
            assert_all_or_nothing(&iam).await;
            if output.status.success() && !stdout(&output).contains("changed ") {
                converged = true;
                break;
            }
        }
        assert!(converged, "{flags:?}: apply converges");
        assert_enforced(&iam).await;
    }
}

#[tokio::test]
async fn list_files_and_the_journal_can_live_in_s3() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    let s3 = s3(&sim.url).await;
    s3.create_bucket().bucket("lists").send().await.unwrap();
    for (key, body) in [("dnl.txt", "legacy-batch,\r\n"), ("base.txt", "sts:GetCallerIdentity\r\n")]
    {
        s3.put_object()
            .bucket("lists")
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    work.config("[guardrails]\ndo_not_list_file = \"s3://lists/dnl.txt\"\n[boundary]\nbase_actions_file = \"s3://lists/base.txt\"\n");
    let config = work.path("iamsweep.toml");
    let output = sim.iamsweep(&[
        "apply",
        "--config",
        &config,
        "--rate",
        "500",
        "--apply",
        "--journal",
        "s3://lists/journal",
    ]);
    assert_code(&output, 0);
    let iam = iam(&sim.url).await;
    assert_enforced(&iam).await;
    let listed = s3.list_objects_v2().bucket("lists").prefix("journal/").send().await.unwrap();
    assert_eq!(listed.contents().len(), BOUNDED.len() + 1);
    // PREFIX/ACCOUNT/RUN_ID/NNNNNN.json
    let key = listed.contents()[0].key().unwrap();
    assert!(key.starts_with(&format!("journal/{ACCOUNT}/")), "{key}");
    let run_id = key.split('/').nth(2).unwrap().to_string();
    let output =
        sim.iamsweep(&["rollback", "--run", &run_id, "--apply", "--journal", "s3://lists/journal"]);
    assert_code(&output, 0);
    assert_eq!(state(&iam, "role", "app").await.0, None);

    // A list that cannot be read stops the run, naming it; nothing is written.
    let before = sim.calls().len();
    work.config("[guardrails]\ndo_not_list_file = \"s3://lists/missing.txt\"\n");
    let output = sim.iamsweep(&["apply", "--config", &config, "--rate", "500", "--apply"]);
    assert_code(&output, 2);
    assert!(stderr(&output).contains("s3://lists/missing.txt"), "{}", stderr(&output));
    assert!(writes_since(&sim, before).is_empty());
}

#[test]
fn unreadable_lists_and_malformed_base_actions_stop_the_run() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    let missing = work.path("nowhere/do_not_list.txt");
    work.config(&format!("[guardrails]\ndo_not_list_file = {missing:?}\n"));
    let output = work.run(&sim, "plan", &[]);
    assert_code(&output, 2);
    assert!(stderr(&output).contains(&missing), "{}", stderr(&output));

    std::fs::write(work.path("base_actions.txt"), "sts:GetCallerIdentity,\r\n\r\nS3:ListBucket\n")
        .unwrap();
    work.config(&format!("[boundary]\nbase_actions_file = {:?}\n", work.path("base_actions.txt")));
    let output = work.run(&sim, "apply", &["--apply"]);
    assert_code(&output, 2);
    let message = stderr(&output);
    assert!(message.contains("base_actions.txt") && message.contains("line 3"), "{message}");
    assert!(message.contains("`S3:ListBucket`"), "{message}");
    assert!(writes_since(&sim, 0).is_empty());
}
