//! Hostile and careless input files and settings, through the real binary against iamsim with
//! `--record`: a list saved by Notepad, a snapshot listing an entity twice, out-of-range
//! settings. Each is either read as its author meant it or refused (exit 2) with zero writes.

use std::process::Output;

use crate::sim::{Sim, iamsweep, scenario};

/// Every IAM action that changes something.
const WRITES: &[&str] = &[
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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_refused(output: &Output, expected: &[&str]) {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    for part in expected {
        assert!(message.contains(part), "`{part}` not in: {message}");
    }
}

fn writes(sim: &Sim) -> Vec<String> {
    sim.calls()
        .iter()
        .filter(|call| call["service"] == "iam")
        .filter_map(|call| call["action"].as_str())
        .filter(|action| WRITES.contains(action))
        .map(str::to_string)
        .collect()
}

/// A directory with a config naming `do_not_list.txt` and `base_actions.txt`.
struct Lists {
    dir: tempfile::TempDir,
}

impl Lists {
    fn new(do_not_list: &[u8], base_actions: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("do_not_list.txt"), do_not_list).unwrap();
        std::fs::write(dir.path().join("base_actions.txt"), base_actions).unwrap();
        let lists = Lists { dir };
        std::fs::write(
            lists.path("iamsweep.toml"),
            format!(
                "[guardrails]\ndo_not_list_file = {:?}\n[boundary]\nbase_actions_file = {:?}\n",
                lists.path("do_not_list.txt"),
                lists.path("base_actions.txt")
            ),
        )
        .unwrap();
        lists
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    fn apply(&self, sim: &Sim) -> Output {
        let config = self.path("iamsweep.toml");
        let journal = self.path("journal");
        sim.iamsweep(&[
            "apply",
            "--config",
            &config,
            "--journal",
            &journal,
            "--rate",
            "500",
            "--apply",
        ])
    }
}

async fn boundary_of(sim: &Sim, kind: &str, name: &str) -> Option<String> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&sim.url)
        .region(aws_config::Region::from_static("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&config);
    let boundary = if kind == "role" {
        iam.get_role().role_name(name).send().await.unwrap().role.unwrap().permissions_boundary
    } else {
        iam.get_user().user_name(name).send().await.unwrap().user.unwrap().permissions_boundary
    };
    boundary.and_then(|boundary| boundary.permissions_boundary_arn)
}

/// A do-not list, a base-actions file, which of them is refused, and what the refusal says.
type Case = (Vec<u8>, Vec<u8>, &'static str, &'static [&'static str]);

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    if bom {
        bytes.extend(if big_endian { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
    }
    for unit in text.encode_utf16() {
        bytes.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    bytes
}

/// Regression: a do-not list saved with a UTF-8 BOM did not protect its first entry, and a
/// base-actions file with one was refused.
#[tokio::test]
async fn a_do_not_list_saved_with_a_bom_protects_its_first_entry() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let lists =
        Lists::new(b"\xEF\xBB\xBFalice\r\nlegacy-*\r\n", b"\xEF\xBB\xBFsts:GetCallerIdentity\r\n");
    let output = lists.apply(&sim);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(boundary_of(&sim, "user", "alice").await, None, "alice is on the do-not list");
    assert_eq!(
        boundary_of(&sim, "role", "app").await.as_deref(),
        Some("arn:aws:iam::111122223333:policy/iamsweep/role-app"),
        "the others are still bounded"
    );
    let touched_alice = sim.calls().iter().any(|call| {
        WRITES.contains(&call["action"].as_str().unwrap_or(""))
            && call.to_string().contains("alice")
    });
    assert!(!touched_alice, "nothing is written to alice");
}

/// Regression: a list saved as UTF-16 or holding NUL bytes protected nobody; a 5 MB line was
/// accepted as a name and as an action.
#[test]
fn a_list_of_utf16_nul_or_endless_lines_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let huge = "a".repeat(5 * 1024 * 1024);
    let ok_actions = b"sts:GetCallerIdentity\n".to_vec();
    let cases: Vec<Case> = vec![
        (
            utf16("alice\r\nlegacy-*\r\n", false, true),
            ok_actions.clone(),
            "do_not_list",
            &["line 1", "UTF-16"],
        ),
        (
            utf16("alice\r\nlegacy-*\r\n", false, false),
            ok_actions.clone(),
            "do_not_list",
            &["line 1", "UTF-16"],
        ),
        (
            utf16("alice\r\nlegacy-*\r\n", true, true),
            ok_actions.clone(),
            "do_not_list",
            &["line 1", "UTF-16"],
        ),
        (b"legacy-*\nal\0ice\n".to_vec(), ok_actions.clone(), "do_not_list", &["line 2", "NUL"]),
        (
            format!("legacy-*\n\n{huge}\n").into_bytes(),
            ok_actions.clone(),
            "do_not_list",
            &["line 3", "2048"],
        ),
        (
            b"legacy-*\n".to_vec(),
            format!("s3:{huge}").into_bytes(),
            "base_actions",
            &["line 1", "128"],
        ),
        (
            b"legacy-*\n".to_vec(),
            utf16("sts:GetCallerIdentity", true, false),
            "base_actions",
            &["line 1", "UTF-16"],
        ),
    ];
    for (do_not_list, base_actions, file, expected) in cases {
        let lists = Lists::new(&do_not_list, &base_actions);
        let output = lists.apply(&sim);
        let named = format!("{file}.txt`");
        let mut expected = expected.to_vec();
        expected.push(&named);
        assert_refused(&output, &expected);
    }
    assert_eq!(writes(&sim), Vec::<String>::new(), "zero writes");
}

#[test]
fn a_zero_window_is_refused_from_the_flag_and_from_the_config() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let lists = Lists::new(b"legacy-*\n", b"sts:GetCallerIdentity\n");
    let config = lists.path("iamsweep.toml");
    let journal = lists.path("journal");
    let output = sim.iamsweep(&[
        "apply",
        "--config",
        &config,
        "--journal",
        &journal,
        "--window-days",
        "0",
        "--apply",
    ]);
    assert_refused(&output, &["`--window-days`: expected 1..=400 days, found 0"]);
    let output = sim.iamsweep(&["audit", "--window-days", "401"]);
    assert_refused(&output, &["`--window-days`: expected 1..=400 days, found 401"]);

    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}[audit]\nwindow_days = 0\n")).unwrap();
    let output = sim.iamsweep(&["apply", "--config", &config, "--journal", &journal, "--apply"]);
    assert_refused(
        &output,
        &[&format!("`[audit] window_days` in `{config}`: expected 1..=400 days, found 0")],
    );
    assert!(sim.calls().is_empty(), "refused before any AWS call");
}

#[test]
fn an_absurd_concurrency_or_rate_in_the_config_is_refused_as_the_flag_is() {
    let sim = Sim::builder(scenario("audit.json")).record().start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("iamsweep.toml");
    let config = config.to_str().unwrap();
    std::fs::write(config, "[audit]\nconcurrency = 100000000\n").unwrap();
    let output = sim.iamsweep(&["audit", "--config", config]);
    assert_refused(
        &output,
        &[&format!(
            "`[audit] concurrency` in `{config}`: expected 1..=1000 jobs in flight, found 100000000"
        )],
    );
    let output = sim.iamsweep(&["audit", "--concurrency", "100000000"]);
    assert_refused(
        &output,
        &["`--concurrency`: expected 1..=1000 jobs in flight, found 100000000"],
    );

    std::fs::write(config, "[audit]\nrate = 0\n").unwrap();
    let from_config = stderr(&sim.iamsweep(&["audit", "--config", config]));
    let from_flag = stderr(&sim.iamsweep(&["audit", "--rate", "0"]));
    let tail = "expected 0.1..=1000 IAM calls per second, found 0";
    assert!(
        from_config.contains(&format!("`[audit] rate` in `{config}`: {tail}")),
        "{from_config}"
    );
    assert!(from_flag.contains(&format!("`--rate`: {tail}")), "{from_flag}");
    let output = sim.iamsweep(&["check", "--stale-days", "0"]);
    assert_refused(&output, &["`--stale-days`: expected 1..=400 days, found 0"]);
    assert!(sim.calls().is_empty(), "refused before any AWS call");
}

/// Regression: a snapshot listing the same entity twice was counted twice and applied.
#[test]
fn a_snapshot_listing_an_entity_twice_is_refused_with_zero_writes() {
    let sim = Sim::builder(scenario("enforce.json")).record().start();
    let lists = Lists::new(b"legacy-*\n", b"sts:GetCallerIdentity\n");
    let saved = lists.path("snapshot.json");
    let output =
        sim.iamsweep(&["audit", "--rate", "500", "--format", "json", "--save-snapshot", &saved]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let mut snapshot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let entities = snapshot["entities"].as_array_mut().unwrap();
    let app = entities.iter().position(|entity| entity["name"] == "app").unwrap();
    let copy = entities[app].clone();
    entities.push(copy);
    let last = entities.len() - 1;
    let doubled = lists.path("doubled.json");
    std::fs::write(&doubled, serde_json::to_string_pretty(&snapshot).unwrap()).unwrap();

    let expected = [
        "doubled.json",
        &format!("entities[{last}]"),
        "arn:aws:iam::111122223333:role/app",
        &format!("entities[{app}]"),
    ];
    assert_refused(&iamsweep(&["audit", "--snapshot", &doubled]), &expected);
    assert_refused(&iamsweep(&["check", "--snapshot", &doubled]), &expected);
    let config = lists.path("iamsweep.toml");
    let journal = lists.path("journal");
    let output = sim.iamsweep(&[
        "apply",
        "--config",
        &config,
        "--journal",
        &journal,
        "--snapshot",
        &doubled,
        "--apply",
    ]);
    assert_refused(&output, &expected);
    assert_eq!(writes(&sim), Vec::<String>::new(), "zero writes");
}
