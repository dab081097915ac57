//! Boundaries that stay right as workloads change: grace for new grants (the state store's
//! history and IAM's dates), against the `keepright.json` scenario.
//!
//! iamsweep measures ages with its own clock, so "twenty days later" is a state document as a
//! run twenty days ago would have written it, not a shifted clock.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::enforce::writes_since;
use crate::sim::{Sim, assert_code, scenario};

const ACCOUNT: &str = "111122223333";
const APP: &str = "arn:aws:iam::111122223333:role/app";
const SCRIPTED: &str = "arn:aws:iam::111122223333:role/scripted";

struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Self {
        Work { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn state_file(&self) -> PathBuf {
        self.path("state").join(ACCOUNT).join("state.json")
    }

    /// `iamsweep COMMAND ... --state DIR --journal DIR`, each where the command takes it.
    fn run(&self, sim: &Sim, command: &str, args: &[&str]) -> Output {
        let state = self.path("state");
        let journal = self.path("journal");
        let mut all = vec![command, "--rate", "500"];
        if matches!(command, "plan" | "apply") {
            all.extend(["--state", state.to_str().unwrap()]);
        }
        if matches!(command, "apply" | "heal") {
            all.extend(["--journal", journal.to_str().unwrap()]);
        }
        all.extend(args);
        sim.iamsweep(&all)
    }

    fn plan(&self, sim: &Sim) -> Value {
        self.plan_with(sim, &[])
    }

    fn plan_with(&self, sim: &Sim, args: &[&str]) -> Value {
        let path = self.path("plan.json");
        let mut all = vec!["--format", "json", "--output", path.to_str().unwrap()];
        all.extend(args);
        let output = self.run(sim, "plan", &all);
        assert_code(&output, 0);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }
}

fn entity<'a>(plan: &'a Value, arn: &str) -> &'a Value {
    plan["entities"].as_array().unwrap().iter().find(|entity| entity["arn"] == arn).unwrap()
}

/// The namespaces the planned boundary allows whole (`NAMESPACE:*`).
fn allowed(plan: &Value, arn: &str) -> Vec<String> {
    // Plan v3 holds the document as a JSON value (v2: a string).
    let document = match &entity(plan, arn)["boundary"]["document"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        value => value.clone(),
    };
    let mut namespaces = Vec::new();
    for statement in document["Statement"].as_array().unwrap() {
        if statement["Effect"] != "Allow" {
            continue;
        }
        let actions = match &statement["Action"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
            _ => Vec::new(),
        };
        namespaces.extend(actions.iter().filter_map(|a| a.strip_suffix(":*").map(String::from)));
    }
    namespaces.sort();
    namespaces
}

fn grace(plan: &Value, arn: &str) -> Vec<String> {
    entity(plan, arn)["grace"]
        .as_array()
        .map(|kept| kept.iter().map(|k| k["namespace"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn days_ago(days: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::days(days)).format(&Rfc3339).unwrap()
}

/// A state document as a run `days` ago would have written it, granting `granted` to each.
fn state_of(days: i64, entities: &[(&str, &[(&str, i64)])]) -> String {
    let entities: serde_json::Map<String, Value> = entities
        .iter()
        .map(|(arn, granted)| {
            let granted: serde_json::Map<String, Value> = granted
                .iter()
                .map(|(namespace, since)| (namespace.to_string(), json!(days_ago(*since))))
                .collect();
            (arn.to_string(), json!({"last_seen": days_ago(days), "granted": granted}))
        })
        .collect();
    json!({"schema": "iamsweep.state/v1", "account_id": ACCOUNT, "updated_at": days_ago(days),
           "entities": entities})
    .to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_service_granted_yesterday_stays_and_apply_verifies_why() {
    let sim = Sim::builder(scenario("keepright.json")).record().start();
    let work = Work::new();
    let plan = work.plan(&sim);
    // `New` (dynamodb) was created yesterday, `Old` (s3, sqs) 300 days ago: sqs goes,
    // dynamodb stays, and the plan says why.
    assert_eq!(allowed(&plan, APP), ["dynamodb", "s3"]);
    assert_eq!(grace(&plan, APP), ["dynamodb"]);
    let reason = entity(&plan, APP)["grace"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("grace_days = 14") && reason.contains("granting policy"), "{reason}");
    // An inline policy has no date: on a first run its sns counts as granted now.
    assert_eq!(allowed(&plan, SCRIPTED), ["s3", "sns"]);
    assert_eq!(grace(&plan, SCRIPTED), ["sns"]);
    // The run recorded what it saw for the next one.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(work.state_file()).unwrap()).unwrap();
    let granted = state["entities"][APP]["granted"].as_object().unwrap();
    assert_eq!(granted.keys().collect::<Vec<_>>(), ["dynamodb", "s3", "sqs"]);

    // Apply checks the reasons like every other planned field: an edited grace is refused.
    let path = work.path("plan.json");
    let mut edited = plan.clone();
    let app = edited["entities"].as_array_mut().unwrap().iter_mut().find(|e| e["arn"] == APP);
    app.unwrap()["grace"] = json!([]);
    let edited_path = work.path("edited.json");
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    let before = sim.calls().len();
    let refused = work.run(&sim, "apply", &["--plan", edited_path.to_str().unwrap(), "--apply"]);
    assert_code(&refused, 2);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(&format!("`{APP}`, field `grace`")), "{stderr}");
    // Claiming the grant is older than it is makes the kept dynamodb a document no rule gives.
    let mut aged = plan.clone();
    for facts in aged["facts"]["entities"].as_array_mut().unwrap() {
        if facts["record"]["arn"] == APP {
            facts["history"]["grants"]["dynamodb"]["since"] = json!(days_ago(90));
        }
    }
    std::fs::write(&edited_path, aged.to_string()).unwrap();
    let refused = work.run(&sim, "apply", &["--plan", edited_path.to_str().unwrap(), "--apply"]);
    assert_code(&refused, 2);
    assert_eq!(writes_since(&sim, before), Vec::<String>::new());

    let applied = work.run(&sim, "apply", &["--plan", path.to_str().unwrap(), "--apply"]);
    assert_code(&applied, 0);
    assert!(!writes_since(&sim, before).is_empty());
}

#[test]
fn history_ends_the_grace_and_tells_a_newly_attached_old_policy() {
    let sim = Sim::builder(scenario("keepright.json")).start();
    let work = Work::new();
    // Twenty days ago a run saw app granted dynamodb (and s3, but not yet sqs), and scripted
    // granted sns: dynamodb and sns are out of grace now; sqs was attached since, whatever the
    // age of its policy.
    write(
        &work.state_file(),
        &state_of(
            20,
            &[
                (APP, &[("s3", 300), ("dynamodb", 21)]),
                (SCRIPTED, &[("s3", 300), ("sqs", 300), ("sns", 20)]),
            ],
        ),
    );
    let plan = work.plan(&sim);
    assert_eq!(allowed(&plan, APP), ["s3", "sqs"]);
    assert_eq!(grace(&plan, APP), ["sqs"]);
    let reason = entity(&plan, APP)["grace"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("not granted at the previous run"), "{reason}");
    assert_eq!(allowed(&plan, SCRIPTED), ["s3"]);
    assert!(grace(&plan, SCRIPTED).is_empty());
    // The run kept the first sighting of dynamodb, not its own.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(work.state_file()).unwrap()).unwrap();
    let since = state["entities"][APP]["granted"]["dynamodb"].as_str().unwrap();
    assert_eq!(&since[..10], &days_ago(21)[..10]);

    // `grace_days = 0` turns it off: nothing unused is kept.
    std::fs::write(work.path("off.toml"), "[boundary]\ngrace_days = 0\n").unwrap();
    let config = work.path("off.toml");
    let output =
        work.run(&sim, "plan", &["--format", "json", "--config", config.to_str().unwrap()]);
    assert_code(&output, 0);
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(allowed(&plan, APP), ["s3"]);
}

#[test]
fn a_hostile_state_document_is_refused_naming_the_field_with_zero_writes() {
    let sim = Sim::builder(scenario("keepright.json")).record().start();
    let cases: Vec<(String, &str)> = vec![
        (state_of(1, &[]).replace(ACCOUNT, "999988887777"), "field `account_id`"),
        // A first sighting in the future would keep a service in grace for ever.
        (state_of(1, &[(APP, &[("dynamodb", -400)])]), ".granted.dynamodb`"),
        (state_of(1, &[("arn:aws:iam::999988887777:role/x", &[])]), "role/x`"),
        (state_of(1, &[]).replace("iamsweep.state/v1", "iamsweep.state/v7"), "field `schema`"),
        ("{\"schema\": \"iamsweep.state/v1\",".to_string(), "line 1"),
        (" ".repeat(64 * 1024 * 1024 + 1), "over the limit"),
    ];
    for (text, expected) in cases {
        let work = Work::new();
        write(&work.state_file(), &text);
        let before = sim.calls().len();
        let output = work.run(&sim, "apply", &["--apply"]);
        assert_code(&output, 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("state.json") && stderr.contains(expected), "{expected}: {stderr}");
        assert_eq!(writes_since(&sim, before), Vec::<String>::new(), "{expected}");
        // The refused document is left as it was.
        assert_eq!(std::fs::read_to_string(work.state_file()).unwrap().len(), text.len());
    }
}

#[test]
fn heal_restores_a_denied_service_within_one_run_and_a_second_heal_writes_nothing() {
    let sim = Sim::builder(scenario("keepright.json")).record().start();
    let work = Work::new();
    std::fs::write(work.path("off.toml"), "[boundary]\ngrace_days = 0\n").unwrap();
    let config = work.path("off.toml");
    let config = config.to_str().unwrap();
    // Bounded to s3: dynamodb and sqs were never used.
    assert_code(&work.run(&sim, "apply", &["--config", config, "--apply"]), 0);
    // Nothing denied yet: heal has nothing to do.
    let before = sim.calls().len();
    let quiet = work.run(&sim, "heal", &["--config", config, "--apply"]);
    assert_code(&quiet, 0);
    assert_eq!(stdout(&quiet), "");
    assert_eq!(writes_since(&sim, before), Vec::<String>::new());

    // app tries dynamodb, which its boundary denies.
    sim.activity(APP, "dynamodb");
    let dry = work.run(&sim, "heal", &["--config", config]);
    assert_code(&dry, 0);
    assert!(
        stdout(&dry).starts_with(
            "would restore dynamodb to role app: denied since bounded, last attempt 20"
        ),
        "{}",
        stdout(&dry)
    );
    assert_eq!(writes_since(&sim, before), Vec::<String>::new(), "a dry run writes nothing");

    let healed = work.run(&sim, "heal", &["--config", config, "--apply"]);
    assert_code(&healed, 0);
    let lines: Vec<String> = stdout(&healed).lines().map(String::from).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("restored dynamodb to role app: denied since bounded"),
        "{lines:?}"
    );
    // Widen only: a new default version of app's boundary, nothing else, nobody else.
    assert_eq!(writes_since(&sim, before), ["CreatePolicyVersion"]);
    // The healed boundary is what a fresh plan draws now that dynamodb shows a use.
    let output = work.run(&sim, "plan", &["--format", "json", "--config", config]);
    assert_code(&output, 0);
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(entity(&plan, APP)["boundary"].is_null(), "{}", entity(&plan, APP));

    // A second heal finds nothing outside the boundary since it was widened.
    let after = sim.calls().len();
    let again = work.run(&sim, "heal", &["--config", config, "--apply"]);
    assert_code(&again, 0);
    assert_eq!(stdout(&again), "");
    assert_eq!(writes_since(&sim, after), Vec::<String>::new());

    // Journaled like any change: rollback puts the narrower boundary back.
    let journal = work.path("journal");
    let stderr = String::from_utf8_lossy(&healed.stderr);
    let run = stderr.split("(run ").nth(1).and_then(|rest| rest.split(')').next()).unwrap();
    let rolled = sim.iamsweep(&[
        "rollback",
        "--run",
        run,
        "--apply",
        "--journal",
        journal.to_str().unwrap(),
        "--config",
        config,
    ]);
    assert_code(&rolled, 0);
    assert!(writes_since(&sim, after).contains(&"SetDefaultPolicyVersion".to_string()));
}

#[test]
fn heal_without_a_journal_entry_says_so_and_writes_nothing() {
    let sim = Sim::builder(scenario("keepright.json")).record().start();
    let work = Work::new();
    std::fs::write(work.path("off.toml"), "[boundary]\ngrace_days = 0\n").unwrap();
    let config = work.path("off.toml");
    let config = config.to_str().unwrap();
    assert_code(&work.run(&sim, "apply", &["--config", config, "--apply"]), 0);
    sim.activity(APP, "dynamodb");
    // Another journal: when app was bounded is unknown, so its attempt may predate it.
    let other = work.path("elsewhere");
    let before = sim.calls().len();
    let output = sim.iamsweep(&[
        "heal",
        "--apply",
        "--config",
        config,
        "--journal",
        other.to_str().unwrap(),
        "--rate",
        "500",
    ]);
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("role app: not healed: when its boundary was attached is unknown"),
        "{}",
        stdout(&output)
    );
    assert_eq!(writes_since(&sim, before), Vec::<String>::new());
}

/// The `iamsweep:restrict-after` tag of role `name`, read back from IAM.
async fn restrict_after(iam: &aws_sdk_iam::Client, name: &str) -> Option<String> {
    let tags = iam.list_role_tags().role_name(name).send().await.unwrap();
    tags.tags()
        .iter()
        .find(|tag| tag.key() == "iamsweep:restrict-after")
        .map(|t| t.value().to_string())
}

fn day_in(days: i64) -> String {
    days_ago(-days)[..10].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_notice_nothing_is_restricted_before_the_date_and_the_change_happens_after_it() {
    let sim = Sim::builder(scenario("keepright.json")).record().start();
    let iam = crate::enforce::iam(&sim.url).await;
    let work = Work::new();
    std::fs::write(work.path("notice.toml"), "[boundary]\ngrace_days = 0\nnotice_days = 7\n")
        .unwrap();
    let config = work.path("notice.toml");
    let config = config.to_str().unwrap();
    let boundary_writes = |writes: Vec<String>| {
        writes
            .into_iter()
            .filter(|w| w.contains("Boundary") || w.contains("Policy"))
            .collect::<Vec<_>>()
    };

    // The first run announces: tags only, no boundary, no policy.
    let before = sim.calls().len();
    let first = work.run(&sim, "apply", &["--config", config, "--apply"]);
    assert_code(&first, 0);
    assert_eq!(boundary_writes(writes_since(&sim, before)), Vec::<String>::new());
    assert_eq!(restrict_after(&iam, "app").await.as_deref(), Some(day_in(7).as_str()));
    // The report lists it; a second run before the date restricts nothing either.
    let plan = work.plan_with(&sim, &["--config", config]);
    let notice = &entity(&plan, APP)["notice"];
    assert_eq!(notice["status"], "waiting", "{notice}");
    let skips = entity(&plan, APP)["skips"].to_string();
    assert!(skips.contains("restriction announced for after"), "{skips}");
    assert_eq!(notice["removes"], json!(["dynamodb", "sqs"]));
    let again = work.run(&sim, "apply", &["--config", config, "--apply"]);
    assert_code(&again, 0);
    assert_eq!(boundary_writes(writes_since(&sim, before)), Vec::<String>::new());

    // The usage changes in between: app uses sqs now, so the change is another one, announced
    // again.
    sim.activity(APP, "sqs");
    let plan = work.plan_with(&sim, &["--config", config]);
    let notice = &entity(&plan, APP)["notice"];
    assert_eq!(notice["status"], "announced", "{notice}");
    assert_eq!(notice["removes"], json!(["dynamodb"]));
    assert!(entity(&plan, APP)["boundary"].is_null());

    // A week later (the tag and the state as that run left them, dated back): the date has
    // passed and the change is the one announced, so it is carried out. Sound because the
    // decision (`iamsweep_core::notice::decide`) reads only the date, the tag and the services
    // removed, and the edited document is read through the state store's checks like any.
    let yesterday = days_ago(1)[..10].to_string();
    use aws_sdk_iam::types::Tag;
    let tag = Tag::builder().key("iamsweep:restrict-after").value(&yesterday).build().unwrap();
    iam.tag_role().role_name("app").tags(tag).send().await.unwrap();
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(work.state_file()).unwrap()).unwrap();
    state["entities"][APP]["notice"]["restrict_after"] = json!(yesterday);
    std::fs::write(work.state_file(), state.to_string()).unwrap();
    let from = sim.calls().len();
    let due = work.run(&sim, "apply", &["--config", config, "--apply"]);
    assert_code(&due, 0);
    let writes = boundary_writes(writes_since(&sim, from));
    assert_eq!(writes, ["CreatePolicy", "PutRolePermissionsBoundary"], "{}", stdout(&due));
    let plan = work.plan_with(&sim, &["--config", config]);
    assert!(entity(&plan, APP)["notice"].is_null(), "{}", entity(&plan, APP));
    assert!(entity(&plan, APP)["boundary"].is_null(), "restricted once, then in place");
}

/// How an operator shortens a notice (README, "Notice before restriction"): not by editing the
/// tag, which only makes the change announced again (the tag and the state store disagree), but
/// by a run with `boundary.notice_days = 0` selecting the entities to restrict now.
#[tokio::test(flavor = "multi_thread")]
async fn an_edited_restrict_after_tag_is_announced_again_and_notice_off_restricts_at_once() {
    let sim = Sim::builder(scenario("keepright.json")).record().start();
    let iam = crate::enforce::iam(&sim.url).await;
    let work = Work::new();
    std::fs::write(work.path("notice.toml"), "[boundary]\ngrace_days = 0\nnotice_days = 7\n")
        .unwrap();
    std::fs::write(work.path("now.toml"), "[boundary]\ngrace_days = 0\nnotice_days = 0\n").unwrap();
    let notice = work.path("notice.toml");
    let notice = notice.to_str().unwrap();
    let now = work.path("now.toml");
    let now = now.to_str().unwrap();
    let boundary_writes = |writes: Vec<String>| {
        writes
            .into_iter()
            .filter(|w| w.contains("Boundary") || w.contains("Policy"))
            .collect::<Vec<_>>()
    };
    assert_code(&work.run(&sim, "apply", &["--config", notice, "--apply"]), 0);
    assert_eq!(restrict_after(&iam, "app").await.as_deref(), Some(day_in(7).as_str()));

    // Someone dates the tag back (as anyone with iam:TagRole may, before a boundary protects
    // it): the state store still says another date, so nothing is restricted and the change is
    // announced again, from today.
    use aws_sdk_iam::types::Tag;
    let yesterday = days_ago(1)[..10].to_string();
    let tag = Tag::builder().key("iamsweep:restrict-after").value(&yesterday).build().unwrap();
    iam.tag_role().role_name("app").tags(tag).send().await.unwrap();
    let plan = work.plan_with(&sim, &["--config", notice]);
    assert_eq!(entity(&plan, APP)["notice"]["status"], "announced", "{}", entity(&plan, APP));
    let before = sim.calls().len();
    assert_code(&work.run(&sim, "apply", &["--config", notice, "--apply"]), 0);
    assert_eq!(boundary_writes(writes_since(&sim, before)), Vec::<String>::new());
    assert_eq!(restrict_after(&iam, "app").await.as_deref(), Some(day_in(7).as_str()));

    // Supported: notice off for the entity to restrict now; the others keep their notice.
    let before = sim.calls().len();
    let output = work.run(&sim, "apply", &["--config", now, "--name", "app", "--apply"]);
    assert_code(&output, 0);
    let writes = boundary_writes(writes_since(&sim, before));
    assert_eq!(writes, ["CreatePolicy", "PutRolePermissionsBoundary"], "{}", stdout(&output));
    let plan = work.plan_with(&sim, &["--config", notice]);
    assert!(entity(&plan, APP)["boundary"].is_null(), "restricted: {}", entity(&plan, APP));
    assert_eq!(
        entity(&plan, SCRIPTED)["notice"]["status"],
        "waiting",
        "{}",
        entity(&plan, SCRIPTED)
    );
}
