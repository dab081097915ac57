//! `org audit | plan | apply | rollback` against iamsim's Organization (`org_scp.json`: six OUs,
//! `payments` nested in `prod`, nine member accounts and the management account), read back
//! through the Organizations SDK: no used or always-allowed service denied, the management
//! account, the root and excluded OUs given nothing, a sixth SCP refused before any write, a
//! second apply writing nothing, rollback restoring exactly the prior attachments and content,
//! `--record` proving zero writes in dry runs, and the permissions README lists being exactly
//! those called.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use aws_sdk_organizations::types::PolicyType;
use serde_json::Value;

use crate::enforce::sdk_config;
use crate::sim::{Sim, iamsweep, json, repo_root, scenario};

const MANAGEMENT: &str = "111111111111";
/// Organizations and IAM calls that change something.
const WRITES: &[&str] = &[
    "CreatePolicy",
    "UpdatePolicy",
    "AttachPolicy",
    "DetachPolicy",
    "DeletePolicy",
    "CreatePolicyVersion",
    "TagRole",
    "TagUser",
    "PutRolePermissionsBoundary",
];
/// The namespaces the scenario's accounts used within 180 days, by OU (accounts below
/// included): what each OU's SCP must keep.
const USED: &[(&str, &[&str])] = &[
    ("prod", &["s3", "lambda", "kms", "dynamodb"]),
    ("payments", &["kms", "dynamodb"]),
    ("dev", &["ec2", "sqs", "athena"]),
];
/// Used only before the window (dynamodb by web-prod 300 days ago is kept in prod only because
/// payments-a used it 20 days ago), or by accounts of other OUs: what each SCP must deny.
const NOT_USED: &[(&str, &[&str])] = &[
    ("prod", &["ec2", "sqs", "rds", "sns", "athena"]),
    ("payments", &["s3", "lambda", "ec2"]),
    ("dev", &["s3", "kms", "dynamodb", "lambda"]),
];
const DEFAULT_ALWAYS_ALLOW: &[&str] = &[
    "access-analyzer",
    "account",
    "aws-portal",
    "billing",
    "ce",
    "cloudtrail",
    "config",
    "guardduty",
    "health",
    "iam",
    "organizations",
    "securityhub",
    "signin",
    "sso",
    "sts",
    "support",
    "trustedadvisor",
];

fn writes_since(sim: &Sim, from: usize) -> Vec<String> {
    sim.calls()[from..]
        .iter()
        .filter_map(|call| call["action"].as_str())
        .filter(|action| WRITES.contains(action))
        .map(str::to_string)
        .collect()
}

fn ok(output: &Output) -> &Output {
    assert!(
        output.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn organizations(url: &str) -> aws_sdk_organizations::Client {
    aws_sdk_organizations::Client::new(&sdk_config(url).await)
}

/// OU name (or `Root`) to id.
async fn units(client: &aws_sdk_organizations::Client) -> BTreeMap<String, String> {
    let root = client.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let mut found = BTreeMap::from([("Root".to_string(), root.clone())]);
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        let page =
            client.list_organizational_units_for_parent().parent_id(&parent).send().await.unwrap();
        for ou in page.organizational_units() {
            found.insert(ou.name().unwrap().to_string(), ou.id().unwrap().to_string());
            queue.push(ou.id().unwrap().to_string());
        }
    }
    found
}

/// The SCPs attached to a target: name to (id, content).
async fn attached(
    client: &aws_sdk_organizations::Client,
    target: &str,
) -> BTreeMap<String, (String, String)> {
    let page = client
        .list_policies_for_target()
        .target_id(target)
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let mut policies = BTreeMap::new();
    for summary in page.policies() {
        let id = summary.id().unwrap().to_string();
        let described = client.describe_policy().policy_id(&id).send().await.unwrap();
        let content = described.policy().unwrap().content().unwrap_or_default().to_string();
        policies.insert(summary.name().unwrap().to_string(), (id, content));
    }
    policies
}

/// The namespaces an iamsweep SCP keeps (its `NotAction`), and its exempted principals.
fn kept(document: &str) -> (BTreeSet<String>, Vec<String>) {
    let value: Value = serde_json::from_str(document).unwrap();
    let statement = &value["Statement"][0];
    assert_eq!(statement["Effect"], "Deny", "{document}");
    let kept = statement["NotAction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| action.as_str().unwrap().strip_suffix(":*").unwrap().to_string())
        .collect();
    let exempt = statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        .as_array()
        .map(|items| items.iter().map(|item| item.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (kept, exempt)
}

/// Every target's attachments: the root, each OU and each account.
async fn every_attachment(
    client: &aws_sdk_organizations::Client,
    units: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeMap<String, (String, String)>> {
    let mut all = BTreeMap::new();
    for id in units.values() {
        all.insert(id.clone(), attached(client, id).await);
    }
    let accounts = client.list_accounts().send().await.unwrap();
    for account in accounts.accounts() {
        let id = account.id().unwrap().to_string();
        all.insert(id.clone(), attached(client, &id).await);
    }
    all
}

/// The actions a README policy block grants (the first `json` block after `heading`).
fn readme_actions(heading: &str) -> BTreeSet<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = &readme[readme.find(heading).unwrap_or_else(|| panic!("README has {heading}"))..];
    let start = section.find("```json\n").unwrap() + "```json\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let policy: Value = serde_json::from_str(block).unwrap();
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|statement| statement["Action"].as_array().unwrap().clone())
        .map(|action| action.as_str().unwrap().to_string())
        .collect()
}

/// `service:Action` of the calls iamsweep made between two positions of the record.
fn called(sim: &Sim, from: usize, to: usize) -> BTreeSet<String> {
    sim.calls()[from..to]
        .iter()
        .filter(|call| !(call["service"] == "sts" && call["action"] == "GetCallerIdentity"))
        .map(|call| {
            format!("{}:{}", call["service"].as_str().unwrap(), call["action"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn org_audit_reports_every_ou_and_account_and_reads_its_snapshot_back_strictly() {
    // 100 services a page: the ~450 services each report lists come in five pages.
    let sim = Sim::builder(scenario("org_scp.json")).args(["--page-size", "100"]).start();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("org.json");
    let saved_text = saved.to_str().unwrap();
    let output = sim.iamsweep(&[
        "org",
        "audit",
        "--format",
        "json",
        "--rate",
        "200",
        "--save-snapshot",
        saved_text,
    ]);
    let report = json(ok(&output));
    assert_eq!(report["schema"], "iamsweep.org-audit/v1");
    assert_eq!(report["management_account_id"], MANAGEMENT);
    assert_eq!(report["summary"]["ous"], 6);
    assert_eq!(report["summary"]["accounts"], 10);
    assert_eq!(report["summary"]["errors"], 0);
    let unit = |name: &str| {
        report["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|unit| unit["name"] == name)
            .unwrap()
            .clone()
    };
    let service = |unit: &Value, namespace: &str| {
        unit["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["namespace"] == namespace)
            .unwrap()
            .clone()
    };
    let prod = unit("prod");
    assert_eq!(prod["path"], "Root/prod");
    assert_eq!(prod["accounts"].as_array().unwrap().len(), 4, "payments' accounts are below prod");
    assert!(prod["allowed"].as_u64().unwrap() > 300, "FullAWSAccess allows every service, paged");
    let kms = service(&prod, "kms");
    assert_eq!(kms["state"], "used");
    assert_eq!(kms["used_by"][0]["account_id"], "210000000003", "used in the nested OU");
    let dynamodb = service(&prod, "dynamodb");
    let users: Vec<&str> = dynamodb["used_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["210000000003", "210000000001"], "latest first");
    // athena: used by a role of dev-b (an entity of `accounts`), not by the account's activity.
    assert_eq!(service(&unit("dev"), "athena")["state"], "used");
    assert_eq!(service(&unit("payments"), "s3")["state"], "unused");
    let management =
        report["accounts"].as_array().unwrap().iter().find(|a| a["id"] == MANAGEMENT).unwrap();
    assert_eq!(management["management"], true);

    // The saved snapshot gives the same report offline, with no endpoint at all.
    let offline = iamsweep(&["org", "audit", "--format", "json", "--snapshot", saved_text]);
    let mut offline = json(ok(&offline));
    let mut live = report.clone();
    for value in [&mut offline, &mut live] {
        value.as_object_mut().unwrap().remove("generated_at");
    }
    assert_eq!(offline, live);
    for format in ["table", "csv", "markdown"] {
        let output = iamsweep(&["org", "audit", "--format", format, "--snapshot", saved_text]);
        assert!(String::from_utf8_lossy(&ok(&output).stdout).contains("210000000003"), "{format}");
    }
    // The page's structure is read with a parser in core's tests; here, that the command
    // writes it with a row for every unit and account of the Organization.
    let html = iamsweep(&["org", "audit", "--format", "html", "--snapshot", saved_text]);
    let page = String::from_utf8_lossy(&ok(&html).stdout).into_owned();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    for unit in report["units"].as_array().unwrap() {
        let id = unit["id"].as_str().unwrap();
        assert!(page.contains(&format!("<tr data-id=\"{id}\"")), "unit {id}");
    }
    for account in report["accounts"].as_array().unwrap() {
        let id = account["id"].as_str().unwrap();
        assert!(page.contains(&format!("<tr data-account=\"{id}\"")), "account {id}");
    }

    // A hostile snapshot: an account moved under a unit that does not exist.
    let mut hostile: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    hostile["accounts"][1]["parent_id"] = "ou-zzzz-notthere".into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, hostile.to_string()).unwrap();
    let refused = iamsweep(&["org", "audit", "--snapshot", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("accounts[1].parent_id"), "{}", stderr(&refused));
}

#[tokio::test(flavor = "multi_thread")]
async fn org_plan_apply_rollback_deny_only_the_unused_and_restore_exactly() {
    let sim = Sim::builder(scenario("org_scp.json")).record().start();
    let client = organizations(&sim.url).await;
    let ids = units(&client).await;
    // `crowded` carries four SCPs of its own besides FullAWSAccess: a fifth and last slot used.
    for n in 0..4 {
        let created = client
            .create_policy()
            .name(format!("team-guard-{n}"))
            .description("a team's own SCP")
            .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:TerminateInstances","Resource":"*"}]}"#)
            .r#type(PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap();
        let id = created.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
        client.attach_policy().policy_id(id).target_id(&ids["crowded"]).send().await.unwrap();
    }
    let before_all = every_attachment(&client, &ids).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("iamsweep.toml");
    std::fs::write(
        &config,
        "[org]\nexclude = [\"legacy\"]\nexempt_principals = [\"arn:aws:iam::*:role/BreakGlass\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let journal = dir.path().join("journal");
    let journal = journal.to_str().unwrap();
    let plan_file = dir.path().join("plan.json");
    let plan_path = plan_file.to_str().unwrap();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut run = |sim: &Sim, args: &[&str]| {
        let from = sim.calls().len();
        let output = sim.iamsweep(args);
        runs.push((from, sim.calls().len()));
        output
    };

    // plan: reads only, and says what each OU costs.
    let start = sim.calls().len();
    let output = run(
        &sim,
        &[
            "org", "plan", "--format", "json", "--rate", "200", "--config", config, "--output",
            plan_path,
        ],
    );
    let plan = json(ok(&output));
    assert_eq!(writes_since(&sim, start), Vec::<String>::new(), "org plan writes nothing");
    let unit = |plan: &Value, name: &str| {
        plan["units"].as_array().unwrap().iter().find(|unit| unit["name"] == name).unwrap().clone()
    };
    for (name, outcome, why) in [
        ("Root", "skipped", "include_root"),
        ("sandbox", "skipped", "210000000007 joined 10 days ago"),
        ("legacy", "skipped", "excluded"),
        ("crowded", "skipped", "a sixth is refused"),
        ("prod", "change", ""),
        ("payments", "change", ""),
        ("dev", "change", ""),
    ] {
        let unit = unit(&plan, name);
        assert_eq!(unit["outcome"], outcome, "{name}: {unit:#}");
        assert!(unit["skips"].to_string().contains(why), "{name}: {}", unit["skips"]);
    }
    let prod = unit(&plan, "prod");
    let kms = prod["kept"].as_array().unwrap().iter().find(|k| k["namespace"] == "kms").unwrap();
    assert_eq!(
        kms["used_by"][0]["account_id"], "210000000003",
        "the plan says who used a kept service"
    );
    assert_eq!(prod["accounts"].as_array().unwrap().len(), 4);
    assert!(prod["denied"].as_array().unwrap().iter().any(|d| d == "ec2"));

    // An edited plan (s3 denied to prod) is refused whole, before any write.
    let mut edited = plan.clone();
    let index = plan["units"].as_array().unwrap().iter().position(|u| u["name"] == "prod").unwrap();
    let document =
        edited["units"][index]["change"]["document"].as_str().unwrap().replace("\"s3:*\",", "");
    edited["units"][index]["change"]["document"] = document.into();
    let edited_file = dir.path().join("edited.json");
    std::fs::write(&edited_file, edited.to_string()).unwrap();
    let start = sim.calls().len();
    let refused = run(
        &sim,
        &["org", "apply", "--plan", edited_file.to_str().unwrap(), "--apply", "--journal", journal],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("refusing the whole plan"), "{}", stderr(&refused));
    assert_eq!(writes_since(&sim, start), Vec::<String>::new());

    // A dry run writes nothing.
    let start = sim.calls().len();
    let dry = run(&sim, &["org", "apply", "--plan", plan_path, "--journal", journal]);
    assert!(String::from_utf8_lossy(&ok(&dry).stdout).contains("would change Root/prod"));
    assert_eq!(writes_since(&sim, start), Vec::<String>::new(), "a dry run writes nothing");

    // apply: three OUs get their SCP; nothing else gets anything.
    let start = sim.calls().len();
    let applied =
        run(&sim, &["org", "apply", "--plan", plan_path, "--apply", "--journal", journal]);
    ok(&applied);
    let mut writes = writes_since(&sim, start);
    writes.sort();
    assert_eq!(
        writes,
        [
            "AttachPolicy",
            "AttachPolicy",
            "AttachPolicy",
            "CreatePolicy",
            "CreatePolicy",
            "CreatePolicy"
        ]
    );
    let first_run =
        stderr(&applied).split("(run ").nth(1).unwrap().split(')').next().unwrap().to_string();
    let after = every_attachment(&client, &ids).await;
    let mut documents = BTreeMap::new();
    for (name, used) in USED {
        let id = &ids[*name];
        let policies = &after[id];
        assert_eq!(policies.len(), 2, "{name}: FullAWSAccess and iamsweep's: {policies:?}");
        let (_, document) = &policies[&format!("iamsweep-{id}")];
        let (kept, exempt) = kept(document);
        for namespace in used.iter().chain(DEFAULT_ALWAYS_ALLOW) {
            assert!(
                kept.contains(*namespace),
                "{name} denies {namespace}, which is used or always allowed"
            );
        }
        let denied = NOT_USED.iter().find(|(unit, _)| unit == name).unwrap().1;
        for namespace in denied {
            assert!(!kept.contains(*namespace), "{name} keeps {namespace}");
        }
        assert_eq!(exempt, ["arn:aws:iam::*:role/BreakGlass"]);
        assert!(document.chars().count() <= 5120);
        documents.insert(name.to_string(), document.clone());
    }
    // The root, the management account, every account, the excluded, waiting and full OUs: as
    // they were.
    for (target, policies) in &after {
        if USED.iter().any(|(name, _)| &ids[*name] == target) {
            continue;
        }
        assert_eq!(policies, &before_all[target], "{target} got something");
    }
    assert_eq!(after[&ids["crowded"]].len(), 5);

    // A second apply writes nothing, and a second plan is empty.
    let start = sim.calls().len();
    let again = run(
        &sim,
        &["org", "apply", "--apply", "--rate", "200", "--config", config, "--journal", journal],
    );
    assert!(stderr(ok(&again)).contains("0 OUs changed, 3 unchanged"), "{}", stderr(&again));
    assert_eq!(writes_since(&sim, start), Vec::<String>::new(), "a second apply writes nothing");
    let second = json(ok(&run(
        &sim,
        &["org", "plan", "--format", "json", "--rate", "200", "--config", config],
    )));
    assert_eq!(second["summary"]["change"], 0, "{:#}", second["summary"]);

    // Another exemption: the SCPs are updated in place (a second run in the journal).
    std::fs::write(
        dir.path().join("iamsweep.toml"),
        "[org]\nexclude = [\"legacy\"]\nexempt_principals = [\"arn:aws:iam::*:role/BreakGlass\", \"arn:aws:iam::*:role/Ops\"]\n",
    )
    .unwrap();
    let start = sim.calls().len();
    let updated = run(
        &sim,
        &["org", "apply", "--apply", "--rate", "200", "--config", config, "--journal", journal],
    );
    ok(&updated);
    assert_eq!(writes_since(&sim, start), ["UpdatePolicy", "UpdatePolicy", "UpdatePolicy"]);
    let second_run =
        stderr(&updated).split("(run ").nth(1).unwrap().split(')').next().unwrap().to_string();
    assert_ne!(first_run, second_run);

    // Rolling back the second run restores the first run's content exactly.
    let start = sim.calls().len();
    let dry = run(&sim, &["org", "rollback", "--run", &second_run, "--journal", journal]);
    ok(&dry);
    assert_eq!(writes_since(&sim, start), Vec::<String>::new(), "a dry rollback writes nothing");
    ok(&run(&sim, &["org", "rollback", "--run", &second_run, "--apply", "--journal", journal]));
    let restored = every_attachment(&client, &ids).await;
    for (name, document) in &documents {
        let id = &ids[name.as_str()];
        assert_eq!(&restored[id][&format!("iamsweep-{id}")].1, document, "{name}");
    }

    // Rolling back everything restores exactly the attachments before the first apply.
    let start = sim.calls().len();
    ok(&run(&sim, &["org", "rollback", "--all", "--apply", "--journal", journal]));
    let mut writes = writes_since(&sim, start);
    writes.sort();
    assert_eq!(
        writes,
        [
            "DeletePolicy",
            "DeletePolicy",
            "DeletePolicy",
            "DetachPolicy",
            "DetachPolicy",
            "DetachPolicy"
        ]
    );
    assert_eq!(every_attachment(&client, &ids).await, before_all);
    let start = sim.calls().len();
    ok(&run(&sim, &["org", "rollback", "--all", "--apply", "--journal", journal]));
    assert_eq!(writes_since(&sim, start), Vec::<String>::new(), "a second rollback writes nothing");

    // Least privilege: the README's policy grants exactly what these runs called.
    let mut calls = BTreeSet::new();
    for (from, to) in &runs {
        calls.extend(called(&sim, *from, *to));
    }
    assert_eq!(readme_actions("### Permissions of the `org` commands"), calls);
}

/// A failed access report (of an account below) leaves its OU alone, and only it: usage that
/// was not read is never taken as "unused".
#[test]
fn a_failed_report_skips_its_ou_and_only_it() {
    let mut scenario_json: Value =
        serde_json::from_str(&std::fs::read_to_string(scenario("org_scp.json")).unwrap()).unwrap();
    let accounts = scenario_json["organization"]["accounts"].as_array_mut().unwrap();
    let dev_b = accounts.iter_mut().find(|account| account["id"] == "210000000006").unwrap();
    dev_b["report_error"] = "The report could not be generated.".into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("failing.json");
    std::fs::write(&file, scenario_json.to_string()).unwrap();
    let sim = Sim::builder(file).record().start();
    let output = sim.iamsweep(&["org", "plan", "--format", "json", "--rate", "200"]);
    let plan = json(ok(&output));
    let unit = |name: &str| {
        plan["units"].as_array().unwrap().iter().find(|unit| unit["name"] == name).unwrap().clone()
    };
    let dev = unit("dev");
    assert_eq!(dev["outcome"], "skipped");
    assert!(dev["skips"][0].as_str().unwrap().contains("210000000006"), "{}", dev["skips"]);
    assert!(dev["skips"][0].as_str().unwrap().contains("FAILED"), "{}", dev["skips"]);
    assert_eq!(unit("prod")["outcome"], "change");
    assert_eq!(writes_since(&sim, 0), Vec::<String>::new());
}
