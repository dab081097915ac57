//! Plans are verified, not trusted: a plan file edited after review, dated in the future,
//! listing an entity twice, or an old snapshot, is refused whole by the real binary against
//! iamsim, and `--record` shows zero writes. And the version deleted at five is the one the dry
//! run names.

use serde_json::Value;

use crate::enforce::{Workspace, assert_code, iam, policy_arn, stderr, stdout, writes_since};
use crate::sim::{Sim, scenario};

/// A reviewed plan of the `enforce.json` account, as JSON to edit, and the workspace.
fn reviewed(sim: &Sim) -> (Workspace, Value) {
    let work = Workspace::new();
    let file = work.path("plan.json");
    assert_code(&work.run(sim, "plan", &["--output", &file]), 0);
    let plan = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    (work, plan)
}

/// The entry of `name` in the plan's entities.
fn entry<'a>(plan: &'a mut Value, name: &str) -> &'a mut Value {
    plan["entities"].as_array_mut().unwrap().iter_mut().find(|e| e["name"] == name).unwrap()
}

/// Writes the edited plan, runs `apply --plan EDITED --apply`, expects exit 2 with every
/// `expected` part in the message and no write at all; returns the message.
#[track_caller]
fn refused(sim: &Sim, work: &Workspace, plan: &Value, expected: &[&str]) -> String {
    let edited = work.path("edited.json");
    std::fs::write(&edited, serde_json::to_string_pretty(plan).unwrap()).unwrap();
    let before = sim.calls().len();
    let output = work.run(sim, "apply", &["--plan", &edited, "--apply"]);
    assert_code(&output, 2);
    let message = stderr(&output);
    for part in expected {
        assert!(message.contains(part), "expected `{part}` in: {message}");
    }
    assert_eq!(writes_since(sim, before), Vec::<String>::new(), "zero writes: {message}");
    message
}

#[test]
fn a_plan_edited_to_attach_administrator_access_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let (work, mut plan) = reviewed(&sim);
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    entry(&mut plan, "app")["boundary"]["policy_arn"] = admin.into();
    refused(
        &sim,
        &work,
        &plan,
        &[":role/app`, field `boundary.policy_arn`", admin, "refusing the whole plan"],
    );
}

#[test]
fn a_boundary_document_replaced_by_allow_all_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let (work, mut plan) = reviewed(&sim);
    // The plan file holds the document as a JSON value (`iamsweep.plan/v3`): edit it as one.
    assert!(entry(&mut plan, "worker")["boundary"]["document"].is_object());
    entry(&mut plan, "worker")["boundary"]["document"] = serde_json::json!({
        "Statement": [{"Action": "*", "Effect": "Allow", "Resource": "*"}],
        "Version": "2012-10-17"
    });
    refused(&sim, &work, &plan, &[":role/worker`, field `boundary.document`"]);
}

#[test]
fn a_boundary_that_is_not_json_makes_no_create_policy_call() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let (work, mut plan) = reviewed(&sim);
    // The last change of the plan: the others would all be written before it, were the
    // documents not checked for the whole plan first.
    let last = plan["entities"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|entity| entity["boundary"].is_object())
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    entry(&mut plan, &last)["boundary"]["document"] = "Allow: *".into();
    refused(
        &sim,
        &work,
        &plan,
        &["field `boundary.document`: the document is JSON but not an object"],
    );
    assert!(sim.calls().iter().all(|call| call["action"] != "CreatePolicy"));
}

#[test]
fn a_plan_dated_400_days_in_the_future_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let (work, mut plan) = reviewed(&sim);
    let future = (time::OffsetDateTime::now_utc() + time::Duration::days(400))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    plan["created_at"] = future.clone().into();
    plan["snapshot_collected_at"] = future.into();
    refused(&sim, &work, &plan, &["field `created_at`", "in the future", "5 minutes"]);
}

#[test]
fn a_reserved_aws_tag_key_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let (work, mut plan) = reviewed(&sim);
    let tags = &mut entry(&mut plan, "app")["tags"];
    tags["set"]["aws:cloudformation:stack-name"] = "prod".into();
    tags["previous"]["aws:cloudformation:stack-name"] = Value::Null;
    refused(&sim, &work, &plan, &["field `tags.set.aws:cloudformation:stack-name`", "`aws:`"]);
}

#[test]
fn a_plan_listing_an_entity_twice_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let (work, mut plan) = reviewed(&sim);
    let app = entry(&mut plan, "app").clone();
    plan["entities"].as_array_mut().unwrap().push(app);
    refused(&sim, &work, &plan, &[":role/app`, field `entities[", "listed twice"]);
}

#[test]
fn a_plan_of_the_previous_schema_is_refused_with_a_hint_to_plan_again() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let (work, mut plan) = reviewed(&sim);
    for older in ["iamsweep.plan/v1", "iamsweep.plan/v2"] {
        plan["schema"] = older.into();
        refused(&sim, &work, &plan, &["field `schema`", older, "run `iamsweep plan` again"]);
    }
    // A v2 plan as it was: documents as escaped strings.
    for entity in plan["entities"].as_array_mut().unwrap() {
        if entity["boundary"].is_object() {
            let text = entity["boundary"]["document"].to_string();
            entity["boundary"]["document"] = text.into();
        }
    }
    refused(&sim, &work, &plan, &["field `schema`", "iamsweep.plan/v2"]);
}

#[test]
fn an_effect_edited_to_hide_a_lockout_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let (work, mut plan) = reviewed(&sim);
    let locked = plan["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entity| entity["boundary"]["effect"]["base_actions_only"] == true)
        .expect("the scenario has an entity left with the base actions only")["name"]
        .as_str()
        .unwrap()
        .to_string();
    entry(&mut plan, &locked)["boundary"]["effect"]["base_actions_only"] = false.into();
    refused(&sim, &work, &plan, &["field `boundary.effect`"]);
}

#[test]
fn applying_an_old_snapshot_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let work = Workspace::new();
    let file = work.path("snapshot.json");
    assert_code(&work.run(&sim, "plan", &["--save-snapshot", &file]), 0);
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let old = (time::OffsetDateTime::now_utc() - time::Duration::hours(30))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    snapshot["collected_at"] = old.into();
    std::fs::write(&file, snapshot.to_string()).unwrap();
    let before = sim.calls().len();
    let output = work.run(&sim, "apply", &["--snapshot", &file, "--apply"]);
    assert_code(&output, 2);
    let message = stderr(&output);
    assert!(message.contains("snapshot.json") && message.contains("30 hours ago"), "{message}");
    assert!(message.contains("max_plan_age_hours"), "{message}");
    assert_eq!(writes_since(&sim, before), Vec::<String>::new());
}

/// Regression: with v8..v12 created in the same second, the dry run named v10 (ids compared as
/// text) and the apply deleted v8 (as numbers). Both now name v8, decided once in core.
#[tokio::test]
async fn same_second_versions_the_dry_run_and_the_apply_delete_the_same_one() {
    let mut scenario_json: Value =
        serde_json::from_str(&std::fs::read_to_string(scenario("enforce.json")).unwrap()).unwrap();
    scenario_json["policies"].as_array_mut().unwrap().push(serde_json::json!({
        "name": "role-app",
        "path": "/iamsweep/",
        "created_days_ago": 30,
        "version_ids": ["v8", "v9", "v10", "v11", "v12"],
        "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    }));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("versions.json");
    std::fs::write(&path, scenario_json.to_string()).unwrap();
    let sim = Sim::builder(path).record().start();
    let work = Workspace::new();

    let output = work.run(&sim, "apply", &[]);
    assert_code(&output, 0);
    let arn = policy_arn("role", "app");
    let dry_run = stdout(&output);
    assert!(
        dry_run.contains(&format!("delete version v8 of `{arn}`")),
        "the dry run names v8: {dry_run}"
    );

    let before = sim.calls().len();
    let output = work.run(&sim, "apply", &["--apply"]);
    assert_code(&output, 0);
    assert!(stdout(&output).contains("deleted version v8"), "{}", stdout(&output));
    let deleted: Vec<Value> = sim.calls()[before..]
        .iter()
        .filter(|call| call["action"] == "DeletePolicyVersion")
        .map(|call| call["params"]["VersionId"].clone())
        .collect();
    assert_eq!(deleted, vec![Value::from("v8")]);
    let iam = iam(&sim.url).await;
    let versions = iam.list_policy_versions().policy_arn(&arn).send().await.unwrap();
    let mut ids: Vec<String> =
        versions.versions().iter().map(|v| v.version_id().unwrap().to_string()).collect();
    ids.sort();
    assert_eq!(ids, ["v10", "v11", "v12", "v13", "v9"]);
}
