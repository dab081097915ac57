//! Starting iamsim on 127.0.0.1 (as `crates/cli/tests/it/sim.rs` does) and building the
//! function's [`Runtime`] against it with static test credentials: no test reaches anything but
//! loopback, and nothing reads the machine's AWS profile.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use iamsweep_lambda::handler::Runtime;
use iamsweep_lambda::settings::EnvSettings;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// A scenario under `crates/lambda/tests/scenarios/`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios").join(name)
}

/// A running iamsim, stopped on drop.
pub struct Sim {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    record: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sim {
    /// Starts iamsim on `scenario`, recording every call.
    pub fn start(scenario: &Path) -> Sim {
        Sim::start_with(scenario, &[])
    }

    /// Starts iamsim on `scenario` with more options (`--job-latency-ms`...), recording every
    /// call.
    pub fn start_with(scenario: &Path, args: &[&str]) -> Sim {
        let dir = tempfile::tempdir().expect("temp dir");
        let record = dir.path().join("record.jsonl");
        let mut child = Command::new(repo_root().join("iamsim/serve"))
            .arg("--scenario")
            .arg(scenario)
            .args(["--port", "0", "--record"])
            .arg(&record)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("iamsim/serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("line");
        let url = line.trim().strip_prefix("ready ").expect("iamsim ready line").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
        Sim { child, url, record, _dir: dir }
    }

    /// Every call recorded so far.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("record lines are JSON"))
            .collect()
    }

    /// The SDK configuration of the scenario's account: static credentials, fixed region.
    pub async fn sdk(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            ))
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await
    }

    /// A bucket for the function's state, journal and config.
    pub async fn bucket(&self, name: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk().await).force_path_style(true);
        let s3 = aws_sdk_s3::Client::from_conf(config.build());
        s3.create_bucket().bucket(name).send().await.expect("bucket created");
        s3
    }

    /// The function's runtime, with `IAMSWEEP_*` variables from `vars`.
    pub async fn runtime(&self, vars: &[(&str, &str)]) -> Runtime {
        let mut vars: Vec<(String, String)> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        vars.push(("IAMSWEEP_POLL_FIRST_MS".into(), "5".into()));
        if !vars.iter().any(|(k, _)| k == "IAMSWEEP_RATE") {
            vars.push(("IAMSWEEP_RATE".into(), "500".into()));
        }
        let env = EnvSettings::from_lookup(|name| {
            vars.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
        })
        .expect("valid settings");
        Runtime::from_config(self.sdk().await, env).await.expect("runtime")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
