//! `iamsweep rollback` against iamsim, trying to make it do more or less than it says: a journal
//! with entities it must not add to, the principal running it, a lost journal with untagged and
//! hostile-tagged entities, journal entries of another schema or account, an S3 journal shared
//! by two accounts, and an object already at the key an entry is written to.

use std::path::PathBuf;

use aws_sdk_iam::types::Tag;
use iamsweep_aws::journal::JournalStore;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_aws::s3::S3;
use iamsweep_core::journal::{JOURNAL_SCHEMA, JournalEntry};
use iamsweep_core::model::EntityKind;
use serde_json::{Value, json};

use crate::enforce::{
    ACCOUNT, BOUNDED, WRITES, Workspace, assert_code, assume_role_in, iam, policy_arn, s3,
    sdk_config, state, stderr, stdout, writes_since,
};
use crate::sim::{Sim, scenario};

const OTHER: &str = "444455556666";

/// `enforce.json` with `extra` top-level keys, written to a temporary file.
fn scenario_with(extra: Value) -> (tempfile::TempDir, PathBuf) {
    let mut base: Value =
        serde_json::from_str(&std::fs::read_to_string(scenario("enforce.json")).unwrap()).unwrap();
    for (key, value) in extra.as_object().unwrap() {
        base[key] = value.clone();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.json");
    std::fs::write(&path, base.to_string()).unwrap();
    (dir, path)
}

/// The users and roles that IAM write calls since call `from` were made on.
fn written_entities(sim: &Sim, from: usize) -> Vec<String> {
    sim.calls()[from..]
        .iter()
        .filter(|call| call["service"] == "iam" && call["status"] == 200)
        .filter(|call| call["action"].as_str().is_some_and(|action| WRITES.contains(&action)))
        .filter_map(|call| {
            call["params"]["RoleName"].as_str().or(call["params"]["UserName"].as_str())
        })
        .map(str::to_string)
        .collect()
}

fn session_env(credentials: &(String, String, String)) -> [(&'static str, &str); 3] {
    [
        ("AWS_ACCESS_KEY_ID", credentials.0.as_str()),
        ("AWS_SECRET_ACCESS_KEY", credentials.1.as_str()),
        ("AWS_SESSION_TOKEN", credentials.2.as_str()),
    ]
}

/// The line of `text` that starts with `prefix`.
fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line `{prefix}...` in:\n{text}"))
}

/// Regression: `rollback --all` with a journal also restored, from tags, entities the journal
/// never touched, including the principal running it; a second rollback that wrote nothing
/// reported "N entities restored".
#[tokio::test]
async fn rollback_all_restores_only_what_the_journal_names_and_never_the_caller() {
    // iamsweep's test credentials are the assumed-role session deployer/ci.
    let (_dir, path) = scenario_with(json!({"caller": {"role": "deployer", "session": "ci"}}));
    let sim = Sim::builder(path).record().start();
    let work = Workspace::new();
    let iam = iam(&sim.url).await;
    // Another principal applies (`fresh` is too young to be bounded itself), so deployer is
    // bounded and journaled.
    let session = assume_role_in(&sim.url, ACCOUNT, "fresh");
    let config = work.path("iamsweep.toml");
    let journal = work.path("journal");
    let output = sim.iamsweep_env(
        &["apply", "--config", &config, "--journal", &journal, "--rate", "500", "--apply"],
        &session_env(&session),
    );
    assert_code(&output, 0);
    for (kind, name, _) in BOUNDED {
        assert_eq!(state(&iam, kind, name).await.0, Some(policy_arn(kind, name)), "{kind} {name}");
    }
    // Bounded by hand with iamsweep's policy and tag, outside the journal.
    iam.put_role_permissions_boundary()
        .role_name("legacy-batch")
        .permissions_boundary(policy_arn("role", "app"))
        .send()
        .await
        .unwrap();
    iam.tag_role()
        .role_name("legacy-batch")
        .tags(Tag::builder().key("iamsweep:previous-boundary").value("none").build().unwrap())
        .send()
        .await
        .unwrap();

    // The dry run and the apply print the same steps.
    let before = sim.calls().len();
    let dry = work.run(&sim, "rollback", &["--all"]);
    assert_code(&dry, 2);
    assert!(writes_since(&sim, before).is_empty(), "a dry run writes nothing");
    let applied = work.run(&sim, "rollback", &["--all", "--apply"]);
    assert_code(&applied, 2);
    let (dry, out) = (stdout(&dry), stdout(&applied));
    assert_eq!(
        line(&dry, "would restore role app: ").trim_start_matches("would restore"),
        line(&out, "restored role app: ").trim_start_matches("restored"),
    );
    assert!(
        line(&out, "left alone role deployer: ").contains("principal running iamsweep"),
        "{out}"
    );
    assert!(
        line(&out, "note: `arn:aws:iam::111122223333:role/legacy-batch`")
            .contains("the journal does not record"),
        "{out}"
    );
    assert!(
        stderr(&applied).contains("6 restored, 0 already restored, 1 left alone, 0 failed"),
        "{}",
        stderr(&applied)
    );
    let touched = written_entities(&sim, before);
    assert!(
        !touched.iter().any(|name| name == "deployer" || name == "legacy-batch"),
        "{touched:?}"
    );
    assert_eq!(state(&iam, "role", "deployer").await.0, Some(policy_arn("role", "deployer")));
    assert_eq!(state(&iam, "role", "legacy-batch").await.0, Some(policy_arn("role", "app")));
    for (kind, name, _) in BOUNDED.iter().filter(|(_, name, _)| *name != "deployer") {
        assert_eq!(state(&iam, kind, name).await.0, None, "{kind} {name}");
    }

    // Named with --entity, the caller is rolled back.
    assert_code(&work.run(&sim, "rollback", &["--entity", "deployer", "--apply"]), 0);
    assert_eq!(state(&iam, "role", "deployer").await.0, None);

    // A second rollback writes nothing and says so.
    let before = sim.calls().len();
    let again = work.run(&sim, "rollback", &["--all", "--apply"]);
    assert_code(&again, 0);
    assert!(
        stderr(&again).contains("0 restored, 7 already restored, 0 left alone, 0 failed"),
        "{}",
        stderr(&again)
    );
    assert!(writes_since(&sim, before).is_empty());
}

/// Regression: with the journal lost, an entity bounded under `do_not_tag` (no previous-boundary
/// tag) stayed bounded while rollback said "5 entities restored, 0 failed" and exited 0; and a
/// previous-boundary tag the entity itself can rewrite was trusted.
#[tokio::test]
async fn without_the_journal_untagged_and_hostile_tagged_entities_are_named_and_exit_2() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    work.config(&format!(
        "[guardrails]\ndo_not_list_file = {:?}\ndo_not_tag = [\"worker\"]\n[boundary]\n\
         base_actions_file = {:?}\n",
        work.path("do_not_list.txt"),
        work.path("base_actions.txt")
    ));
    assert_code(&work.run(&sim, "apply", &["--apply"]), 0);
    let iam = iam(&sim.url).await;
    let (boundary, tags) = state(&iam, "role", "worker").await;
    assert_eq!(boundary, Some(policy_arn("role", "worker")));
    assert!(!tags.contains_key("iamsweep:previous-boundary"), "{tags:?}");
    // `app` points its own tag at iamsweep's policy of a wider entity.
    iam.tag_role()
        .role_name("app")
        .tags(
            Tag::builder()
                .key("iamsweep:previous-boundary")
                .value(policy_arn("role", "deployer"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    std::fs::remove_dir_all(work.journal()).unwrap();

    let before = sim.calls().len();
    let output = work.run(&sim, "rollback", &["--all", "--apply"]);
    assert_code(&output, 2);
    let out = stdout(&output);
    assert!(line(&out, "left alone role worker: ").contains("do_not_tag"), "{out}");
    assert!(line(&out, "left alone role app: ").contains("not trusted"), "{out}");
    assert!(
        stderr(&output).contains("4 restored, 0 already restored, 2 left alone, 0 failed"),
        "{}",
        stderr(&output)
    );
    let touched = written_entities(&sim, before);
    assert!(!touched.iter().any(|name| name == "worker" || name == "app"), "{touched:?}");
    assert_eq!(state(&iam, "role", "worker").await.0, Some(policy_arn("role", "worker")));
    assert_eq!(state(&iam, "role", "app").await.0, Some(policy_arn("role", "app")));
    for (kind, name) in
        [("user", "alice"), ("user", "nobody"), ("role", "idle"), ("role", "deployer")]
    {
        let (boundary, tags) = state(&iam, kind, name).await;
        assert_eq!(boundary, None, "{kind} {name}");
        assert!(!tags.contains_key("iamsweep:previous-boundary"), "{kind} {name}");
    }
}

/// Regression: a journal entry of an unknown schema (`iamsweep.journal/v9`) was acted on by
/// `rollback --apply`. It, an entry of another account and a malformed line now stop the run
/// before any write, naming the file and line.
#[tokio::test]
async fn invalid_journal_entries_are_refused_before_any_write() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    assert_code(&work.run(&sim, "apply", &["--apply"]), 0);
    let file = std::fs::read_dir(work.journal().join(ACCOUNT)).unwrap().next().unwrap().unwrap();
    let file = file.path();
    let original = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let mut second: Value = serde_json::from_str(lines[1]).unwrap();
    let arn = second["arn"].as_str().unwrap().to_string();

    let cases: Vec<(String, &str)> = {
        let mut v9 = second.clone();
        v9["schema"] = "iamsweep.journal/v9".into();
        second["arn"] = arn.replace(ACCOUNT, "999999999999").into();
        vec![
            (v9.to_string(), "unknown schema `iamsweep.journal/v9`"),
            (second.to_string(), "account 999999999999"),
            ("{\"schema\": \"iamsweep.journal/v1\", ".to_string(), "not JSON"),
        ]
    };
    for (bad, expected) in cases {
        let mut edited: Vec<&str> = lines.clone();
        edited[1] = &bad;
        std::fs::write(&file, edited.join("\n") + "\n").unwrap();
        let before = sim.calls().len();
        let output = work.run(&sim, "rollback", &["--all", "--apply"]);
        assert_code(&output, 2);
        let message = stderr(&output);
        assert!(message.contains(&format!("{}:2", file.display())), "{message}");
        assert!(message.contains(expected) && message.contains("nothing was written"), "{message}");
        assert!(writes_since(&sim, before).is_empty(), "{expected}: no write");
    }
    // The untouched journal still rolls back.
    std::fs::write(&file, &original).unwrap();
    assert_code(&work.run(&sim, "rollback", &["--all", "--apply"]), 0);
}

/// Regression: every fan-out account shared `PREFIX/RUN_ID/...`, and `rollback --all` on that
/// journal reported other accounts' entities as failed.
#[tokio::test]
async fn an_s3_journal_shared_by_two_accounts_keeps_each_accounts_entries_apart() {
    let (_dir, path) = scenario_with(json!({"accounts": {OTHER: {
        "policies": [{"name": "AppData", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}}],
        "roles": [{"name": "app", "trusted_service": "lambda.amazonaws.com",
                   "managed_policies": ["AppData"], "created_days_ago": 500,
                   "activity": {"s3": {"days_ago": 1}}}]
    }}}));
    let sim = Sim::builder(path).record().start();
    let work = Workspace::new();
    let s3 = s3(&sim.url).await;
    s3.create_bucket().bucket("shared").send().await.unwrap();
    let config = work.path("iamsweep.toml");
    let journal = "s3://shared/journal";
    let apply = ["apply", "--config", &config, "--journal", journal, "--rate", "500", "--apply"];
    assert_code(&sim.iamsweep(&apply), 0);
    let other = assume_role_in(&sim.url, OTHER, "ops");
    assert_code(&sim.iamsweep_env(&apply, &session_env(&other)), 0);

    let listed = s3.list_objects_v2().bucket("shared").prefix("journal/").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    let mine = keys.iter().filter(|k| k.starts_with(&format!("journal/{ACCOUNT}/"))).count();
    let theirs = keys.iter().filter(|k| k.starts_with(&format!("journal/{OTHER}/"))).count();
    assert_eq!((mine, theirs, keys.len()), (BOUNDED.len() + 1, 1, BOUNDED.len() + 2), "{keys:?}");

    let before = sim.calls().len();
    let output = sim.iamsweep(&["rollback", "--all", "--apply", "--journal", journal]);
    assert_code(&output, 0);
    assert!(!stdout(&output).contains(OTHER), "{}", stdout(&output));
    let read: Vec<String> = sim.calls()[before..]
        .iter()
        .filter(|call| call["action"] == "GetObject")
        .map(|call| call["params"]["Key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(read.len(), BOUNDED.len() + 1);
    assert!(read.iter().all(|key| key.starts_with(&format!("journal/{ACCOUNT}/"))), "{read:?}");
    // The other account's entry is still there for its own rollback.
    let output =
        sim.iamsweep_env(&["rollback", "--all", "--journal", journal], &session_env(&other));
    assert_code(&output, 0);
    assert!(stdout(&output).contains("would restore role app"), "{}", stdout(&output));
}

fn entry(run_id: &str, name: &str) -> JournalEntry {
    JournalEntry {
        schema: JOURNAL_SCHEMA.into(),
        run_id: run_id.into(),
        time: time::OffsetDateTime::UNIX_EPOCH,
        arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        kind: EntityKind::Role,
        name: name.into(),
        boundary_changed: true,
        previous_boundary: None,
        previous_tags: Default::default(),
        policy_arn: Some(policy_arn("role", name)),
        policy_created: true,
        version_created: false,
        previous_default_version: None,
    }
}

/// An object already at the key of the next entry (another invocation that drew the same run
/// id, or anything else) is never overwritten: the entry goes under another name.
#[tokio::test]
async fn an_existing_object_at_the_next_journal_key_is_never_overwritten() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let s3 = s3(&sim.url).await;
    s3.create_bucket().bucket("entries").send().await.unwrap();
    let run = "20261123T131759Z-00000000000000aa";
    let key = format!("journal/{ACCOUNT}/{run}/000001.json");
    let existing = serde_json::to_string(&entry(run, "app")).unwrap();
    s3.put_object()
        .bucket("entries")
        .key(&key)
        .body(existing.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();

    let client = iamsweep_aws::s3::client(&sdk_config(&sim.url).await);
    let store = JournalStore::parse(
        "s3://entries/journal",
        Some(S3 { client, retry: RetryPolicy::default() }),
    )
    .unwrap();
    let pace = Pace::new(0.0);
    store.append(&pace, &entry(run, "worker"), 1).await.unwrap();

    let kept = s3.get_object().bucket("entries").key(&key).send().await.unwrap();
    assert_eq!(kept.body.collect().await.unwrap().to_vec(), existing.as_bytes());
    let refused = sim
        .calls()
        .iter()
        .filter(|call| call["action"] == "PutObject" && call["status"] == 412)
        .count();
    assert_eq!(refused, 1, "the first name was refused by If-None-Match");
    let entries = store.read_account(&pace, ACCOUNT, "/iamsweep/").await.unwrap();
    let mut names: Vec<&str> = entries.iter().map(|entry| entry.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["app", "worker"]);
}

/// The scenario's caller (an assumed-role session) is what plan and apply protect.
#[tokio::test]
async fn apply_never_bounds_the_scenario_caller() {
    let (_dir, path) = scenario_with(json!({"caller": {"role": "deployer", "session": "ci"}}));
    let sim = Sim::builder(path).start();
    let work = Workspace::new();
    let output = work.run(&sim, "apply", &["--apply"]);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("skipped role deployer: it is the principal running iamsweep"),
        "{}",
        stdout(&output)
    );
    assert_eq!(state(&iam(&sim.url).await, "role", "deployer").await.0, None);
}
